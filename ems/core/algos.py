"""The algo suite's declared parameters: names, kinds, defaults, ranges, and which may be amended while working.

Pure. ``params_validate`` turns what a PM, a trader or a selection rule gave
(strings or numbers) into a checked ``AlgoParams`` or raises ``ParamError``
naming the field and the reason, before anything is stored; ``params_dump``
is the stored form (strings: exact Decimals in JSON).

The strategies:

- ``IMMEDIATE``: the whole quantity to the smart order router now, within the limit.
- ``TWAP``: equal slices over [start, end].
- ``VWAP``: slices in proportion to the instrument's intraday volume profile, capped at a
  share of the market's volume.
- ``POV``: a target share of the market volume observed since the start, kept between
  a minimum and a maximum rate.
- ``IS``: implementation shortfall: the Almgren-Chriss trajectory for a risk
  aversion from the urgency, front-loaded the more urgent the order.
- ``DARK``: liquidity seeking: rests in the dark pools with a minimum fill size and
  takes lit liquidity only at or better than the "I would" price.
- ``RFQ``: a block or an option asked of dealers (the RFQ workflow).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final

from trading.enums import Side
from trading.numbers import ZERO, is_multiple

NS: Final = 1_000_000_000


class Strategy(StrEnum):
    IMMEDIATE = "IMMEDIATE"
    TWAP = "TWAP"
    VWAP = "VWAP"
    POV = "POV"
    IS = "IS"
    DARK = "DARK"
    RFQ = "RFQ"

    @property
    def scheduled(self) -> bool:
        """Whether the algo works to a schedule over [start, end] in slices."""
        return self in (Strategy.TWAP, Strategy.VWAP, Strategy.POV, Strategy.IS)


class ParamError(ValueError):
    """A parameter the algo cannot run with; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    kind: str  # "int" | "decimal" | "fraction" | "price" | "qty" | "bool" | "codes" (a list of names)
    default: Any
    help: str
    amendable: bool = True
    minimum: Decimal | None = None
    maximum: Decimal | None = None


def _spec(name: str, kind: str, default: Any, help: str, **kw: Any) -> ParamSpec:
    return ParamSpec(name, kind, default, help, **kw)


_SLICE = _spec("slice_seconds", "int", 60, "time between slices", minimum=Decimal(1), maximum=Decimal(3600))
_DURATION = _spec(
    "duration_minutes",
    "int",
    30,
    "how long to work the order when it has no end time",
    amendable=False,
    minimum=Decimal(1),
    maximum=Decimal(24 * 60),
)
_SIZE_JITTER = _spec("size_jitter", "fraction", Decimal("0.10"), "slice sizes vary by up to this share", maximum=Decimal("0.5"))
_TIME_JITTER = _spec(
    "time_jitter", "fraction", Decimal("0.20"), "slice times vary by up to this share of the interval", maximum=Decimal("0.5")
)
_I_WOULD = _spec("i_would_px", "price", None, "take every share offered at or better than this price")
_COMPLETE = _spec("complete_by_end", "bool", True, "take liquidity near the end to finish on time")
_TOLERANCE = _spec(
    "schedule_tolerance",
    "fraction",
    Decimal("0.05"),
    "behind or ahead of schedule by more than this share of the order: catch up or wait",
    minimum=Decimal("0.01"),
    maximum=Decimal("0.5"),
)
_MAX_PART = _spec(
    "max_participation", "fraction", Decimal("0.25"), "never more than this share of the market volume", minimum=Decimal("0.01")
)
_SCHEDULED = (_DURATION, _SLICE, _SIZE_JITTER, _TIME_JITTER, _I_WOULD, _COMPLETE, _TOLERANCE)

