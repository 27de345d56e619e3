"""Run an algo against the simulated market: one parent order worked tick by tick through the router.

Pure (no Django). ``sim_algo`` is the live shell (``ems.algos._tick`` and
``_carry_out``, ``ems.placement.place``, ``ems.services``' report handling)
with the database and Celery taken out: it keeps the execution's state
(strategy, segment, switch, warnings) and the working children as their
reports tell them, runs ``algo_tick`` at each tick, sends the plan's cancels
and routes each slice through ``router.core.policy.route``, then runs the
market to the next tick in small steps, draining the reports and the tape.

As in the shell:

- a slice never routes more than the leaves less what works (children being
  cancelled count as working until the venue confirms), and its limit is the
  tighter of the parent's and the slice's;
- a child that ends CANCELED or REJECTED with quantity unfilled (an IOC's
  rest, a confirmed cancel, a reject) runs the pending tick at once (the
  shell's nudge), at the end of the market step that brought the report;
- a venue that rejected a child is avoided for ``AVOID_NS``; IMMEDIATE makes at
  most ``MAX_DECISIONS`` routing decisions; a block handed to RFQ is routed
  again to the lit and dark markets (there is no RFQ workflow yet).

Each slice pings the dark pools at most once until the next scheduled tick
(``dark_tried`` for the nudged ticks in between), as the shell does: without
it, an unfilled ping's nudge would ping again, and never reach the lit books.

What the tick sees, as in the shell: the NBBO over every lit venue; the volume
printed since the segment started (every print of the symbol, ours included,
stamped with the end of the step that drained it); the volatility ratio of the
prints over the last ``VOLATILITY_WINDOW_S`` against the context's daily
volatility; our dark fills over the last slice.
"""

import random
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import count
from typing import Final

from ems.core.algos import NS, AlgoParams, Strategy, params_dump, slice_count
from ems.core.schedules import ScheduleContext, due_qty, schedule_fractions
from ems.core.strategies import tighter_limit
from ems.core.tca import MarketPrint, TcaFill
from ems.core.ticks import (
    VOLATILITY_WINDOW_S,
    ExecState,
    MarketNow,
    SliceOrder,
    TickPlan,
    Working,
    algo_tick,
    volatility_ratio,
)
from router.core.market import RouteRequest, RouterParams, VenueBook
from router.core.policy import RESTING, Action, RoutePlan, VenueOrder, route
from router.core.sim import sim_send, sim_venues
from trading.enums import ExecType, Side, TimeInForce, Urgency
from trading.messages import CancelReject, CancelRequest, ExecutionReport
from trading.numbers import ZERO, floor_to
from trading.states import OrdStatus
from venues.sim.market import CLOSE_NS, SimMarket

STEP_NS: Final = 250_000_000  # how far the market runs between two looks at the reports
AVOID_NS: Final = 60 * NS  # RouterSettings.avoid_seconds' default
MAX_DECISIONS: Final = 25  # RouterSettings.max_decisions' default (IMMEDIATE only)
_REPLAN_AFTER: Final = (OrdStatus.CANCELED, OrdStatus.REJECTED)
_cancel_ids = count(1)


@dataclass(frozen=True, slots=True)
class AlgoFill:
    """One of our fills: ``qty`` at ``px``, ``fee`` in $ (negative: a rebate), at ``t_ns`` (the step that drained it)."""

    t_ns: int
    qty: Decimal
    px: Decimal
    fee: Decimal
    venue: str
    liquidity: str  # ADDED, REMOVED, or "" when the venue does not say


@dataclass(frozen=True, slots=True)
class AlgoTick:
    """One tick as run: when, why, under which strategy, the NBBO it saw, where the schedule wanted the parent, what it did."""

    t_ns: int
    trigger: str  # "start", "schedule" or "nudge"
    strategy: Strategy
    bid: Decimal | None
    ask: Decimal | None
    target_qty: Decimal | None  # to 4 places, as the shell stores it
    filled_qty: Decimal
    sent_qty: Decimal
    cancelled: int


