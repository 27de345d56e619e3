"""Placing a parent's quantity at venues: ask the router, store its decision, create the child orders.

The shell around ``router.core.policy.route``: it loads what the router needs
(venue books and health from the market-data cache, fees and latency from the
venue table, the venues' learned statistics, the instrument's analytics), calls
the pure router, and stores the decision with its inputs and reasons
(``RoutingDecision``) and the children it chose. The caller holds the parent's
row lock, so two placements for one parent never overlap, and sends the
children on commit.
"""

import itertools
import random
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Max
from django.utils import timezone

from config.redis import redis_client
from ems.core.strategies import tighter_limit, working_tif
from ems.models import ChildOrder, RoutingDecision
from oms.models import ParentOrder
from oms.selectors import venues_halted
from oms.services import order_event_append
from router.core.market import OPEN, RouteRequest, VenueBook
from router.core.policy import Action, RoutePlan, VenueOrder, route
from router.core.scoring import VenueScore
from router.selectors import router_params, router_settings_get, venue_stats_read
from trading.enums import OrdType, Side, TimeInForce, Urgency, VenueKind
from trading.numbers import decimal_str, floor_to, plain
from trading.states import OrdStatus
from venues.marketdata import BookView, VenueHealth, book_read, venue_health_read
from venues.models import InstrumentAnalytics, Venue

ACTOR = "system:router"


@dataclass(frozen=True, slots=True)
class Placement:
    """What one placement did: the decisions stored (an RFQ hand-off and its fallback make two) and the children."""

    decisions: list[RoutingDecision]
    children: list[ChildOrder]
    stop_reason: str | None = None  # set when the execution cannot go on


def venue_books(symbol: str, venues: list[Venue], *, now: datetime) -> list[VenueBook]:
    """Return ``venues`` as the router sees them now: state and age from the gateway's health, books from the cache."""
    client = redis_client()
    books: dict[str, BookView] = {book.venue: book for book in book_read(client, symbol)}
    health: dict[str, VenueHealth] = venue_health_read(client)
    seen = []
    for venue in venues:
        beat = health.get(venue.code)
        book = books.get(venue.code)
        lit = venue.kind == VenueKind.LIT
        seen.append(
            VenueBook(
                code=venue.code,
                kind=VenueKind(venue.kind),
                state=_state(beat, book),
                maker_fee=plain(venue.maker_fee),
                taker_fee=plain(venue.taker_fee),
                latency_ms=Decimal(venue.latency_ms),
                age_ms=None if beat is None else max(0, int((now - datetime.fromisoformat(beat.ts)).total_seconds() * 1000)),
                bids=tuple((px, plain(qty)) for px, qty, _ in book.bids) if book and lit else (),
                asks=tuple((px, plain(qty)) for px, qty, _ in book.asks) if book and lit else (),
            )
        )
    return seen


def _state(beat: VenueHealth | None, book: BookView | None) -> str:
    """The venue's session: the health entry's, unless its book says it is not OPEN (the more cautious wins)."""
    if book is not None and book.state != OPEN:
        return book.state
    return beat.state if beat is not None else "UNKNOWN"


@dataclass(frozen=True, slots=True)
class SliceRequest:
    """What an algo's tick asks the router for: a quantity, how urgently, for how long, within which price."""

    qty: Decimal
    urgency: Urgency
    tif: TimeInForce
    limit_px: Decimal | None
    dark_only: bool = False
    min_qty: Decimal | None = None
    allow_rfq: bool = False  # a slice of a working algo is never a block for dealers
    dark_tried: bool = False  # the pools were pinged since this slice began: go lit now