SPECS: Final[Mapping[Strategy, tuple[ParamSpec, ...]]] = {
    Strategy.IMMEDIATE: (),
    Strategy.TWAP: _SCHEDULED,
    Strategy.VWAP: (*_SCHEDULED, _MAX_PART),
    Strategy.POV: (
        *_SCHEDULED,
        _spec("target_rate", "fraction", Decimal("0.10"), "our share of the market volume", minimum=Decimal("0.01")),
        _spec("min_rate", "fraction", Decimal("0.05"), "catch up below this share"),
        _spec("max_rate", "fraction", Decimal("0.20"), "wait above this share", minimum=Decimal("0.01")),
    ),
    Strategy.IS: (
        *_SCHEDULED,
        _spec(
            "max_participation",
            "fraction",
            Decimal("0.25"),
            "the trajectory plans no slice above this share of the volume expected in it",
            minimum=Decimal("0.01"),
        ),
        _spec(
            "risk_aversion",
            "decimal",
            None,
            "Almgren-Chriss lambda per $; blank: from the urgency",
            minimum=ZERO,
            maximum=Decimal("0.001"),
        ),
    ),
    Strategy.DARK: (
        _DURATION,
        _SLICE,
        _I_WOULD,
        _spec("min_fill_qty", "qty", None, "the smallest dark execution accepted; blank: the router's dark minimum"),
        _spec("complete_by_end", "bool", False, "take lit liquidity near the end to finish on time"),
    ),
    Strategy.RFQ: (
        _spec("window_seconds", "int", 30, "how long dealers may answer", minimum=Decimal(1), maximum=Decimal(300)),
        _spec(
            "grace_seconds",
            "int",
            0,
            "quotes stay hidden this long, so the first is not hit before the rest arrive",
            maximum=Decimal(60),
        ),
        _spec("threshold_px", "decimal", None, "execute at once when the best quote reaches this price (blank: by click)"),
        _spec("allow_partial", "bool", False, "the quantity may fill across several dealers"),
        _spec("two_way", "bool", False, "ask for a bid and an offer, hiding our side"),
        _spec("anonymous", "bool", True, "hide our firm's name from the dealers"),
        _spec("dealers", "codes", (), "the dealers to ask, by code (blank: the scorecard's top dealers)"),
    ),
}


