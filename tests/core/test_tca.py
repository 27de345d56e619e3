"""Transaction cost analysis formulas: exact Decimal values on hand-worked examples."""

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ems.core.tca import (
    MarketPrint,
    Shortfall,
    TcaFill,
    effective_spread_bps,
    interval_vwap,
    markout_bps,
    participation,
    realized_spread_bps,
    shortfall,
    slippage_bps,
    tracking_error,
    vwap_slippage_bps,
)
from trading.enums import Liquidity, Side

D = Decimal


def fill(qty: str, px: str, fee: str = "0", t_ns: int = 0, mid: str | None = None) -> TcaFill:
    return TcaFill(qty=D(qty), px=D(px), fee=D(fee), t_ns=t_ns, liquidity=Liquidity.REMOVED, mid=None if mid is None else D(mid))


# --- shortfall ------------------------------------------------------------------------------------


def test_shortfall_of_a_partly_filled_buy() -> None:
    # given 1,000 decided at 100.00, arrived at 100.10; 600 filled; the rest missed a rise to 100.50
    fills = [fill("400", "100.20", "0.40", 1), fill("200", "100.30", "0.20", 2)]
    # when
    result = shortfall(
        side=Side.BUY,
        order_qty=D("1000"),
        arrival_mid=D("100.10"),
        decision_mid=D("100.00"),
        fills=fills,
        end_mid=D("100.50"),
    )
    # then on $100,000: delay 600 x 0.10 = $60, impact 400 x 0.10 + 200 x 0.20 = $80,
    # opportunity 400 x 0.50 = $200, fees $0.60
    assert result == Shortfall(
        total_bps=D("34.06"),
        delay_bps=D("6.00"),
        impact_bps=D("8.00"),
        timing_bps=D("0.00"),
        opportunity_bps=D("20.00"),
        fees_bps=D("0.06"),
        filled_qty=D("600"),
        avg_px=D("100.23333333"),
        notional=D("100000.0000"),
    )


def test_shortfall_of_a_filled_sell_with_a_rebate() -> None:
    # given 1,000 decided at 50.00; the mid fell to 49.90 before arrival; one fill earned a rebate
    fills = [fill("600", "49.85", "0.30", 1), fill("400", "49.75", "-0.20", 2)]
    # when
    result = shortfall(
        side=Side.SELL,
        order_qty=D("1000"),
        arrival_mid=D("49.90"),
        decision_mid=D("50.00"),
        fills=fills,
        end_mid=D("49.00"),
    )
    # then on $50,000: delay 1000 x 0.10 = $100, impact 600 x 0.05 + 400 x 0.15 = $90, fees $0.10 net
    assert (result.total_bps, result.delay_bps, result.impact_bps, result.opportunity_bps, result.fees_bps) == (
        D("38.02"),
        D("20.00"),
        D("18.00"),
        D("0.00"),
        D("0.02"),
    )
    assert result.filled_qty == D("1000")
    assert result.avg_px == D("49.81")
    assert result.notional == D("50000")


def test_shortfall_of_a_sell_that_earned_money() -> None:
    # given the mid rose after the decision and we sold above it
    fills = [fill("100", "20.10")]
    # when
    result = shortfall(
        side=Side.SELL,
        order_qty=D("100"),
        arrival_mid=D("20.04"),
        decision_mid=D("20.00"),
        fills=fills,
        end_mid=D("20.00"),
        fees_included=False,
    )
    # then negative: delay -100 x 0.04 = -$4, impact -100 x 0.06 = -$6 on $2,000
    assert (result.total_bps, result.delay_bps, result.impact_bps, result.opportunity_bps, result.fees_bps) == (
        D("-50.00"),
        D("-20.00"),
        D("-30.00"),
        D("0.00"),
        D("0.00"),
    )