def place(
    *,
    parent: ParentOrder,
    working: Decimal,
    analytics: InstrumentAnalytics | None,
    trigger: str,
    now: datetime | None = None,
    slice: SliceRequest | None = None,
) -> Placement:
    """Route what is neither filled nor working (or the algo's ``slice`` of it); store the decision(s) and children.

    Call with ``parent`` locked, with ``working`` the leaves of its children not
    yet done (pending cancels included: a cancel may fail) and the instrument's
    ``analytics``, as the caller read them under that lock. Returns no decision
    when nothing is left to place. Never routes more than leaves less working, whatever the slice asks.
    Without a slice (IMMEDIATE) at most ``max_decisions`` are made per parent.
    A block the router hands to RFQ is stored as its own decision; until the
    RFQ workflow exists the same quantity is then routed to the lit and dark
    markets, and the second decision says so. The children are not sent.
    """
    now = now or timezone.now()
    instrument = parent.instrument
    qty = plain(floor_to(parent.leaves_qty - working, instrument.lot_size))
    if slice is not None:
        qty = min(qty, plain(floor_to(slice.qty, instrument.lot_size)))
    if qty <= 0:
        return Placement([], [])
    row = router_settings_get()
    done = parent.routing_decisions.count()
    if slice is None and done >= row.max_decisions:
        return Placement([], [], stop_reason=f"routing stopped after {done} decisions; {qty} left for a trader")
    venues = list(Venue.objects.filter(active=True, kind__in=(VenueKind.LIT, VenueKind.DARK)).exclude(code__in=venues_halted()))
    parent_limit = (
        parent.limit_px.quantize(instrument.tick_size) if parent.ord_type == OrdType.LIMIT and parent.limit_px is not None else None
    )
    request = RouteRequest(
        symbol=instrument.symbol,
        side=Side(parent.side),
        qty=qty,
        limit_px=parent_limit if slice is None else tighter_limit(Side(parent.side), parent_limit, slice.limit_px),
        urgency=Urgency(parent.urgency) if slice is None else slice.urgency,
        tif=working_tif(ord_type=OrdType(parent.ord_type), tif=TimeInForce(parent.tif)) if slice is None else slice.tif,
        lot=plain(instrument.lot_size),
        tick=plain(instrument.tick_size),
        adv=analytics.adv if analytics else None,
        volatility_daily=analytics.volatility_daily if analytics else None,
        dark_tried=slice.dark_tried if slice is not None else parent.children.filter(action=Action.DARK_PING).exists(),
        allow_rfq=not parent.routing_decisions.filter(rfq=True).exists() if slice is None else slice.allow_rfq,
        avoid=_avoid(parent, now=now, seconds=row.avoid_seconds),
        dark_only=slice is not None and slice.dark_only,
        dark_min_qty=slice.min_qty if slice is not None else None,
    )
    books = venue_books(instrument.symbol, venues, now=now)
    params = router_params(row)
    stats = venue_stats_read()
    decisions: list[RoutingDecision] = []
    children: list[ChildOrder] = []
    slice_nos = itertools.count((parent.children.aggregate(last=Max("slice_no"))["last"] or 0) + 1)
    for _ in range(2):  # at most: an RFQ hand-off, then its lit/dark fallback
        seq = done + len(decisions) + 1
        rng = random.Random(f"{parent.pk}:{seq}")  # one decision, one draw: reproducible from the ids
        started = time.perf_counter_ns()
        plan = route(request, books, stats=stats, params=params, rng=rng)
        took_us = (time.perf_counter_ns() - started) // 1000
        numbers = [] if plan.rfq else [next(slice_nos) for _ in plan.orders]
        cl_ord_ids = [f"{parent.pk}-{n}-{uuid.uuid4().hex[:8]}" for n in numbers]
        decision = _store(
            parent, seq=seq, trigger=trigger, request=request, books=books, plan=plan, took_us=took_us, cl_ord_ids=cl_ord_ids
        )
        decisions.append(decision)
        if not plan.rfq:
            by_code = {venue.code: venue for venue in venues}
            children = [
                _child(parent, decision, order, venue=by_code[order.venue], slice_no=n, cl_ord_id=cl_ord_id)
                for order, n, cl_ord_id in zip(plan.orders, numbers, cl_ord_ids, strict=True)
            ]
            break
        trigger = "the RFQ workflow is not available yet: route the block to the lit and dark markets"
        request = replace(request, allow_rfq=False)
    return Placement(decisions, children)


def _avoid(parent: ParentOrder, *, now: datetime, seconds: int) -> dict[str, str]:
    """Venues that rejected one of the parent's children lately, with the venue's words."""
    rejected = parent.children.filter(status=OrdStatus.REJECTED, updated_at__gte=now - timedelta(seconds=seconds))
    return {c.venue.code: f"rejected {c.cl_ord_id}: {c.text or 'no reason given'}" for c in rejected.select_related("venue")}


def _qty(value: Decimal | None) -> str | None:
    return None if value is None else format(plain(value), "f")


