"""A market in the cache for EMS tests: venue books and fresh venue health, as the gateway would publish them."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from config.redis import redis_client
from venues.marketdata import VENUES_KEY, BookView, VenueHealth, market_publish, venue_health_publish

LIT = ("XALP", "XBET", "XGAM")
DARK = ("DKAL", "DKSG")


def market_set(
    symbol: str = "ACME",
    *,
    asks: dict[str, list[tuple[str, int]]] | None = None,
    bids: dict[str, list[tuple[str, int]]] | None = None,
    states: dict[str, str] | None = None,
    ages_s: dict[str, float] | None = None,
) -> None:
    """Replace ``symbol``'s cached books and every venue's health.

    By default each lit venue shows 500 at 101.48 / 101.50; ``asks`` and ``bids``
    give a venue its own levels; ``states`` its session; ``ages_s`` how long ago
    the gateway last vouched for it (a venue absent from the health hash is
    given with an age of None: pass ``-1``).
    """
    client = redis_client()
    client.delete(f"md:top:{symbol}", f"md:book:{symbol}", f"md:nbbo:{symbol}", VENUES_KEY)
    now = datetime.now(UTC)
    states = states or {}
    ages_s = ages_s or {}
    default_asks, default_bids = [("101.50", 500)], [("101.48", 500)]
    books = [
        BookView(
            venue=venue,
            symbol=symbol,
            bids=tuple((Decimal(px), Decimal(qty), 1) for px, qty in (bids or {}).get(venue, default_bids)),
            asks=tuple((Decimal(px), Decimal(qty), 1) for px, qty in (asks or {}).get(venue, default_asks)),
            state=states.get(venue, "OPEN"),
            ts=now.isoformat(),
        )
        for venue in LIT
    ]
    market_publish(client, symbol, books, [])
    venue_health_publish(
        client,
        [
            VenueHealth(venue, states.get(venue, "OPEN"), (now - timedelta(seconds=ages_s.get(venue, 0))).isoformat())
            for venue in LIT + DARK
            if ages_s.get(venue, 0) >= 0
        ],
    )
