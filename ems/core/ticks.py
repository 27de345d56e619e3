"""One tick of an algo: where the execution stands, what the market shows, and what to do now.

Pure. ``algo_tick`` takes the execution's state, the working children and the
market now, and returns a ``TickPlan``: children to cancel, slice orders for
the router (size, urgency, time in force, limit), a strategy switch with its
reason, the next tick's time, or the end. The shell (``ems.services``) loads
the inputs under the parent's row lock, stores the plan and sends it.

Each tick re-evaluates, in order:

1. **Done**: nothing left; or the end time passed (finish with liquidity when
   ``complete_by_end``, else stop with the rest unfilled).
2. **Switch** (at most once per ``2`` slices): the end near while behind
   (to IMMEDIATE), a volatility spike (TWAP/VWAP/POV to IS, to cut timing risk),
   dark liquidity found (to DARK; not for an order that needs more of the
   volume to come than resting gets it), dark liquidity gone while behind (back).
   The new strategy's schedule starts now on what is left: filled quantity and
   average price carry across, as they are the parent's.
3. **Limit unreachable**: the far touch is past the limit: rest at the limit,
   never chase.
4. **The slice**: "I would" (the far touch at or better: take all of it);
   behind by more than the tolerance (catch up: take liquidity); ahead (wait);
   else the schedule's quantity due by the slice's end, resting at the touch.
   Resting children no longer at the touch are cancelled (re-priced next tick).

Sizes are Decimals on the lot; never more than the leaves less what works.
"""

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Final

from ems.core.algos import AlgoParams, Strategy, params_load
from ems.core.schedules import ScheduleContext, due_qty, expected_profile_volume, expected_volume, segment_fractions
from ems.core.strategies import tighter_limit
from trading.enums import Side, TimeInForce, Urgency
from trading.numbers import ZERO, floor_to, round_to

VOLATILITY_SPIKE: Final = 2.0  # realized over expected volatility that counts as a spike
CATCH_UP_RETRY_NS: Final = 5_000_000_000  # behind, the next look comes this soon: the touch has refilled by then
PASSIVE_PARTICIPATION: Final = Decimal("0.15")  # above this share of the volume to come, resting slices fall behind
VOLATILITY_WINDOW_S: Final = 300  # the recent window a volatility spike is measured over
DWELL_SLICES: Final = 2  # slices between two switches: no flapping
DARK_REENTRY_SLICES: Final = 10  # back from the dark, the base works this many slices before the dark may take over again
_SWITCHABLE_TO_IS: Final = (Strategy.TWAP, Strategy.VWAP, Strategy.POV)
_CARRIED: Final = (
    "duration_minutes",
    "slice_seconds",
    "i_would_px",
    "complete_by_end",
    "schedule_tolerance",
    "size_jitter",
    "time_jitter",
)


@dataclass(frozen=True, slots=True)
class Working:
    """A child at a venue not yet done."""

    cl_ord_id: str
    qty_left: Decimal
    limit_px: Decimal | None
    resting: bool  # DAY/GTC: may sit on a book
    dark: bool
    pending_cancel: bool = False


@dataclass(frozen=True, slots=True)
class MarketNow:
    bid: Decimal | None = None
    ask: Decimal | None = None
    volume_since_start: Decimal = ZERO  # market volume (ours included) since the segment started
    volatility_ratio: float | None = None  # realized over expected volatility, recent window
    dark_filled_qty: Decimal = ZERO  # our dark fills in the last slice


@dataclass(frozen=True, slots=True)
class ExecState:
    """The execution as the tick sees it. ``segment_*``: since the current strategy (or amend) took over."""

    strategy: Strategy
    base_strategy: Strategy
    params: AlgoParams
    side: Side
    urgency: Urgency
    qty: Decimal
    filled_qty: Decimal
    lot: Decimal
    tick: Decimal
    limit_px: Decimal | None
    tif: TimeInForce  # the parent's working time in force (IMMEDIATE)
    start_ns: int
    end_ns: int | None
    segment_start_ns: int
    segment_filled_qty: Decimal
    fractions: tuple[Decimal, ...]  # the segment's schedule (scheduled algos)
    last_switch_ns: int | None = None
    warned: frozenset[str] = frozenset()
    base_params: Mapping[str, Any] = field(default_factory=dict)  # as first chosen: restored on a switch back


