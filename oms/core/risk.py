"""Pre-trade risk checks (in the spirit of SEC 15c3-5 and MiFID II RTS 6), with no database.

The shell loads the limits and the portfolio's exposure under its row lock,
calls ``risk_check`` and records every outcome in the order's event log. Every
check runs, so a PM sees all the reasons an order was refused at once, and each
message names the measured value and the limit in a trader's words.

Money is in the instrument's currency, quantities in shares or contracts,
collars in basis points, throttle windows in seconds.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from enum import StrEnum
from fractions import Fraction

from trading.enums import OrdType, Side
from trading.numbers import ZERO

CENT = Decimal("0.01")
BPS_STEP = Decimal("0.01")
BPS_PER_UNIT = Decimal(10_000)


class RiskCode(StrEnum):
    """Stable codes a client can switch on; ``risk_check`` reports in this order."""

    KILL_SWITCH = "KILL_SWITCH"
    RESTRICTED = "RESTRICTED"
    MAX_QTY = "MAX_QTY"
    MAX_NOTIONAL = "MAX_NOTIONAL"
    NO_REFERENCE_PRICE = "NO_REFERENCE_PRICE"
    PRICE_COLLAR = "PRICE_COLLAR"
    CREDIT_LIMIT = "CREDIT_LIMIT"
    POSITION_LIMIT = "POSITION_LIMIT"
    DAILY_NOTIONAL = "DAILY_NOTIONAL"
    THROTTLE = "THROTTLE"
    DUPLICATE = "DUPLICATE"


@dataclass(frozen=True, slots=True)
class Limits:
    """One scope's limits (firm, portfolio, instrument, ...). Each None means no limit."""

    max_order_qty: Decimal | None = None  # shares or contracts
    max_order_notional: Decimal | None = None  # in the instrument's currency
    collar_bps: Decimal | None = None  # a LIMIT price at most this far from the reference price (either side)
    credit_limit: Decimal | None = None  # open orders' remaining notional + today's filled notional + this order's
    max_position_qty: Decimal | None = None  # |position + open qty on the order's side + this order| (signed, worst case)
    daily_notional: Decimal | None = None  # notional of all orders submitted today + this one
    max_orders: int | None = None  # throttle: at most this many new orders ...
    per_seconds: int = 1  # ... in any window of this many seconds (this one included)
    duplicate_seconds: int | None = None  # an identical order within this many seconds is a duplicate

    def __post_init__(self) -> None:
        amounts = {
            "max_order_qty": self.max_order_qty,
            "max_order_notional": self.max_order_notional,
            "collar_bps": self.collar_bps,
            "credit_limit": self.credit_limit,
            "max_position_qty": self.max_position_qty,
            "daily_notional": self.daily_notional,
            "max_orders": self.max_orders,
            "duplicate_seconds": self.duplicate_seconds,
        }
        for name, amount in amounts.items():
            if amount is not None and amount < 0:
                raise ValueError(f"invalid `{name}`, was {amount}: must not be negative")
        if self.per_seconds < 1:
            raise ValueError(f"invalid `per_seconds`, was {self.per_seconds}: must be at least 1")


def limits_tightest(limits: Iterable[Limits]) -> Limits:
    """Return the strictest of several scopes' limits, field by field.

    Each limit is the smallest one set; the throttle is taken as a pair, from
    the scope with the lowest rate ``max_orders / per_seconds`` (on a tie the
    shorter burst, fewer orders, wins); the duplicate window is the longest one
    set. No scopes, or no scope setting a field, leaves that field unlimited.
    """
    scopes = list(limits)
    throttles = [(scope.max_orders, scope.per_seconds) for scope in scopes if scope.max_orders is not None]
    max_orders, per_seconds = min(throttles, key=_throttle_strictness) if throttles else (None, 1)
    windows = [scope.duplicate_seconds for scope in scopes if scope.duplicate_seconds is not None]
    return Limits(
        max_order_qty=_smallest(scope.max_order_qty for scope in scopes),
        max_order_notional=_smallest(scope.max_order_notional for scope in scopes),
        collar_bps=_smallest(scope.collar_bps for scope in scopes),
        credit_limit=_smallest(scope.credit_limit for scope in scopes),
        max_position_qty=_smallest(scope.max_position_qty for scope in scopes),
        daily_notional=_smallest(scope.daily_notional for scope in scopes),
        max_orders=max_orders,
        per_seconds=per_seconds,
        duplicate_seconds=max(windows) if windows else None,
    )


