"""How a parent's terms translate for the router: its working time in force, a slice's limit within its own. Pure."""

from decimal import Decimal

from trading.enums import OrdType, Side, TimeInForce


def working_tif(*, ord_type: OrdType, tif: TimeInForce) -> TimeInForce:
    """Return the time in force the router works a parent with: a market order never rests (IOC unless FOK)."""
    if ord_type is OrdType.MARKET and tif is not TimeInForce.FOK:
        return TimeInForce.IOC
    return tif


def tighter_limit(side: Side, a: Decimal | None, b: Decimal | None) -> Decimal | None:
    """The more cautious of two limits (None: no limit)."""
    if a is None or b is None:
        return a if b is None else b
    return min(a, b) if side is Side.BUY else max(a, b)
