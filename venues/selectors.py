"""The venues app's reads."""

from venues.models import InstrumentAnalytics


def analytics_get(symbol: str) -> InstrumentAnalytics | None:
    """Return the symbol's stored analytics, or None if none were computed yet."""
    return InstrumentAnalytics.objects.filter(symbol=symbol).first()
