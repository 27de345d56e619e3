"""The venues app's writes: stored instrument analytics, venue session overrides."""

from datetime import datetime

from django.db import transaction

from venues.analytics import Analytics
from venues.models import InstrumentAnalytics, Venue
from venues.sim.params import SessionState


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
