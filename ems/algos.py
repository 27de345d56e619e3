"""Running the algos: select the strategy, run its ticks, switch, and carry out a parent's cancel or amend.

The shell of ``ems.core.selection`` and ``ems.core.ticks``: each function locks
the parent row, loads what the pure core needs (the execution, the working
children, the market from the cache, the instrument's analytics), calls it,
stores the result (switch, schedule, ``ExecutionTick``, events, children) and
sends on commit.

Ticks are numbered: ``Execution.tick_no`` is the next one to run, and a tick
task carrying any other number does nothing, so a redelivered or duplicated
tick never sends a second slice. Each tick schedules the next (a Celery task
with an ``eta``); anything that changes the picture (a child ending unfilled,
a cancel confirmed, an amend) asks for the current number at once, and the
first to run wins. Beat's sweep resumes an execution whose next tick is
overdue (a worker died mid-tick: its transaction rolled back, nothing sent).
"""

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Q, Subquery
from django.utils import timezone

from config.redis import redis_client
from ems.core.algos import (
    NS,
    AlgoParams,
    OrderFacts,
    ParamError,
    Strategy,
    end_ns,
    params_dump,
    params_load,
    params_validate,
    strategy_parse,
)
from ems.core.schedules import ScheduleContext, segment_fractions
from ems.core.selection import DEFAULT_RULES, OrderProfile, Rule, strategy_select, volatility_regime
from ems.core.strategies import working_tif
from ems.core.ticks import VOLATILITY_WINDOW_S, ExecState, MarketNow, TickPlan, Working, algo_tick, volatility_ratio
from ems.models import ChildOrder, Execution, ExecutionTick, SelectionRule
from ems.placement import SliceRequest, place
from ems.rfqs import rfq_active, rfq_withdraw_for_parent
from oms.models import ParentOrder
from oms.services import order_event_append
from router.core.policy import RESTING, Action
from trading.clock import epoch_ns, from_epoch_ns
from trading.enums import AssetClass, OrdType, Side, TimeInForce, Urgency, VenueKind
from trading.messages import CancelRequest
from trading.numbers import ZERO, plain
from trading.rfq import RfqInitiator
from trading.states import TERMINAL, OrdEvent, OrdStatus, next_status
from venues.composite import Consolidated
from venues.marketdata import TRADES_KEPT, market_clock_offset_ns, nbbo_read, trades_read, volume_since
from venues.models import InstrumentAnalytics, Venue
from venues.selectors import analytics_get

log = logging.getLogger(__name__)

ACTOR = "system:ems"


# --- selection ---------------------------------------------------------------------------


def selection_rules_read() -> list[Rule]:
    """The selection matrix as pure rules: the table's active rows; the shipped defaults while the table is empty."""
    if not SelectionRule.objects.exists():
        return list(DEFAULT_RULES)
    return [_rule(row) for row in SelectionRule.objects.filter(active=True)]


def _rule(row: SelectionRule) -> Rule:
    return Rule(
        name=row.name,
        priority=row.priority,
        strategy=Strategy(row.strategy),
        rationale=row.rationale,
        params=dict(row.params),
        urgency=Urgency(row.urgency) if row.urgency else None,
        asset_class=AssetClass(row.asset_class) if row.asset_class else None,
        multi_leg=row.multi_leg,
        min_adv_share=row.min_adv_share,
        max_adv_share=row.max_adv_share,
        volatility_regime=row.volatility_regime or None,
        min_spread_bps=row.min_spread_bps,
        max_spread_bps=row.max_spread_bps,
        min_depth_multiple=row.min_depth_multiple,
    )


def order_facts(parent: ParentOrder, *, start: datetime) -> OrderFacts:
    instrument = parent.instrument
    return OrderFacts(
        side=Side(parent.side),
        qty=plain(parent.qty),
        lot=plain(instrument.lot_size),
        tick=plain(instrument.tick_size),
        limit_px=plain(parent.limit_px) if parent.limit_px is not None and parent.ord_type == OrdType.LIMIT else None,
        start_ns=epoch_ns(start),
        end_ns=epoch_ns(parent.end_at) if parent.end_at else None,
    )