def test_shortfall_with_no_fills_is_all_opportunity() -> None:
    # given a sell of 500 decided at 20.00 that never filled while the mid fell to 19.80
    # when
    result = shortfall(
        side=Side.SELL,
        order_qty=D("500"),
        arrival_mid=D("20.05"),
        decision_mid=D("20.00"),
        fills=[],
        end_mid=D("19.80"),
    )
    # then 500 x 0.20 = $100 on $10,000
    assert result == Shortfall(
        total_bps=D("100.00"),
        delay_bps=D("0.00"),
        impact_bps=D("0.00"),
        timing_bps=D("0.00"),
        opportunity_bps=D("100.00"),
        fees_bps=D("0.00"),
        filled_qty=D("0"),
        avg_px=None,
        notional=D("10000.00"),
    )


def test_shortfall_without_fees_leaves_them_out_of_the_total() -> None:
    # given the partly filled buy above
    fills = [fill("400", "100.20", "0.40"), fill("200", "100.30", "0.20")]
    # when
    result = shortfall(
        side=Side.BUY,
        order_qty=D("1000"),
        arrival_mid=D("100.10"),
        decision_mid=D("100.00"),
        fills=fills,
        end_mid=D("100.50"),
        fees_included=False,
    )
    # then
    assert (result.total_bps, result.fees_bps) == (D("34.00"), D("0.00"))


def test_shortfall_splits_impact_from_timing_with_the_mid_at_each_fill() -> None:
    # given the partly filled buy above, the mid at 100.15 when the first fill came and 100.05 at the second
    fills = [fill("400", "100.20", "0.40", 1, mid="100.15"), fill("200", "100.30", "0.20", 2, mid="100.05")]
    # when
    result = shortfall(
        side=Side.BUY,
        order_qty=D("1000"),
        arrival_mid=D("100.10"),
        decision_mid=D("100.00"),
        fills=fills,
        end_mid=D("100.50"),
    )
    # then on $100,000: impact 400 x 0.05 + 200 x 0.25 = $70, timing 400 x 0.05 - 200 x 0.05 = $10;
    # together the $80 of impact without mids, and the total is unchanged
    assert result == Shortfall(
        total_bps=D("34.06"),
        delay_bps=D("6.00"),
        impact_bps=D("7.00"),
        timing_bps=D("1.00"),
        opportunity_bps=D("20.00"),
        fees_bps=D("0.06"),
        filled_qty=D("600"),
        avg_px=D("100.23333333"),
        notional=D("100000.0000"),
    )


def test_shortfall_of_a_sell_times_the_mid_falling_as_a_cost() -> None:
    # given a sell arrived at 50.00 whose only fill came at 49.95 with the mid fallen to 49.97
    fills = [fill("100", "49.95", mid="49.97")]
    # when
    result = shortfall(
        side=Side.SELL,
        order_qty=D("100"),
        arrival_mid=D("50.00"),
        decision_mid=D("50.00"),
        fills=fills,
        end_mid=D("50.00"),
    )
    # then on $5,000: impact 100 x 0.02 = $2 (4 bps), timing 100 x 0.03 = $3 (6 bps): both costs
    assert (result.total_bps, result.impact_bps, result.timing_bps) == (D("10.00"), D("4.00"), D("6.00"))


def test_a_fill_without_a_mid_keeps_its_cost_from_arrival_in_impact() -> None:
    # given two fills of a buy arrived at 10.00: one with the mid at 10.02, one without a mid
    fills = [fill("100", "10.03", mid="10.02"), fill("100", "10.05")]
    # when
    result = shortfall(
        side=Side.BUY,
        order_qty=D("200"),
        arrival_mid=D("10.00"),
        decision_mid=D("10.00"),
        fills=fills,
        end_mid=D("10.00"),
    )
    # then on $2,000: impact 100 x 0.01 + 100 x 0.05 = $6 (30 bps), timing 100 x 0.02 = $2 (10 bps)
    assert (result.total_bps, result.impact_bps, result.timing_bps) == (D("40.00"), D("30.00"), D("10.00"))


def test_shortfall_parts_are_apportioned_up_to_the_rounded_total() -> None:
    # given three parts of 0.334 bps each on $1,000,000 (exact total 1.002, rounds to 1.00)
    fills = [fill("334", "100.20", "33.40")]
    # when
    result = shortfall(
        side=Side.BUY,
        order_qty=D("10000"),
        arrival_mid=D("100.10"),
        decision_mid=D("100.00"),
        fills=fills,
        end_mid=D("100.00"),
    )
    # then 0.33 x 3 = 0.99: the missing step goes to the first of the tied parts
    assert (result.total_bps, result.delay_bps, result.impact_bps, result.opportunity_bps, result.fees_bps) == (
        D("1.00"),
        D("0.34"),
        D("0.33"),
        D("0.00"),
        D("0.33"),
    )


