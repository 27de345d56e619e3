"""Schedules: TWAP, the volume profile, the Almgren-Chriss trajectory, and cutting a quantity on its lot."""

import itertools
import math
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from itertools import accumulate, pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ems.core.algos import Strategy, params_load
from ems.core.schedules import (
    ScheduleContext,
    due_qty,
    expected_profile_volume,
    is_fractions,
    participation_capped,
    profile_fractions,
    schedule_fractions,
    segment_fractions,
    slice_quantities,
    twap_fractions,
)
from trading.numbers import is_multiple

D = Decimal
NS = 1_000_000_000
MINUTE = 60 * NS
BUCKET = 30 * MINUTE
OPEN = (9 * 3600 + 1800) * NS  # 9:30
TRADING_DAY = int(6.5 * 3600) * NS

# A U-shaped intraday profile: 13 half-hour buckets from 9:30 to 16:00, summing to 1.
U_PROFILE = tuple(
    D(s) for s in ("0.12", "0.09", "0.07", "0.06", "0.05", "0.05", "0.04", "0.05", "0.05", "0.06", "0.08", "0.10", "0.18")
)

# The Almgren-Chriss paper's example as the schedules see it: S0 = 50, 30 % a year over 250 days,
# ADV 5,000,000, spread 1/8; 1,000,000 shares over 5 days in 5 intervals.
PAPER = ScheduleContext(price=D(50), volatility_daily=D("0.018973666"), adv=D(5_000_000), spread=D("0.125"))
PAPER_QTY = D(1_000_000)


def ctx(urgency: str) -> ScheduleContext:
    return ScheduleContext(
        price=PAPER.price, volatility_daily=PAPER.volatility_daily, adv=PAPER.adv, spread=PAPER.spread, urgency=urgency
    )


def paper_fractions(urgency: str, **given: str) -> tuple[Decimal, ...]:
    params = params_load(Strategy.IS, given)
    return is_fractions(params, ctx(urgency), slices=5, horizon_ns=5 * TRADING_DAY, qty=PAPER_QTY)


# --- TWAP ----------------------------------------------------------------------------


def test_twap_fractions_are_k_over_n() -> None:
    # given / when / then
    assert twap_fractions(4) == (D("0.25"), D("0.5"), D("0.75"), D(1))
    assert twap_fractions(1) == (D(1),)


def test_twap_fractions_end_exactly_at_one() -> None:
    # given / when
    fractions = twap_fractions(3)
    # then eighteen places, and the last is 1, not 0.999999999999999999
    assert fractions == (D("0.333333333333333333"), D("0.666666666666666667"), D(1))


@pytest.mark.parametrize("slices", [0, -1])
def test_twap_needs_at_least_one_slice(slices: int) -> None:
    # given / when / then
    with pytest.raises(ValueError, match=rf"invalid `slices`, was {slices}: at least 1"):
        twap_fractions(slices)


def test_twap_1000_on_lot_100_over_10_slices_is_100_each() -> None:
    # given / when
    slices = slice_quantities(D(1000), D(100), twap_fractions(10))
    # then
    assert slices == (D(100),) * 10


def test_twap_1050_on_lot_50_over_4_slices_carries_the_remainder_to_the_last() -> None:
    # given 262.5 a slice: cumulative floors on the lot are 250, 500, 750, then the rest
    # when
    slices = slice_quantities(D(1050), D(50), twap_fractions(4))
    # then
    assert slices == (D(250), D(250), D(250), D(300))


def test_twap_900_on_lot_100_over_3_slices_is_300_each() -> None:
    # given / when
    slices = slice_quantities(D(900), D(100), twap_fractions(3))
    # then
    assert slices == (D(300), D(300), D(300))


def test_twap_600_on_lot_100_over_6_slices_is_100_each() -> None:
    # given / when
    slices = slice_quantities(D(600), D(100), twap_fractions(6))
    # then
    assert slices == (D(100),) * 6


def test_slice_quantities_follow_a_plateau_in_the_fractions() -> None:
    # given a schedule with nothing due in the second slice
    # when
    slices = slice_quantities(D(1000), D(100), (D("0.5"), D("0.5"), D(1)))
    # then
    assert slices == (D(500), D(0), D(500))


def test_slice_quantities_of_a_fractional_lot() -> None:
    # given 10 on lot 0.5 over 3 slices
    # when
    slices = slice_quantities(D(10), D("0.5"), (D("0.3"), D("0.6"), D(1)))
    # then 3.0 -> 3.0, 6.0 -> 6.0, the rest
    assert slices == (D("3.0"), D("3.0"), D("4.0"))


