"""The order detail's chart: the market's price over the order's window, our fills, the schedule and our participation.

Times are epoch milliseconds (ints, UTC); prices, quantities and rates are
decimal strings (``trading.numbers.decimal_str``), None where unknown. The
market comes from ``md:volume`` (``venues.marketdata.price_volume_series``),
a point per publish with trades, downsampled to at most ``MAX_POINTS``.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from django.utils import timezone

from config.redis import redis_client
from ems.core.tca import participation
from ems.models import Execution, ExecutionTick
from oms.models import Fill, ParentOrder
from trading.clock import epoch_ns
from trading.numbers import ZERO, decimal_str
from trading.states import OrdStatus
from venues.marketdata import PricePoint, price_volume_series, volume_before

__all__ = ["MARGIN", "MAX_POINTS", "order_chart"]

MAX_POINTS: Final = 1500  # a chart a few hundred pixels wide shows no more
MARGIN: Final = timedelta(minutes=1)  # market shown before the start and after the end
_RATE: Final = Decimal("0.0001")


def _ms(at: datetime) -> int:
    return epoch_ns(at) // 1_000_000


def _opt_ms(at: datetime | None) -> int | None:
    return None if at is None else _ms(at)


def order_chart(*, parent_id: int, max_points: int = MAX_POINTS, now: datetime | None = None) -> dict[str, Any]:
    """Return what the order's chart draws (see ``ems.api.OrderChartSerializer`` for the fields).

    The window runs from a minute before the execution started (the order's
    creation when it has none) to now while the order works; once it is done,
    to a minute after its last fill or tick, whichever came later (never past
    now). Participation at a market point is our filled quantity by then over
    the market's volume since the execution started (ours included, to the
    publish); None before the start, with no volume yet, or when our fills are
    ahead of the prints that carried them. Raise ``ParentOrder.DoesNotExist``
    for an unknown id; visibility is the caller's to check.
    """
    now = now or timezone.now()
    parent = ParentOrder.objects.select_related("instrument").get(pk=parent_id)
    execution = Execution.objects.filter(parent_id=parent_id).first()
    fills = list(Fill.objects.filter(parent_id=parent_id).order_by("executed_at", "id"))
    ticks = list(ExecutionTick.objects.filter(execution=execution).order_by("tick_no")) if execution else []

    started = execution.start_at if execution and execution.start_at else None
    start = started or parent.created_at
    end = now
    if OrdStatus(parent.status).is_terminal:
        last = max([f.executed_at for f in fills] + [t.ran_at for t in ticks], default=parent.updated_at)
        end = min(now, last + MARGIN)
    range_start, range_end = start - MARGIN, max(end, start)

    client = redis_client()
    symbol = parent.instrument.symbol
    points = price_volume_series(client, symbol, range_start, range_end, max_points)
    # Read after the points: a publish landing in between comes after every point read, so the base is right for each.
    base = volume_before(client, symbol, started) if started else None

    filled = ZERO
    fill_rows = []
    for fill in fills:
        filled += fill.qty
        fill_rows.append(
            {
                "t": _ms(fill.executed_at),
                "px": decimal_str(fill.px),
                "qty": decimal_str(fill.qty),
                "venue": fill.venue,
                "liquidity": fill.liquidity,
                "filled_qty": decimal_str(filled),
            }
        )

    return {
        "order": parent.pk,
        "symbol": symbol,
        "side": parent.side,
        "status": parent.status,
        "strategy": execution.strategy if execution else None,
        "qty": decimal_str(parent.qty),
        "filled_qty": decimal_str(parent.filled_qty),
        "avg_px": decimal_str(parent.avg_px) if parent.filled_qty else None,
        "limit_px": decimal_str(parent.limit_px),
        "decision_px": decimal_str(parent.decision_px),
        "arrival_mid": decimal_str(execution.arrival_mid) if execution else None,
        "start_at": _opt_ms(started),
        "end_at": _opt_ms(execution.end_at if execution else parent.end_at),
        "range_start": _ms(range_start),
        "range_end": _ms(range_end),
        "as_of": _ms(now),
        "max_points": max_points,
        "market": _market_rows(points, fills, base=base),
        "fills": fill_rows,
        "schedule": [
            {
                "tick_no": tick.tick_no,
                "due_at": _ms(tick.due_at),
                "ran_at": _ms(tick.ran_at),
                "strategy": tick.strategy,
                "target_qty": decimal_str(tick.target_qty),
                "filled_qty": decimal_str(tick.filled_qty),
            }
            for tick in ticks
        ],
    }


def _market_rows(points: list[PricePoint], fills: list[Fill], *, base: Decimal | None) -> list[dict[str, Any]]:
    """Each market point with the volume since the start and our share of it; fills in time order."""
    rows = []
    ours, next_fill = ZERO, 0
    for point in points:
        while next_fill < len(fills) and _ms(fills[next_fill].executed_at) <= point.at_ms:
            ours += fills[next_fill].qty
            next_fill += 1
        since: Decimal | None = None
        rate: Decimal | None = None
        if base is not None and point.cumulative > base:  # at or after the first publish since the start: exact, no clock
            since = point.cumulative - base
            share = participation(our_qty=ours, market_qty=since) if since >= ours else None
            rate = share.quantize(_RATE) if share is not None else None
        rows.append(
            {
                "t": point.at_ms,
                "px": decimal_str(point.px),
                "mid": decimal_str(point.mid),
                "market_volume": decimal_str(since),
                "participation": decimal_str(rate),
            }
        )
    return rows
