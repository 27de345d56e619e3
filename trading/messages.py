"""Wire messages between the EMS and the venues' gateway, with FIX 4.4 meanings.

They cross a Redis stream and a Celery queue as flat ``dict[str, str]``:
Decimals travel as strings so nothing is ever a float on the way.
"""

from dataclasses import MISSING, dataclass, fields
from decimal import Decimal
from typing import Any, Self, get_args, get_type_hints

from trading.enums import ExecType, Liquidity, OrdType, Peg, SelfTradePrevention, Side, TimeInForce
from trading.numbers import ZERO
from trading.states import OrdStatus


def _encode(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def _decode_bool(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError(raw)
    return raw == "1"


class _Wire:
    """Flat string encoding shared by the messages below."""

    def to_wire(self) -> dict[str, str]:
        return {field.name: _encode(getattr(self, field.name)) for field in fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_wire(cls, data: dict[str, str]) -> Self:
        """Decode a message; raise ``ValueError`` naming the field that is missing or bad.

        A field with a default may be absent (older senders omit newer fields).
        """
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for field in fields(cls):  # type: ignore[arg-type]
            if field.name not in data:
                if field.default is not MISSING:
                    continue
                raise ValueError(f"missing field `{field.name}`")
            raw = data[field.name]
            kind = hints[field.name]
            members = get_args(kind)
            if type(None) in members:
                if raw == "":
                    values[field.name] = None
                    continue
                kind = next(member for member in members if member is not type(None))
            try:
                value = _decode_bool(raw) if kind is bool else kind(raw)
            except (ValueError, ArithmeticError) as exc:
                raise ValueError(f"invalid `{field.name}`, was {raw!r}") from exc
            if isinstance(value, Decimal) and not value.is_finite():
                raise ValueError(f"invalid `{field.name}`, was {raw!r}")
            values[field.name] = value
        return cls(**values)


@dataclass(frozen=True, slots=True)
class NewOrder(_Wire):
    """A child order for one venue (FIX NewOrderSingle, 35=D)."""

    cl_ord_id: str
    venue: str
    symbol: str
    side: Side
    ord_type: OrdType
    qty: Decimal
    limit_px: Decimal | None
    tif: TimeInForce
    post_only: bool = False
    min_qty: Decimal = ZERO  # lit: on entry only; dark: the smallest execution accepted
    display_qty: Decimal | None = None  # iceberg peak; None shows it all
    stp: SelfTradePrevention = SelfTradePrevention.NONE
    peg: Peg | None = None  # dark pools: the NBBO reference (MID when None)
    delay_us: int = 0  # hold before sending, so a sweep's orders reach their venues together


@dataclass(frozen=True, slots=True)
class CancelRequest(_Wire):
    """Cancel a working order (FIX OrderCancelRequest, 35=F); ``cl_ord_id`` names the request itself."""

    cl_ord_id: str
    orig_cl_ord_id: str
    venue: str
    symbol: str
    side: Side


@dataclass(frozen=True, slots=True)
class ReplaceRequest(_Wire):
    """Change a working order's total ``qty`` and ``limit_px`` (FIX OrderCancelReplaceRequest, 35=G)."""

    cl_ord_id: str
    orig_cl_ord_id: str
    venue: str
    symbol: str
    side: Side
    qty: Decimal
    limit_px: Decimal | None


@dataclass(frozen=True, slots=True)
class CancelReject(_Wire):
    """A venue's refusal of a cancel or replace request (FIX OrderCancelReject, 35=9)."""

    venue: str
    cl_ord_id: str
    orig_cl_ord_id: str
    reason: str
    text: str
    transact_time: str


@dataclass(frozen=True, slots=True)
class ExecutionReport(_Wire):
    """A venue's report on one of our orders (FIX ExecutionReport, 35=8).

    ``seq`` numbers the reports of one order from 1 without gaps, so the
    receiver can apply them exactly once and in order.
    """

    venue: str
    cl_ord_id: str
    venue_order_id: str
    exec_id: str
    seq: int
    exec_type: ExecType
    ord_status: OrdStatus
    symbol: str
    side: Side
    last_qty: Decimal
    last_px: Decimal
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal
    fee: Decimal
    liquidity: Liquidity | None
    text: str
    transact_time: str
    orig_cl_ord_id: str = ""  # on REPLACED and on the reports of a cancel request: the order it acted on
    reason: str = ""  # a reject or cancel reason code (the simulator's RejectCode / CancelReason)

    @property
    def is_fill(self) -> bool:
        return self.exec_type is ExecType.TRADE and self.last_qty > ZERO