@dataclass(frozen=True, slots=True)
class SliceOrder:
    """A quantity for the router now, and how: its urgency, time in force and limit."""

    qty: Decimal
    urgency: Urgency
    tif: TimeInForce
    limit_px: Decimal | None
    reason: str
    dark_only: bool = False
    min_qty: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Switch:
    """A change of strategy: the new one, why, its parameters and its segment's schedule, start and filled quantity then.

    A segment starts at the switch on what is left, except back from the dark:
    the base takes up its schedule of the whole order from the order's start
    again, so what the dark did not fill shows as behind and is caught up,
    instead of being spread anew over what time is left (each trip to the dark
    would push the order's schedule back, and the end would get the rest).
    """

    to: Strategy
    reason: str
    params: AlgoParams
    fractions: tuple[Decimal, ...]
    segment_start_ns: int
    segment_filled_qty: Decimal


@dataclass(frozen=True, slots=True)
class TickPlan:
    cancel: tuple[str, ...] = ()
    orders: tuple[SliceOrder, ...] = ()
    next_tick_ns: int | None = None
    switch: Switch | None = None
    done: str | None = None  # set: stop ticking (with this reason) once nothing works
    finished: bool = False  # True: the end is a success (filled), not a stop
    reasons: tuple[str, ...] = ()
    notes: tuple[tuple[str, str], ...] = ()  # (kind, text): warnings and schedule adjustments, each logged
    target_qty: Decimal | None = None  # where the schedule says the parent should be now
    warned: frozenset[str] = field(default_factory=frozenset)


def algo_tick(
    state: ExecState, working: Sequence[Working], market: MarketNow, context: ScheduleContext, *, now_ns: int, rng: random.Random
) -> TickPlan:
    """Return what to do now for ``state``. Never orders more than leaves less working; never past the limit."""
    return _Tick(state, working, market, context, now_ns, rng).run()