def strategy_check(parent: ParentOrder) -> list[tuple[str, str]]:
    """Check an order's explicit strategy and parameters before it is stored: (field, reason) for each problem."""
    given = parent.strategy_params or {}
    if not isinstance(given, dict):
        return [("strategy_params", "must be an object of parameter names to values")]
    if not parent.strategy:
        return [("strategy_params", "parameters need a `strategy`")] if given else []
    try:
        strategy = strategy_parse(parent.strategy)
        now = timezone.now()
        start = max(parent.start_at or now, now)
        if parent.end_at is not None and parent.end_at <= start:
            return [("end_at", f"must be after the start ({start.isoformat()}), was {parent.end_at.isoformat()}")]
        params_validate(strategy, given, order_facts(parent, start=start))
    except ParamError as exc:
        field = exc.field if exc.field in ("strategy", "end_at") else f"strategy_params.{exc.field}"
        return [(field, exc.message)]
    return []


@dataclass(frozen=True, slots=True)
class _Chosen:
    strategy: Strategy
    params: AlgoParams
    rationale: str
    rule: str


def _select(parent: ParentOrder, *, facts: OrderFacts, analytics: InstrumentAnalytics | None, nbbo: Consolidated | None) -> _Chosen:
    """Run the matrix on the order's profile; a rule's choice that cannot run this order falls back to IMMEDIATE."""
    instrument = parent.instrument
    far_qty = (nbbo.ask_qty if parent.side == Side.BUY else nbbo.bid_qty) if nbbo else ZERO
    spread_bps = None
    if nbbo and nbbo.spread is not None and nbbo.mid:
        spread_bps = (nbbo.spread / nbbo.mid * 10_000).quantize(Decimal("0.01"))
    elif analytics:
        spread_bps = analytics.spread_bps
    profile = OrderProfile(
        urgency=Urgency(parent.urgency),
        asset_class=AssetClass(instrument.asset_class),
        multi_leg=instrument.is_package,
        adv_share=(parent.qty / analytics.adv).quantize(Decimal("0.000001")) if analytics and analytics.adv else None,
        volatility_regime=volatility_regime(analytics.volatility_annual if analytics else None),
        spread_bps=spread_bps,
        depth_multiple=(parent.qty / far_qty).quantize(Decimal("0.01")) if far_qty else None,
        explicit=Strategy(parent.strategy) if parent.strategy else None,
        explicit_params=parent.strategy_params or {},
    )
    try:
        selection = strategy_select(profile, selection_rules_read())
    except LookupError as exc:  # every rule deactivated, or none matches: the router works it
        immediate = params_validate(Strategy.IMMEDIATE, {}, facts)
        return _Chosen(Strategy.IMMEDIATE, immediate, f"IMMEDIATE: {exc}", "none")
    try:
        params = params_validate(selection.strategy, selection.params, facts)
    except ParamError as exc:
        if selection.rule == "explicit":
            raise  # checked at submit; the market moved (e.g. the lot): stop rather than guess
        fallback = params_validate(Strategy.IMMEDIATE, {}, facts)
        why = f"{selection.rationale}; but {exc}: work it IMMEDIATE instead"
        return _Chosen(Strategy.IMMEDIATE, fallback, why, selection.rule)
    return _Chosen(selection.strategy, params, selection.rationale, selection.rule)


# --- start ------------------------------------------------------------------------------------