def due_exactly(qty: Decimal, fraction: Decimal, lot: Decimal) -> Decimal:
    """The contract, in exact rational arithmetic: qty x fraction rounded half-even to 4 places, floored to the lot."""
    ten_thousandths = round(Fraction(qty) * Fraction(fraction) * 10_000)
    return D(math.floor(Fraction(ten_thousandths, 10_000) / Fraction(lot))) * lot


@pytest.mark.parametrize(
    ("qty", "fraction", "lot", "due"),
    [
        (D(900), D("0.333333333333333333"), D(100), D(300)),  # 299.9999999999999997: the fraction's last-place error
        (D(900), D("0.666666666666666667"), D(100), D(600)),
        (D(600), D("0.833333333333333333"), D(100), D(500)),
        (D(1000), D("0.3"), D(100), D(300)),
        (D(1000), D("0.29"), D(100), D(200)),  # 290: floored to the lot
        (D(1000), D("0.29999"), D(100), D(200)),  # 299.99 is a real shortfall, kept
        (D(1), D("0.99995"), D(1), D(1)),  # 0.99995 rounds half-even to 1.0000 at the quantity's 4 places
        (D(1), D("0.99985"), D(1), D(0)),  # 0.99985 rounds half-even to 0.9998
        (D(10), D("0.35"), D("0.5"), D("3.5")),
        (D(1000), D(0), D(100), D(0)),
        (D(1000), D(1), D(100), D(1000)),
    ],
)
def test_due_qty_rounds_to_four_places_then_floors_to_the_lot(qty: Decimal, fraction: Decimal, lot: Decimal, due: Decimal) -> None:
    # given / when / then
    assert due_qty(qty, fraction, lot) == due


@st.composite
def fraction_schedules(draw: st.DrawFn) -> tuple[Decimal, ...]:
    n = draw(st.integers(min_value=1, max_value=40))
    points = draw(st.lists(st.integers(min_value=0, max_value=10**18), min_size=n - 1, max_size=n - 1))
    return (*(D(p).scaleb(-18) for p in sorted(points)), D(1))


@settings(max_examples=300, deadline=None)
@given(
    lot=st.sampled_from([D(1), D(10), D(50), D(100), D("0.5"), D(500)]),
    lots=st.integers(min_value=1, max_value=100_000),
    fractions=fraction_schedules(),
)
def test_slices_sum_to_the_qty_on_the_lot_along_any_schedule(lot: Decimal, lots: int, fractions: tuple[Decimal, ...]) -> None:
    # given a lot multiple and non-decreasing eighteen-place fractions ending at 1
    qty = lot * lots
    # when
    slices = slice_quantities(qty, lot, fractions)
    # then one slice per fraction, none negative, each a lot multiple, summing to the quantity exactly
    assert len(slices) == len(fractions)
    assert all(q >= 0 and is_multiple(q, lot) for q in slices)
    assert sum(slices) == qty
    # and the cumulative quantity after each slice is the schedule's share at 4 places, floored to the lot
    cumulative = list(accumulate(slices))
    assert cumulative[:-1] == [due_exactly(qty, f, lot) for f in fractions[:-1]]


@settings(max_examples=200, deadline=None)
@given(lot=st.sampled_from([D(1), D(100), D("0.5")]), lots=st.integers(min_value=1, max_value=10_000), n=st.integers(1, 60))
def test_twap_slices_sum_to_the_qty(lot: Decimal, lots: int, n: int) -> None:
    # given
    qty = lot * lots
    # when
    slices = slice_quantities(qty, lot, twap_fractions(n))
    # then
    assert sum(slices) == qty
    assert all(q >= 0 and is_multiple(q, lot) for q in slices)
    # and after slice k exactly k/n of the quantity is done, floored to the lot: the fractions' rounding never costs a lot
    cumulative = list(accumulate(slices))
    assert cumulative == [D(math.floor(Fraction(qty) * k / n / Fraction(lot))) * lot for k in range(1, n + 1)]


# --- VWAP: the volume profile ----------------------------------------------------------


def test_profile_fractions_over_a_window_straddling_bucket_edges() -> None:
    # given 9:45 to 10:45 in four 15-minute slices: half of 9:30's bucket (0.06), 10:00's (0.045, 0.045), half of 10:30's
    # (0.035); 0.185 in all
    # when
    fractions = profile_fractions(
        U_PROFILE, bucket_ns=BUCKET, open_ns=OPEN, start_ns=OPEN + 15 * MINUTE, slice_ns=15 * MINUTE, slices=4
    )
    # then 12/37, 21/37, 30/37 to eighteen places, then 1
    assert fractions == (D("0.324324324324324324"), D("0.567567567567567568"), D("0.810810810810810811"), D(1))


