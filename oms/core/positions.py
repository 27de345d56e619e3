"""Position arithmetic: average cost and realized P&L from fills, exactly."""

from dataclasses import dataclass
from decimal import Decimal

from trading.enums import Side
from trading.numbers import ZERO, quantize_money, quantize_px


@dataclass(frozen=True, slots=True)
class PositionState:
    qty: Decimal  # signed: long > 0, short < 0
    avg_cost: Decimal  # per share, of the open quantity
    realized_pnl: Decimal


def position_after_fill(position: PositionState, *, side: Side, qty: Decimal, px: Decimal, multiplier: Decimal) -> PositionState:
    """Return the position after a fill of ``qty`` at ``px``.

    A fill that adds to the position moves the average cost; one that reduces
    it realizes P&L against the average cost; one that flips it does both, the
    rest opening at ``px``. Fees are not in the cost: they are booked apart.
    """
    signed = side.sign * qty
    if position.qty == 0 or (position.qty > 0) == (signed > 0):
        new_qty = position.qty + signed
        cost = abs(position.qty) * position.avg_cost + qty * px
        return PositionState(new_qty, quantize_px(cost / abs(new_qty)), position.realized_pnl)
    closed = min(qty, abs(position.qty))
    direction = 1 if position.qty > 0 else -1  # a long gains when px rises
    realized = position.realized_pnl + quantize_money(direction * closed * (px - position.avg_cost) * multiplier)
    new_qty = position.qty + signed
    if new_qty == 0:
        return PositionState(ZERO, ZERO, realized)
    if (new_qty > 0) == (position.qty > 0):
        return PositionState(new_qty, position.avg_cost, realized)
    return PositionState(new_qty, px, realized)  # flipped: the remainder opened at px


def cash_after_fill(cash: Decimal, *, side: Side, qty: Decimal, px: Decimal, multiplier: Decimal, fee: Decimal) -> Decimal:
    """Return cash after paying (buy) or receiving (sell) the notional, less the fee."""
    return quantize_money(cash - side.sign * qty * px * multiplier - fee)
