"""Strategy selection. Pure: order facts in, decisions with reasons out."""

from dataclasses import dataclass, field
from typing import Any

from trading.enums import OrdType, TimeInForce


@dataclass(frozen=True, slots=True)
class StrategyChoice:
    name: str
    rationale: str
    params: dict[str, Any] = field(default_factory=dict)


DIRECT = "DIRECT"


def strategy_choose(*, ord_type: OrdType) -> StrategyChoice:
    """Return the strategy for a parent order. This first cut has one: DIRECT."""
    how = (
        "works as a limit order for its time in force"
        if ord_type is OrdType.LIMIT
        else "takes liquidity now; any remainder is cancelled (IOC)"
    )
    return StrategyChoice(DIRECT, f"hand the whole quantity to the smart order router: it {how}")


def working_tif(*, ord_type: OrdType, tif: TimeInForce) -> TimeInForce:
    """Return the time in force the router works a parent with: a market order never rests (IOC unless FOK)."""
    if ord_type is OrdType.MARKET and tif is not TimeInForce.FOK:
        return TimeInForce.IOC
    return tif