@dataclass(frozen=True, slots=True)
class AlgoSwitch:
    t_ns: int
    from_strategy: Strategy
    to: Strategy
    reason: str


@dataclass(slots=True)
class AlgoRun:
    """What working one parent order did: its fills, ticks and switches, the tape over the run, and how it ended."""

    side: Side
    qty: Decimal
    strategy: Strategy  # the first one
    start_ns: int
    end_ns: int | None  # the algo's window end (None: IMMEDIATE)
    slice_ns: int
    arrival_mid: Decimal | None  # the NBBO mid at the start
    fractions: tuple[Decimal, ...]  # the first segment's schedule (scheduled algos)
    fills: list[AlgoFill] = field(default_factory=list)
    ticks: list[AlgoTick] = field(default_factory=list)
    switches: list[AlgoSwitch] = field(default_factory=list)
    prints: list[MarketPrint] = field(default_factory=list)
    # fair value's path (``FairParts.path``: what the seed drew, the same under any orders) at the start, at each
    # step that brought a fill of ours, and at the end, by time
    path: dict[int, float] = field(default_factory=dict)
    children: int = 0  # child orders sent
    decisions: int = 0  # routing decisions made
    stopped_ns: int = 0  # when the run ended
    end_mid: Decimal | None = None  # the NBBO mid then
    outcome: str = ""
    finished: bool = False  # True: filled

    @property
    def filled_qty(self) -> Decimal:
        return sum((fill.qty for fill in self.fills), ZERO)

    def tca_fills(self) -> list[TcaFill]:
        return [TcaFill(qty=f.qty, px=f.px, fee=f.fee, t_ns=f.t_ns, liquidity=f.liquidity) for f in self.fills]

    def schedule(self, lot: Decimal) -> list[tuple[int, Decimal]]:
        """The first segment's schedule as (slice end in ns, cumulative quantity due), the last point at the window end."""
        if not self.fractions or self.end_ns is None:
            return []
        points = []
        for k, fraction in enumerate(self.fractions):
            t_ns = min(self.start_ns + (k + 1) * self.slice_ns, self.end_ns)
            due = self.qty if k == len(self.fractions) - 1 else due_qty(self.qty, fraction, lot)
            points.append((t_ns, due))
        return points


@dataclass(slots=True)
class _Child:
    cl_ord_id: str
    venue: str
    qty: Decimal
    limit_px: Decimal | None
    tif: TimeInForce
    dark: bool
    action: Action
    status: OrdStatus = OrdStatus.PENDING_NEW
    filled_qty: Decimal = ZERO
    leaves_qty: Decimal = ZERO  # as the venue last reported (a self-trade decrement lowers it)

    def working(self) -> Working:
        return Working(
            cl_ord_id=self.cl_ord_id,
            qty_left=self.leaves_qty,
            limit_px=self.limit_px,
            resting=self.tif in RESTING and self.status in (OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED),
            dark=self.dark,
            pending_cancel=self.status is OrdStatus.PENDING_CANCEL,
        )