def _smallest(values: Iterable[Decimal | None]) -> Decimal | None:
    present = [value for value in values if value is not None]
    return min(present) if present else None


def _throttle_strictness(throttle: tuple[int, int]) -> tuple[Fraction, int]:
    max_orders, per_seconds = throttle
    return Fraction(max_orders, per_seconds), max_orders


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """The order as risk sees it; already validated for tick and lot (``oms.core.validation``)."""

    side: Side
    ord_type: OrdType
    qty: Decimal  # shares or contracts
    limit_px: Decimal | None  # per share or contract
    ref_px: Decimal | None  # the reference price: live mid, else last close; None when unknown
    multiplier: Decimal = Decimal(1)
    currency: str = "USD"

    def __post_init__(self) -> None:
        if self.qty <= 0:
            raise ValueError(f"invalid `qty`, was {self.qty}: must be greater than 0")
        if self.ord_type is OrdType.LIMIT and self.limit_px is None:
            raise ValueError("a LIMIT order needs `limit_px`")
        if self.multiplier <= 0:
            raise ValueError(f"invalid `multiplier`, was {self.multiplier}: must be greater than 0")
        if self.ref_px is not None and self.ref_px == 0:
            raise ValueError("invalid `ref_px`, was 0: give None when the reference price is unknown")


@dataclass(frozen=True, slots=True)
class Exposure:
    """The portfolio's state when the order arrives (the shell reads it under the portfolio's row lock)."""

    position_qty: Decimal = ZERO  # signed
    open_buy_qty: Decimal = ZERO  # remaining qty of working buy orders in this instrument
    open_sell_qty: Decimal = ZERO
    open_notional: Decimal = ZERO  # remaining notional of all working orders of the portfolio (all instruments)
    filled_notional_today: Decimal = ZERO
    submitted_notional_today: Decimal = ZERO
    recent_orders: int = 0  # orders submitted within the throttle window (not counting this one)
    duplicate_of: int | None = None  # id of an identical order within the duplicate window, or None
    restricted: str | None = None  # the restricted list's reason, or None
    kill_switch: str | None = None  # text of the engaged kill switch covering the order, or None


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """One check's verdict; ``value`` and ``limit`` are both set or both empty, and when set it passed iff value <= limit."""

    check: RiskCode
    passed: bool
    message: str  # on a pass too: what was measured against what
    value: str = ""  # the measured number as a plain decimal string ("" when not numeric)
    limit: str = ""  # the limit as a plain decimal string ("" when no limit)


def order_notional(order: OrderIntent) -> Decimal | None:
    """Return qty * price * multiplier in the order's currency, exact.

    The price is the limit for a LIMIT order, else the reference price; None for
    a MARKET order with no reference price. A package may trade at a net credit
    (a negative price): its notional is the money at stake, the absolute value.
    """
    px = order.limit_px if order.ord_type is OrdType.LIMIT else order.ref_px
    return None if px is None else order.qty * abs(px) * order.multiplier


