"""One algo tick: what each strategy orders, cancels, switches to or finishes, given the state and the market now."""

import math
import random
import re
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ems.core.algos import SPECS, AlgoParams, OrderFacts, Strategy, params_dump, params_validate, slice_count
from ems.core.schedules import ScheduleContext, profile_fractions, schedule_fractions, twap_fractions
from ems.core.ticks import ExecState, MarketNow, SliceOrder, TickPlan, Working, algo_tick
from trading.enums import Side, TimeInForce, Urgency
from trading.numbers import ZERO, is_multiple

D = Decimal
NS = 1_000_000_000
SLICE = 60 * NS
OPEN = (9 * 3600 + 1800) * NS  # 9:30
START = 36_000 * NS  # 10:00
END = START + 10 * SLICE
LIMIT = D("100.00")
TICK = D("0.01")
LOT = D(100)
QTY = D(1000)

MARKET = MarketNow(bid=D("99.99"), ask=D("100.00"))
SELL_MARKET = MarketNow(bid=D("100.00"), ask=D("100.01"))
NO_ANALYTICS = ScheduleContext()
# A flat profile: 0.078 of the day each half hour, so 0.0026 a minute; with ADV 1,000,000 that is 2,600 shares a minute.
FLAT = tuple(D("0.078") for _ in range(13))
ANALYTICS = ScheduleContext(price=D(100), volatility_daily=D("0.02"), adv=D(1_000_000), spread=D("0.02"), profile=FLAT)


def params(strategy: Strategy, *, qty: Decimal = QTY, side: Side = Side.BUY, **given: Any) -> AlgoParams:
    """Checked params with jitter off (where the algo has it), for exact quantities and times."""
    names = {spec.name for spec in SPECS[strategy]}
    quiet = {k: "0" for k in ("size_jitter", "time_jitter") if k in names}
    order = OrderFacts(side=side, qty=qty, lot=LOT, tick=TICK, limit_px=LIMIT, start_ns=START, end_ns=END)
    return params_validate(strategy, {**quiet, **given}, order)


def state(
    strategy: Strategy = Strategy.TWAP,
    *,
    qty: Decimal = QTY,
    filled: Decimal = ZERO,
    side: Side = Side.BUY,
    urgency: Urgency = Urgency.MEDIUM,
    limit: Decimal | None = LIMIT,
    base: Strategy | None = None,
    segment_start: int = START,
    segment_filled: Decimal = ZERO,
    fractions: tuple[Decimal, ...] | None = None,
    last_switch: int | None = None,
    warned: frozenset[str] = frozenset(),
    **given: Any,
) -> ExecState:
    """An execution 10 one-minute slices long from 10:00, buying 1,000 on lot 100 limited at 100.00 unless told."""
    checked = params(strategy, qty=qty, side=side, **given)
    if fractions is None:
        fractions = twap_fractions(slice_count(checked, start_ns=segment_start, end_ns=END)) if strategy.scheduled else ()
    return ExecState(
        strategy=strategy,
        base_strategy=base or strategy,
        params=checked,
        side=side,
        urgency=urgency,
        qty=qty,
        filled_qty=filled,
        lot=LOT,
        tick=TICK,
        limit_px=limit,
        tif=TimeInForce.DAY,
        start_ns=START,
        end_ns=END,
        segment_start_ns=segment_start,
        segment_filled_qty=segment_filled,
        fractions=fractions,
        last_switch_ns=last_switch,
        warned=warned,
    )


def tick(
    s: ExecState,
    working: Sequence[Working] = (),
    market: MarketNow = MARKET,
    context: ScheduleContext = NO_ANALYTICS,
    *,
    now: int = START,
) -> TickPlan:
    return algo_tick(s, working, market, context, now_ns=now, rng=random.Random(1))


def resting(cl_ord_id: str, qty: int, px: str = "99.99", *, dark: bool = False) -> Working:
    return Working(cl_ord_id, D(qty), D(px), resting=True, dark=dark)


def ioc(cl_ord_id: str, qty: int, px: str = "100.00") -> Working:
    return Working(cl_ord_id, D(qty), D(px), resting=False, dark=False)


def kinds(plan: TickPlan) -> list[str]:
    return [kind for kind, _ in plan.notes]


def amount_in(text: str, pattern: str) -> Decimal:
    """The number ``pattern``'s one group matches in ``text``, as a Decimal: its value, whatever its notation."""
    match = re.fullmatch(pattern, text)
    assert match is not None, text
    return D(match.group(1))


# --- TWAP: the slice -----------------------------------------------------------------------


def test_twap_first_tick_rests_the_first_slice_at_low_urgency_within_the_limit() -> None:
    # given 1,000 over 10 slices, nothing done
    # when
    plan = tick(state())
    # then one slice of 100 resting (DAY) at LOW urgency with the parent's limit, the next tick a slice later
    assert plan.orders == (SliceOrder(D(100), Urgency.LOW, TimeInForce.DAY, LIMIT, "TWAP slice"),)
    assert plan.cancel == ()
    assert plan.next_tick_ns == START + SLICE
    assert plan.done is None
    assert plan.switch is None
    assert plan.target_qty == 0


def test_twap_slice_of_a_high_urgency_parent_goes_at_medium() -> None:
    # given / when
    plan = tick(state(urgency=Urgency.HIGH))
    # then
    assert [(o.qty, o.urgency, o.tif) for o in plan.orders] == [(D(100), Urgency.MEDIUM, TimeInForce.DAY)]


def test_twap_slice_of_a_market_buy_rests_within_the_far_touch() -> None:
    # given a market order (no limit)
    # when
    plan = tick(state(limit=None))
    # then the slice is limited at the ask
    assert [o.limit_px for o in plan.orders] == [D("100.00")]


def test_twap_slice_of_a_market_sell_rests_within_the_far_touch() -> None:
    # given
    # when
    plan = tick(state(limit=None, side=Side.SELL), market=SELL_MARKET)
    # then the slice is limited at the bid
    assert [o.limit_px for o in plan.orders] == [D("100.00")]


def test_twap_with_a_working_child_places_only_the_difference() -> None:
    # given 2,000 over 10 slices (200 each), the first filled, 100 of the second resting at the bid
    s = state(qty=D(2000), filled=D(200))
    # when in the second slice
    plan = tick(s, [resting("c1", 100)], now=START + SLICE)
    # then 400 due by its end, 200 filled, 100 working: 100 more
    assert [(o.qty, o.urgency, o.tif, o.limit_px) for o in plan.orders] == [(D(100), Urgency.LOW, TimeInForce.DAY, LIMIT)]
    assert plan.cancel == ()


def test_twap_with_the_slice_already_working_places_nothing() -> None:
    # given the second slice's 200 resting at the bid
    s = state(qty=D(2000), filled=D(200))
    # when
    plan = tick(s, [resting("c1", 200)], now=START + SLICE)
    # then
    assert plan.orders == ()
    assert plan.cancel == ()


def test_twap_within_the_tolerance_places_the_slice() -> None:
    # given nothing filled after one slice: 100 behind, exactly the 10 % tolerance
    s = state(schedule_tolerance="0.10")
    # when
    plan = tick(s, now=START + SLICE)
    # then no catch-up: the slice due by the end of the second (200) rests
    assert [(o.qty, o.urgency, o.tif) for o in plan.orders] == [(D(200), Urgency.LOW, TimeInForce.DAY)]
    assert "SCHEDULE_CATCH_UP" not in kinds(plan)


