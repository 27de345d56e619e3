"""Decimal helpers for prices, quantities and money. Never ``float``.

Every price sits on its instrument's tick and every size on its lot; these
helpers are the one place that checks and rounds to them.
"""

from collections.abc import Iterable
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation

ZERO = Decimal(0)

# Digits stored for each kind of number; the database fields use the same ones.
PX_DECIMALS = 8
QTY_DECIMALS = 4
MONEY_DECIMALS = 4
MAX_DIGITS = 24


class NotDecimalError(ValueError):
    pass


def to_decimal(value: object) -> Decimal:
    """Return ``value`` as a finite Decimal; reject floats, which are inexact."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool | float):
        raise NotDecimalError(f"expected a decimal string, was {value!r} ({type(value).__name__})")
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except InvalidOperation as exc:
            raise NotDecimalError(f"not a number: {value!r}") from exc
    else:
        raise NotDecimalError(f"expected a decimal string, was {type(value).__name__}")
    if not result.is_finite():
        raise NotDecimalError(f"not a finite number: {value!r}")
    return result


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """Return whether ``value`` is a whole number of ``step`` (a tick or a lot)."""
    if step <= 0:
        raise ValueError(f"step must be positive, was {step}")
    return value % step == 0


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """Round ``value`` down to a whole number of ``step`` (slicers floor to the lot)."""
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def round_to(value: Decimal, step: Decimal) -> Decimal:
    """Round ``value`` to the nearest whole number of ``step`` (half to even)."""
    return (value / step).to_integral_value(rounding=ROUND_HALF_EVEN) * step


def quantize_money(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-MONEY_DECIMALS), rounding=ROUND_HALF_EVEN)


def quantize_px(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-PX_DECIMALS), rounding=ROUND_HALF_EVEN)


def vwap(fills: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
    """Return the quantity-weighted mean price of ``(qty, px)`` pairs, or 0 if none."""
    total_qty = ZERO
    notional = ZERO
    for qty, px in fills:
        total_qty += qty
        notional += qty * px
    return avg_px(qty=total_qty, notional=notional)


def avg_px(*, qty: Decimal, notional: Decimal) -> Decimal:
    """Return ``notional / qty`` on the price grid, or 0 for no quantity.

    Keep the running notional, not the running average: re-averaging a rounded
    average drifts.
    """
    return quantize_px(notional / qty) if qty else ZERO


def decimal_str(value: Decimal | None) -> str | None:
    """``value`` as JSON text, never in exponent form ("1E+1" would be misread); None stays None."""
    return None if value is None else format(value, "f")


def plain(value: Decimal) -> Decimal:
    """Return ``value`` without trailing zeros and never in exponent form: 300.0000 -> 300, 101.5000 -> 101.5."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal
