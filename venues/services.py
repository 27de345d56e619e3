"""The venues app's writes: stored instrument analytics, venue session overrides."""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from venues.analytics import Analytics, analytics_compute
from venues.models import InstrumentAnalytics, Venue
from venues.selectors import listings_read, market_config_read
from venues.sim.history import history_simulate
from venues.sim.params import SessionState

log = logging.getLogger(__name__)


@transaction.atomic
def analytics_store(*, analytics: Analytics, as_of: datetime) -> InstrumentAnalytics:
    """Store ``analytics`` as the symbol's one row, replacing what was there; the profile is kept as strings."""
    row, _ = InstrumentAnalytics.objects.update_or_create(
        symbol=analytics.symbol,
        defaults={
            "as_of": as_of,
            "days": analytics.days,
            "adv": analytics.adv,
            "volatility_daily": analytics.volatility_daily,
            "volatility_annual": analytics.volatility_annual,
            "spread_px": analytics.spread_px,
            "spread_bps": analytics.spread_bps,
            "depth": analytics.depth,
            "bucket_minutes": analytics.bucket_minutes,
            "volume_profile": [str(share) for share in analytics.volume_profile],
        },
    )
    return row


@transaction.atomic
def venue_session_set(*, venue_ids: list[int], state: SessionState) -> int:
    """Set the session state of the given venues (HALTED or CLOSED override the hours); return how many changed."""
    return Venue.objects.filter(id__in=venue_ids).exclude(session_state=state).update(session_state=state)


def analytics_refresh(
    *, days: int, seed: int | None = None, symbols: list[str] | None = None, missing_only: bool = False
) -> dict[str, Analytics | str]:
    """Simulate each listed instrument's history, compute its analytics and store them.

    Return, per symbol, the analytics stored or why none were. ``symbols``
    limits the work (``ValueError`` names any not listed); ``missing_only``
    skips symbols that already have analytics. Each symbol is stored on its own,
    so one bad history does not keep the others stale.
    """
    if days < 1:
        raise ValueError(f"invalid `days`, was {days}")
    config = market_config_read(seed=seed)
    listings = listings_read()
    if symbols:
        unknown = sorted(set(symbols) - {listing.symbol for listing in listings})
        if unknown:
            raise ValueError(f"invalid `symbols`, not listed: {', '.join(unknown)}")
        listings = [listing for listing in listings if listing.symbol in symbols]
    if missing_only:
        have = set(InstrumentAnalytics.objects.values_list("symbol", flat=True))
        listings = [listing for listing in listings if listing.symbol not in have]
    as_of = timezone.now()
    results: dict[str, Analytics | str] = {}
    for listing in listings:
        try:
            analytics = analytics_compute(history_simulate(listing, days=days, seed=config.seed, config=config))
        except ValueError as exc:
            log.warning("analytics for %s not stored: %s", listing.symbol, exc)
            results[listing.symbol] = str(exc)
            continue
        analytics_store(analytics=analytics, as_of=as_of)
        results[listing.symbol] = analytics
    return results
