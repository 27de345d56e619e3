"""Markouts: where the mid went 1, 5, 30 and 60 seconds after each of our fills.

A markout is in bps of the fill price, signed so that positive is good for us
(after a buy the mid rose). Persistently negative markouts at a venue are
adverse selection, so each one also feeds the router's score of that venue
(``router.services.venue_markout_record``). Measured by Celery tasks scheduled
with a countdown when the fill is applied; a task runs late rather than early,
so a horizon is "at least" that long. Each (fill, horizon) is recorded once.
"""

from decimal import Decimal
from typing import Final

from django.db import transaction

from config.redis import redis_client
from ems.models import FillMarkout
from oms.models import Fill
from router.services import venue_markout_record
from trading.enums import Side
from venues.marketdata import nbbo_read
from venues.models import Venue

HORIZONS_S: Final = (1, 5, 30, 60)
BPS: Final = Decimal(10_000)


def markout_bps(*, side: Side, fill_px: Decimal, mid_px: Decimal) -> Decimal:
    """Return the markout of a fill at ``fill_px`` against a later ``mid_px``: positive is good for us."""
    move = mid_px - fill_px if side is Side.BUY else fill_px - mid_px
    return (move / fill_px * BPS).quantize(Decimal("0.0001"))


def markouts_schedule(*, fill_id: int) -> None:
    """Queue one markout task per horizon for a fill just booked (call on commit)."""
    from ems.tasks import fill_markout  # tasks import the services, which import this module

    for horizon in HORIZONS_S:
        fill_markout.apply_async((fill_id, horizon), countdown=horizon)


@transaction.atomic
def fill_markout_record(*, fill_id: int, horizon_s: int) -> FillMarkout | None:
    """Record the fill's markout at ``horizon_s`` from the current NBBO mid; once per (fill, horizon).

    Returns None when there is no mid to mark against (no market data, a
    one-sided book): that horizon stays unmeasured rather than guessed.
    """
    fill = Fill.objects.select_related("parent__instrument").get(pk=fill_id)
    view = nbbo_read(redis_client(), fill.parent.instrument.symbol)
    if view is None or view.mid is None:
        return None
    markout, created = FillMarkout.objects.get_or_create(
        fill=fill,
        horizon_s=horizon_s,
        defaults={"mid_px": view.mid, "bps": markout_bps(side=Side(fill.side), fill_px=fill.px, mid_px=view.mid)},
    )
    venue = Venue.objects.filter(code=fill.venue).first()
    if created and venue is not None:
        venue_markout_record(venue=venue, horizon_s=horizon_s, qty=fill.qty, bps=markout.bps)
    return markout