def sim_algo(
    market: SimMarket,
    symbol: str,
    *,
    strategy: Strategy,
    params: AlgoParams,
    side: Side,
    qty: Decimal,
    lot: Decimal,
    tick: Decimal,
    limit_px: Decimal | None,
    urgency: Urgency,
    start_ns: int,
    end_ns: int | None,
    context: ScheduleContext,
    router_params: RouterParams,
    rng: random.Random,
    venues: Collection[str] | None = None,
    step_ns: int = STEP_NS,
    stop_ns: int = CLOSE_NS,
) -> AlgoRun:
    """Work ``qty`` of ``symbol`` with ``strategy`` and checked ``params`` from ``start_ns`` in ``market``; return the run.

    ``end_ns`` is the window's end (None: start plus ``duration_minutes``;
    ignored for IMMEDIATE). ``venues`` (codes) restricts the venues the router
    is shown; None shows them all. The market is run from ``start_ns`` (it must
    not be past it; what it collected before is dropped) in steps of at most
    ``step_ns``, until the execution is done or stopped with nothing working,
    or ``stop_ns`` (the close by default). Never fills more than ``qty`` nor
    past ``limit_px`` (both asserted). Time and randomness: the market's clock
    and ``rng`` (the ticks' jitter and the router's draws).
    """
    if qty <= 0 or qty % lot:
        raise ValueError(f"invalid `qty`, was {qty}: a positive multiple of the lot {lot}")
    if market.now > start_ns:
        raise ValueError(f"invalid `start_ns`, was {start_ns}: the market is already at {market.now}")
    if step_ns <= 0:
        raise ValueError(f"invalid `step_ns`, was {step_ns}: must be positive")
    return _AlgoSim(
        market,
        symbol,
        strategy=strategy,
        params=params,
        side=side,
        qty=qty,
        lot=lot,
        tick=tick,
        limit_px=limit_px,
        urgency=urgency,
        start_ns=start_ns,
        end_ns=end_ns,
        context=context,
        router_params=router_params,
        rng=rng,
        venues=venues,
        step_ns=step_ns,
        stop_ns=stop_ns,
    ).work()