@dataclass(frozen=True, slots=True)
class AlgoParams:
    """Checked parameters: every declared one has a value (its default when not given)."""

    strategy: Strategy
    values: Mapping[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What validation needs of the order: side, size, lot and tick, limit, and the window in ns."""

    side: Side
    qty: Decimal
    lot: Decimal
    tick: Decimal
    limit_px: Decimal | None
    start_ns: int
    end_ns: int | None  # None: start + duration


def strategy_parse(value: str) -> Strategy:
    try:
        return Strategy(value.upper())
    except ValueError:
        known = ", ".join(s.value for s in Strategy)
        raise ParamError("strategy", f"unknown strategy {value!r}; one of {known}") from None


def params_validate(strategy: Strategy, given: Mapping[str, Any], order: OrderFacts) -> AlgoParams:
    """Return ``given`` checked and completed with defaults for ``strategy`` and ``order``; raise ``ParamError``.

    Checks each value's kind and range, the rates' order (POV), the "I would"
    price against the limit and the tick, and that the window is long enough
    and every slice holds at least one lot.
    """
    specs = {spec.name: spec for spec in SPECS[strategy]}
    unknown = sorted(set(given) - set(specs))
    if unknown:
        allowed = ", ".join(specs) or "none"
        raise ParamError(unknown[0], f"not a parameter of {strategy.value} (its parameters: {allowed})")
    values = {name: _parse(spec, given.get(name, spec.default)) for name, spec in specs.items()}
    checked = AlgoParams(strategy, values)
    _check_order(checked, order)
    return checked


def params_dump(params: AlgoParams) -> dict[str, Any]:
    """The stored form: Decimals as strings, the rest as they are."""
    return {
        k: format(v, "f") if isinstance(v, Decimal) else list(v) if isinstance(v, tuple) else v for k, v in params.values.items()
    }


def params_load(strategy: Strategy, stored: Mapping[str, Any]) -> AlgoParams:
    """Read back what ``params_dump`` stored (already checked; defaults fill parameters added since)."""
    specs = SPECS[strategy]
    return AlgoParams(strategy, {s.name: _parse(s, stored.get(s.name, s.default)) for s in specs})


def amendable(strategy: Strategy) -> tuple[str, ...]:
    return tuple(spec.name for spec in SPECS[strategy] if spec.amendable)


def end_ns(params: AlgoParams, order: OrderFacts) -> int | None:
    """The end of the window: the order's end, else start + duration; None for algos without one."""
    if order.end_ns is not None:
        return order.end_ns
    duration = params.get("duration_minutes")
    return None if duration is None else order.start_ns + int(duration) * 60 * NS


def slice_count(params: AlgoParams, *, start_ns: int, end_ns: int) -> int:
    """How many slices fit in [start, end] (at least one)."""
    return max(1, -(-(end_ns - start_ns) // (int(params["slice_seconds"]) * NS)))


def _parse(spec: ParamSpec, raw: Any) -> Any:
    if spec.kind == "codes":
        return _codes(spec, raw)
    if raw is None or raw == "":
        if spec.default is None:
            return None
        raw = spec.default
    if spec.kind == "bool":
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("true", "1", "yes"):
            return True
        if str(raw).lower() in ("false", "0", "no"):
            return False
        raise ParamError(spec.name, f"must be true or false, was {raw!r}")
    if isinstance(raw, float):
        raw = repr(raw)  # a JSON float from a client: its shortest text, never its binary expansion
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise ParamError(spec.name, f"must be a number, was {raw!r}") from None
    if not value.is_finite():
        raise ParamError(spec.name, f"must be a finite number, was {raw!r}")
    if spec.kind == "int" and value != value.to_integral_value():
        raise ParamError(spec.name, f"must be a whole number, was {raw!r}")
    low = spec.minimum if spec.minimum is not None else (ZERO if spec.kind != "decimal" else None)
    high = spec.maximum if spec.maximum is not None else (Decimal(1) if spec.kind == "fraction" else None)
    if spec.kind in ("price", "qty") and value <= 0:
        raise ParamError(spec.name, f"must be positive, was {raw}")
    if low is not None and value < low:
        raise ParamError(spec.name, f"must be at least {low}, was {raw}")
    if high is not None and value > high:
        raise ParamError(spec.name, f"must be at most {high}, was {raw}")
    return int(value) if spec.kind == "int" else value


def _codes(spec: ParamSpec, raw: Any) -> tuple[str, ...]:
    """A list of names, or one comma-separated string; blank is none."""
    if raw is None or raw == "":
        return ()
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
        raise ParamError(spec.name, f"must be a list of codes, was {raw!r}")
    codes = tuple(item.strip() for item in items if item.strip())
    if len(set(codes)) != len(codes):
        raise ParamError(spec.name, f"lists a code twice: {', '.join(codes)}")
    return codes


def _check_order(params: AlgoParams, order: OrderFacts) -> None:
    i_would = params.get("i_would_px")
    if i_would is not None:
        if not is_multiple(i_would, order.tick):
            raise ParamError("i_would_px", f"{i_would} is not on the tick {order.tick}")
        limit = order.limit_px
        if limit is not None and (i_would > limit if order.side is Side.BUY else i_would < limit):
            raise ParamError("i_would_px", f"{i_would} is past the limit {limit}: it must be at or better than the limit")
    min_fill = params.get("min_fill_qty")
    if min_fill is not None and not is_multiple(min_fill, order.lot):
        raise ParamError("min_fill_qty", f"{min_fill} is not a multiple of the lot {order.lot}")
    if params.strategy is Strategy.POV:
        low, target, high = params["min_rate"], params["target_rate"], params["max_rate"]
        if not low <= target <= high:
            raise ParamError("target_rate", f"must lie between min_rate {low} and max_rate {high}, was {target}")
    end = end_ns(params, order)
    if end is not None and end <= order.start_ns:
        raise ParamError("end_at", "must be after the start")
    if end is None or not params.strategy.scheduled:
        return
    slice_ns = int(params["slice_seconds"]) * NS
    if end - order.start_ns < slice_ns:
        raise ParamError(
            "slice_seconds", f"{params['slice_seconds']} s is longer than the window of {(end - order.start_ns) // NS} s"
        )
    slices = slice_count(params, start_ns=order.start_ns, end_ns=end)
    per_slice = order.qty / slices
    if params.strategy in (Strategy.TWAP, Strategy.VWAP, Strategy.IS) and per_slice < order.lot:
        most = int(order.qty / order.lot)
        shown = per_slice.quantize(Decimal("0.01")).normalize()
        raise ParamError(
            "slice_seconds",
            f"{order.qty} over {slices} slices is {shown:f} a slice, below the lot {order.lot}: "
            f"use at most {most} slices (a longer slice_seconds or a shorter window)",
        )