def risk_check(order: OrderIntent, exposure: Exposure, limits: Limits) -> list[CheckOutcome]:
    """Return one outcome per check that applies, in ``RiskCode`` order; never stop at the first failure.

    A check whose limit is None is skipped, except KILL_SWITCH and RESTRICTED,
    which always run, and DUPLICATE, which runs when ``duplicate_seconds`` is set.
    A notional check that cannot price the order is replaced by one failed
    NO_REFERENCE_PRICE outcome, and so is a collar with no reference price.
    """
    notional = order_notional(order)
    outcomes = [_kill_switch(exposure), _restricted(exposure)]
    if limits.max_order_qty is not None:
        outcomes.append(_max_qty(order, limits.max_order_qty))
    if notional is not None and limits.max_order_notional is not None:
        outcomes.append(_max_notional(order, notional, limits.max_order_notional))
    needs_notional = any(limit is not None for limit in (limits.max_order_notional, limits.credit_limit, limits.daily_notional))
    collar_bps = limits.collar_bps if order.ord_type is OrdType.LIMIT else None
    limit_px = order.limit_px  # set on every LIMIT order, so on every collared one
    if needs_notional and notional is None:
        outcomes.append(
            _failed(
                RiskCode.NO_REFERENCE_PRICE,
                "no reference price for a MARKET order: its notional cannot be checked; send a LIMIT order",
            )
        )
    elif collar_bps is not None and limit_px is not None and order.ref_px is None:
        outcomes.append(
            _failed(
                RiskCode.NO_REFERENCE_PRICE,
                f"no reference price: the {_side_word(order.side)} limit {_amount(limit_px)} cannot be checked"
                f" against the {_qty(collar_bps)} bps price collar",
            )
        )
    if collar_bps is not None and limit_px is not None and order.ref_px is not None:
        outcomes.append(_price_collar(order.side, limit_px, order.ref_px, collar_bps))
    if notional is not None and limits.credit_limit is not None:
        outcomes.append(_credit(order, exposure, notional, limits.credit_limit))
    if limits.max_position_qty is not None:
        outcomes.append(_position(order, exposure, limits.max_position_qty))
    if notional is not None and limits.daily_notional is not None:
        outcomes.append(_daily_notional(order, exposure, notional, limits.daily_notional))
    if limits.max_orders is not None:
        outcomes.append(_throttle(exposure, limits.max_orders, limits.per_seconds))
    if limits.duplicate_seconds is not None:
        outcomes.append(_duplicate(exposure, limits.duplicate_seconds))
    return outcomes


def risk_failures(outcomes: Iterable[CheckOutcome]) -> list[CheckOutcome]:
    """Return the failed outcomes, in their order."""
    return [outcome for outcome in outcomes if not outcome.passed]


# --- the checks ----------------------------------------------------------------------


def _kill_switch(exposure: Exposure) -> CheckOutcome:
    if exposure.kill_switch is None:
        return CheckOutcome(RiskCode.KILL_SWITCH, True, "no kill switch covers this order")
    return _failed(RiskCode.KILL_SWITCH, f"kill switch engaged ({exposure.kill_switch}): no new orders until it is released")


def _restricted(exposure: Exposure) -> CheckOutcome:
    if exposure.restricted is None:
        return CheckOutcome(RiskCode.RESTRICTED, True, "the instrument is not on the restricted list")
    return _failed(RiskCode.RESTRICTED, f"the instrument is on the restricted list: {exposure.restricted}")


def _max_qty(order: OrderIntent, limit: Decimal) -> CheckOutcome:
    return _measured(RiskCode.MAX_QTY, order.qty, limit, f"qty {_qty(order.qty)}", f"the per-order limit of {_qty(limit)}")


def _max_notional(order: OrderIntent, notional: Decimal, limit: Decimal) -> CheckOutcome:
    return _measured(
        RiskCode.MAX_NOTIONAL,
        notional,
        limit,
        f"order notional {_money(notional, order.currency)}",
        f"the per-order limit of {_money(limit, order.currency)}",
    )


def _price_collar(side: Side, limit_px: Decimal, ref_px: Decimal, collar_bps: Decimal) -> CheckOutcome:
    # Rounded up so that a price a fraction of a basis point outside the collar never passes.
    deviation = (abs(limit_px - ref_px) * BPS_PER_UNIT / abs(ref_px)).quantize(BPS_STEP, rounding=ROUND_UP)
    where = "above" if limit_px > ref_px else "below" if limit_px < ref_px else "away from"
    measured = f"{_side_word(side)} limit {_amount(limit_px)} is {_amount(deviation)} bps {where} the reference {_amount(ref_px)}"
    passed = deviation <= collar_bps
    verdict = f"within the {_qty(collar_bps)} bps collar" if passed else f"the collar is {_qty(collar_bps)} bps"
    return CheckOutcome(RiskCode.PRICE_COLLAR, passed, f"{measured}; {verdict}", _plain(deviation), _plain(collar_bps))


def _credit(order: OrderIntent, exposure: Exposure, notional: Decimal, limit: Decimal) -> CheckOutcome:
    used = exposure.open_notional + exposure.filled_notional_today + notional
    return _measured(
        RiskCode.CREDIT_LIMIT,
        used,
        limit,
        f"credit in use with this order {_money(used, order.currency)}"
        f" (open orders {_amount(exposure.open_notional)} + filled today {_amount(exposure.filled_notional_today)}"
        f" + this order {_amount(notional)})",
        f"the credit limit of {_money(limit, order.currency)}",
    )