@transaction.atomic
def execution_start(*, parent_id: int) -> Execution | None:
    """Select the strategy, store the execution and run its first tick (or schedule it for the start). Idempotent.

    A redelivered call finds the execution and does nothing more.
    """
    parent = ParentOrder.objects.locked().get(pk=parent_id)
    if OrdStatus(parent.status).is_terminal or parent.status == OrdStatus.PENDING_NEW:
        return None
    execution = Execution.objects.filter(parent=parent).first()
    if execution is not None:
        return execution
    now = timezone.now()
    start = max(parent.start_at or now, now)
    facts = order_facts(parent, start=start)
    analytics, nbbo = _market_read(parent)
    try:
        chosen = _select(parent, facts=facts, analytics=analytics, nbbo=nbbo)
    except ParamError as exc:
        execution = Execution.objects.create(
            parent=parent, strategy=parent.strategy, base_strategy=parent.strategy, rationale=str(exc), status=Execution.STOPPED
        )
        order_event_append(parent=parent, kind="EXECUTION_STOPPED", actor=ACTOR, reason=f"cannot run {parent.strategy}: {exc}")
        _publish_on_commit(parent.pk)
        return execution
    end = end_ns(chosen.params, facts) if chosen.strategy is not Strategy.IMMEDIATE else None
    context = schedule_context(parent, analytics=analytics, nbbo=nbbo)
    fractions = () if end is None else segment_fractions(chosen.params, context, start_ns=facts.start_ns, end_ns=end, qty=facts.qty)
    execution = Execution.objects.create(
        parent=parent,
        strategy=chosen.strategy,
        base_strategy=chosen.strategy,
        rule=chosen.rule,
        params=params_dump(chosen.params),
        base_params=params_dump(chosen.params),
        rationale=chosen.rationale,
        start_at=start,
        end_at=from_epoch_ns(end) if end is not None else None,
        arrival_mid=context.price,
        segment_started_at=start,
        schedule=_schedule_json(fractions),
        next_tick_at=start,
    )
    order_event_append(
        parent=parent,
        kind="STRATEGY_SELECTED",
        actor=ACTOR,
        reason=chosen.rationale,
        data={"strategy": chosen.strategy.value, "rule": chosen.rule, "params": execution.params},
    )
    if chosen.strategy is Strategy.RFQ:
        _rfq_first(parent, execution, params=chosen.params, explicit=chosen.rule == "explicit", now=now)
    elif start <= now:
        _tick(parent, execution, trigger="start", now=now)
    else:
        transaction.on_commit(partial(execution_tick_enqueue, parent_id=parent.pk, tick_no=0, eta=start))
        _publish_on_commit(parent.pk)  # the row shows its strategy before the start
    return execution


def _rfq_first(parent: ParentOrder, execution: Execution, *, params: AlgoParams, explicit: bool, now: datetime) -> None:
    """Open the order's first request for quote; a request that cannot open stops the execution with the reason."""
    from ems.rfqs import RfqInvalid, RfqOptions, RfqRefused, initiator_of, rfq_start

    if not explicit:
        initiator, actor = RfqInitiator.MATRIX, ACTOR
    else:
        initiator, actor = initiator_of(parent.created_by), parent.created_by.get_username()
    execution.next_tick_at = None  # an RFQ does not tick: the dealers' answers and its expiries drive it
    execution.save(update_fields=["next_tick_at", "updated_at"])
    try:
        rfq_start(parent, options=RfqOptions.from_params(params.values), initiator=initiator, actor=actor, now=now)
    except (RfqInvalid, RfqRefused) as exc:
        execution_finish(execution, status=Execution.STOPPED, reason=f"cannot ask dealers: {exc}")
    _publish_on_commit(parent.pk)  # the row shows RFQ as its strategy (or the execution stopped)


def _market_read(parent: ParentOrder) -> tuple[InstrumentAnalytics | None, Consolidated | None]:
    """The instrument's analytics and its last NBBO: read once per start or tick."""
    symbol = parent.instrument.symbol
    return analytics_get(symbol), nbbo_read(redis_client(), symbol)


def schedule_context(parent: ParentOrder, *, analytics: InstrumentAnalytics | None, nbbo: Consolidated | None) -> ScheduleContext:
    """The instrument's analytics, the arrival mid and the market clock as the schedules need them."""
    mid = nbbo.mid if nbbo else None
    if analytics is None:
        return ScheduleContext(price=mid, urgency=parent.urgency)
    return ScheduleContext(
        price=mid,
        volatility_daily=analytics.volatility_daily,
        adv=analytics.adv,
        spread=(analytics.spread_bps * mid / 10_000) if mid else None,
        profile=tuple(Decimal(x) for x in analytics.volume_profile),
        bucket_ns=analytics.bucket_minutes * 60 * NS,
        session_offset_ns=session_offset_ns(),
        urgency=parent.urgency,
    )