class _AlgoSim:
    """One parent's execution: the shell's state, kept in memory."""

    def __init__(
        self,
        market: SimMarket,
        symbol: str,
        *,
        strategy: Strategy,
        params: AlgoParams,
        side: Side,
        qty: Decimal,
        lot: Decimal,
        tick: Decimal,
        limit_px: Decimal | None,
        urgency: Urgency,
        start_ns: int,
        end_ns: int | None,
        context: ScheduleContext,
        router_params: RouterParams,
        rng: random.Random,
        venues: Collection[str] | None,
        step_ns: int,
        stop_ns: int,
    ) -> None:
        self.market = market
        self.symbol = symbol
        self.side = side
        self.qty = qty
        self.lot = lot
        self.tick = tick
        self.limit_px = limit_px
        self.urgency = urgency
        self.context = context
        self.router_params = router_params
        self.rng = rng
        self.venues = None if venues is None else frozenset(venues)
        self.step_ns = step_ns
        self.stop_ns = stop_ns
        # the parent's working time in force (ems.core.strategies.working_tif): a market order never rests
        self.parent_tif = TimeInForce.IOC if limit_px is None else TimeInForce.DAY
        # the execution row
        self.strategy = strategy
        self.base_strategy = strategy
        self.params = params
        self.base_params = params_dump(params)
        self.start_ns = start_ns
        self.end_ns: int | None = None
        if strategy is not Strategy.IMMEDIATE:
            duration = params.get("duration_minutes")
            self.end_ns = end_ns if end_ns is not None else (None if duration is None else start_ns + int(duration) * 60 * NS)
        self.segment_start_ns = start_ns
        self.segment_filled_qty = ZERO
        self.last_switch_ns: int | None = None
        self.warned: frozenset[str] = frozenset()
        self.fractions: tuple[Decimal, ...] = ()
        self.next_tick_ns: int | None = start_ns
        # the children and what the venues said
        self.children: dict[str, _Child] = {}  # working: removed once the venue ends them
        self.filled_qty = ZERO
        self.volume = ZERO  # every print of the symbol since the start
        self.volume_at_segment_start = ZERO
        self.rejected_at: dict[str, int] = {}  # venue -> last reject
        self.dark_pinged = False  # ever (IMMEDIATE's whole-order routing)
        self.slice_pinged = False  # since the last scheduled tick (a slice's routing)
        self.rfq_seen = False
        self.nudged = False
        self.over = False
        self.run = AlgoRun(
            side=side,
            qty=qty,
            strategy=strategy,
            start_ns=start_ns,
            end_ns=self.end_ns,
            slice_ns=self._slice_ns(),
            arrival_mid=None,
            fractions=(),
        )

    # --- the loop ---------------------------------------------------------------------------

    def work(self) -> AlgoRun:
        market = self.market
        market.run_until(self.start_ns)
        market.drain()  # before our start: not ours to count
        self.run.arrival_mid = market.nbbo(self.symbol).mid
        self._note_path()
        if self.strategy.scheduled and self.end_ns is not None:
            slices = slice_count(self.params, start_ns=self.start_ns, end_ns=self.end_ns)
            self.fractions = schedule_fractions(
                self.params, self.context, start_ns=self.start_ns, slice_ns=self._slice_ns(), slices=slices, qty=self.qty
            )
            self.run.fractions = self.fractions
        self._tick("start")
        while not self.over:
            self._advance()
        self.run.stopped_ns = market.now
        self.run.end_mid = market.nbbo(self.symbol).mid
        self._note_path()
        return self.run

    def _note_path(self) -> None:
        self.run.path[self.market.now] = self.market.fair_parts(self.symbol).path

    def _advance(self) -> None:
        """Run the market to the next tick (or a nudge, or the stop) and run that tick."""
        market = self.market
        target = self.stop_ns if self.next_tick_ns is None else min(self.next_tick_ns, self.stop_ns)
        while True:
            market.run_until(min(market.now + self.step_ns, target))
            self._drain()
            if self.over or self.nudged or market.now >= target:
                break
            if self.next_tick_ns is None and not self.children:
                self._end("nothing working and no tick pending", finished=self.filled_qty == self.qty)
                return
        if self.over:
            return
        if market.now >= self.stop_ns:
            self._end(f"stopped at {self.stop_ns} ns with {self.qty - self.filled_qty} unfilled", finished=False)
            return
        self._tick("nudge" if self.nudged else "schedule")

    def _end(self, outcome: str, *, finished: bool) -> None:
        self.over = True
        self.run.outcome = outcome
        self.run.finished = finished

    # --- reports --------------------------------------------------------------------------------

    def _drain(self) -> None:
        now = self.market.now
        reports, prints = self.market.drain()
        for p in prints:
            if p.symbol == self.symbol:
                self.volume += p.qty
                self.run.prints.append(MarketPrint(t_ns=now, qty=p.qty, px=p.px))
        fills = len(self.run.fills)
        for report in reports:
            if isinstance(report, ExecutionReport):
                self._apply(report, now)
            elif isinstance(report, CancelReject):
                self._cancel_rejected(report)
        if len(self.run.fills) > fills:
            self._note_path()
        if self.filled_qty == self.qty and not self.children:
            self._end("filled", finished=True)
        elif self._whole and not self.children and not self.nudged:
            self._end(f"no child working and {self.qty - self.filled_qty} left", finished=False)

    def _child_of(self, cl_ord_id: str, orig_cl_ord_id: str) -> _Child | None:
        return self.children.get(cl_ord_id) or self.children.get(orig_cl_ord_id)

    def _apply(self, report: ExecutionReport, now: int) -> None:
        child = self._child_of(report.cl_ord_id, report.orig_cl_ord_id)
        if child is None or child.status.is_terminal:
            return
        if report.exec_type is ExecType.TRADE:
            child.filled_qty += report.last_qty
            self.filled_qty += report.last_qty
            assert self.filled_qty <= self.qty, f"over-filled: {self.filled_qty} of {self.qty}"
            assert self._within_limit(report.last_px), f"filled at {report.last_px}, past the limit {self.limit_px}"
            liquidity = report.liquidity.value if report.liquidity is not None else ""
            self.run.fills.append(AlgoFill(now, report.last_qty, report.last_px, report.fee, report.venue, liquidity))
        child.leaves_qty = report.leaves_qty
        status = report.ord_status
        if status.is_terminal or child.status is not OrdStatus.PENDING_CANCEL:
            child.status = status  # a pending cancel stays pending until the venue ends the order
        if not status.is_terminal:
            return
        child.leaves_qty = ZERO
        del self.children[child.cl_ord_id]
        if status is OrdStatus.REJECTED:
            self.rejected_at[child.venue] = now
        if status in _REPLAN_AFTER and child.filled_qty < child.qty and self.filled_qty < self.qty:
            self.nudged = True

    def _cancel_rejected(self, reject: CancelReject) -> None:
        """The venue refused our cancel: the child works on as before (the next tick may ask again)."""
        child = self.children.get(reject.orig_cl_ord_id)
        if child is not None and child.status is OrdStatus.PENDING_CANCEL:
            child.status = OrdStatus.PARTIALLY_FILLED if child.filled_qty else OrdStatus.NEW

    def _within_limit(self, px: Decimal) -> bool:
        limit = self.limit_px
        return limit is None or (px <= limit if self.side is Side.BUY else px >= limit)

    # --- a tick -----------------------------------------------------------------------------

    def _tick(self, trigger: str) -> None:
        now = self.market.now
        self.nudged = False
        if trigger != "nudge":
            self.slice_pinged = False
        working = list(self.children.values())
        nbbo = self.market.nbbo(self.symbol)
        slice_s = self._slice_ns()
        market_now = MarketNow(
            bid=nbbo.bid,
            ask=nbbo.ask,
            volume_since_start=self.volume - self.volume_at_segment_start,
            volatility_ratio=self._volatility_ratio(now),
            dark_filled_qty=sum((f.qty for f in self.run.fills if f.t_ns >= now - slice_s and f.venue in self.market.dark), ZERO),
        )
        plan = algo_tick(self._state(), [c.working() for c in working], market_now, self.context, now_ns=now, rng=self.rng)
        sent, cancelled = self._carry_out(plan, now)
        self.run.ticks.append(
            AlgoTick(
                t_ns=now,
                trigger=trigger,
                strategy=self.strategy,
                bid=nbbo.bid,
                ask=nbbo.ask,
                target_qty=None if plan.target_qty is None else plan.target_qty.quantize(Decimal("0.0001")),
                filled_qty=self.filled_qty,
                sent_qty=sent,
                cancelled=cancelled,
            )
        )
        self.warned = plan.warned
        self.next_tick_ns = plan.next_tick_ns
        if self.over:
            return
        if plan.done is not None and not self.children:
            self._end(plan.done, finished=plan.finished)
        elif self._whole and not self.children:
            self._end(f"nothing routed: {self.qty - self.filled_qty} left", finished=False)

    @property
    def _whole(self) -> bool:
        """IMMEDIATE from the start: the parent's own terms, routed at once, over when nothing works. Switched to
        IMMEDIATE, an algo sends HIGH IOC slices and ticks every slice until filled or the end."""
        return self.strategy is Strategy.IMMEDIATE and self.base_strategy is Strategy.IMMEDIATE

    def _volatility_ratio(self, now: int) -> float | None:
        since = now - VOLATILITY_WINDOW_S * NS
        recent = []
        for p in reversed(self.run.prints):  # in time order: the window is at the end
            if p.t_ns < since:
                break
            recent.append(p.px)
        return volatility_ratio(recent, window_s=VOLATILITY_WINDOW_S, volatility_daily=self.context.volatility_daily)

    def _state(self) -> ExecState:
        return ExecState(
            strategy=self.strategy,
            base_strategy=self.base_strategy,
            params=self.params,
            side=self.side,
            urgency=self.urgency,
            qty=self.qty,
            filled_qty=self.filled_qty,
            lot=self.lot,
            tick=self.tick,
            limit_px=self.limit_px,
            tif=self.parent_tif,
            start_ns=self.start_ns,
            end_ns=self.end_ns,
            segment_start_ns=self.segment_start_ns,
            segment_filled_qty=self.segment_filled_qty,
            fractions=self.fractions,
            last_switch_ns=self.last_switch_ns,
            warned=self.warned,
            base_params=self.base_params,
        )

    def _carry_out(self, plan: TickPlan, now: int) -> tuple[Decimal, int]:
        """Take the switch, send the cancels, route the slices; return the quantity sent and the cancels sent."""
        if plan.switch is not None:
            self.run.switches.append(AlgoSwitch(now, self.strategy, plan.switch.to, plan.switch.reason))
            self.strategy = plan.switch.to
            self.params = plan.switch.params
            self.fractions = plan.switch.fractions
            self.segment_start_ns = plan.switch.segment_start_ns
            self.segment_filled_qty = plan.switch.segment_filled_qty
            # the volume the segment counts from: none before the order's start (back from the dark), all so far else
            self.volume_at_segment_start = ZERO if self.segment_start_ns == self.start_ns else self.volume
            self.last_switch_ns = now
        cancelled = 0
        for cl_ord_id in plan.cancel:
            child = self.children.get(cl_ord_id)
            if child is None or child.status not in (OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED):
                continue  # done, or not yet acknowledged: the shell cannot cancel it either
            child.status = OrdStatus.PENDING_CANCEL
            self.market.cancel(CancelRequest(f"{cl_ord_id}~C{next(_cancel_ids)}", cl_ord_id, child.venue, self.symbol, self.side))
            cancelled += 1
        whole = self._whole
        sent = ZERO
        for order in plan.orders:
            if whole and self.run.decisions >= MAX_DECISIONS:
                self._end(f"routing stopped after {self.run.decisions} decisions", finished=False)
                break
            sent += self._place(None if whole else order, now)
        return sent, cancelled

    def _place(self, order: SliceOrder | None, now: int) -> Decimal:
        """Route what is neither filled nor working (or the slice's share of it) and send the router's orders."""
        working_qty = sum((c.leaves_qty for c in self.children.values()), ZERO)
        qty = floor_to(self.qty - self.filled_qty - working_qty, self.lot)
        if order is not None:
            qty = min(qty, floor_to(order.qty, self.lot))
        if qty <= 0:
            return ZERO
        avoid = {v: f"rejected a child {(now - t) // NS} s ago" for v, t in self.rejected_at.items() if now - t < AVOID_NS}
        request = RouteRequest(
            symbol=self.symbol,
            side=self.side,
            qty=qty,
            limit_px=self.limit_px if order is None else tighter_limit(self.side, self.limit_px, order.limit_px),
            urgency=self.urgency if order is None else order.urgency,
            tif=self.parent_tif if order is None else order.tif,
            lot=self.lot,
            tick=self.tick,
            adv=self.context.adv,
            volatility_daily=self.context.volatility_daily,
            dark_tried=self.dark_pinged if order is None else self.slice_pinged,  # each slice may try the dark once
            allow_rfq=order is None and not self.rfq_seen,
            avoid=avoid,
            dark_only=order is not None and order.dark_only,
            dark_min_qty=(order.min_qty or None) if order is not None else None,
        )
        books = sim_venues(self.market, self.symbol)
        if self.venues is not None:
            books = [book for book in books if book.code in self.venues]
        plan = self._route(request, books)
        if plan.rfq:  # no RFQ workflow yet: the block goes to the lit and dark markets, as ems.placement does
            self.rfq_seen = True
            plan = self._route(replace(request, allow_rfq=False), books)
        sent = ZERO
        for venue_order in plan.orders:
            sent += self._send(venue_order)
        return sent

    def _route(self, request: RouteRequest, books: list[VenueBook]) -> RoutePlan:
        self.run.decisions += 1
        return route(request, books, stats={}, params=self.router_params, rng=self.rng)

    def _send(self, order: VenueOrder) -> Decimal:
        cl_ord_id = sim_send(self.market, self.symbol, self.side, order)
        self.children[cl_ord_id] = _Child(
            cl_ord_id=cl_ord_id,
            venue=order.venue,
            qty=order.qty,
            limit_px=order.limit_px,
            tif=order.tif,
            dark=order.venue in self.market.dark,
            action=order.action,
            leaves_qty=order.qty,
        )
        if order.action is Action.DARK_PING:
            self.dark_pinged = self.slice_pinged = True
        self.run.children += 1
        return order.qty

    def _slice_ns(self) -> int:
        return int(self.params.get("slice_seconds") or 60) * NS
