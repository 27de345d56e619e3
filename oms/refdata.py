"""Reference data for the venues' gateway, as plain values (the gateway imports no OMS code)."""

from typing import Any

from oms.models import Instrument


def listings() -> list[dict[str, Any]]:
    """Return every active instrument's symbol, asset class, tick, lot and reference price."""
    return [
        dict(row)
        for row in Instrument.objects.filter(active=True).values("symbol", "asset_class", "tick_size", "lot_size", "ref_px")
    ]