def _score_json(score: VenueScore | None) -> dict[str, str] | None:
    if score is None:
        return None
    return {
        "fill_rate": f"{score.fill_rate:.4f}",
        "markout_bps": f"{score.markout_bps:.2f}",
        "reject_rate": f"{score.reject_rate:.4f}",
        "latency_ms": f"{score.latency_ms:.2f}",
        "value": f"{score.value:.4f}",
    }


def _inputs(request: RouteRequest, books: list[VenueBook], plan: RoutePlan) -> dict[str, Any]:
    def top(levels: tuple[tuple[Decimal, Decimal], ...]) -> list[str | None]:
        return [decimal_str(levels[0][0]), _qty(levels[0][1])] if levels else [None, None]

    return {
        "tif": request.tif.value,
        "adv": _qty(request.adv),
        "volatility_daily": decimal_str(request.volatility_daily),
        "dark_tried": request.dark_tried,
        "allow_rfq": request.allow_rfq,
        "venues": [
            {
                "venue": b.code,
                "kind": b.kind.value,
                "state": b.state,
                "age_ms": b.age_ms,
                "maker_fee": decimal_str(b.maker_fee),
                "taker_fee": decimal_str(b.taker_fee),
                "latency_ms": decimal_str(b.latency_ms),
                "bid": top(b.bids),
                "ask": top(b.asks),
                "levels": [len(b.bids), len(b.asks)],
                "score": _score_json(plan.scores.get(b.code)),
            }
            for b in books
        ],
    }


def _order_json(order: VenueOrder) -> dict[str, Any]:
    return {
        "venue": order.venue,
        "action": order.action.value,
        "qty": _qty(order.qty),
        "ord_type": order.ord_type.value,
        "limit_px": decimal_str(order.limit_px),
        "tif": order.tif.value,
        "display_qty": _qty(order.display_qty),
        "min_qty": _qty(order.min_qty),
        "peg": order.peg.value if order.peg else None,
        "post_only": order.post_only,
        "delay_us": order.delay_us,
        "reason": order.reason,
    }


def _store(
    parent: ParentOrder,
    *,
    seq: int,
    trigger: str,
    request: RouteRequest,
    books: list[VenueBook],
    plan: RoutePlan,
    took_us: int,
    cl_ord_ids: list[str],
) -> RoutingDecision:
    decision = RoutingDecision.objects.create(
        parent=parent,
        seq=seq,
        trigger=trigger,
        side=request.side,
        qty=request.qty,
        limit_px=request.limit_px,
        urgency=request.urgency,
        actions=[a.value for a in plan.actions],
        routed_qty=plan.routed_qty,
        unrouted_qty=plan.unrouted_qty,
        rfq=plan.rfq,
        reasons=list(plan.reasons),
        excluded=dict(plan.excluded),
        inputs=_inputs(request, books, plan),
        orders=[{**_order_json(order), "cl_ord_id": cl_ord_id} for order, cl_ord_id in zip(plan.orders, cl_ord_ids, strict=True)],
        decision_us=took_us,
    )
    summary = "; ".join(plan.reasons) or "nothing to do"
    order_event_append(
        parent=parent,
        kind="ROUTE_RFQ" if plan.rfq else "ROUTED",
        actor=ACTOR,
        reason=summary,
        data={"decision": seq, "actions": decision.actions, "qty": request.qty, "routed_qty": plan.routed_qty},
    )
    return decision


def _child(
    parent: ParentOrder, decision: RoutingDecision, order: VenueOrder, *, venue: Venue, slice_no: int, cl_ord_id: str
) -> ChildOrder:
    child = ChildOrder.objects.create(
        parent=parent,
        slice_no=slice_no,
        cl_ord_id=cl_ord_id,
        venue=venue,
        side=parent.side,
        ord_type=order.ord_type,
        qty=order.qty,
        limit_px=order.limit_px,
        tif=order.tif,
        route_reason=order.reason,
        decision=decision,
        action=order.action,
        display_qty=order.display_qty,
        min_qty=order.min_qty,
        peg=order.peg or "",
        post_only=order.post_only,
        delay_us=order.delay_us,
    )
    order_event_append(
        parent=parent,
        kind="CHILD_ROUTED",
        actor=ACTOR,
        child_cl_ord_id=child.cl_ord_id,
        reason=order.reason,
        data={"decision": decision.seq, **_order_json(order)},
    )
    return child
