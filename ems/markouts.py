"""Markouts: where the mid went 1, 5, 30 and 60 seconds after each of our fills.

A markout is in bps of the fill price, signed so that positive is good for us
(after a buy the mid rose). Persistently negative markouts at a venue are
adverse selection, so each one also feeds the router's score of that venue
(``router.services.venue_markout_add``), or, for an RFQ dealer, its 30-second
markout the dealers' scorecard (``ems.rfqs.dealer_markouts_add``). The mid is
the one the RFQ ladder uses (``ems.rfqs.composite_mid``): the NBBO mid, or an
option's or a package's theoretical value.

When a fill is booked, its four (fill, horizon) pairs go into a Redis sorted
set scored by when each falls due (``markouts_schedule``). Beat's
``ems.markouts_due`` task records every pair due, in one batch: one read of the
fills, one mid per symbol, one insert, one update per (venue, horizon). Before,
each pair was a Celery task with a countdown: four tasks per fill, a tenth of
the workers' time under load (``make bench``). The batch runs about once a
second, so a horizon is "at least" that long, by up to a second more (more
behind a backlog). Each (fill, horizon) is recorded once; a pair with no mid to
mark against (no market data, a one-sided book) stays unmeasured rather than
guessed.
"""

import time
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Final

from django.db import transaction

from config.redis import redis_client
from ems.models import FillMarkout
from ems.rfqs import composite_mid, dealer_markouts_add
from oms.models import Fill
from router.services import venue_markout_add
from trading.enums import Side, VenueKind
from venues.models import Venue

HORIZONS_S: Final = (1, 5, 30, 60)
DEALER_HORIZON_S: Final = 30  # the markout an RFQ dealer's scorecard keeps: did the market run away after its fill?
BPS: Final = Decimal(10_000)
DUE_KEY: Final = "ems:markouts:due"  # sorted set: "<fill id>:<horizon s>" scored by the epoch second it falls due
_BATCH_LOCK: Final = "ems:markouts:lock"
BATCH_MAX: Final = 5_000  # pairs per run; the rest wait for the next


def markout_bps(*, side: Side, fill_px: Decimal, mid_px: Decimal) -> Decimal:
    """Return the markout of a fill at ``fill_px`` against a later ``mid_px``: positive is good for us."""
    move = mid_px - fill_px if side is Side.BUY else fill_px - mid_px
    return (move / fill_px * BPS).quantize(Decimal("0.0001"))


def markouts_schedule(*, fill_id: int, now: float | None = None) -> None:
    """Put a fill just booked on the due list once per horizon (call on commit)."""
    at = time.time() if now is None else now
    redis_client().zadd(DUE_KEY, {f"{fill_id}:{horizon}": at + horizon for horizon in HORIZONS_S})


def markouts_due(*, now: float | None = None) -> int:
    """Record every markout due by ``now`` (epoch seconds); return how many were recorded. One run at a time."""
    redis = redis_client()
    if not redis.set(_BATCH_LOCK, 1, nx=True, ex=60):
        return 0
    try:
        members = redis.zrangebyscore(DUE_KEY, "-inf", time.time() if now is None else now, start=0, num=BATCH_MAX)
        if not members:
            return 0
        pairs = [(int(fill_id), int(horizon)) for fill_id, horizon in (str(m).split(":") for m in members)]
        recorded = markouts_record(pairs)
        redis.zrem(DUE_KEY, *members)  # after the commit: a crash between the two re-reads pairs already recorded, skipped
        return len(recorded)
    finally:
        redis.delete(_BATCH_LOCK)


@transaction.atomic
def markouts_record(pairs: Iterable[tuple[int, int]]) -> list[FillMarkout]:
    """Record the markout of each (fill id, horizon s) from the current NBBO mid, once each; return those recorded now.

    A pair recorded before, of an unknown fill, or with no mid to mark against is skipped.
    """
    wanted = set(pairs)
    fills = Fill.objects.select_related("parent__instrument__underlying").in_bulk({fill_id for fill_id, _ in wanted})
    done = set(FillMarkout.objects.filter(fill_id__in=fills).values_list("fill_id", "horizon_s"))
    mids: dict[str, Decimal | None] = {}
    rows: list[FillMarkout] = []
    for fill_id, horizon in sorted(wanted - done):
        fill = fills.get(fill_id)
        if fill is None:
            continue
        symbol = fill.parent.instrument.symbol
        if symbol not in mids:
            mids[symbol] = composite_mid(fill.parent.instrument)[0]
        mid = mids[symbol]
        if mid is None:
            continue
        bps = markout_bps(side=Side(fill.side), fill_px=fill.px, mid_px=mid)
        rows.append(FillMarkout(fill=fill, horizon_s=horizon, mid_px=mid, bps=bps))
    FillMarkout.objects.bulk_create(rows)
    by_venue: dict[tuple[str, int], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows:
        sums = by_venue[(row.fill.venue, row.horizon_s)]
        sums[0] += row.fill.qty
        sums[1] += row.bps * row.fill.qty
    venues = Venue.objects.in_bulk({code for code, _ in by_venue}, field_name="code")
    for (code, horizon), (qty, bps_qty) in sorted(by_venue.items()):
        if code in venues and venues[code].kind != VenueKind.RFQ_DEALER:
            venue_markout_add(venue=venues[code], horizon_s=horizon, qty=qty, bps_qty=bps_qty)
    dealer_markouts_add([(row.fill.venue, row.bps) for row in rows if row.horizon_s == DEALER_HORIZON_S])
    return rows
