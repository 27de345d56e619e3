"""Position arithmetic: cost basis and realized P&L from fills, exactly.

A position keeps the cost of its open quantity (``cost``, signed like the
quantity), not an average: re-averaging a rounded average drifts. Closing part
of a position releases that part of the cost, rounded to money once; whatever the
rounding left behind stays in ``cost`` and is released by the final close, so
over a round trip realized P&L equals the cash it moved, to the cent.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from trading.enums import Side
from trading.numbers import ZERO, quantize_money, quantize_px


@dataclass(frozen=True, slots=True)
class PositionState:
    qty: Decimal  # signed: long > 0, short < 0
    cost: Decimal  # cost basis of the open quantity, signed like qty, per unit of multiplier
    realized_pnl: Decimal

    @property
    def avg_cost(self) -> Decimal:
        """Return the average cost per share of the open quantity (0 when flat)."""
        return quantize_px(self.cost / self.qty) if self.qty else ZERO


FLAT = PositionState(ZERO, ZERO, ZERO)


@dataclass(frozen=True, slots=True)
class PositionMark:
    """A position valued at a mark: what it is worth and what it would make if closed there (fees apart)."""

    mark: Decimal
    market_value: Decimal  # signed like the quantity: a short is worth less than nothing
    unrealized_pnl: Decimal


def position_mark(position: PositionState, *, mark: Decimal, multiplier: Decimal) -> PositionMark:
    """Return the position marked to ``mark``: market value ``qty x mark`` and unrealized P&L ``qty x mark - cost``.

    Both times the multiplier and rounded to money once; flat, both are 0.
    """
    value = position.qty * mark * multiplier
    return PositionMark(mark, quantize_money(value), quantize_money(value - position.cost * multiplier))


def position_after_fill(position: PositionState, *, side: Side, qty: Decimal, px: Decimal, multiplier: Decimal) -> PositionState:
    """Return the position after a fill of ``qty`` at ``px``.

    A fill that adds to the position adds its notional to the cost; one that
    reduces it realizes P&L against the share of cost it releases; one that
    flips it does both, the rest opening at ``px``. Fees are booked apart.
    """
    signed = side.sign * qty
    if position.qty == 0 or (position.qty > 0) == (signed > 0):
        return PositionState(position.qty + signed, position.cost + signed * px, position.realized_pnl)
    closed = min(qty, abs(position.qty))
    direction = 1 if position.qty > 0 else -1
    released = position.cost if closed == abs(position.qty) else quantize_money(position.cost * closed / abs(position.qty))
    realized = position.realized_pnl + (direction * closed * px - released) * multiplier
    remaining_cost = position.cost - released
    opened = qty - closed  # what is left of the fill after flattening opens a position the other way
    new_qty = position.qty + signed
    return PositionState(new_qty, remaining_cost + side.sign * opened * px, realized)


def cash_after_fill(cash: Decimal, *, side: Side, qty: Decimal, px: Decimal, multiplier: Decimal, fee: Decimal) -> Decimal:
    """Return cash after paying (buy) or receiving (sell) the notional, less the fee."""
    return quantize_money(cash - side.sign * qty * px * multiplier - fee)


@dataclass(frozen=True, slots=True)
class LegTerms:
    """A package leg as booked: its side when the package is bought, units per package unit, its multiplier."""

    side: Side
    ratio: int
    multiplier: Decimal


@dataclass(frozen=True, slots=True)
class LegFill:
    side: Side
    qty: Decimal
    px: Decimal


def package_leg_fills(
    legs: Sequence[LegTerms], *, side: Side, qty: Decimal, px: Decimal, multiplier: Decimal, leg_px: Sequence[Decimal]
) -> tuple[LegFill, ...]:
    """Return what each leg books for a fill of ``qty`` package units at the net price ``px``.

    Selling the package sells every bought leg and buys every sold one, at the
    same leg prices. Raise ValueError unless the leg prices make ``px``
    exactly: ``sum(sign * ratio * leg multiplier * leg px) == px * multiplier``
    (the package's multiplier): then the legs move the cash the package fill
    does, to the cent, and the positions add up to the trade.
    """
    if len(leg_px) != len(legs):
        raise ValueError(f"invalid `leg_px`, was {len(leg_px)} prices for {len(legs)} legs")
    money = sum((leg.side.sign * leg.ratio * leg.multiplier * p for leg, p in zip(legs, leg_px, strict=True)), ZERO)
    if money != px * multiplier:
        raise ValueError(
            f"invalid `leg_px`, was {' '.join(str(p) for p in leg_px)}: they make {money / multiplier}, not the price {px}"
        )
    return tuple(
        LegFill(leg.side if side is Side.BUY else leg.side.opposite, qty * leg.ratio, p)
        for leg, p in zip(legs, leg_px, strict=True)
    )