def session_offset_ns() -> int:
    """Map wall-clock ns to the session's time of day: the gateway's market clock, else the UTC time of day."""
    offset = market_clock_offset_ns(redis_client())
    if offset is not None:
        return offset
    now = timezone.now()
    return -epoch_ns(now.replace(hour=0, minute=0, second=0, microsecond=0))


# --- ticks ------------------------------------------------------------------------------------


def execution_tick_enqueue(*, parent_id: int, tick_no: int | None, eta: datetime | None = None, trigger: str = "schedule") -> None:
    """Ask a worker for tick ``tick_no`` (None: the pending one), now or at ``eta``."""
    from ems.tasks import execution_tick as task  # tasks import this module

    if eta is None:
        task.delay(parent_id, tick_no, trigger)
    else:
        task.apply_async((parent_id, tick_no, trigger), eta=eta)


def execution_nudge(parent_id: int, *, trigger: str) -> None:
    """Run the parent's pending tick now, on commit, whatever its number: something changed (a child ended, an amend).

    Not tied to a number, so a nudge that reads a number a concurrent tick is
    about to use is never lost; running twice is harmless, as a tick places
    only what is due less what already works.
    """
    transaction.on_commit(partial(execution_tick_enqueue, parent_id=parent_id, tick_no=None, trigger=trigger))


@transaction.atomic
def execution_work(*, parent_id: int, trigger: str) -> bool:
    """Run the parent's pending tick now, whatever its number (a re-plan asked for by hand or by a test)."""
    return execution_tick(parent_id=parent_id, tick_no=None, trigger=trigger)


@transaction.atomic
def execution_tick(*, parent_id: int, tick_no: int | None, trigger: str = "schedule", now: datetime | None = None) -> bool:
    """Run tick ``tick_no`` of the parent's algo (None: the pending one, for a nudge).

    Return False, doing nothing, when ``tick_no`` is not the pending tick (a
    duplicate or a superseded schedule), or the execution or parent is not working.
    """
    parent = ParentOrder.objects.locked().get(pk=parent_id)
    execution = Execution.objects.filter(parent=parent).first()
    if execution is None or execution.status != Execution.RUNNING or execution.strategy == Strategy.RFQ:
        return False
    if tick_no is not None and execution.tick_no != tick_no:
        return False
    if OrdStatus(parent.status).is_terminal or parent.status in (OrdStatus.PENDING_CANCEL, OrdStatus.PENDING_REPLACE):
        return False
    _tick(parent, execution, trigger=trigger, now=now or timezone.now())
    return True


