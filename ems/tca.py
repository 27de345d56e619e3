"""An order's transaction cost analysis: the shell that loads its fills and the market and calls ``ems.core.tca``.

Two reads: ``order_tca`` (the order-level figures, in the order detail's
``tca`` and the TCA page) and ``order_tca_report`` (those plus one row per
fill, ``GET /api/orders/<id>/tca/``). Bps are positive when they cost us
money, except markouts (positive: the mid moved our way after the fill).
Every number leaves as a decimal string.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from django.utils import timezone

from config.redis import redis_client
from ems.core.tca import (
    TcaFill,
    effective_spread_bps,
    participation,
    qty_weighted_bps,
    realized_spread_bps,
    shortfall,
    slippage_bps,
    vwap_slippage_bps,
)
from ems.markouts import HORIZONS_S
from ems.models import Execution, FillMarkout
from oms.models import Fill, ParentOrder
from trading.clock import epoch_ns
from trading.enums import Liquidity, Side
from trading.numbers import ZERO, decimal_str
from trading.states import OrdStatus
from venues.marketdata import last_px_at, volume_since, vwap_between

SHARE_STEP: Final = Decimal("0.0001")


def order_tca(*, parent_id: int, now: datetime | None = None) -> dict[str, Any] | None:
    """Return the order's transaction cost analysis so far, or None before its execution knows the arrival mid.

    Implementation shortfall against the paper portfolio at the decision price
    (the mark when the OMS accepted it; else the arrival mid), in bps with
    Perold's decomposition plus timing (``ems.core.tca.shortfall``; each fill's
    prevailing mid is ``Fill.mid_px``): the unfilled rest is valued at the live
    mark. The average price against the arrival mid and against the market's
    VWAP over the working interval (``interval_window``); the participation
    rate in the volume printed since the execution started; liquidity added
    and removed; the fills' effective spread, realized spread and markouts by
    horizon, weighted by quantity. None also for a package priced at a net
    credit (no bps against a non-positive price).
    """
    execution = Execution.objects.filter(parent_id=parent_id).select_related("parent__instrument").first()
    if execution is None or execution.arrival_mid is None:
        return None
    fills, markouts = _fills(parent_id)
    return _order_figures(execution, fills, markouts, now or timezone.now())


def order_tca_report(*, parent_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Return the TCA page's data: the order's header, ``order_tca`` (None before it has one) and one row per fill.

    Each fill: when, where, how much, at what price and fee, liquidity, the mid
    when it was booked and its effective spread against it, and its markout
    and realized spread at each horizon (None until measured, or without a
    mid). Raise ``ParentOrder.DoesNotExist`` for an unknown id; visibility is
    the caller's to check.
    """
    now = now or timezone.now()
    parent = ParentOrder.objects.select_related("instrument", "portfolio").get(pk=parent_id)
    execution = Execution.objects.filter(parent_id=parent_id).select_related("parent__instrument").first()
    fills, markouts = _fills(parent_id)
    side = Side(parent.side)
    known = execution is not None and execution.arrival_mid is not None
    return {
        "order": parent.pk,
        "symbol": parent.instrument.symbol,
        "portfolio": parent.portfolio.code,
        "side": parent.side,
        "qty": decimal_str(parent.qty),
        "filled_qty": decimal_str(parent.filled_qty),
        "avg_px": decimal_str(parent.avg_px) if parent.filled_qty else None,
        "limit_px": decimal_str(parent.limit_px),
        "status": parent.status,
        "strategy": execution.strategy if execution else None,
        "base_strategy": (execution.base_strategy or execution.strategy) if execution else None,
        "horizons_s": list(HORIZONS_S),
        "as_of": now,
        "tca": _order_figures(execution, fills, markouts, now) if execution is not None and known else None,
        "fills": [_fill_row(side, fill, markouts.get(fill.pk, {})) for fill in fills],
    }


def interval_window(execution: Execution, fills: list[Fill], now: datetime) -> tuple[datetime, datetime] | None:
    """Return the order's working interval: its execution's start to its last fill, or to now while it works.

    A finished order without fills: to its last change. None before the execution started.
    """
    if execution.start_at is None:
        return None
    parent = execution.parent
    if not OrdStatus(parent.status).is_terminal:
        end = now
    elif fills:
        end = max(fill.executed_at for fill in fills)
    else:
        end = parent.updated_at
    return execution.start_at, max(end, execution.start_at)


def _fills(parent_id: int) -> tuple[list[Fill], dict[int, dict[int, FillMarkout]]]:
    """The parent's fills in time order, and their markouts by fill id and horizon."""
    fills = list(Fill.objects.filter(parent_id=parent_id).order_by("executed_at", "id"))
    by_fill: dict[int, dict[int, FillMarkout]] = {}
    for markout in FillMarkout.objects.filter(fill__parent_id=parent_id):
        by_fill.setdefault(markout.fill_id, {})[markout.horizon_s] = markout
    return fills, by_fill


def _mid(fill: Fill) -> Decimal | None:
    """The fill's prevailing mid, when it is one we can measure in bps against (a package's net credit is not)."""
    return fill.mid_px if fill.mid_px is not None and fill.mid_px > 0 else None


