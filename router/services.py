"""The router's writes: what each finished order, acknowledgement and markout teaches about a venue.

Each update is one atomic ``UPDATE ... SET x = x + n`` (``F`` expressions), so
concurrent workers never lose one; callers make them exactly once (on the
child's transition to a terminal state, on its first acknowledgement, on a
markout row's creation).
"""

from decimal import Decimal

from django.db.models import F

from router.models import VenueMarkout, VenueStat
from venues.models import Venue


def _stat(venue: Venue) -> None:
    VenueStat.objects.get_or_create(venue=venue)


def venue_order_finished(*, venue: Venue, qty: Decimal, filled_qty: Decimal, rejected: bool) -> None:
    """Count one finished order of ``qty`` at ``venue`` that filled ``filled_qty`` (0 if rejected)."""
    _stat(venue)
    VenueStat.objects.filter(venue=venue).update(
        orders=F("orders") + 1,
        filled_share_sum=F("filled_share_sum") + (filled_qty / qty if qty else Decimal(0)),
        rejects=F("rejects") + (1 if rejected else 0),
    )


def venue_ack_record(*, venue: Venue, ms: Decimal) -> None:
    """Count one acknowledgement that took ``ms`` from our send."""
    _stat(venue)
    VenueStat.objects.filter(venue=venue).update(acks=F("acks") + 1, ack_ms_sum=F("ack_ms_sum") + ms)


def venue_markout_add(*, venue: Venue, horizon_s: int, qty: Decimal, bps_qty: Decimal) -> None:
    """Add fills' markouts at ``horizon_s`` seconds: their ``qty`` and the sum of each one's bps times its qty.

    Positive bps are good for us. One call can carry a batch's fills at the venue (the sums add up).
    """
    VenueMarkout.objects.get_or_create(venue=venue, horizon_s=horizon_s)
    VenueMarkout.objects.filter(venue=venue, horizon_s=horizon_s).update(qty=F("qty") + qty, bps_qty_sum=F("bps_qty_sum") + bps_qty)