def test_twap_behind_beyond_the_tolerance_catches_up_with_an_ioc() -> None:
    # given 100 filled after three slices (300 due), 100 resting at the bid
    s = state(filled=D(100))
    # when
    plan = tick(s, [resting("c1", 100)], now=START + 3 * SLICE)
    # then the resting child is cancelled and an IOC at HIGH urgency takes what is due by the end of this slice (400 - 100)
    assert plan.cancel == ("c1",)
    assert plan.orders == (SliceOrder(D(300), Urgency.HIGH, TimeInForce.IOC, LIMIT, "catch up with the schedule"),)
    assert [amount_in(r, r"cancel 1 resting: behind schedule by (\S+): catch up") for r in plan.reasons] == [200]
    assert kinds(plan) == ["SCHEDULE_CATCH_UP"]
    assert amount_in(plan.notes[0][1], r"(\S+) behind schedule \(tolerance 5%\): take 300") == 200
    assert plan.target_qty == 300
    # and it looks again in 5 s, not at the slice's end: what its band left, the refilled touch may offer by then
    assert plan.next_tick_ns == START + 3 * SLICE + 5 * NS


@pytest.mark.parametrize(
    ("side", "limit", "bid", "ask", "expected"),
    [
        (Side.BUY, None, "99.97", "100.00", "100.03"),  # a spread past the far touch
        (Side.BUY, "100.02", "99.97", "100.00", "100.02"),  # the parent's limit, tighter
        (Side.BUY, None, "100.00", "100.00", "100.01"),  # locked: a tick
        (Side.SELL, None, "99.97", "100.00", "99.94"),
    ],
)
def test_a_catch_up_takes_no_deeper_than_a_spread_past_the_far_touch(side, limit, bid, ask, expected) -> None:
    # given a market order 200 behind after three slices
    s = state(filled=D(100), side=side, limit=None if limit is None else D(limit))
    # when
    plan = tick(s, market=MarketNow(bid=D(bid), ask=D(ask)), now=START + 3 * SLICE)
    # then the catch-up IOC is limited there: the rest waits for the book to refill, instead of walking it
    assert [(o.qty, o.tif, o.limit_px, o.reason) for o in plan.orders] == [
        (D(300), TimeInForce.IOC, D(expected), "catch up with the schedule")
    ]


def test_twap_catch_up_counts_an_ioc_still_working() -> None:
    # given 100 filled after three slices, an IOC of 100 still working
    s = state(filled=D(100))
    # when
    plan = tick(s, [ioc("c2", 100)], now=START + 3 * SLICE)
    # then 400 due, 100 filled, 100 on its way: 200 more, and the IOC is left to finish
    assert plan.cancel == ()
    assert plan.orders == (SliceOrder(D(200), Urgency.HIGH, TimeInForce.IOC, LIMIT, "catch up with the schedule"),)
    assert kinds(plan) == ["SCHEDULE_CATCH_UP"]
    assert amount_in(plan.notes[0][1], r"(\S+) behind schedule \(tolerance 5%\): take 200") == 200


def test_twap_ahead_of_schedule_waits() -> None:
    # given 500 filled after one slice (100 due), 100 resting
    s = state(filled=D(500))
    # when
    plan = tick(s, [resting("c1", 100)], now=START + SLICE)
    # then nothing placed, the resting child cancelled
    assert plan.orders == ()
    assert plan.cancel == ("c1",)
    assert [amount_in(r, r"(?:cancel 1 resting: )?ahead of schedule by (\S+): wait") for r in plan.reasons] == [400, 400]
    assert plan.next_tick_ns == START + 2 * SLICE


# --- limits and the "I would" price ------------------------------------------------------------


def test_far_touch_past_the_limit_rests_at_the_limit_with_a_note() -> None:
    # given a buy limited at 100.00 and the ask at 100.05
    market = MarketNow(bid=D("99.99"), ask=D("100.05"))
    # when
    plan = tick(state(), market=market)
    # then
    assert plan.notes == (("SCHEDULE_LIMIT", "limit 100.00 unreachable: the far touch is 100.05; rest at the limit"),)
    assert plan.orders == (SliceOrder(D(100), Urgency.LOW, TimeInForce.DAY, LIMIT, "rest at the limit"),)
    assert "limit_unreachable" in plan.warned


def test_far_touch_past_the_limit_is_noted_once() -> None:
    # given the note already made
    market = MarketNow(bid=D("99.99"), ask=D("100.05"))
    # when
    plan = tick(state(warned=frozenset({"limit_unreachable"})), market=market)
    # then still resting at the limit, without a second note
    assert plan.notes == ()
    assert [o.limit_px for o in plan.orders] == [LIMIT]


def test_the_limit_note_is_rearmed_once_the_touch_comes_back() -> None:
    # given / when
    plan = tick(state(warned=frozenset({"limit_unreachable"})))
    # then
    assert "limit_unreachable" not in plan.warned


def test_far_touch_past_a_sell_limit_rests_at_the_limit() -> None:
    # given a sell limited at 100.00 and the bid at 99.95
    market = MarketNow(bid=D("99.95"), ask=D("100.01"))
    # when
    plan = tick(state(side=Side.SELL), market=market)
    # then
    assert kinds(plan) == ["SCHEDULE_LIMIT"]
    assert [(o.qty, o.limit_px, o.tif) for o in plan.orders] == [(D(100), LIMIT, TimeInForce.DAY)]


def test_i_would_price_reached_takes_all_free_quantity_at_that_price() -> None:
    # given "I would" at 99.50, the ask there, 100 working
    s = state(i_would_px="99.50")
    market = MarketNow(bid=D("99.49"), ask=D("99.50"))
    # when
    plan = tick(s, [resting("c1", 100, "99.49")], market=market)
    # then an IOC at 99.50 for the 900 not working
    assert plan.orders == (
        SliceOrder(D(900), Urgency.HIGH, TimeInForce.IOC, D("99.50"), "I would: take up to 900 at 99.50 or better"),
    )
    assert plan.notes == (("SCHEDULE_I_WOULD", "far touch 99.50 at or better than the I-would price 99.50: take up to 900"),)


def test_i_would_price_reached_on_a_sell() -> None:
    # given a sell with "I would" at 100.50 and the bid at 100.60
    s = state(side=Side.SELL, i_would_px="100.50")
    market = MarketNow(bid=D("100.60"), ask=D("100.61"))
    # when
    plan = tick(s, market=market)
    # then
    assert [(o.qty, o.tif, o.limit_px) for o in plan.orders] == [(D(1000), TimeInForce.IOC, D("100.50"))]


def test_i_would_price_not_reached_works_the_slice() -> None:
    # given the ask a cent above "I would"
    s = state(i_would_px="99.50")
    market = MarketNow(bid=D("99.50"), ask=D("99.51"))
    # when
    plan = tick(s, market=market)
    # then
    assert [(o.qty, o.tif) for o in plan.orders] == [(D(100), TimeInForce.DAY)]
    assert kinds(plan) == []