def _tick(parent: ParentOrder, execution: Execution, *, trigger: str, now: datetime) -> None:
    """Run the pure tick and carry out its plan. The caller holds the parent's row lock."""
    strategy = Strategy(execution.strategy)
    params = params_load(strategy, execution.params)
    children = list(parent.children.exclude(status__in=TERMINAL).select_related("venue"))
    working = [
        Working(
            cl_ord_id=c.cl_ord_id,
            qty_left=c.qty - c.filled_qty,
            limit_px=c.limit_px,
            resting=TimeInForce(c.tif) in RESTING and c.status in (OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED),
            dark=c.venue.kind == VenueKind.DARK,
            pending_cancel=c.status == OrdStatus.PENDING_CANCEL,
        )
        for c in children
    ]
    state = _state(parent, execution, strategy, params)
    analytics, nbbo = _market_read(parent)
    context = schedule_context(parent, analytics=analytics, nbbo=nbbo)
    market = _market_now(parent, execution, now=now, context=context, nbbo=nbbo)
    rng = random.Random(f"{parent.pk}:tick:{execution.tick_no}")
    plan = algo_tick(state, working, market, context, now_ns=epoch_ns(now), rng=rng)
    scheduled = trigger == "schedule" and execution.next_tick_at is not None
    due_at = execution.next_tick_at if scheduled and execution.next_tick_at else now
    sent = _carry_out(parent, execution, plan, children, analytics=analytics, trigger=trigger, now=now)
    ExecutionTick.objects.create(
        execution=execution,
        tick_no=execution.tick_no,
        trigger=trigger[:200],
        strategy=execution.strategy,
        due_at=due_at,
        ran_at=now,
        lateness_ms=max(0, int((now - due_at).total_seconds() * 1000)) if scheduled else 0,
        target_qty=plan.target_qty.quantize(Decimal("0.0001")) if plan.target_qty is not None else None,
        filled_qty=parent.filled_qty,
        sent_qty=sent,
        cancelled=len(plan.cancel),
        reasons=list(plan.reasons),
    )
    execution.tick_no += 1
    execution.warned = sorted(plan.warned)
    execution.next_tick_at = from_epoch_ns(plan.next_tick_ns) if plan.next_tick_ns is not None else None
    execution.save()
    still_working = bool(children) or sent > 0  # read under the lock; a cancel requested leaves a child working
    if plan.done is not None and not still_working:
        execution_finish(execution, status=Execution.DONE if plan.finished else Execution.STOPPED, reason=plan.done)
    elif plan.next_tick_ns is not None:
        transaction.on_commit(
            partial(execution_tick_enqueue, parent_id=parent.pk, tick_no=execution.tick_no, eta=execution.next_tick_at)
        )
    if execution.tick_no == 1 or plan.switch is not None or plan.done is not None:
        _publish_on_commit(parent.pk)  # what the row shows changed (its fills publish themselves)


def _publish_on_commit(parent_id: int) -> None:
    """Push the parent's row (with its strategy now) to the blotters once the transaction commits."""
    from ems.publish import blotter_publish_order

    transaction.on_commit(lambda: blotter_publish_order(parent_id=parent_id))


def _state(parent: ParentOrder, execution: Execution, strategy: Strategy, params: AlgoParams) -> ExecState:
    instrument = parent.instrument
    return ExecState(
        strategy=strategy,
        base_strategy=Strategy(execution.base_strategy or execution.strategy),
        params=params,
        side=Side(parent.side),
        urgency=Urgency(parent.urgency),
        qty=plain(parent.qty),
        filled_qty=plain(parent.filled_qty),
        lot=plain(instrument.lot_size),
        tick=plain(instrument.tick_size),
        limit_px=plain(parent.limit_px) if parent.limit_px is not None and parent.ord_type == OrdType.LIMIT else None,
        tif=working_tif(ord_type=OrdType(parent.ord_type), tif=TimeInForce(parent.tif)),
        start_ns=epoch_ns(execution.start_at or execution.created_at),
        end_ns=epoch_ns(execution.end_at) if execution.end_at else None,
        segment_start_ns=epoch_ns(execution.segment_started_at or execution.created_at),
        segment_filled_qty=plain(execution.segment_filled_qty),
        fractions=tuple(Decimal(f) for f in execution.schedule),
        last_switch_ns=epoch_ns(execution.last_switch_at) if execution.last_switch_at else None,
        warned=frozenset(execution.warned),
        base_params=execution.base_params,
    )


def _market_now(
    parent: ParentOrder, execution: Execution, *, now: datetime, context: ScheduleContext, nbbo: Consolidated | None
) -> MarketNow:
    """The market as a tick sees it: the NBBO, the volume printed since the segment began, a volatility ratio, dark fills."""
    since = execution.segment_started_at or execution.created_at
    symbol = parent.instrument.symbol
    volume = volume_since(redis_client(), symbol, since)
    window_start = now - timedelta(seconds=VOLATILITY_WINDOW_S)
    recent = [t.px for t in trades_read(redis_client(), symbol, limit=TRADES_KEPT) if datetime.fromisoformat(t.ts) >= window_start]
    ratio = volatility_ratio(recent, window_s=VOLATILITY_WINDOW_S, volatility_daily=context.volatility_daily)
    slice_s = int(execution.params.get("slice_seconds") or 60)
    dark = parent.fills.filter(
        venue__in=Venue.objects.filter(kind=VenueKind.DARK).values("code"), executed_at__gte=now - timedelta(seconds=slice_s)
    )
    return MarketNow(
        bid=nbbo.bid_px if nbbo else None,
        ask=nbbo.ask_px if nbbo else None,
        volume_since_start=volume,
        volatility_ratio=ratio,
        dark_filled_qty=sum((f.qty for f in dark), ZERO),
    )