def test_shortfall_parts_are_apportioned_down_to_the_rounded_total() -> None:
    # given three parts of 0.336 bps each on $1,000,000 (exact total 1.008, rounds to 1.01)
    fills = [fill("336", "100.20", "33.60")]
    # when
    result = shortfall(
        side=Side.BUY,
        order_qty=D("10000"),
        arrival_mid=D("100.10"),
        decision_mid=D("100.00"),
        fills=fills,
        end_mid=D("100.00"),
    )
    # then 0.34 x 3 = 1.02: one step comes off the first of the tied parts
    assert (result.total_bps, result.delay_bps, result.impact_bps, result.opportunity_bps, result.fees_bps) == (
        D("1.01"),
        D("0.33"),
        D("0.34"),
        D("0.00"),
        D("0.34"),
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"order_qty": D("0")}, "invalid `order_qty`, was 0"),
        ({"order_qty": D("-5")}, "invalid `order_qty`, was -5"),
        ({"arrival_mid": D("0")}, "invalid `arrival_mid`, was 0"),
        ({"decision_mid": D("-1")}, "invalid `decision_mid`, was -1"),
        ({"end_mid": D("0")}, "invalid `end_mid`, was 0"),
        ({"fills": [fill("-1", "10")]}, r"invalid `fills\[0\].qty`, was -1"),
        ({"fills": [fill("1", "10"), fill("0", "10")]}, r"invalid `fills\[1\].qty`, was 0"),
        ({"fills": [fill("1", "0")]}, r"invalid `fills\[0\].px`, was 0"),
        ({"fills": [fill("1", "10", mid="0")]}, r"invalid `fills\[0\].mid`, was 0"),
        ({"fills": [fill("60", "10"), fill("41", "10")]}, "invalid `fills`, filled 101"),
    ],
)
def test_shortfall_rejects_invalid_inputs(change: dict[str, Any], message: str) -> None:
    # given
    inputs: dict[str, Any] = {
        "side": Side.BUY,
        "order_qty": D("100"),
        "arrival_mid": D("10"),
        "decision_mid": D("10"),
        "fills": [],
        "end_mid": D("10"),
    }
    inputs |= change
    # when / then
    with pytest.raises(ValueError, match=message):
        shortfall(**inputs)


PRICES = st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2)


@st.composite
def orders(draw: st.DrawFn) -> dict[str, Any]:
    order_qty = draw(st.integers(min_value=1, max_value=1_000_000))
    fill_qtys = draw(st.lists(st.integers(min_value=1, max_value=order_qty), max_size=6))
    kept, total = [], 0
    for qty in fill_qtys:
        if total + qty <= order_qty:
            kept.append(qty)
            total += qty
    fills = [
        TcaFill(
            qty=D(qty),
            px=draw(PRICES),
            fee=draw(st.decimals(min_value=D("-50"), max_value=D("50"), places=4)),
            t_ns=i,
            liquidity=Liquidity.ADDED,
            mid=draw(st.none() | PRICES),
        )
        for i, qty in enumerate(kept)
    ]
    return {
        "side": draw(st.sampled_from(Side)),
        "order_qty": D(order_qty),
        "arrival_mid": draw(PRICES),
        "decision_mid": draw(PRICES),
        "fills": fills,
        "end_mid": draw(PRICES),
        "fees_included": draw(st.booleans()),
    }