def test_profile_fractions_with_slices_straddling_a_bucket_edge() -> None:
    # given two 30-minute slices from 9:45: 0.06 + 0.045 = 0.105, then 0.045 + 0.035 = 0.08
    # when
    fractions = profile_fractions(U_PROFILE, bucket_ns=BUCKET, open_ns=OPEN, start_ns=OPEN + 15 * MINUTE, slice_ns=BUCKET, slices=2)
    # then 0.105 / 0.185 = 21/37
    assert fractions == (D("0.567567567567567568"), D(1))


def test_vwap_slice_quantities_follow_the_profile() -> None:
    # given the four 15-minute slices from 9:45
    fractions = profile_fractions(
        U_PROFILE, bucket_ns=BUCKET, open_ns=OPEN, start_ns=OPEN + 15 * MINUTE, slice_ns=15 * MINUTE, slices=4
    )
    # when
    slices = slice_quantities(D(10_000), D(100), fractions)
    # then 3243.2 -> 3200, 5675.7 -> 5600, 8108.1 -> 8100, 10000
    assert slices == (D(3200), D(2400), D(2500), D(1900))


def test_a_profile_showing_no_volume_in_the_window_falls_back_to_twap() -> None:
    # given a profile with nothing between 10:00 and 11:00
    profile = (D("0.5"), D(0), D(0), D("0.5"))
    # when
    fractions = profile_fractions(profile, bucket_ns=BUCKET, open_ns=OPEN, start_ns=OPEN + BUCKET, slice_ns=15 * MINUTE, slices=4)
    # then
    assert fractions == twap_fractions(4)


def test_a_window_before_the_open_falls_back_to_twap() -> None:
    # given / when
    fractions = profile_fractions(U_PROFILE, bucket_ns=BUCKET, open_ns=OPEN, start_ns=OPEN - 2 * BUCKET, slice_ns=BUCKET, slices=2)
    # then
    assert fractions == twap_fractions(2)


def test_a_slice_without_volume_gets_nothing_when_the_window_has_some() -> None:
    # given 9:30 to 10:30 in two slices and a profile empty from 10:00
    profile = (D("0.5"), D(0), D(0), D("0.5"))
    # when
    fractions = profile_fractions(profile, bucket_ns=BUCKET, open_ns=OPEN, start_ns=OPEN, slice_ns=BUCKET, slices=2)
    # then everything is due in the first slice
    assert fractions == (D(1), D(1))


def test_vwap_schedule_maps_schedule_time_to_session_time() -> None:
    # given a live clock whose schedule time 0 is 9:45 in the session
    params = params_load(Strategy.VWAP, {})
    context = ScheduleContext(profile=U_PROFILE, session_offset_ns=OPEN + 15 * MINUTE)
    # when
    fractions = schedule_fractions(params, context, start_ns=0, slice_ns=15 * MINUTE, slices=4, qty=D(10_000))
    # then the same as starting at 9:45 in session time
    assert fractions == (D("0.324324324324324324"), D("0.567567567567567568"), D("0.810810810810810811"), D(1))


def test_vwap_without_a_profile_is_twap() -> None:
    # given / when
    fractions = schedule_fractions(
        params_load(Strategy.VWAP, {}), ScheduleContext(), start_ns=OPEN, slice_ns=MINUTE, slices=5, qty=D(500)
    )
    # then
    assert fractions == twap_fractions(5)


@pytest.mark.parametrize("strategy", [Strategy.TWAP, Strategy.POV, Strategy.DARK])
def test_other_algos_take_the_twap_shape_even_with_a_profile(strategy: Strategy) -> None:
    # given
    context = ScheduleContext(profile=U_PROFILE, adv=D(1_000_000))
    # when
    fractions = schedule_fractions(params_load(strategy, {}), context, start_ns=OPEN, slice_ns=BUCKET, slices=3, qty=D(900))
    # then
    assert fractions == twap_fractions(3)


def test_expected_profile_volume_is_adv_times_the_share_in_the_window() -> None:
    # given ADV 1,000,000 and 9:45 to 10:15 (0.06 + 0.045 of the day)
    context = ScheduleContext(adv=D(1_000_000), profile=U_PROFILE)
    # when
    volume = expected_profile_volume(context, start_ns=OPEN + 15 * MINUTE, end_ns=OPEN + 45 * MINUTE)
    # then
    assert volume == D(105_000)