def _carry_out(
    parent: ParentOrder,
    execution: Execution,
    plan: TickPlan,
    children: list[ChildOrder],
    *,
    analytics: InstrumentAnalytics | None,
    trigger: str,
    now: datetime,
) -> Decimal:
    """Store the switch, log the notes, request the cancels, place the slices; return the quantity sent."""
    if plan.switch is not None:
        before = execution.strategy
        execution.strategy = plan.switch.to
        execution.params = params_dump(plan.switch.params)
        execution.schedule = _schedule_json(plan.switch.fractions)
        execution.segment_started_at = from_epoch_ns(plan.switch.segment_start_ns)
        execution.segment_filled_qty = plan.switch.segment_filled_qty
        execution.last_switch_at = now
        order_event_append(
            parent=parent,
            kind="STRATEGY_SWITCH",
            actor=ACTOR,
            reason=plan.switch.reason,
            data={
                "from": before,
                "to": plan.switch.to.value,
                "filled_qty": plain(parent.filled_qty),
                "avg_px": plain(parent.avg_px),
                "params": execution.params,
            },
        )
    for kind, text in plan.notes:
        if kind != "STRATEGY_SWITCH":
            order_event_append(parent=parent, kind=kind, actor=ACTOR, reason=text)
    by_id = {c.cl_ord_id: c for c in children}
    for cl_ord_id in plan.cancel:
        child = by_id.get(cl_ord_id)
        if child is not None:
            child_order_cancel(child, reason="; ".join(plan.reasons) or "the algo re-plans")
    sent = ZERO
    working = sum((c.qty - c.filled_qty for c in children), ZERO)  # every child not done, the ones just cancelled too
    why = f"tick {execution.tick_no} ({trigger}): "
    # IMMEDIATE from the start works the parent on its own terms; anything else is an algo's slice
    # Each slice may ping the dark pools once: the nudges that follow an unfilled ping go lit (no ping loop).
    dark_tried = bool(plan.orders) and _dark_pinged_this_slice(parent, execution)
    whole = Strategy(execution.strategy) is Strategy.IMMEDIATE and Strategy(execution.base_strategy) is Strategy.IMMEDIATE
    for order in plan.orders:
        placement = place(
            parent=parent,
            working=working + sent,
            analytics=analytics,
            trigger=trigger if whole else why + order.reason,
            now=now,
            slice=None
            if whole
            else SliceRequest(
                qty=order.qty,
                urgency=order.urgency,
                tif=order.tif,
                limit_px=order.limit_px,
                dark_only=order.dark_only,
                min_qty=order.min_qty or None,
                dark_tried=dark_tried,
            ),
        )
        for child in placement.children:
            sent += child.qty
            transaction.on_commit(partial(_send, child_id=child.pk))
        if whole and not parent.children.exclude(status__in=TERMINAL).exists():
            if placement.stop_reason is not None:
                execution_finish(execution, status=Execution.STOPPED, reason=placement.stop_reason)
            elif placement.decisions:
                reasons = "; ".join(placement.decisions[-1].reasons) or "no venue to route to"
                execution_finish(execution, status=Execution.STOPPED, reason=f"cannot route {plain(parent.leaves_qty)}: {reasons}")
    return sent


def _dark_pinged_this_slice(parent: ParentOrder, execution: Execution) -> bool:
    """Whether the pools were pinged since the last scheduled tick (the slice's start). One query."""
    ticks = ExecutionTick.objects.filter(execution=execution, trigger="schedule").order_by("-tick_no")
    slice_began = Subquery(ticks.values("ran_at")[:1])
    pinged = parent.children.filter(action=Action.DARK_PING)
    return pinged.filter(Q(created_at__gte=slice_began) | ~Exists(ticks)).exists()


