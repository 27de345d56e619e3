"""Strategy selection and slicing. Pure: order facts in, decisions with reasons out."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from trading.enums import OrdType, TimeInForce


@dataclass(frozen=True, slots=True)
class StrategyChoice:
    name: str
    rationale: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Slice:
    slice_no: int
    qty: Decimal
    ord_type: OrdType
    limit_px: Decimal | None
    tif: TimeInForce


DIRECT = "DIRECT"


def strategy_choose(*, ord_type: OrdType) -> StrategyChoice:
    """Return the strategy for a parent order. This first cut has one: DIRECT."""
    how = (
        "works as a limit order for its time in force"
        if ord_type is OrdType.LIMIT
        else "takes liquidity now; any remainder is cancelled (IOC)"
    )
    return StrategyChoice(DIRECT, f"send the whole quantity to one lit venue: it {how}")


def direct_slices(
    *, leaves_qty: Decimal, ord_type: OrdType, limit_px: Decimal | None, tif: TimeInForce = TimeInForce.DAY
) -> list[Slice]:
    """Return DIRECT's single slice: everything left, as one child with the parent's time in force.

    A market order never rests: its child is IOC unless the parent asked for FOK.
    """
    if leaves_qty <= 0:
        return []
    if ord_type is OrdType.MARKET and tif is not TimeInForce.FOK:
        tif = TimeInForce.IOC
    return [Slice(1, leaves_qty, ord_type, limit_px, tif)]