def _position(order: OrderIntent, exposure: Exposure, limit: Decimal) -> CheckOutcome:
    # Worst case: every working order on this side fills, and so does this one.
    if order.side is Side.BUY:
        worst = exposure.position_qty + exposure.open_buy_qty + order.qty
        parts = f"position {_qty(exposure.position_qty)} + open buys {_qty(exposure.open_buy_qty)} + this buy {_qty(order.qty)}"
    else:
        worst = exposure.position_qty - exposure.open_sell_qty - order.qty
        parts = f"position {_qty(exposure.position_qty)} - open sells {_qty(exposure.open_sell_qty)} - this sell {_qty(order.qty)}"
    return _measured(
        RiskCode.POSITION_LIMIT,
        abs(worst),
        limit,
        f"worst-case position with this order {_qty(worst)} ({parts})",
        f"the position limit of {_qty(limit)} long or short",
    )


def _daily_notional(order: OrderIntent, exposure: Exposure, notional: Decimal, limit: Decimal) -> CheckOutcome:
    submitted = exposure.submitted_notional_today + notional
    return _measured(
        RiskCode.DAILY_NOTIONAL,
        submitted,
        limit,
        f"notional submitted today with this order {_money(submitted, order.currency)}"
        f" (earlier orders {_amount(exposure.submitted_notional_today)} + this order {_amount(notional)})",
        f"the daily limit of {_money(limit, order.currency)}",
    )


def _throttle(exposure: Exposure, max_orders: int, per_seconds: int) -> CheckOutcome:
    count = exposure.recent_orders + 1
    measured = f"{_orders(count)} in {per_seconds} s with this one"
    if count > max_orders:
        message = f"{measured} is more than {_orders(max_orders)} in {per_seconds} s: slow down"
    else:
        message = f"{measured} is within {_orders(max_orders)} in {per_seconds} s"
    return CheckOutcome(RiskCode.THROTTLE, count <= max_orders, message, str(count), str(max_orders))


def _duplicate(exposure: Exposure, window_seconds: int) -> CheckOutcome:
    if exposure.duplicate_of is None:
        return CheckOutcome(RiskCode.DUPLICATE, True, f"no identical order in the last {window_seconds} s")
    return _failed(
        RiskCode.DUPLICATE,
        f"identical to order #{exposure.duplicate_of} sent in the last {window_seconds} s:"
        " resend with `allow_duplicate: true` if intended",
    )


def _measured(check: RiskCode, value: Decimal, limit: Decimal, measured: str, limit_text: str) -> CheckOutcome:
    """Return the outcome of ``value <= limit``; the message reads "<measured> is within/over <limit_text>"."""
    passed = value <= limit
    message = f"{measured} is {'within' if passed else 'over'} {limit_text}"
    return CheckOutcome(check, passed, message, _plain(value), _plain(limit))


def _failed(check: RiskCode, message: str) -> CheckOutcome:
    return CheckOutcome(check, False, message)


def _orders(count: int) -> str:
    return "1 order" if count == 1 else f"{count:,} orders"


def _side_word(side: Side) -> str:
    return side.value.lower()


# --- numbers as text -----------------------------------------------------------------


def _plain(value: Decimal) -> str:
    """Return ``value`` as a plain decimal string: no exponent, no trailing zeros (1E+6 -> "1000000", 2.50 -> "2.5")."""
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text


def _qty(value: Decimal) -> str:
    """Return a quantity with thousands separators and no trailing zeros: 12500.00 -> "12,500"."""
    text = format(value.normalize(), ",f")
    return "0" if text == "-0" else text


def _amount(value: Decimal) -> str:
    """Return money or a price with thousands separators and 2 decimals, more only when it has them.

    Rounding to the cent could show a value just over a limit as equal to it;
    a trader would rather read 1,000,000.004 than that.
    """
    cents = value.quantize(CENT)
    return format(cents if cents == value else value.normalize(), ",f")


def _money(value: Decimal, currency: str) -> str:
    return f"{_amount(value)} {currency}"