def _schedule_json(fractions: tuple[Decimal, ...]) -> list[str]:
    """A segment's schedule as stored on the execution: exact Decimal strings."""
    return [format(f, "f") for f in fractions]


def _send(*, child_id: int) -> None:
    from ems.services import child_order_send

    child_order_send(child_id=child_id)


def execution_finish(execution: Execution, *, status: str, reason: str) -> None:
    """End ``execution`` as DONE or STOPPED and log it as ``EXECUTION_<status>``."""
    if execution.status != Execution.RUNNING:
        return
    execution.status = status
    execution.next_tick_at = None
    execution.save(update_fields=["status", "next_tick_at", "updated_at"])
    order_event_append(parent=execution.parent, kind=f"EXECUTION_{status}", actor=ACTOR, reason=reason)


# --- cancels ----------------------------------------------------------------------------------


def child_order_cancel(child: ChildOrder, *, reason: str) -> bool:
    """Ask the venue to cancel ``child`` (on commit); False when it cannot be cancelled now (done, or not yet acked)."""
    if child.status not in (OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED):
        return False
    before = OrdStatus(child.status)
    child.status = next_status(before, OrdEvent.CANCEL_REQUEST, has_fills=child.filled_qty > 0)
    child.save(update_fields=["status", "updated_at"])
    order_event_append(
        parent=child.parent,
        kind="CHILD_CANCEL_REQUEST",
        actor=ACTOR,
        child_cl_ord_id=child.cl_ord_id,
        status_before=before,
        status_after=child.status,
        reason=reason,
    )
    transaction.on_commit(partial(child_cancel_send, child_id=child.pk))
    return True


def child_cancel_send(*, child_id: int) -> None:
    """Put the child's cancel on the gateway's order stream (F); resent by the sweep while it stays pending."""
    child = ChildOrder.objects.select_related("venue", "parent__instrument").get(pk=child_id)
    if child.status != OrdStatus.PENDING_CANCEL:
        return
    request = CancelRequest(
        cl_ord_id=f"{child.cl_ord_id}~C",
        orig_cl_ord_id=child.cl_ord_id,
        venue=child.venue.code,
        symbol=child.parent.instrument.symbol,
        side=Side(child.side),
    )
    wire: dict[Any, Any] = {**request.to_wire(), "msg_type": "F"}
    redis_client().xadd(settings.GATEWAY_ORDER_STREAM, wire)


# --- parent cancel and amend -----------------------------------------------------------------


@transaction.atomic
def execution_cancel(*, parent_id: int, actor: str) -> None:
    """Stop the algo and cancel every working child; the parent is cancelled once none works (``parent_settle``)."""
    parent = ParentOrder.objects.locked().get(pk=parent_id)
    if parent.status != OrdStatus.PENDING_CANCEL:
        return
    execution = Execution.objects.filter(parent=parent).first()
    if execution is not None:
        execution_finish(execution, status=Execution.STOPPED, reason=f"cancel requested by {actor}")
    for child in parent.children.exclude(status__in=TERMINAL):
        child_order_cancel(child, reason=f"the parent's cancel, by {actor}")
    rfq_withdraw_for_parent(parent, actor=actor)  # one waiting for a last look ends first, then settles the parent
    parent_settle(parent)


@transaction.atomic
def venue_halt(*, venue: str, actor: str) -> int:
    """Cancel every child working at ``venue`` (a venue kill switch); the parents go on elsewhere. Return how many."""
    count = 0
    for child in ChildOrder.objects.filter(venue__code=venue).exclude(status__in=TERMINAL).select_related("parent"):
        count += child_order_cancel(child, reason=f"venue {venue} halted by a kill switch, by {actor}")
    return count


@transaction.atomic
def execution_amend(*, parent_id: int, actor: str) -> None:
    """Cancel every working child, then apply the parent's pending amend once none works (``parent_settle``)."""
    parent = ParentOrder.objects.locked().get(pk=parent_id)
    if parent.status != OrdStatus.PENDING_REPLACE:
        return
    for child in parent.children.exclude(status__in=TERMINAL):
        child_order_cancel(child, reason=f"the parent's amend, by {actor}")
    rfq_withdraw_for_parent(parent, actor=actor)
    parent_settle(parent)


