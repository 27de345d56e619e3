"""Reference data for the venues' gateway, as plain values (the gateway imports no OMS code)."""

from typing import Any

from oms.models import Instrument

# The venues list every instrument (symbol, class, tick, lot, reference price); the dealer desk also prices
# options (underlying, strike, expiry, put/call, multiplier) and knows a package (``structure`` not blank) is
# asked for by its legs. Blank for an equity: None, and "" for put_call and structure.
LISTING_FIELDS = (
    "symbol",
    "asset_class",
    "tick_size",
    "lot_size",
    "ref_px",
    "multiplier",
    "underlying__symbol",
    "strike",
    "expiry",
    "put_call",
    "structure",
)


def listings() -> list[dict[str, Any]]:
    """Return every active instrument's listing terms and, for an option, its contract terms (``LISTING_FIELDS``)."""
    return [dict(row) for row in Instrument.objects.filter(active=True).values(*LISTING_FIELDS)]