# --- the end ------------------------------------------------------------------------------------


def test_past_the_end_with_complete_by_end_takes_the_rest() -> None:
    # given 600 filled at the end, 100 resting and an IOC of 100 working
    s = state(filled=D(600))
    # when
    plan = tick(s, [resting("c1", 100), ioc("c2", 100)], now=END)
    # then the resting child is cancelled and the 300 neither filled nor on its way go at HIGH urgency, IOC
    assert plan.cancel == ("c1",)
    assert plan.orders == (SliceOrder(D(300), Urgency.HIGH, TimeInForce.IOC, LIMIT, "the end time passed: complete by the end"),)
    assert plan.done is None
    assert plan.next_tick_ns == END + SLICE


def test_past_the_end_without_complete_by_end_stops() -> None:
    # given
    s = state(filled=D(600), complete_by_end=False)
    # when
    plan = tick(s, [resting("c1", 100), ioc("c2", 100)], now=END + NS)
    # then
    assert plan.done == "end time reached with 400 unfilled"
    assert plan.finished is False
    assert plan.cancel == ("c1",)
    assert plan.orders == ()


def test_filled_is_done_and_finished() -> None:
    # given
    s = state(filled=D(1000))
    # when
    plan = tick(s, now=START + 4 * SLICE)
    # then
    assert plan.done == "filled"
    assert plan.finished is True
    assert plan.orders == ()
    assert plan.cancel == ()


def test_the_next_tick_is_never_past_the_end() -> None:
    # given the last slice
    # when
    plan = tick(state(filled=D(900)), now=START + 9 * SLICE + NS)
    # then
    assert plan.next_tick_ns == END


def test_the_next_tick_is_jittered_later_within_the_slice() -> None:
    # given the default 20 % time jitter
    s = state(time_jitter="0.20")
    # when
    plan = tick(s)
    # then
    assert plan.next_tick_ns is not None
    assert START + SLICE <= plan.next_tick_ns <= START + SLICE + SLICE // 5


# --- switches ----------------------------------------------------------------------------------