def parent_settle(parent: ParentOrder) -> None:
    """Finish a parent's pending cancel or amend once no child works. The caller holds the parent's row lock."""
    from oms.services import parent_order_amend_finish, parent_order_cancel_finish

    if parent.status not in (OrdStatus.PENDING_CANCEL, OrdStatus.PENDING_REPLACE):
        return
    if parent.children.exclude(status__in=TERMINAL).exists() or rfq_active(parent):
        return
    if parent.status == OrdStatus.PENDING_CANCEL:
        parent_order_cancel_finish(parent=parent)
        return
    changes = parent_order_amend_finish(parent=parent)
    execution = Execution.objects.filter(parent=parent).first()
    if execution is not None and OrdStatus(parent.status).is_terminal:  # a kill switch cancelled it instead
        execution_finish(execution, status=Execution.STOPPED, reason=f"order {parent.status.lower()}")
    if changes is None or execution is None:
        return
    _segment_restart(parent, execution, changes)


def _segment_restart(parent: ParentOrder, execution: Execution, changes: dict[str, Any]) -> None:
    """After an amend: a new segment from now on what is left, with the new end; tick now."""
    now = timezone.now()
    if "end_at" in changes:
        execution.end_at = parent.end_at
    if OrdStatus(parent.status).is_terminal or parent.leaves_qty <= 0:
        execution_finish(execution, status=Execution.DONE, reason="filled")
        return
    if execution.strategy == Strategy.RFQ:  # the request was withdrawn for the amend: the trader asks again
        execution_finish(execution, status=Execution.STOPPED, reason="amended: ask the dealers again for the new terms")
        return
    strategy = Strategy(execution.strategy)
    params = params_load(strategy, execution.params)
    fractions: tuple[Decimal, ...] = ()
    if execution.end_at is not None:
        analytics, nbbo = _market_read(parent)
        fractions = segment_fractions(
            params,
            schedule_context(parent, analytics=analytics, nbbo=nbbo),
            start_ns=epoch_ns(now),
            end_ns=epoch_ns(execution.end_at),
            qty=plain(parent.leaves_qty),
        )
    execution.schedule = _schedule_json(fractions)
    execution.segment_started_at = now
    execution.segment_filled_qty = parent.filled_qty
    execution.next_tick_at = now
    if execution.status != Execution.RUNNING:
        execution.status = Execution.RUNNING
    execution.save()
    transaction.on_commit(partial(execution_tick_enqueue, parent_id=parent.pk, tick_no=execution.tick_no, trigger="amend"))


# --- repair -----------------------------------------------------------------------------------


def executions_resume(*, now: datetime, stalled_after_s: int) -> int:
    """Ask again for the pending tick of every running execution overdue by ``stalled_after_s``; return how many."""
    overdue = Execution.objects.filter(
        status=Execution.RUNNING, next_tick_at__lt=now - timedelta(seconds=stalled_after_s)
    ).values_list("parent_id", "tick_no", "next_tick_at")
    count = 0
    redis = redis_client()
    for parent_id, tick_no, due in overdue:
        # once per stalled tick, not at every sweep: behind a backlog, each sweep queued every late tick again
        if redis.set(f"ems:resume:{parent_id}:{tick_no}:{due.isoformat() if due else ''}", 1, nx=True, ex=6 * stalled_after_s):
            execution_tick_enqueue(parent_id=parent_id, tick_no=tick_no, trigger="schedule")
            count += 1
    return count


def cancels_resend(*, now: datetime, after_s: int) -> int:
    """Send again the cancels still pending after ``after_s`` (the venue may not have had them)."""
    pending = ChildOrder.objects.filter(status=OrdStatus.PENDING_CANCEL, updated_at__lt=now - timedelta(seconds=after_s))
    ids = list(pending.values_list("pk", flat=True))
    for child_id in ids:
        child_cancel_send(child_id=child_id)
    return len(ids)