@given(orders())
def test_shortfall_parts_add_up_to_the_total(inputs: dict[str, Any]) -> None:
    # given the exact parts, in fractions, from Perold's definitions
    sign = inputs["side"].sign
    decision, arrival, end = (Fraction(inputs[key]) for key in ("decision_mid", "arrival_mid", "end_mid"))
    fills = inputs["fills"]
    filled = sum(Fraction(f.qty) for f in fills)
    notional = Fraction(inputs["order_qty"]) * decision
    exact = [
        sign * filled * (arrival - decision),
        sign * sum(Fraction(f.qty) * (Fraction(f.px) - (arrival if f.mid is None else Fraction(f.mid))) for f in fills),
        sign * sum(Fraction(f.qty) * (Fraction(f.mid) - arrival) for f in fills if f.mid is not None),
        sign * (Fraction(inputs["order_qty"]) - filled) * (end - decision),
        sum(Fraction(f.fee) for f in fills) if inputs["fees_included"] else Fraction(0),
    ]
    exact_bps = [part / notional * 10_000 for part in exact]
    # when
    result = shortfall(**inputs)
    # then the rounded parts add up exactly; each part and the total stay within their rounding
    parts = [result.delay_bps, result.impact_bps, result.timing_bps, result.opportunity_bps, result.fees_bps]
    assert sum(parts) == result.total_bps
    assert abs(Fraction(result.total_bps) - sum(exact_bps)) <= Fraction(1, 200)
    for part, exact_part in zip(parts, exact_bps, strict=True):
        assert abs(Fraction(part) - exact_part) < Fraction(1, 100)
        assert part == part.quantize(D("0.01"))
    assert result.filled_qty == filled


# --- interval VWAP and slippage --------------------------------------------------------------------

TAPE = [
    MarketPrint(t_ns=1, qty=D("100"), px=D("10.00")),
    MarketPrint(t_ns=2, qty=D("300"), px=D("10.04")),
    MarketPrint(t_ns=3, qty=D("100"), px=D("10.10")),
    MarketPrint(t_ns=5, qty=D("500"), px=D("11.00")),
]


def test_interval_vwap_includes_both_ends() -> None:
    # given / when / then (1,000 + 3,012 + 1,010) / 500 and (3,012 + 1,010) / 400
    assert interval_vwap(TAPE, 1, 3) == D("10.044")
    assert interval_vwap(TAPE, 2, 3) == D("10.055")
    assert interval_vwap(TAPE, 5, 5) == D("11.00")


def test_interval_vwap_rounds_to_the_price_grid() -> None:
    # given / when / then (1,000 + 3,012 + 1,010 + 5,500) / 1,000 and an inexact mean
    assert interval_vwap(TAPE, 0, 10) == D("10.522")
    tape = [MarketPrint(t_ns=1, qty=D("1"), px=D("10")), MarketPrint(t_ns=1, qty=D("2"), px=D("11"))]
    assert interval_vwap(tape, 1, 1) == D("10.66666667")


def test_interval_vwap_is_none_without_volume() -> None:
    # given / when / then
    assert interval_vwap(TAPE, 4, 4) is None
    assert interval_vwap([], 0, 10) is None
    assert interval_vwap([MarketPrint(t_ns=1, qty=D("0"), px=D("10"))], 0, 10) is None


@pytest.mark.parametrize(
    ("prints", "start_ns", "end_ns", "message"),
    [
        (TAPE, 3, 2, "invalid `end_ns`, was 2"),
        ([MarketPrint(t_ns=1, qty=D("-1"), px=D("10"))], 0, 1, r"invalid `prints\[0\].qty`, was -1"),
        ([MarketPrint(t_ns=1, qty=D("1"), px=D("0"))], 0, 1, r"invalid `prints\[0\].px`, was 0"),
    ],
)
def test_interval_vwap_rejects_invalid_inputs(prints: list[MarketPrint], start_ns: int, end_ns: int, message: str) -> None:
    # given / when / then
    with pytest.raises(ValueError, match=message):
        interval_vwap(prints, start_ns, end_ns)


@pytest.mark.parametrize(
    ("side", "avg_px", "expected"),
    [
        (Side.BUY, "10.05", "50.00"),
        (Side.SELL, "10.05", "-50.00"),
        (Side.SELL, "9.99", "10.00"),
        (Side.BUY, "9.99", "-10.00"),
        (Side.BUY, "10.000123", "0.12"),
    ],
)
def test_vwap_slippage_is_positive_when_we_did_worse(side: Side, avg_px: str, expected: str) -> None:
    # given / when / then
    assert vwap_slippage_bps(side=side, avg_px=D(avg_px), vwap=D("10.00")) == D(expected)


