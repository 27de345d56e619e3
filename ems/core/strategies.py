"""How a parent's order type and time in force translate for the router. Pure."""

from trading.enums import OrdType, TimeInForce


def working_tif(*, ord_type: OrdType, tif: TimeInForce) -> TimeInForce:
    """Return the time in force the router works a parent with: a market order never rests (IOC unless FOK)."""
    if ord_type is OrdType.MARKET and tif is not TimeInForce.FOK:
        return TimeInForce.IOC
    return tif