def test_expected_profile_volume_uses_the_session_offset() -> None:
    # given
    context = ScheduleContext(adv=D(1_000_000), profile=U_PROFILE, session_offset_ns=OPEN)
    # when
    volume = expected_profile_volume(context, start_ns=0, end_ns=BUCKET)
    # then the first bucket
    assert volume == D(120_000)


@pytest.mark.parametrize(
    "context",
    [ScheduleContext(adv=D(1_000_000)), ScheduleContext(profile=U_PROFILE), ScheduleContext()],
)
def test_expected_profile_volume_is_unknown_without_adv_and_profile(context: ScheduleContext) -> None:
    # given / when / then
    assert expected_profile_volume(context, start_ns=OPEN, end_ns=OPEN + BUCKET) is None


# --- IS: the Almgren-Chriss trajectory ---------------------------------------------------


def test_is_fractions_match_the_papers_trajectory() -> None:
    # given the paper's example at MEDIUM urgency (lambda 1e-6)
    # when
    fractions = paper_fractions("MEDIUM")
    # then holdings 1,000,000 / 542,381 / 290,295 / 148,216 / 62,303 / 0 as cumulative fractions done
    expected = (0.457619, 0.709705, 0.851784, 0.937697)
    assert [float(f) for f in fractions[:-1]] == pytest.approx(expected, abs=1e-6)
    assert fractions[-1] == D(1)


def test_is_fractions_are_the_models_floats_as_eighteen_place_decimals() -> None:
    # given / when
    fractions = paper_fractions("MEDIUM")
    # then each float's shortest text, cut to eighteen places
    assert fractions == (
        D("0.457619307388784040"),
        D("0.709704877785441200"),
        D("0.851783875101309900"),
        D("0.937696761698418400"),
        D(1),
    )


def test_is_slice_quantities_on_the_papers_example() -> None:
    # given
    fractions = paper_fractions("MEDIUM")
    # when
    slices = slice_quantities(PAPER_QTY, D(100), fractions)
    # then cumulative floors 457,600 / 709,700 / 851,700 / 937,600 / 1,000,000
    assert slices == (D(457_600), D(252_100), D(142_000), D(85_900), D(62_400))


@pytest.mark.parametrize("urgency", ["LOW", "MEDIUM", "HIGH"])
def test_is_front_loads_against_twap(urgency: str) -> None:
    # given / when
    fractions = paper_fractions(urgency)
    # then each cumulative share is at least TWAP's, the first strictly above
    twap = twap_fractions(5)
    assert all(f >= t for f, t in zip(fractions, twap, strict=True))
    assert fractions[0] > twap[0]
    assert all(a <= b for a, b in pairwise(fractions))


def test_higher_urgency_front_loads_more() -> None:
    # given / when
    low, medium, high = paper_fractions("LOW"), paper_fractions("MEDIUM"), paper_fractions("HIGH")
    # then
    assert all(lo < me < hi for lo, me, hi in zip(low[:-1], medium[:-1], high[:-1], strict=True))
    assert low[0] == D("0.242009731907211120")
    assert high[0] == D("0.821787102510849300")


def test_a_given_risk_aversion_overrides_the_urgency() -> None:
    # given LOW urgency but the paper's lambda
    # when
    fractions = paper_fractions("LOW", risk_aversion="0.000001")
    # then
    assert fractions == paper_fractions("MEDIUM")


def test_risk_neutral_is_the_straight_line() -> None:
    # given / when
    fractions = paper_fractions("HIGH", risk_aversion="0")
    # then
    assert fractions == twap_fractions(5)


@pytest.mark.parametrize("missing", ["price", "volatility_daily", "adv", "spread"])
def test_is_without_analytics_is_twap(missing: str) -> None:
    # given the paper's context without one of its analytics
    unknown: dict[str, Any] = {missing: None}
    context = replace(ctx("HIGH"), **unknown)
    # when
    fractions = is_fractions(params_load(Strategy.IS, {}), context, slices=5, horizon_ns=5 * TRADING_DAY, qty=PAPER_QTY)
    # then
    assert fractions == twap_fractions(5)


def test_is_in_one_slice_is_everything() -> None:
    # given / when
    fractions = is_fractions(params_load(Strategy.IS, {}), ctx("HIGH"), slices=1, horizon_ns=TRADING_DAY, qty=PAPER_QTY)
    # then
    assert fractions == (D(1),)


def test_schedule_fractions_for_is_use_slices_times_slice_as_the_horizon() -> None:
    # given five one-day slices
    params = params_load(Strategy.IS, {})
    # when
    fractions = schedule_fractions(params, ctx("MEDIUM"), start_ns=0, slice_ns=TRADING_DAY, slices=5, qty=PAPER_QTY)
    # then the paper's trajectory
    assert fractions == paper_fractions("MEDIUM")