@pytest.mark.parametrize(
    ("avg_px", "vwap", "message"), [("0", "10", "invalid `avg_px`, was 0"), ("10", "-1", "invalid `vwap`, was -1")]
)
def test_vwap_slippage_rejects_non_positive_prices(avg_px: str, vwap: str, message: str) -> None:
    # given / when / then
    with pytest.raises(ValueError, match=message):
        vwap_slippage_bps(side=Side.BUY, avg_px=D(avg_px), vwap=D(vwap))


# --- participation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("our_qty", "market_qty", "expected"),
    [("250", "1000", D("0.25")), ("1", "3", D("0.333333")), ("0", "500", D("0")), ("700", "700", D("1")), ("0", "0", None)],
)
def test_participation_is_our_share_of_the_market(our_qty: str, market_qty: str, expected: Decimal | None) -> None:
    # given / when / then
    assert participation(our_qty=D(our_qty), market_qty=D(market_qty)) == expected


@pytest.mark.parametrize(
    ("our_qty", "market_qty", "message"),
    [
        ("-1", "10", "invalid `our_qty`, was -1"),
        ("1", "-10", "invalid `market_qty`, was -10"),
        ("11", "10", "invalid `market_qty`, was 10: less than `our_qty` \\(11\\)"),
    ],
)
def test_participation_rejects_invalid_quantities(our_qty: str, market_qty: str, message: str) -> None:
    # given / when / then
    with pytest.raises(ValueError, match=message):
        participation(our_qty=D(our_qty), market_qty=D(market_qty))


# --- markouts and spreads ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "mid_later", "expected"),
    [
        (Side.BUY, "100.05", "5.00"),
        (Side.SELL, "100.05", "-5.00"),
        (Side.BUY, "99.90", "-10.00"),
        (Side.SELL, "99.90", "10.00"),
        (Side.BUY, "100.00001", "0.00"),
    ],
)
def test_markout_is_positive_when_the_mid_moved_our_way(side: Side, mid_later: str, expected: str) -> None:
    # given / when / then
    assert markout_bps(side=side, px=D("100.00"), mid_later=D(mid_later)) == D(expected)


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
@pytest.mark.parametrize(("px", "mid_later"), [("100.00", "100.05"), ("25.37", "25.3125"), ("9.99", "10.0001")])
def test_markout_agrees_with_the_shell_markout(side: Side, px: str, mid_later: str) -> None:
    # given the shell's markout (ems.markouts, which needs Django), rounded to 0.01 bps
    from ems.markouts import markout_bps as shell_markout_bps

    shell = shell_markout_bps(side=side, fill_px=D(px), mid_px=D(mid_later)).quantize(D("0.01"))
    # when / then
    assert markout_bps(side=side, px=D(px), mid_later=D(mid_later)) == shell


@pytest.mark.parametrize(
    ("side", "px", "expected"),
    [(Side.BUY, "100.02", "4.00"), (Side.SELL, "99.97", "6.00"), (Side.BUY, "99.99", "-2.00"), (Side.SELL, "100.00", "0.00")],
)
def test_effective_spread_is_twice_the_distance_from_the_mid(side: Side, px: str, expected: str) -> None:
    # given / when / then
    assert effective_spread_bps(side=side, px=D(px), mid=D("100.00")) == D(expected)