def test_a_volatility_spike_switches_twap_to_is_on_what_is_left() -> None:
    # given 200 of 1,000 done on schedule after two slices, and volatility twice the normal
    s = state(filled=D(200))
    now = START + 2 * SLICE
    # when
    plan = tick(s, market=replace(MARKET, volatility_ratio=2.0), context=ANALYTICS, now=now)
    # then IS takes over: its schedule covers the 800 left over the 8 slices left
    assert plan.switch is not None
    assert plan.switch.to is Strategy.IS
    assert plan.switch.reason == "volatility 2.0x normal: switch to IS to cut the timing risk"
    assert plan.notes == (("STRATEGY_SWITCH", plan.switch.reason),)
    expected = schedule_fractions(plan.switch.params, ANALYTICS, start_ns=now, slice_ns=SLICE, slices=8, qty=D(800))
    assert plan.switch.fractions == expected
    assert len(expected) == 8
    assert expected[0] > D("0.125")  # front-loaded
    # and the first IS slice is cut from the 800 left
    assert [(o.qty, o.reason) for o in plan.orders] == [(D(200) + D(800) * expected[0] // 100 * 100 - D(200), "IS slice")]


def test_the_switch_carries_the_schedule_settings() -> None:
    # given a TWAP with its own slice and tolerance
    s = state(filled=D(200), schedule_tolerance="0.10", i_would_px="99.00")
    # when
    plan = tick(s, market=replace(MARKET, volatility_ratio=3.0), now=START + 2 * SLICE)
    # then
    assert plan.switch is not None
    assert plan.switch.params["schedule_tolerance"] == D("0.10")
    assert plan.switch.params["i_would_px"] == D("99.00")
    assert plan.switch.params["risk_aversion"] is None


def test_a_volatility_ratio_below_two_does_not_switch() -> None:
    # given / when
    plan = tick(state(filled=D(200)), market=replace(MARKET, volatility_ratio=1.9), now=START + 2 * SLICE)
    # then
    assert plan.switch is None


def test_no_second_switch_within_the_dwell() -> None:
    # given a switch one slice ago (the dwell is two)
    s = state(filled=D(200), last_switch=START + SLICE)
    # when
    plan = tick(s, market=replace(MARKET, volatility_ratio=3.0), now=START + 2 * SLICE)
    # then
    assert plan.switch is None


def test_a_switch_again_once_the_dwell_is_over() -> None:
    # given a switch two slices ago
    s = state(filled=D(200), last_switch=START)
    # when
    plan = tick(s, market=replace(MARKET, volatility_ratio=3.0), now=START + 2 * SLICE)
    # then
    assert plan.switch is not None
    assert plan.switch.to is Strategy.IS


def test_is_does_not_switch_to_itself_on_a_spike() -> None:
    # given
    s = state(Strategy.IS, filled=D(200))
    # when
    plan = tick(s, market=replace(MARKET, volatility_ratio=3.0), now=START + 2 * SLICE)
    # then
    assert plan.switch is None


def test_dark_fills_switch_twap_to_dark() -> None:
    # given 100 filled in the dark last slice: an average slice of 1,000 over ten
    s = state(filled=D(200))
    # when
    plan = tick(s, market=replace(MARKET, dark_filled_qty=D(100)), now=START + 2 * SLICE)
    # then the rest goes to rest in the dark pools
    assert plan.switch is not None
    assert plan.switch.to is Strategy.DARK
    assert plan.switch.reason == (
        "dark liquidity found: 100 filled in the dark last slice (at least an average slice, 100); work it there"
    )
    assert plan.switch.fractions == ()
    # with what carries across (complete_by_end too), and a blank minimum fill: the router's
    assert dict(plan.switch.params.values) == {
        "duration_minutes": 30,
        "slice_seconds": 60,
        "i_would_px": None,
        "min_fill_qty": None,
        "complete_by_end": True,
    }
    assert [(o.qty, o.urgency, o.tif, o.limit_px, o.dark_only) for o in plan.orders] == [
        (D(800), Urgency.LOW, TimeInForce.DAY, LIMIT, True)
    ]


def test_a_dark_fill_below_an_average_slice_does_not_switch() -> None:
    # given 99 filled in the dark last slice, under the average slice of 100, on lot 1
    s = state(filled=D(200), qty=D(1000))
    s = replace(s, lot=D(1))
    # when
    plan = tick(s, market=replace(MARKET, dark_filled_qty=D(99)), now=START + 2 * SLICE)
    # then the schedule goes on: a stray dark fill is no reason to leave it (switching on one flaps)
    assert plan.switch is None
    assert plan.orders
    assert not any(o.dark_only for o in plan.orders)


def test_dark_fills_do_not_switch_a_high_urgency_order() -> None:
    # given
    s = state(filled=D(200), urgency=Urgency.HIGH)
    # when
    plan = tick(s, market=replace(MARKET, dark_filled_qty=D(100)), now=START + 2 * SLICE)
    # then
    assert plan.switch is None


@pytest.mark.parametrize(("qty", "switches"), [(D(5000), False), (D(3000), True)])
def test_dark_fills_do_not_switch_an_order_that_needs_more_volume_than_resting_gets(qty: Decimal, switches: bool) -> None:
    # given 8 minutes left of 2,600 shares a minute (20,800) and 4,000 left to buy (19% of it), or 2,000 (10%)
    s = state(qty=qty, filled=D(1000))
    # when the dark filled an average slice last slice
    plan = tick(s, market=replace(MARKET, dark_filled_qty=qty / 10), context=ANALYTICS, now=START + 2 * SLICE)
    # then the order that needs 19% stays on its schedule (resting in the dark, it would fall behind and catch up)
    if switches:
        assert plan.switch is not None
        assert plan.switch.to is Strategy.DARK
    else:
        assert plan.switch is None
        assert "dark liquidity found, but 19% of the volume to come is needed: stay on the schedule" in plan.reasons
        assert plan.orders
        assert not any(o.dark_only for o in plan.orders)


def gone_dark(twap: ExecState) -> ExecState:
    """``twap`` after dark fills in its first tick switched it to DARK, its first parameters kept as the shell keeps them."""
    to_dark = tick(twap, market=replace(MARKET, dark_filled_qty=D(100)))
    assert to_dark.switch is not None
    assert to_dark.switch.to is Strategy.DARK
    return replace(
        twap,
        strategy=Strategy.DARK,
        params=to_dark.switch.params,
        fractions=(),
        last_switch_ns=START,
        base_params=params_dump(twap.params),
    )


def test_dark_goes_back_to_the_base_when_dark_dries_up_behind() -> None:
    # given a TWAP gone dark at the start, nothing filled five slices later (500 behind a TWAP of the rest)
    s = gone_dark(state())
    now = START + 5 * SLICE
    # when
    plan = tick(s, now=now)
    # then back to TWAP: its schedule of the whole order from the start again, not the rest spread anew
    assert plan.switch is not None
    assert plan.switch.to is Strategy.TWAP
    assert amount_in(plan.switch.reason, r"dark liquidity gone and (\S+) behind the TWAP schedule: back to it") == 500
    assert plan.notes[0] == ("STRATEGY_SWITCH", plan.switch.reason)
    assert plan.switch.fractions == twap_fractions(10)
    assert (plan.switch.segment_start_ns, plan.switch.segment_filled_qty) == (START, 0)
    assert plan.switch.params.strategy is Strategy.TWAP
    # so what the dark did not fill is behind, and caught up now: the 600 due by the end of this slice, looking again in
    # 5 s (the catch-up's band leaves what lies deeper for the book to refill)
    assert plan.orders == (SliceOrder(D(600), Urgency.HIGH, TimeInForce.IOC, LIMIT, "catch up with the schedule"),)
    assert plan.next_tick_ns == now + 5 * NS


def test_back_from_dark_the_base_is_not_taken_over_again_by_the_next_dark_fill() -> None:
    # given a TWAP back from the dark two slices in, 300 filled
    back = tick(gone_dark(state()), now=START + 2 * SLICE)
    assert back.switch is not None
    s = replace(
        state(filled=D(300), segment_start=START + 2 * SLICE, segment_filled=D(300), fractions=back.switch.fractions),
        last_switch_ns=START + 2 * SLICE,
    )
    # when three slices later the dark fills two average slices' worth
    plan = tick(s, market=replace(MARKET, dark_filled_qty=D(200)), now=START + 5 * SLICE)
    # then the TWAP goes on: going straight back to the dark would alternate the two all day
    assert plan.switch is None
    assert plan.orders
    assert not any(o.dark_only for o in plan.orders)


def test_back_from_dark_the_base_keeps_its_own_parameters() -> None:
    # given a TWAP with a 10 % tolerance and no jitter that went dark at the start
    dark = gone_dark(state(schedule_tolerance="0.10"))
    # when the dark dries up five slices later, nothing filled
    back = tick(dark, now=START + 5 * SLICE)
    # then the TWAP's own settings, not its defaults
    assert back.switch is not None
    assert dict(back.switch.params.values) == {
        "duration_minutes": 30,
        "slice_seconds": 60,
        "size_jitter": D(0),
        "time_jitter": D(0),
        "i_would_px": None,
        "complete_by_end": True,
        "schedule_tolerance": D("0.10"),
    }


def test_back_from_dark_a_twap_gets_its_size_jitter_back() -> None:
    # given a TWAP with 30 % size jitter that went dark at the start: DARK has no size jitter
    dark = gone_dark(state(size_jitter="0.3"))
    assert "size_jitter" not in dark.params.values
    # when the dark dries up five slices later, nothing filled
    back = tick(dark, now=START + 5 * SLICE)
    # then
    assert back.switch is not None
    assert back.switch.to is Strategy.TWAP
    assert back.switch.params["size_jitter"] == D("0.3")


def test_back_from_dark_what_carries_across_wins_over_the_first_choice() -> None:
    # given a TWAP with 30 % size jitter gone dark, its slice amended to 30 s while dark
    dark = gone_dark(state(size_jitter="0.3"))
    dark = replace(dark, params=replace(dark.params, values={**dark.params.values, "slice_seconds": 30}))
    # when the dark dries up five minutes later, nothing filled
    back = tick(dark, now=START + 5 * SLICE)
    # then the amended slice, with the TWAP's own jitter and tolerance restored
    assert back.switch is not None
    assert back.switch.params["slice_seconds"] == 30
    assert back.switch.params["size_jitter"] == D("0.3")
    assert back.switch.params["schedule_tolerance"] == D("0.05")
    assert back.switch.fractions == twap_fractions(20)  # the whole order's, from the start, in 30 s slices


def test_back_from_dark_without_the_first_parameters_takes_the_defaults() -> None:
    # given an execution gone dark that kept no parameters of its first choice (an empty base_params)
    s = replace(gone_dark(state(size_jitter="0.3", schedule_tolerance="0.10")), base_params={})
    # when
    back = tick(s, now=START + 5 * SLICE)
    # then what DARK carried, the rest at the TWAP's defaults
    assert back.switch is not None
    assert dict(back.switch.params.values) == {
        "duration_minutes": 30,
        "slice_seconds": 60,
        "size_jitter": D("0.10"),
        "time_jitter": D("0.20"),
        "i_would_px": None,
        "complete_by_end": True,
        "schedule_tolerance": D("0.05"),
    }


def test_dark_stays_while_dark_fills_come() -> None:
    # given
    s = state(Strategy.DARK, base=Strategy.TWAP, last_switch=START)
    # when
    plan = tick(s, market=replace(MARKET, dark_filled_qty=D(100)), now=START + 5 * SLICE)
    # then
    assert plan.switch is None


def test_dark_dried_up_but_on_schedule_stays() -> None:
    # given 500 filled by half time
    s = state(Strategy.DARK, base=Strategy.TWAP, last_switch=START, filled=D(500))
    # when
    plan = tick(s, now=START + 5 * SLICE)
    # then
    assert plan.switch is None


def test_end_near_and_behind_switches_to_immediate_and_cancels_resting() -> None:
    # given two slices left, 500 filled of 800 due, 100 resting and an IOC of 100 working
    s = state(filled=D(500))
    # when
    plan = tick(s, [resting("c1", 100), ioc("c2", 100)], now=START + 8 * SLICE)
    # then
    assert plan.switch is not None
    assert plan.switch.to is Strategy.IMMEDIATE
    assert amount_in(plan.switch.reason, r"end time near: 500 left with 120 s to go, (\S+) behind schedule") == 300
    assert plan.cancel == ("c1",)
    assert plan.orders == (SliceOrder(D(400), Urgency.HIGH, TimeInForce.IOC, LIMIT, "take liquidity for the rest now"),)
    assert plan.target_qty is None
    assert plan.next_tick_ns == START + 9 * SLICE  # looks again every slice until done


def test_an_immediate_reached_by_a_switch_keeps_taking_liquidity_every_slice() -> None:
    # given a TWAP that switched to IMMEDIATE near the end, 700 filled, nothing working
    s = state(Strategy.IMMEDIATE, base=Strategy.TWAP, filled=D(700), last_switch=START + 8 * SLICE)
    # when its next tick runs
    plan = tick(s, now=START + 9 * SLICE)
    # then the rest goes as an IOC at the limit, and it will look again a slice later
    assert plan.orders == (SliceOrder(D(300), Urgency.HIGH, TimeInForce.IOC, LIMIT, "take liquidity for the rest now"),)
    assert plan.next_tick_ns == START + 10 * SLICE


def test_end_near_on_schedule_does_not_switch() -> None:
    # given 800 filled with two slices left
    # when
    plan = tick(state(filled=D(800)), now=START + 8 * SLICE)
    # then
    assert plan.switch is None
    assert [o.qty for o in plan.orders] == [D(100)]


# --- VWAP, IS, DARK, IMMEDIATE -----------------------------------------------------------------


VWAP_START = OPEN + 15 * 60 * NS  # 9:45
VWAP_PROFILE = tuple(
    D(s) for s in ("0.12", "0.09", "0.07", "0.06", "0.05", "0.05", "0.04", "0.05", "0.05", "0.06", "0.08", "0.10", "0.18")
)


def vwap_state(**given: Any) -> ExecState:
    """10,000 over four 15-minute slices from 9:45: the profile gives 12/37, 21/37, 30/37, 1."""
    checked = params_validate(
        Strategy.VWAP,
        {"size_jitter": "0", "time_jitter": "0", "slice_seconds": 900, **given},
        OrderFacts(Side.BUY, D(10_000), LOT, TICK, LIMIT, VWAP_START, VWAP_START + 3600 * NS),
    )
    return replace(
        state(Strategy.VWAP, qty=D(10_000)),
        params=checked,
        start_ns=VWAP_START,
        end_ns=VWAP_START + 3600 * NS,
        segment_start_ns=VWAP_START,
        fractions=profile_fractions(
            VWAP_PROFILE, bucket_ns=1800 * NS, open_ns=OPEN, start_ns=VWAP_START, slice_ns=900 * NS, slices=4
        ),
    )


def test_vwap_state_follows_the_profile() -> None:
    # given / when / then 12/37, 21/37, 30/37 to eighteen places
    assert vwap_state().fractions == (D("0.324324324324324324"), D("0.567567567567567568"), D("0.810810810810810811"), D(1))


def test_vwap_first_tick_rests_the_profiles_first_slice() -> None:
    # given plenty of expected volume (ADV 10,000,000)
    context = ScheduleContext(adv=D(10_000_000), profile=VWAP_PROFILE)
    # when
    plan = tick(vwap_state(), context=context, now=VWAP_START)
    # then 10,000 x 12/37 = 3,243 floored to the lot
    assert plan.orders == (SliceOrder(D(3200), Urgency.LOW, TimeInForce.DAY, LIMIT, "VWAP slice"),)
    assert plan.next_tick_ns == VWAP_START + 900 * NS


def test_vwap_participation_cap_holds_back_without_complete_by_end() -> None:
    # given ADV 100,000: 6,000 expected in the first slice, a 25 % cap of 1,500
    context = ScheduleContext(adv=D(100_000), profile=VWAP_PROFILE)
    # when
    plan = tick(vwap_state(complete_by_end=False), context=context, now=VWAP_START)
    # then
    assert [o.qty for o in plan.orders] == [D(1500)]
    assert any(r.startswith("participation cap 25%") and r.endswith("held back") for r in plan.reasons)


def test_vwap_participation_cap_yields_to_complete_by_end() -> None:
    # given / when
    plan = tick(vwap_state(), context=ScheduleContext(adv=D(100_000), profile=VWAP_PROFILE), now=VWAP_START)
    # then
    assert [o.qty for o in plan.orders] == [D(3200)]
    assert any(r.endswith("the end time comes first") for r in plan.reasons)


def test_vwap_held_back_by_its_cap_keeps_resting() -> None:
    # given ADV 20,000 (the cap binds), 300 filled after the first slice (3,243 on the schedule, 25 % of 1,200 traded
    # under the cap), 100 resting at the bid
    context = ScheduleContext(adv=D(20_000), profile=VWAP_PROFILE)
    s = replace(vwap_state(complete_by_end=False), filled_qty=D(300))
    market = replace(MARKET, volume_since_start=D(1200))
    # when
    plan = tick(s, [resting("c1", 100)], market=market, context=context, now=VWAP_START + 900 * NS)
    # then it is on its capped schedule (300), not behind: it keeps resting and adds, passively, what the cap allows by
    # the slice's end: 25 % of (1,200 + 900 expected, half of 10:00's 0.09 of 20,000) = 525, 500 on the lot, less the 300
    # filled and the 100 resting
    assert plan.cancel == ()
    assert plan.orders == (SliceOrder(D(100), Urgency.LOW, TimeInForce.DAY, LIMIT, "VWAP slice"),)
    assert plan.reasons == ("participation cap 25%: 5100 held back",)
    assert plan.notes == ()
    assert plan.target_qty == 300


def test_vwap_held_back_with_complete_by_end_is_behind_and_catches_up() -> None:
    # given the same, but completing by the end: the cap yields, so 3,243 was due and 300 is behind
    context = ScheduleContext(adv=D(20_000), profile=VWAP_PROFILE)
    s = replace(vwap_state(), filled_qty=D(300))
    market = replace(MARKET, volume_since_start=D(1200))
    # when
    plan = tick(s, [resting("c1", 100)], market=market, context=context, now=VWAP_START + 900 * NS)
    # then the resting child is cancelled and 5,600 due by the slice's end less 300 goes as an IOC
    assert plan.cancel == ("c1",)
    assert plan.orders == (SliceOrder(D(5300), Urgency.HIGH, TimeInForce.IOC, LIMIT, "catch up with the schedule"),)
    assert amount_in(plan.notes[0][1], r"(\S+) behind schedule \(tolerance 5%\): take 5300") == D("2943.2432")


def test_is_first_tick_rests_the_trajectorys_first_slice() -> None:
    # given an IS schedule front-loaded to 30 % in the first slice
    fractions = (D("0.3"), D("0.5"), D("0.65"), D("0.75"), D("0.83"), D("0.89"), D("0.94"), D("0.97"), D("0.99"), D(1))
    s = state(Strategy.IS, fractions=fractions)
    # when
    plan = tick(s)
    # then
    assert plan.orders == (SliceOrder(D(300), Urgency.LOW, TimeInForce.DAY, LIMIT, "IS slice"),)


def test_dark_first_tick_rests_everything_in_the_dark_with_a_minimum_fill() -> None:
    # given a minimum fill of 200
    s = state(Strategy.DARK, min_fill_qty=200)
    # when
    plan = tick(s)
    # then
    assert plan.orders == (
        SliceOrder(
            D(1000),
            Urgency.LOW,
            TimeInForce.DAY,
            LIMIT,
            "rest 1000 in the dark pools, min fill 200",
            dark_only=True,
            min_qty=D(200),
        ),
    )
    assert plan.next_tick_ns == START + SLICE
    assert plan.target_qty is None


def test_dark_rests_a_last_piece_below_the_minimum() -> None:
    # given 100 left, below the 200 minimum
    # when
    plan = tick(state(Strategy.DARK, filled=D(900), min_fill_qty=200))
    # then
    assert [(o.qty, o.min_qty, o.dark_only) for o in plan.orders] == [(D(100), D(100), True)]


def test_dark_does_not_rest_a_piece_below_the_minimum_while_more_works() -> None:
    # given 900 resting in the dark, 100 free, a 200 minimum
    # when
    plan = tick(state(Strategy.DARK, min_fill_qty=200), [resting("d1", 900, dark=True)])
    # then
    assert plan.orders == ()
    assert plan.next_tick_ns == START + SLICE


def test_dark_with_a_blank_minimum_rests_any_free_lot() -> None:
    # given 900 resting in the dark, 100 free, no minimum fill from the PM
    # when
    plan = tick(state(Strategy.DARK), [resting("d1", 900, dark=True)])
    # then the lot rests in the dark (the router holds it to its own dark minimum)
    assert [(o.qty, o.urgency, o.tif, o.limit_px, o.dark_only) for o in plan.orders] == [
        (D(100), Urgency.LOW, TimeInForce.DAY, LIMIT, True)
    ]


def test_dark_with_a_blank_minimum_leaves_the_minimum_fill_to_the_router() -> None:
    # given no minimum fill from the PM
    # when
    plan = tick(state(Strategy.DARK))
    # then the slice carries no minimum of its own (0: the shell sends None, the router's setting)
    assert [(o.qty, o.dark_only, o.min_qty) for o in plan.orders] == [(D(1000), True, ZERO)]


def test_dark_i_would_never_orders_more_than_leaves() -> None:
    # given a DARK buy with "I would" at 99.50 and the ask there
    s = state(Strategy.DARK, i_would_px="99.50")
    # when
    plan = tick(s, market=MarketNow(bid=D("99.49"), ask=D("99.50")))
    # then the whole 1,000 goes as the "I would" IOC, and nothing rests in the dark this tick
    assert plan.orders == (
        SliceOrder(D(1000), Urgency.HIGH, TimeInForce.IOC, D("99.50"), "I would: take up to 1000 at 99.50 or better"),
    )
    assert plan.notes == (("SCHEDULE_I_WOULD", "far touch 99.50 at or better than the I-would price 99.50: take up to 1000"),)
    assert plan.next_tick_ns == START + SLICE


def test_dark_i_would_with_a_child_resting_takes_only_the_free_quantity() -> None:
    # given 600 resting in the dark and "I would" at 99.50 reached
    s = state(Strategy.DARK, i_would_px="99.50")
    # when
    plan = tick(s, [resting("d1", 600, dark=True)], market=MarketNow(bid=D("99.49"), ask=D("99.50")))
    # then the 400 not working, in one IOC
    assert plan.cancel == ()
    assert [(o.qty, o.tif, o.limit_px, o.dark_only) for o in plan.orders] == [(D(400), TimeInForce.IOC, D("99.50"), False)]


def test_immediate_sends_the_whole_quantity_on_the_parents_terms() -> None:
    # given
    s = replace(state(Strategy.IMMEDIATE), end_ns=None, urgency=Urgency.LOW, tif=TimeInForce.GTC)
    # when
    plan = tick(s)
    # then
    assert plan.orders == (SliceOrder(D(1000), Urgency.LOW, TimeInForce.GTC, LIMIT, "the whole quantity to the router now"),)
    assert plan.next_tick_ns is None
    assert plan.done is None


def test_immediate_with_a_child_working_sends_only_the_rest() -> None:
    # given 300 filled, 400 working
    s = replace(state(Strategy.IMMEDIATE, filled=D(300)), end_ns=None)
    # when
    plan = tick(s, [resting("c1", 400)])
    # then
    assert [o.qty for o in plan.orders] == [D(300)]


# --- POV -----------------------------------------------------------------------------------------


def pov(**kw: Any) -> ExecState:
    return state(Strategy.POV, qty=D(10_000), **kw)


def test_pov_first_tick_takes_its_share_of_the_expected_volume() -> None:
    # given 2,600 expected in the first minute
    # when
    plan = tick(pov(), context=ANALYTICS)
    # then 10 % of it, on the lot
    assert [(o.qty, o.urgency, o.tif, o.limit_px) for o in plan.orders] == [(D(200), Urgency.LOW, TimeInForce.DAY, LIMIT)]


def test_pov_places_rate_times_volume() -> None:
    # given 20,000 traded since the start and 1,800 filled
    market = replace(MARKET, volume_since_start=D(20_000))
    # when
    plan = tick(pov(filled=D(1800)), market=market, now=START + 3 * SLICE)
    # then 10 % of 20,000 less the 1,800 filled
    assert plan.orders == (SliceOrder(D(200), Urgency.LOW, TimeInForce.DAY, LIMIT, "POV slice"),)
    assert plan.target_qty == 2000


def test_pov_adds_the_volume_expected_in_the_slice() -> None:
    # given 20,000 traded and 2,600 expected in the next minute
    market = replace(MARKET, volume_since_start=D(20_000))
    # when
    plan = tick(pov(filled=D(1800), warned=frozenset({"pov_thin"})), market=market, context=ANALYTICS, now=START + 3 * SLICE)
    # then 10 % of 22,600 = 2,260, on the lot 2,200, less 1,800
    assert [o.qty for o in plan.orders] == [D(400)]


def test_pov_below_min_rate_catches_up() -> None:
    # given 4,000 traded and nothing filled: 400 behind is within the tolerance (500), but below 5 % less a lot
    market = replace(MARKET, volume_since_start=D(4000))
    # when
    plan = tick(pov(), [resting("c1", 100)], market=market, now=START + SLICE)
    # then
    assert plan.cancel == ("c1",)
    assert plan.orders == (SliceOrder(D(400), Urgency.HIGH, TimeInForce.IOC, LIMIT, "catch up with the schedule"),)
    assert kinds(plan) == ["SCHEDULE_CATCH_UP"]


def test_pov_above_max_rate_waits() -> None:
    # given 2,000 traded and 700 filled: 500 ahead is within the tolerance, but above 20 % plus a lot
    market = replace(MARKET, volume_since_start=D(2000))
    # when
    plan = tick(pov(filled=D(700)), [resting("c1", 100)], market=market, now=START + SLICE)
    # then
    assert plan.orders == ()
    assert plan.cancel == ("c1",)
    assert [amount_in(r, r"(?:cancel 1 resting: )?ahead of schedule by (\S+): wait") for r in plan.reasons] == [500, 500]


def test_pov_warns_once_when_the_volume_is_too_thin() -> None:
    # given 26,000 expected over the 10 minutes left: 10 % of it is 2,600, short of 10,000
    # when
    first = tick(pov(), context=ANALYTICS)
    again = tick(pov(warned=first.warned), context=ANALYTICS, now=START + SLICE)
    # then
    assert first.notes == (
        ("ALGO_WARNING", "market volume too thin: 26000 expected by the end at 10% is 2600, short of the 10000 left"),
    )
    assert first.warned == frozenset({"pov_thin"})
    assert "ALGO_WARNING" not in kinds(again)
    assert again.warned == frozenset({"pov_thin"})


def test_pov_does_not_warn_with_enough_volume() -> None:
    # given 1,000 to buy and 2,600 reachable
    # when
    plan = tick(state(Strategy.POV), context=ANALYTICS)
    # then
    assert plan.notes == ()


# --- re-pricing ------------------------------------------------------------------------------


def test_a_resting_lit_child_behind_the_near_touch_is_cancelled() -> None:
    # given the bid at 99.99; lit children at 99.95 and 99.99, a dark one at 99.95
    working = [resting("c1", 100, "99.95"), resting("c2", 100, "99.99"), resting("d1", 100, "99.95", dark=True)]
    s = state(qty=D(2000), filled=D(100))
    # when in the second slice: 400 due by its end
    plan = tick(s, working, now=START + SLICE)
    # then only the lit child behind the touch is cancelled, and its quantity rests again: 400 - 100 - 200 working
    assert plan.cancel == ("c1",)
    assert "c1 at 99.95 is behind the touch 99.99: cancel to re-price" in plan.reasons
    assert [(o.qty, o.limit_px) for o in plan.orders] == [(D(100), LIMIT)]


def test_a_resting_sell_above_the_near_touch_is_cancelled() -> None:
    # given the ask at 100.01 and a sell resting at 100.05
    s = state(side=Side.SELL)
    # when
    plan = tick(s, [resting("c1", 100, "100.05")], market=SELL_MARKET)
    # then
    assert plan.cancel == ("c1",)


def test_a_child_pending_cancel_is_not_cancelled_again() -> None:
    # given
    child = replace(resting("c1", 100, "99.95"), pending_cancel=True)
    # when
    plan = tick(state(), [child])
    # then
    assert plan.cancel == ()


def test_a_child_resting_at_the_limit_is_not_churned_when_the_touch_is_past_it() -> None:
    # given a buy limited at 100.00 resting there, and the market moved up to 100.02 / 100.05
    market = MarketNow(bid=D("100.02"), ask=D("100.05"))
    # when
    plan = tick(state(), [resting("c1", 100, "100.00")], market=market, now=START + 30 * NS)
    # then it keeps its place in the queue
    assert plan.cancel == ()
    assert plan.orders == ()
    assert plan.notes == (("SCHEDULE_LIMIT", "limit 100.00 unreachable: the far touch is 100.05; rest at the limit"),)


def test_a_child_resting_below_the_limit_is_repriced_to_the_limit_when_the_touch_is_past_it() -> None:
    # given a buy limited at 100.00 resting at 99.98, and the market moved up to 100.02 / 100.05
    market = MarketNow(bid=D("100.02"), ask=D("100.05"))
    # when
    plan = tick(state(), [resting("c1", 100, "99.98")], market=market, now=START + 30 * NS)
    # then it is cancelled to rest again at the limit
    assert plan.cancel == ("c1",)
    assert "c1 at 99.98 is behind the touch 100.00: cancel to re-price" in plan.reasons
    assert plan.orders == (SliceOrder(D(100), Urgency.LOW, TimeInForce.DAY, LIMIT, "rest at the limit"),)


def test_a_sell_resting_at_the_limit_is_not_churned_when_the_touch_is_past_it() -> None:
    # given a sell limited at 100.00 resting there, and the market moved down to 99.95 / 99.98
    market = MarketNow(bid=D("99.95"), ask=D("99.98"))
    # when
    plan = tick(state(side=Side.SELL), [resting("c1", 100, "100.00")], market=market, now=START + 30 * NS)
    # then
    assert plan.cancel == ()
    assert plan.orders == ()


def test_size_jitter_varies_a_slice_by_at_most_its_share() -> None:
    # given 2,000 over 10 slices: 200 due in the first, 10 % size jitter (180 to 220: only 200 is on the lot)
    s = state(qty=D(2000), size_jitter="0.10")
    # when ticked with ten different seeds
    sizes = {
        o.qty for seed in range(10) for o in algo_tick(s, [], MARKET, NO_ANALYTICS, now_ns=START, rng=random.Random(seed)).orders
    }
    # then
    assert sizes == {D(200)}


# --- amounts in the notes and reasons ------------------------------------------------------------


def test_catch_up_texts_show_the_amount_behind_as_a_plain_number() -> None:
    # given 100 filled after three slices (300 due), 100 resting at the bid
    # when
    plan = tick(state(filled=D(100)), [resting("c1", 100)], now=START + 3 * SLICE)
    # then
    assert plan.reasons == ("cancel 1 resting: behind schedule by 200: catch up",)
    assert plan.notes == (("SCHEDULE_CATCH_UP", "200 behind schedule (tolerance 5%): take 300"),)


def test_waiting_texts_show_the_amount_ahead_as_a_plain_number() -> None:
    # given 500 filled after one slice (100 due), 100 resting
    # when
    plan = tick(state(filled=D(500)), [resting("c1", 100)], now=START + SLICE)
    # then
    assert plan.reasons == ("cancel 1 resting: ahead of schedule by 400: wait", "ahead of schedule by 400: wait")


def test_the_end_near_switch_shows_the_amount_behind_as_a_plain_number() -> None:
    # given two slices left, 500 filled of 800 due
    # when
    plan = tick(state(filled=D(500)), now=START + 8 * SLICE)
    # then
    assert plan.switch is not None
    assert plan.switch.reason == "end time near: 500 left with 120 s to go, 300 behind schedule"


def test_an_amount_behind_keeps_its_four_places() -> None:
    # given a POV 10,005 x 10 % = 1,000.5 due after one slice, nothing filled, below its minimum rate
    market = replace(MARKET, volume_since_start=D(10_005))
    # when
    plan = tick(pov(), market=market, now=START + SLICE)
    # then
    assert plan.notes == (("SCHEDULE_CATCH_UP", "1000.5 behind schedule (tolerance 5%): take 1000"),)


@pytest.mark.parametrize(("elapsed_ns", "shown"), [(5 * SLICE, "500"), (200 * NS, "333.3333")])
def test_the_switch_back_from_dark_shows_the_amount_behind_to_four_places(elapsed_ns: int, shown: str) -> None:
    # given a TWAP gone dark at the start, nothing filled half and a third of the way through
    # when
    plan = tick(gone_dark(state()), now=START + elapsed_ns)
    # then
    assert plan.switch is not None
    assert plan.switch.reason == f"dark liquidity gone and {shown} behind the TWAP schedule: back to it"


# --- invariants ---------------------------------------------------------------------------------


@st.composite
def tick_inputs(draw: st.DrawFn) -> tuple[ExecState, list[Working], MarketNow, ScheduleContext, int]:
    strategy = draw(st.sampled_from([Strategy.TWAP, Strategy.VWAP, Strategy.POV, Strategy.IS, Strategy.DARK, Strategy.IMMEDIATE]))
    side = draw(st.sampled_from(Side))
    lot = draw(st.sampled_from([D(1), D(10), D(100)]))
    lots = draw(st.integers(min_value=10, max_value=500))
    qty = lot * lots
    filled = lot * draw(st.integers(min_value=0, max_value=lots))
    limit = draw(st.one_of(st.none(), st.integers(9_900, 10_100).map(lambda c: D(c) / 100)))
    slices = draw(st.integers(min_value=1, max_value=10))
    end = START + slices * SLICE
    given: dict[str, Any] = {}
    names = {spec.name for spec in SPECS[strategy]}
    if "size_jitter" in names:
        given["size_jitter"] = str(draw(st.sampled_from([0, "0.1", "0.5"])))
        given["time_jitter"] = str(draw(st.sampled_from([0, "0.2"])))
    if "complete_by_end" in names:
        given["complete_by_end"] = draw(st.booleans())
    if "i_would_px" in names and draw(st.booleans()):
        base = limit if limit is not None else D(100)
        given["i_would_px"] = base - side.sign * TICK * draw(st.integers(0, 50))
    if "min_fill_qty" in names:
        given["min_fill_qty"] = lot * draw(st.integers(1, 5))
    order = OrderFacts(side, qty, lot, TICK, limit, START, end)
    checked = params_validate(strategy, given, order)
    context = draw(st.sampled_from([NO_ANALYTICS, ANALYTICS]))
    base_strategy = draw(st.sampled_from([strategy, Strategy.TWAP]))
    base_params = params_dump(checked if base_strategy is strategy else params_validate(base_strategy, {}, order))
    segment_filled = lot * draw(st.integers(min_value=0, max_value=int(filled / lot)))
    fractions: tuple[Decimal, ...] = ()
    if strategy.scheduled:
        n = slice_count(checked, start_ns=START, end_ns=end)
        fractions = schedule_fractions(checked, context, start_ns=START, slice_ns=SLICE, slices=n, qty=qty - segment_filled)
    s = ExecState(
        strategy=strategy,
        base_strategy=base_strategy,
        params=checked,
        side=side,
        urgency=draw(st.sampled_from(Urgency)),
        qty=qty,
        filled_qty=filled,
        lot=lot,
        tick=TICK,
        limit_px=limit,
        tif=draw(st.sampled_from([TimeInForce.DAY, TimeInForce.IOC])),
        start_ns=START,
        end_ns=None if strategy is Strategy.IMMEDIATE else end,
        segment_start_ns=START,
        segment_filled_qty=segment_filled,
        fractions=fractions,
        last_switch_ns=draw(st.one_of(st.none(), st.just(START))),
        warned=draw(st.frozensets(st.sampled_from(["pov_thin", "limit_unreachable"]))),
        base_params=base_params,
    )
    working: list[Working] = []
    room = int((qty - filled) / lot)
    for i in range(draw(st.integers(0, 3))):
        lots_left = draw(st.integers(0, room))
        if lots_left == 0:
            continue
        room -= lots_left
        px = D(draw(st.integers(9_900, 10_100))) / 100
        working.append(Working(f"c{i}", lot * lots_left, px, draw(st.booleans()), draw(st.booleans()), draw(st.booleans())))
    mid = D(draw(st.integers(9_900, 10_100))) / 100
    spread = TICK * draw(st.integers(1, 10))
    market = MarketNow(
        bid=mid,
        ask=mid + spread,
        volume_since_start=D(draw(st.integers(0, 200_000))),
        volatility_ratio=draw(st.one_of(st.none(), st.floats(0, 4))),
        dark_filled_qty=lot * draw(st.integers(0, 2)),
    )
    now = START + draw(st.integers(0, (slices + 1) * SLICE))
    return s, working, market, context, now


@settings(max_examples=400, deadline=None)
@given(inputs=tick_inputs())
def test_no_plan_orders_more_than_leaves_less_working_nor_past_the_limit(
    inputs: tuple[ExecState, list[Working], MarketNow, ScheduleContext, int],
) -> None:
    # given a random execution, children and market
    s, working, market, context, now = inputs
    # when
    plan = algo_tick(s, working, market, context, now_ns=now, rng=random.Random(1))
    # then
    still_working = sum((w.qty_left for w in working if not w.pending_cancel and w.cl_ord_id not in plan.cancel), ZERO)
    assert sum((o.qty for o in plan.orders), ZERO) <= s.qty - s.filled_qty - still_working
    assert all(o.qty > 0 and is_multiple(o.qty, s.lot) for o in plan.orders)
    assert set(plan.cancel) <= {w.cl_ord_id for w in working}
    if s.limit_px is not None:
        for o in plan.orders:
            assert o.limit_px is not None
            assert (o.limit_px <= s.limit_px) if s.side is Side.BUY else (o.limit_px >= s.limit_px)


def test_volatility_ratio_is_the_windows_range_over_what_the_daily_volatility_expects() -> None:
    # given ten prints between 100 and 101 in five minutes, and a daily volatility of 1 %
    from ems.core.ticks import volatility_ratio

    prices = [D(100), D(101)] * 5
    # when
    ratio = volatility_ratio(prices, window_s=300, volatility_daily=D("0.01"))
    # then Parkinson's range estimate over the window's share of a 6.5-hour day
    realized = math.log(1.01) / (2 * math.sqrt(math.log(2)))
    assert ratio == pytest.approx(realized / (0.01 * math.sqrt(300 / 23_400)), rel=1e-12)


def test_volatility_ratio_needs_ten_prints_and_a_daily_volatility() -> None:
    from ems.core.ticks import volatility_ratio

    assert volatility_ratio([D(100)] * 9, window_s=300, volatility_daily=D("0.01")) is None
    assert volatility_ratio([D(100)] * 10, window_s=300, volatility_daily=None) is None
    assert volatility_ratio([D(100)] * 10, window_s=300, volatility_daily=D(0)) is None


@pytest.mark.parametrize(("adv", "urgency"), [(100_000, Urgency.MEDIUM), (1_000_000, Urgency.LOW)])
def test_a_patient_slice_takes_the_touch_when_the_rest_is_too_big_to_wait_for(adv: int, urgency: Urgency) -> None:
    # given a patient TWAP of 1,000 over 10 minutes, in a stock trading 100,000 a day (2,564 expected in the window:
    # 39 % of it needed) or 1,000,000 (3.9 %)
    s = state(urgency=Urgency.LOW)
    context = ScheduleContext(adv=D(adv))
    # when
    plan = tick(s, context=context)
    # then its slice rests only while what is left is a small share of the volume to come; above 15 %, resting slices
    # get too little of the flow, and the router takes the touch too (MEDIUM)
    assert [(o.qty, o.urgency) for o in plan.orders] == [(D(100), urgency)]
    assert any("of the volume expected to the end is needed" in r for r in plan.reasons) is (urgency is Urgency.MEDIUM)