class _Tick:
    def __init__(  # noqa: PLR0917 - the tick's inputs, passed on by algo_tick
        self,
        state: ExecState,
        working: Sequence[Working],
        market: MarketNow,
        context: ScheduleContext,
        now_ns: int,
        rng: random.Random,
    ) -> None:
        self.s = state
        self.working = list(working)
        self.market = market
        self.context = context
        self.now = now_ns
        self.rng = rng
        self.leaves = state.qty - state.filled_qty
        self.working_qty = sum((w.qty_left for w in working if not w.pending_cancel), ZERO)
        self.cancel: list[str] = []
        self.orders: list[SliceOrder] = []
        self.reasons: list[str] = []
        self.notes: list[tuple[str, str]] = []
        self.warned = set(state.warned)
        self.switch: Switch | None = None

    # --- the plan -----------------------------------------------------------------------

    def run(self) -> TickPlan:
        s = self.s
        if self.leaves <= 0:
            return self._plan(done="filled", finished=True)
        if s.strategy in (Strategy.IMMEDIATE, Strategy.RFQ):
            return self._immediate()
        assert s.end_ns is not None, "a scheduled or dark algo has an end"
        if self.now >= s.end_ns:
            return self._at_end()
        self._consider_switch()
        if self.switch is not None:
            s = self.s = _switched(s, self.switch, self.now)
            if s.strategy is Strategy.IMMEDIATE:
                self._cancel_resting("the switch to IMMEDIATE takes liquidity now")
                return self._immediate(after_cancel=True)
        if s.strategy is Strategy.DARK:
            return self._dark()
        return self._scheduled()

    def _plan(self, *, done: str | None = None, finished: bool = False, next_ns: int | None = None) -> TickPlan:
        return TickPlan(
            cancel=tuple(self.cancel),
            orders=tuple(self.orders),
            next_tick_ns=next_ns,
            switch=self.switch,
            done=done,
            finished=finished,
            reasons=tuple(self.reasons),
            notes=tuple(self.notes),
            target_qty=self._target_now() if self.s.strategy.scheduled else None,
            warned=frozenset(self.warned),
        )

    # --- IMMEDIATE: everything to the router now ------------------------------------------

    def _immediate(self, *, after_cancel: bool = False) -> TickPlan:
        free = self._free()
        if after_cancel:
            free = self.leaves - sum((w.qty_left for w in self.working if w.cl_ord_id not in self.cancel), ZERO)
            free = floor_to(max(free, ZERO), self.s.lot)
        switched = self.switch is not None or self.s.base_strategy is not Strategy.IMMEDIATE
        if free > 0 and switched:  # switched here to finish: take liquidity, and look again every slice
            self.orders.append(SliceOrder(free, Urgency.HIGH, TimeInForce.IOC, self.s.limit_px, "take liquidity for the rest now"))
        elif free > 0:
            self.orders.append(
                SliceOrder(free, self.s.urgency, self.s.tif, self.s.limit_px, "the whole quantity to the router now")
            )
        return self._plan(next_ns=self.now + self._slice_ns() if switched else None)

    # --- the end ---------------------------------------------------------------------------

    def _at_end(self) -> TickPlan:
        s = self.s
        if s.params.get("complete_by_end"):
            self._cancel_resting("the end time passed: take liquidity for the rest")
            free = floor_to(self.leaves - self._still_working(), s.lot)
            if free > 0:
                self.orders.append(
                    SliceOrder(free, Urgency.HIGH, TimeInForce.IOC, s.limit_px, "the end time passed: complete by the end")
                )
            return self._plan(next_ns=self.now + self._slice_ns())
        self._cancel_resting("the end time passed")
        return self._plan(done=f"end time reached with {self.leaves} unfilled")

    # --- switching -------------------------------------------------------------------------

    def _consider_switch(self) -> None:
        s = self.s
        if s.last_switch_ns is not None and self.now - s.last_switch_ns < DWELL_SLICES * self._slice_ns():
            return
        assert s.end_ns is not None
        left_ns = s.end_ns - self.now
        behind = self._behind().quantize(Decimal("0.0001")).normalize()
        tolerance = s.params.get("schedule_tolerance") or Decimal("0.05")
        if s.params.get("complete_by_end") and left_ns <= 2 * self._slice_ns() and behind > tolerance * s.qty:
            self._switch_to(
                Strategy.IMMEDIATE,
                f"end time near: {self.leaves} left with {left_ns // 1_000_000_000} s to go, {behind:f} behind schedule",
            )
            return
        ratio = self.market.volatility_ratio
        if s.strategy in _SWITCHABLE_TO_IS and ratio is not None and ratio >= VOLATILITY_SPIKE:
            self._switch_to(Strategy.IS, f"volatility {ratio:.1f}x normal: switch to IS to cut the timing risk")
            return
        found = self._dark_found_qty()
        if (
            s.strategy in (Strategy.TWAP, Strategy.VWAP, Strategy.IS)
            and s.urgency is not Urgency.HIGH
            and found is not None
            and not self._just_back_from_dark()
            and not self._too_big_for_the_dark()
        ):
            self._switch_to(
                Strategy.DARK,
                f"dark liquidity found: {self.market.dark_filled_qty} filled in the dark last slice "
                f"(at least an average slice, {found:f}); work it there",
            )
            return
        if s.strategy is Strategy.DARK and s.base_strategy is not Strategy.DARK and self.market.dark_filled_qty <= 0:
            base_target = self._base_target()
            gap = ZERO if base_target is None else (base_target - s.filled_qty).quantize(Decimal("0.0001")).normalize()
            if gap > tolerance * s.qty:
                self._switch_to(
                    s.base_strategy,
                    f"dark liquidity gone and {gap:f} behind the {s.base_strategy.value} schedule: back to it",
                )

    def _just_back_from_dark(self) -> bool:
        """Whether the base came back from the dark less than ``DARK_REENTRY_SLICES`` ago: the dark dried up while it
        fell behind, and going straight back on the next dark fill would alternate the two all day."""
        s = self.s
        return (
            s.strategy is s.base_strategy
            and s.last_switch_ns is not None
            and self.now - s.last_switch_ns < DARK_REENTRY_SLICES * self._slice_ns()
        )

    def _too_big_for_the_dark(self) -> bool:
        """Whether what is left needs more than ``PASSIVE_PARTICIPATION`` of the volume to come: the dark's fills come
        to the order as they do to a resting slice, so it would fall behind and pay the touch to catch up on its return
        (a 25% ADV order went back and forth a dozen times a day, each return a catch-up)."""
        needed = self._needed_share()
        if needed is not None and needed > PASSIVE_PARTICIPATION:
            self.reasons.append(f"dark liquidity found, but {needed:.0%} of the volume to come is needed: stay on the schedule")
            return True
        return False

    def _dark_found_qty(self) -> Decimal | None:
        """The average slice of the order (its quantity over the window's slices) when the dark filled at least that
        much last slice, else None: a stray dark fill of a few lots is no reason to leave the schedule, and switching
        on one flaps between the two."""
        s = self.s
        assert s.end_ns is not None
        window_ns = max(s.end_ns - s.start_ns, self._slice_ns())
        average = (s.qty * self._slice_ns() / window_ns).quantize(Decimal("0.0001")).normalize()
        return average if self.market.dark_filled_qty >= max(average, s.lot) else None

    def _switch_to(self, to: Strategy, reason: str) -> None:
        s = self.s
        carried = {k: v for k, v in s.params.values.items() if k in _CARRIED}
        if to is s.base_strategy:  # back to the first choice: its own settings, with what carries across now
            carried = {**s.base_params, **carried}
        params = params_load(to, carried)
        assert s.end_ns is not None
        start_ns, filled = self.now, s.filled_qty
        if s.strategy is Strategy.DARK and to is s.base_strategy and to.scheduled and to is not Strategy.POV:
            start_ns, filled = s.start_ns, ZERO  # the base's schedule of the whole order (see Switch)
        fractions = segment_fractions(params, self.context, start_ns=start_ns, end_ns=s.end_ns, qty=s.qty - filled)
        self.switch = Switch(to, reason, params, fractions, start_ns, filled)
        self.notes.append(("STRATEGY_SWITCH", reason))

    def _base_target(self) -> Decimal | None:
        """Where a TWAP of the rest from the switch would be now: the yardstick to leave the dark by."""
        s = self.s
        assert s.end_ns is not None
        span = s.end_ns - s.segment_start_ns
        if span <= 0:
            return None
        elapsed = Decimal(self.now - s.segment_start_ns) / span
        return s.segment_filled_qty + (s.qty - s.segment_filled_qty) * min(Decimal(1), elapsed)

    # --- DARK: liquidity seeking --------------------------------------------------------------

    def _dark(self) -> TickPlan:
        s = self.s
        if self._i_would():
            return self._plan(next_ns=self._next_tick())
        free = self._free()
        given = s.params.get("min_fill_qty")  # blank: the router's dark minimum applies
        minimum = given or s.lot
        if free >= minimum or (free > 0 and free == floor_to(self.leaves, s.lot)):
            shown = f"min fill {min(minimum, free)}" if given else "the router's minimum fill"
            self.orders.append(
                SliceOrder(
                    free,
                    Urgency.LOW,
                    TimeInForce.DAY,
                    s.limit_px,
                    f"rest {free} in the dark pools, {shown}",
                    dark_only=True,
                    min_qty=min(minimum, free) if given else ZERO,
                )
            )
        return self._plan(next_ns=self._next_tick())

    # --- scheduled: TWAP, VWAP, POV, IS ----------------------------------------------------------

    def _scheduled(self) -> TickPlan:
        s = self.s
        tolerance = s.params["schedule_tolerance"]
        self._warn_thin_volume()
        if self._limit_unreachable():
            self._reprice()
            due = self._due()
            if due > 0:
                self.orders.append(SliceOrder(due, Urgency.LOW, TimeInForce.DAY, s.limit_px, "rest at the limit"))
            return self._plan(next_ns=self._next_tick())
        if self._i_would():
            return self._plan(next_ns=self._next_tick())
        behind = self._behind().quantize(Decimal("0.0001")).normalize()
        if behind > tolerance * s.qty or (s.strategy is Strategy.POV and self._below_min_rate()):
            self._cancel_resting(f"behind schedule by {behind:f}: catch up")
            free = floor_to(max(self.leaves - self._still_working(), ZERO), s.lot)
            qty = min(free, floor_to(self._due_target() - s.filled_qty - self._still_working(), s.lot))
            if qty > 0:
                self.notes.append(("SCHEDULE_CATCH_UP", f"{behind:f} behind schedule (tolerance {tolerance:%}): take {qty}"))
                self.orders.append(
                    SliceOrder(qty, Urgency.HIGH, TimeInForce.IOC, self._catch_up_limit(), "catch up with the schedule")
                )
            # the band leaves what lies deeper for the book to refill: look again soon, not at the slice's end
            return self._plan(next_ns=min(self._next_tick(), self.now + CATCH_UP_RETRY_NS))
        if -behind > tolerance * s.qty or (s.strategy is Strategy.POV and self._above_max_rate()):
            self._cancel_resting(f"ahead of schedule by {-behind:f}: wait")
            self.reasons.append(f"ahead of schedule by {-behind:f}: wait")
            return self._plan(next_ns=self._next_tick())
        self._reprice()
        due = self._due()
        if due > 0:
            urgency = Urgency.MEDIUM if s.urgency is Urgency.HIGH or self._too_big_to_wait() else Urgency.LOW
            self.orders.append(SliceOrder(due, urgency, TimeInForce.DAY, self._passive_limit(), f"{s.strategy.value} slice"))
        return self._plan(next_ns=self._next_tick())

    def _too_big_to_wait(self) -> bool:
        """Whether what is left needs more than ``PASSIVE_PARTICIPATION`` of the volume expected to the end, for a
        schedule that completes by the end (not POV, whose pace is the volume's): resting orders get only the flow that
        comes to them, so the slices take the touch too (the router's MEDIUM), instead of falling behind and catching
        up, or leaving the end the rest."""
        needed = self._needed_share()
        if needed is not None and needed > PASSIVE_PARTICIPATION:
            self.reasons.append(f"{needed:.0%} of the volume expected to the end is needed: take the touch too")
            return True
        return False

    def _needed_share(self) -> Decimal | None:
        """What is left over the volume expected to the end, for a schedule that completes by the end; else None."""
        s = self.s
        assert s.end_ns is not None
        if s.strategy is Strategy.POV or not s.params.get("complete_by_end"):  # its pace is the volume's, or may slip
            return None
        volume = expected_volume(self.context, start_ns=self.now, end_ns=s.end_ns)
        return self.leaves / volume if volume else None

    def _due(self) -> Decimal:
        """The jittered quantity still due by the end of this slice, on the lot, within leaves less working."""
        s = self.s
        raw = self._due_target() - s.filled_qty - self._still_working()
        if raw <= 0:
            return ZERO
        jitter = Decimal(s.params.get("size_jitter") or 0)
        factor = 1 + jitter * Decimal(repr(self.rng.uniform(-1, 1))).quantize(Decimal("0.0001"))
        qty = round_to(raw * factor, s.lot)  # rounded, not floored: jitter must not bias slices down
        free = floor_to(max(self.leaves - self._still_working(), ZERO), s.lot)
        if qty < s.lot <= raw:
            qty = s.lot
        return min(qty, free)

    def _due_target(self) -> Decimal:
        """The parent's filled quantity the schedule wants by the end of this slice."""
        s = self.s
        if s.strategy is Strategy.POV:
            rate = s.params["target_rate"]
            expected = expected_profile_volume(self.context, start_ns=self.now, end_ns=self.now + self._slice_ns()) or ZERO
            return min(s.qty, s.segment_filled_qty + floor_to(rate * (self.market.volume_since_start + expected), s.lot))
        k = min(self._slice_index(), len(s.fractions) - 1)
        target = s.segment_filled_qty + due_qty(s.qty - s.segment_filled_qty, s.fractions[k], s.lot)
        if k == len(s.fractions) - 1:
            target = s.qty
        if s.strategy is Strategy.VWAP:
            cap_rate = s.params["max_participation"]
            expected = expected_profile_volume(self.context, start_ns=self.now, end_ns=self.now + self._slice_ns()) or ZERO
            cap = s.segment_filled_qty + floor_to(cap_rate * (self.market.volume_since_start + expected), s.lot)
            if cap < target and not s.params.get("complete_by_end"):
                self.reasons.append(f"participation cap {cap_rate:%}: {target - cap} held back")
                target = cap
            elif cap < target:
                self.reasons.append(f"participation cap {cap_rate:%} would hold back {target - cap}; the end time comes first")
        return target

    def _target_now(self) -> Decimal:
        """Where the schedule says the parent should be now (the end of the previous slice)."""
        s = self.s
        if s.strategy is Strategy.POV:
            return min(s.qty, s.segment_filled_qty + s.params["target_rate"] * self.market.volume_since_start)
        k = self._slice_index()
        if k <= 0 or not s.fractions:
            return s.segment_filled_qty
        fraction = s.fractions[min(k, len(s.fractions)) - 1]
        target = s.segment_filled_qty + (s.qty - s.segment_filled_qty) * fraction
        if s.strategy is Strategy.VWAP and not s.params.get("complete_by_end"):  # held back by the cap is not behind
            target = min(target, s.segment_filled_qty + s.params["max_participation"] * self.market.volume_since_start)
        return target

    def _behind(self) -> Decimal:
        return self._target_now() - self.s.filled_qty

    def _below_min_rate(self) -> bool:
        volume = self.market.volume_since_start
        done = self.s.filled_qty - self.s.segment_filled_qty
        return volume > 0 and done < self.s.params["min_rate"] * volume - self.s.lot

    def _above_max_rate(self) -> bool:
        volume = self.market.volume_since_start
        done = self.s.filled_qty - self.s.segment_filled_qty
        return volume > 0 and done > self.s.params["max_rate"] * volume + self.s.lot

    def _warn_thin_volume(self) -> None:
        s = self.s
        if s.strategy is not Strategy.POV or "pov_thin" in self.warned or s.end_ns is None:
            return
        expected = expected_profile_volume(self.context, start_ns=self.now, end_ns=s.end_ns)
        if expected is None:
            return
        reachable = s.params["target_rate"] * expected
        if reachable < self.leaves:
            self.warned.add("pov_thin")
            self.notes.append(
                (
                    "ALGO_WARNING",
                    f"market volume too thin: {expected:.0f} expected by the end at {s.params['target_rate']:%} "
                    f"is {reachable:.0f}, short of the {self.leaves} left",
                )
            )

    # --- prices --------------------------------------------------------------------------

    def _far(self) -> Decimal | None:
        return self.market.ask if self.s.side is Side.BUY else self.market.bid

    def _near(self) -> Decimal | None:
        return self.market.bid if self.s.side is Side.BUY else self.market.ask

    def _better_or_at(self, px: Decimal, than: Decimal) -> bool:
        return px <= than if self.s.side is Side.BUY else px >= than

    def _limit_unreachable(self) -> bool:
        limit, far = self.s.limit_px, self._far()
        if limit is None or far is None or self._better_or_at(far, limit):
            if "limit_unreachable" in self.warned:
                self.warned.discard("limit_unreachable")
            return False
        if "limit_unreachable" not in self.warned:
            self.warned.add("limit_unreachable")
            self.notes.append(("SCHEDULE_LIMIT", f"limit {limit} unreachable: the far touch is {far}; rest at the limit"))
        return True

    def _i_would(self) -> bool:
        s, far = self.s, self._far()
        price = s.params.get("i_would_px")
        if price is None or far is None or not self._better_or_at(far, price):
            return False
        free = floor_to(max(self.leaves - self._still_working(), ZERO), s.lot)
        if free <= 0:
            return False
        self.notes.append(("SCHEDULE_I_WOULD", f"far touch {far} at or better than the I-would price {price}: take up to {free}"))
        self.orders.append(
            SliceOrder(free, Urgency.HIGH, TimeInForce.IOC, price, f"I would: take up to {free} at {price} or better")
        )
        return True

    def _catch_up_limit(self) -> Decimal | None:
        """A catch-up takes what is offered within a spread past the far touch (and the parent's limit), no deeper: the
        rest waits for the next tick, when the book has refilled, instead of walking it (the ticks after catch up)."""
        far, near = self._far(), self._near()
        if far is None or near is None:
            return self.s.limit_px
        band = max(abs(far - near), self.s.tick)
        return tighter_limit(self.s.side, self.s.limit_px, far + band if self.s.side is Side.BUY else far - band)

    def _passive_limit(self) -> Decimal | None:
        """A resting slice's limit: the parent's; a market parent rests within the far touch."""
        return self.s.limit_px if self.s.limit_px is not None else self._far()

    def _reprice(self) -> None:
        """Cancel resting lit children behind the near touch: the next tick rests them again at the touch."""
        near = self._near()
        if near is None:
            return
        near = tighter_limit(self.s.side, near, self.s.limit_px)  # a touch past the limit is joined at the limit
        assert near is not None
        for w in self.working:
            if not w.resting or w.dark or w.pending_cancel or w.limit_px is None:
                continue
            behind = w.limit_px < near if self.s.side is Side.BUY else w.limit_px > near
            if behind:
                self.cancel.append(w.cl_ord_id)
                self.reasons.append(f"{w.cl_ord_id} at {w.limit_px} is behind the touch {near}: cancel to re-price")

    def _cancel_resting(self, why: str) -> None:
        for w in self.working:
            if w.resting and not w.pending_cancel and w.cl_ord_id not in self.cancel:
                self.cancel.append(w.cl_ord_id)
        if self.cancel:
            self.reasons.append(f"cancel {len(self.cancel)} resting: {why}")

    # --- quantities and time ----------------------------------------------------------------

    def _still_working(self) -> Decimal:
        """Quantity at venues not being cancelled by this tick or before."""
        return sum((w.qty_left for w in self.working if not w.pending_cancel and w.cl_ord_id not in self.cancel), ZERO)

    def _free(self) -> Decimal:
        return floor_to(max(self.leaves - self.working_qty, ZERO), self.s.lot)

    def _slice_ns(self) -> int:
        return int(self.s.params.get("slice_seconds") or 60) * 1_000_000_000

    def _slice_index(self) -> int:
        return max(0, (self.now - self.s.segment_start_ns) // self._slice_ns())

    def _next_tick(self) -> int:
        """The next slice boundary from the segment start, jittered later by up to ``time_jitter``; never past the end."""
        s = self.s
        assert s.end_ns is not None
        slice_ns = self._slice_ns()
        boundary = s.segment_start_ns + (self._slice_index() + 1) * slice_ns
        jitter = float(s.params.get("time_jitter") or 0)
        at = boundary + int(slice_ns * jitter * self.rng.random())
        return min(at, s.end_ns) if boundary < s.end_ns else s.end_ns


def _switched(state: ExecState, switch: Switch, now_ns: int) -> ExecState:
    """The state after ``switch``: its segment (see ``Switch``)."""
    return replace(
        state,
        strategy=switch.to,
        params=switch.params,
        segment_start_ns=switch.segment_start_ns,
        segment_filled_qty=switch.segment_filled_qty,
        fractions=switch.fractions,
        last_switch_ns=now_ns,
    )


def volatility_ratio(prices: Sequence[Decimal], *, window_s: int, volatility_daily: Decimal | None) -> float | None:
    """Realized over expected volatility in the window (Parkinson's range estimator); None with too few prints."""
    if volatility_daily is None or volatility_daily <= 0 or len(prices) < 10:
        return None
    high, low = float(max(prices)), float(min(prices))
    if low <= 0:
        return None
    realized = math.log(high / low) / (2 * math.sqrt(math.log(2)))
    expected = float(volatility_daily) * math.sqrt(window_s / (6.5 * 3600))
    return realized / expected if expected > 0 else None