@pytest.mark.parametrize(
    ("side", "px", "mid_later", "expected"),
    [
        (Side.BUY, "50.05", "50.00", "20.00"),
        (Side.SELL, "49.95", "50.00", "20.00"),
        (Side.BUY, "100.02", "100.04", "-4.00"),  # -3.9984...: the mid ran past our price
        (Side.SELL, "100.02", "100.04", "4.00"),
    ],
)
def test_realized_spread_measures_against_the_later_mid(side: Side, px: str, mid_later: str, expected: str) -> None:
    # given / when / then
    assert realized_spread_bps(side=side, px=D(px), mid_later=D(mid_later)) == D(expected)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: markout_bps(side=Side.BUY, px=D("0"), mid_later=D("1")), "invalid `px`, was 0"),
        (lambda: markout_bps(side=Side.BUY, px=D("1"), mid_later=D("-1")), "invalid `mid_later`, was -1"),
        (lambda: effective_spread_bps(side=Side.BUY, px=D("1"), mid=D("0")), "invalid `mid`, was 0"),
        (lambda: effective_spread_bps(side=Side.SELL, px=D("-2"), mid=D("1")), "invalid `px`, was -2"),
        (lambda: realized_spread_bps(side=Side.BUY, px=D("1"), mid_later=D("0")), "invalid `mid_later`, was 0"),
    ],
)
def test_markout_and_spreads_reject_non_positive_prices(call: Callable[[], Decimal], message: str) -> None:
    # given / when / then
    with pytest.raises(ValueError, match=message):
        call()


# --- tracking error ------------------------------------------------------------------------------------


def test_tracking_error_is_the_rms_gap_to_the_schedule() -> None:
    # given 3 % ahead at the first point, 3 % behind at the second (the fill at 20 counts at 20)
    schedule = [(10, D("100")), (20, D("200"))]
    executed = [(20, D("40")), (5, D("130")), (25, D("830"))]
    # when
    result = tracking_error(schedule=schedule, executed=executed, qty=D("1000"))
    # then
    assert result == D("0.03")


def test_tracking_error_over_a_whole_schedule() -> None:
    # given gaps of -5 %, -20 %, -15 % and 0 %: sqrt(0.065 / 4) = 0.1274754878...
    schedule = [(10, D("250")), (20, D("500")), (30, D("750")), (40, D("1000"))]
    executed = [(5, D("200")), (15, D("100")), (25, D("300")), (35, D("100")), (40, D("300"))]
    # when
    result = tracking_error(schedule=schedule, executed=executed, qty=D("1000"))
    # then
    assert result == D("0.127475")


def test_tracking_error_is_zero_on_schedule_and_with_nothing_due() -> None:
    # given / when / then
    assert tracking_error(schedule=[(1, D("50")), (2, D("100"))], executed=[(1, D("50")), (2, D("50"))], qty=D("100")) == 0
    assert tracking_error(schedule=[(1, D("0"))], executed=[], qty=D("100")) == 0


@pytest.mark.parametrize(
    ("schedule", "executed", "qty", "message"),
    [
        ([], [], D("10"), "invalid `schedule`, was empty"),
        ([(1, D("5"))], [], D("0"), "invalid `qty`, was 0"),
        ([(1, D("-5"))], [], D("10"), r"invalid `schedule\[0\]` quantity, was -5"),
        ([(2, D("1")), (2, D("2"))], [], D("10"), r"invalid `schedule\[1\]` time, was 2"),
        ([(1, D("5")), (2, D("4"))], [], D("10"), r"invalid `schedule\[1\]` quantity, was 4"),
        ([(1, D("5"))], [(1, D("-1"))], D("10"), r"invalid `executed\[0\]` quantity, was -1"),
    ],
)
def test_tracking_error_rejects_invalid_inputs(
    schedule: list[tuple[int, Decimal]], executed: list[tuple[int, Decimal]], qty: Decimal, message: str
) -> None:
    # given / when / then
    with pytest.raises(ValueError, match=message):
        tracking_error(schedule=schedule, executed=executed, qty=qty)


@pytest.mark.parametrize(
    ("side", "avg_px", "expected"),
    [(Side.BUY, "100.10", "10.00"), (Side.SELL, "100.10", "-10.00"), (Side.SELL, "99.90", "10.00"), (Side.BUY, "100", "0.00")],
)
def test_slippage_against_a_benchmark_is_a_cost_when_positive_for_either_side(side: Side, avg_px: str, expected: str) -> None:
    # given a benchmark (the arrival mid) of 100
    # when
    bps = slippage_bps(side=side, avg_px=Decimal(avg_px), benchmark=Decimal(100))
    # then a buy above it and a sell below it cost, by the same bps
    assert bps == Decimal(expected)