def test_is_over_half_an_hour_is_nearly_linear_but_front_loaded() -> None:
    # given 100,000 of a $100 stock (2 % a day, ADV 10,000,000, 2 cent spread) over 30 one-minute slices
    context = ScheduleContext(price=D(100), volatility_daily=D("0.02"), adv=D(10_000_000), spread=D("0.02"), urgency="HIGH")
    # when
    fractions = schedule_fractions(params_load(Strategy.IS, {}), context, start_ns=0, slice_ns=MINUTE, slices=30, qty=D(100_000))
    # then ahead of TWAP, yet within a few points of it
    twap = twap_fractions(30)
    assert all(f >= t for f, t in zip(fractions, twap, strict=True))
    assert max(f - t for f, t in zip(fractions, twap, strict=True)) < D("0.2")
    assert not math.isclose(float(fractions[0]), float(twap[0]))


def test_an_urgent_is_trajectory_is_held_to_its_participation_cap_and_still_finishes() -> None:
    # given 300,000 of a $100 stock (2 % a day, ADV 10,000,000) over 30 one-minute slices, urgent: the model wants it
    # ahead of an even pace; a flat session trades 25,641 a minute
    context = ScheduleContext(price=D(100), volatility_daily=D("0.02"), adv=D(10_000_000), spread=D("0.02"), urgency="HIGH")

    def schedule(cap: str) -> tuple[D, ...]:
        params = params_load(Strategy.IS, {"max_participation": cap})
        return schedule_fractions(params, context, start_ns=0, slice_ns=MINUTE, slices=30, qty=D(300_000))

    twap = twap_fractions(30)
    assert schedule("1")[0] > twap[0] + D("0.01")
    # when capped at 40 % of the volume (10,256 a minute: room for 307,692 in all)
    capped = schedule("0.40")
    # then no slice but the last takes more, and it is still ahead of an even pace
    per_slice = [(b - a) * 300_000 for a, b in itertools.pairwise((D(0), *capped))]
    assert all(q <= D("10256.42") for q in per_slice[:-1])
    assert capped[0] > twap[0]
    # and at 25 % (room for 192,308), the cap rises to the rate that finishes in the window: an even pace
    assert schedule("0.25") == twap


def test_capping_moves_the_excess_forward_and_the_last_slice_takes_what_none_could() -> None:
    # given a front-loaded schedule of 1,000 over four slices and room for 300 in each but the last
    fractions = (D("0.7"), D("0.9"), D("0.95"), D(1))
    # when
    capped = participation_capped(fractions, qty=D(1000), capacity=[D(300), D(300), D(300), D(300)])
    # then 700 becomes 300 + 300 + 300 + 100: the excess rides forward, the end takes the rest
    assert capped == (D("0.3"), D("0.6"), D("0.9"), D(1))
    # and no capacity (no volume known) leaves a slice as it was
    assert participation_capped(fractions, qty=D(1000), capacity=[None, D(100), None, None]) == (
        D("0.7"), D("0.8"), D("0.95"), D(1)
    )  # fmt: skip


def test_a_segment_of_a_scheduled_algo_has_one_fraction_per_slice_of_its_window():
    # given a TWAP with 60 s slices and a 10-minute window
    params = params_load(Strategy.TWAP, {"slice_seconds": 60})
    # when
    fractions = segment_fractions(params, ScheduleContext(), start_ns=OPEN, end_ns=OPEN + 10 * MINUTE, qty=D(1000))
    # then
    assert fractions == twap_fractions(10)


def test_a_segment_without_a_schedule_or_a_window_left_is_empty():
    # given
    dark = params_load(Strategy.DARK, {})
    twap = params_load(Strategy.TWAP, {})
    # when / then: DARK keeps no schedule; a window already over has none left
    assert segment_fractions(dark, ScheduleContext(), start_ns=OPEN, end_ns=OPEN + 10 * MINUTE, qty=D(1000)) == ()
    assert segment_fractions(twap, ScheduleContext(), start_ns=OPEN, end_ns=OPEN, qty=D(1000)) == ()


def test_is_with_nothing_left_to_trade_is_the_twap_shape_not_an_error():
    # given the paper's analytics but no shares left (a segment restarted on a filled order)
    params = params_load(Strategy.IS, {})
    # when
    fractions = is_fractions(params, ctx("HIGH"), slices=5, horizon_ns=5 * TRADING_DAY, qty=D(0))
    # then
    assert fractions == twap_fractions(5)