def _order_figures(
    execution: Execution, fills: list[Fill], markouts: dict[int, dict[int, FillMarkout]], now: datetime
) -> dict[str, Any] | None:
    from ems.rfqs import composite_mid

    parent = execution.parent
    arrival = execution.arrival_mid
    if arrival is None:  # the callers pass only executions that know it
        return None
    side = Side(parent.side)
    mark, source = composite_mid(parent.instrument)
    end_mid = mark or (parent.avg_px if parent.filled_qty else None) or arrival
    decision = parent.decision_px or arrival
    if decision <= 0 or arrival <= 0 or end_mid <= 0:  # a package's net credit: no bps against it
        return None
    cost = shortfall(
        side=side,
        order_qty=parent.qty,
        arrival_mid=arrival,
        decision_mid=decision,
        fills=[
            TcaFill(qty=f.qty, px=f.px, fee=f.fee, t_ns=epoch_ns(f.executed_at), liquidity=f.liquidity, mid=_mid(f)) for f in fills
        ],
        end_mid=end_mid,
    )
    client = redis_client()
    symbol = parent.instrument.symbol
    market = volume_since(client, symbol, execution.start_at) if execution.start_at else ZERO
    rate = participation(our_qty=parent.filled_qty, market_qty=market) if market >= parent.filled_qty else None
    window = interval_window(execution, fills, now)
    interval = vwap_between(client, symbol, *window) if window else None
    arrival_px = last_px_at(client, symbol, execution.start_at) if execution.start_at else None
    spreads = [(f.qty, effective_spread_bps(side=side, px=f.px, mid=mid)) for f in fills if (mid := _mid(f)) and f.px > 0]
    avg = cost.avg_px if cost.avg_px is not None and cost.avg_px > 0 else None  # None: nothing filled (or a net credit)
    return {
        # the keys the order detail has always had
        "decision_px": decimal_str(decision),
        "arrival_mid": decimal_str(arrival),
        "end_mid": decimal_str(end_mid),
        "end_mid_source": source or ("AVG_PX" if parent.filled_qty else "ARRIVAL"),
        "avg_px": decimal_str(cost.avg_px),
        "filled_qty": decimal_str(cost.filled_qty),
        "shortfall_bps": decimal_str(cost.total_bps),
        "delay_bps": decimal_str(cost.delay_bps),
        "impact_bps": decimal_str(cost.impact_bps),
        "opportunity_bps": decimal_str(cost.opportunity_bps),
        "fees_bps": decimal_str(cost.fees_bps),
        "participation": decimal_str(rate.quantize(SHARE_STEP) if rate is not None else None),
        "markouts_bps": {
            str(horizon): decimal_str(qty_weighted_bps(measured))
            for horizon in HORIZONS_S
            if (measured := [(f.qty, m.bps) for f in fills if (m := markouts.get(f.pk, {}).get(horizon)) is not None])
        },
        # and the rest of the analysis
        "timing_bps": decimal_str(cost.timing_bps),
        "arrival_px": decimal_str(arrival_px),
        "arrival_slippage_bps": decimal_str(slippage_bps(side=side, avg_px=avg, benchmark=arrival)) if avg else None,
        "interval_start": window[0] if window else None,
        "interval_end": window[1] if window else None,
        "interval_vwap": decimal_str(interval[0]) if interval else None,
        "interval_volume": decimal_str(interval[1]) if interval else None,
        "interval_vwap_slippage_bps": decimal_str(vwap_slippage_bps(side=side, avg_px=avg, vwap=interval[0]))
        if interval and avg
        else None,
        "liquidity": _liquidity(fills),
        "effective_spread_bps": decimal_str(qty_weighted_bps(spreads)),
        "realized_spread_bps": {
            str(horizon): decimal_str(
                qty_weighted_bps(
                    [
                        (f.qty, realized_spread_bps(side=side, px=f.px, mid_later=m.mid_px))
                        for f in fills
                        if (m := markouts.get(f.pk, {}).get(horizon)) is not None and m.mid_px > 0 and f.px > 0
                    ]
                )
            )
            for horizon in HORIZONS_S
        },
    }


def _liquidity(fills: list[Fill]) -> dict[str, str | None]:
    """Filled quantity by liquidity: added (resting), removed (taking), other (an RFQ's, or a venue that did not say)."""
    added = sum((f.qty for f in fills if f.liquidity == Liquidity.ADDED), ZERO)
    removed = sum((f.qty for f in fills if f.liquidity == Liquidity.REMOVED), ZERO)
    total = sum((f.qty for f in fills), ZERO)
    other = total - added - removed

    def share(qty: Decimal) -> str | None:
        return decimal_str((qty / total).quantize(SHARE_STEP)) if total else None

    return {
        "added_qty": decimal_str(added),
        "removed_qty": decimal_str(removed),
        "other_qty": decimal_str(other),
        "added_share": share(added),
        "removed_share": share(removed),
        "other_share": share(other),
    }


def _fill_row(side: Side, fill: Fill, markouts: dict[int, FillMarkout]) -> dict[str, Any]:
    mid = _mid(fill) if fill.px > 0 else None  # a package's fill at a net credit: no bps against it
    return {
        "id": fill.pk,
        "executed_at": fill.executed_at,
        "venue": fill.venue,
        "qty": decimal_str(fill.qty),
        "px": decimal_str(fill.px),
        "fee": decimal_str(fill.fee),
        "liquidity": fill.liquidity,
        "mid_px": decimal_str(fill.mid_px),
        "effective_spread_bps": decimal_str(effective_spread_bps(side=side, px=fill.px, mid=mid)) if mid else None,
        "markouts_bps": {str(h): decimal_str(markouts[h].bps) if h in markouts else None for h in HORIZONS_S},
        "realized_spread_bps": {
            str(h): decimal_str(realized_spread_bps(side=side, px=fill.px, mid_later=markouts[h].mid_px))
            if h in markouts and markouts[h].mid_px > 0 and fill.px > 0
            else None
            for h in HORIZONS_S
        },
    }
