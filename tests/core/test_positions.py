"""Position arithmetic: cost basis, average cost, realized P&L and cash, exactly in Decimal."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.core.positions import PositionState, cash_after_fill, position_after_fill, position_mark
from trading.enums import Side

BUY = Side.BUY
SELL = Side.SELL
ONE = Decimal("1")
HUNDRED = Decimal("100")
FLAT = PositionState(Decimal("0"), Decimal("0"), Decimal("0"))


def fill(position: PositionState, side: Side, qty: str, px: str, multiplier: Decimal = ONE) -> PositionState:
    return position_after_fill(position, side=side, qty=Decimal(qty), px=Decimal(px), multiplier=multiplier)


def state(qty: str, cost: str, realized: str) -> PositionState:
    return PositionState(Decimal(qty), Decimal(cost), Decimal(realized))


def test_open_long_from_flat():
    # given / when
    after = fill(FLAT, BUY, "100", "10.00")
    # then
    assert after == state("100", "1000.00", "0")
    assert after.avg_cost == Decimal("10.00000000")
    assert str(after.avg_cost) == "10.00000000"


def test_flat_has_zero_average_cost():
    # given / when / then
    assert FLAT.avg_cost == 0


def test_add_to_long_moves_the_average_cost():
    # given
    position = state("100", "1000.00", "0")
    # when
    after = fill(position, BUY, "50", "11.50")
    # then
    assert after == state("150", "1575.00", "0")
    assert after.avg_cost == Decimal("10.5")


def test_average_cost_is_rounded_to_eight_places_but_the_cost_is_not():
    # given
    position = state("100", "1000.00", "0")
    # when
    after = fill(position, BUY, "200", "10.01")
    # then
    assert after == state("300", "3002.00", "0")
    assert str(after.avg_cost) == "10.00666667"


def test_partial_close_realizes_against_the_released_cost():
    # given
    position = state("150", "1575.00", "0")
    # when
    after = fill(position, SELL, "50", "12.00")
    # then the rest keeps its average cost
    assert after == state("100", "1050.00", "75.00")
    assert after.avg_cost == Decimal("10.5")


def test_losing_partial_close_realizes_a_loss():
    # given
    position = state("100", "1050.00", "75.00")
    # when
    after = fill(position, SELL, "40", "10.25")
    # then
    assert after == state("60", "630.00", "65.00")


def test_full_close_leaves_zero_qty_zero_cost_and_zero_average():
    # given
    position = state("100", "1050.00", "75.00")
    # when
    after = fill(position, SELL, "100", "9.00")
    # then
    assert after == state("0", "0", "-75.00")
    assert after.avg_cost == 0


def test_rounding_of_a_partial_release_is_recovered_by_the_final_close():
    # given 3 bought for 5.00 (average 1.66666667)
    position = state("3", "5.00", "0")
    # when
    partly = fill(position, SELL, "1", "2.00")
    closed = fill(partly, SELL, "2", "2.00")
    # then the release is rounded to money once, and the whole trip realizes exactly 6.00 - 5.00
    assert partly == state("2", "3.3333", "0.3333")
    assert closed == state("0", "0", "1.0000")


def test_flip_long_to_short_realizes_the_long_and_opens_the_rest_at_px():
    # given
    position = state("100", "1000.00", "0")
    # when
    after = fill(position, SELL, "150", "11.00")
    # then
    assert after == state("-50", "-550.00", "100.00")
    assert after.avg_cost == Decimal("11")


def test_open_and_add_to_a_short():
    # given
    short = fill(FLAT, SELL, "100", "20.00")
    # when
    after = fill(short, SELL, "100", "22.00")
    # then the cost is signed like the quantity; the average is a positive price
    assert short == state("-100", "-2000.00", "0")
    assert after == state("-200", "-4200.00", "0")
    assert after.avg_cost == Decimal("21")


def test_covering_a_short_below_cost_is_a_gain():
    # given
    position = state("-200", "-4200.00", "0")
    # when
    after = fill(position, BUY, "50", "19.00")
    # then
    assert after == state("-150", "-3150.00", "100.00")
    assert after.avg_cost == Decimal("21")


def test_covering_a_short_above_cost_is_a_loss():
    # given
    position = state("-150", "-3150.00", "100.00")
    # when
    after = fill(position, BUY, "150", "21.10")
    # then
    assert after == state("0", "0", "85.00")


def test_flip_short_to_long():
    # given
    position = state("-150", "-3150.00", "100.00")
    # when
    after = fill(position, BUY, "200", "18.00")
    # then
    assert after == state("50", "900.00", "550.00")
    assert after.avg_cost == Decimal("18")


def test_option_multiplier_scales_realized_pnl_not_the_cost():
    # given
    opened = fill(FLAT, BUY, "2", "3.45", HUNDRED)
    # when
    closed = fill(opened, SELL, "1", "4.00", HUNDRED)
    # then cost is per unit of multiplier; P&L is in money
    assert opened == state("2", "6.90", "0")
    assert opened.avg_cost == Decimal("3.45")
    assert closed == state("1", "3.45", "55.00")


def test_option_short_flip_with_multiplier():
    # given
    position = state("-3", "-6.30", "0")
    # when
    after = fill(position, BUY, "5", "1.95", HUNDRED)
    # then
    assert after == state("2", "3.90", "45.00")


def test_large_round_trip_realizes_exactly_the_cash_it_moved():
    # given an average that does not terminate (10.0066...)
    position = FLAT
    cash = Decimal("0")
    trades = [(BUY, "1000000", "10.00"), (BUY, "2000000", "10.01"), (SELL, "3000000", "10.10")]
    # when
    for side, qty, px in trades:
        position = fill(position, side, qty, px)
        cash = cash_after_fill(cash, side=side, qty=Decimal(qty), px=Decimal(px), multiplier=ONE, fee=Decimal("0"))
    # then
    assert position == state("0", "0", "280000")
    assert cash == Decimal("280000.0000")


@pytest.mark.parametrize(
    ("side", "qty", "px", "multiplier", "fee", "expected"),
    [
        (BUY, "100", "10.00", "1", "1.00", "8999.0000"),
        (SELL, "100", "10.50", "1", "1.00", "11049.0000"),
        (BUY, "100", "10.00", "1", "-0.20", "9000.2000"),
        (BUY, "2", "3.45", "100", "1.30", "9308.7000"),
        (SELL, "2", "3.45", "100", "1.30", "10688.7000"),
        (BUY, "3", "10.123456", "1", "0", "9969.6296"),
    ],
)
def test_cash_after_fill_pays_notional_and_fee(side, qty, px, multiplier, fee, expected):
    # given
    cash = Decimal("10000")
    # when
    after = cash_after_fill(cash, side=side, qty=Decimal(qty), px=Decimal(px), multiplier=Decimal(multiplier), fee=Decimal(fee))
    # then
    assert after == Decimal(expected)
    assert after.as_tuple().exponent == -4


# --- the P&L identity -----------------------------------------------------------------

CENT = Decimal("0.01")
FILLS = st.lists(
    st.tuples(
        st.sampled_from([BUY, SELL]),
        st.integers(min_value=1, max_value=5000),
        st.integers(min_value=1, max_value=100_000),  # price in cents
        st.integers(min_value=-500, max_value=500),  # fee in cents
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(fills=FILLS, multiplier=st.sampled_from([ONE, HUNDRED]), mark_cents=st.integers(min_value=1, max_value=100_000))
def test_realized_plus_unrealized_equals_cash_flow_pnl(fills, multiplier, mark_cents):
    # given
    mark = mark_cents * CENT
    position = FLAT
    cash = Decimal("0")
    fees = Decimal("0")
    # when
    for side, qty, cents, fee_cents in fills:
        position = position_after_fill(position, side=side, qty=Decimal(qty), px=cents * CENT, multiplier=multiplier)
        cash = cash_after_fill(cash, side=side, qty=Decimal(qty), px=cents * CENT, multiplier=multiplier, fee=fee_cents * CENT)
        fees += fee_cents * CENT
    # then, fees excluded, P&L is the same however it is counted
    unrealized = (position.qty * mark - position.cost) * multiplier
    cash_flow_pnl = (cash + fees) + position.qty * mark * multiplier
    assert position.realized_pnl + unrealized == cash_flow_pnl
    # and the average cost prices the open quantity to within its rounding
    assert abs(position.qty * position.avg_cost - position.cost) <= abs(position.qty) * Decimal("0.000000005")
    if position.qty == 0:
        assert position.cost == 0
    else:
        assert (position.cost > 0) == (position.qty > 0)


def test_a_long_marked_above_its_cost_shows_the_gain_unrealized() -> None:
    # given 300 bought at 10.00 and 10.50 (cost 3,100)
    position = fill(fill(FLAT, BUY, "200", "10.00"), BUY, "100", "11.00")
    # when it is marked at 10.75
    marked = position_mark(position, mark=Decimal("10.75"), multiplier=ONE)
    # then it is worth 3,225 and 125 up
    assert (marked.market_value, marked.unrealized_pnl) == (Decimal("3225.0000"), Decimal("125.0000"))


def test_a_short_option_position_is_marked_with_its_multiplier() -> None:
    # given 2 contracts sold at 3.20 on a 100 multiplier
    position = fill(FLAT, SELL, "2", "3.20", HUNDRED)
    # when the option is marked at 3.50
    marked = position_mark(position, mark=Decimal("3.50"), multiplier=HUNDRED)
    # then the short is worth -700 and 60 down
    assert (marked.market_value, marked.unrealized_pnl) == (Decimal("-700.0000"), Decimal("-60.0000"))


@settings(max_examples=200)
@given(
    fills=st.lists(st.tuples(st.sampled_from([BUY, SELL]), st.integers(1, 500), st.integers(1, 20_000)), min_size=1, max_size=12),
    mark_cents=st.integers(1, 20_000),
)
def test_realized_plus_unrealized_is_the_cash_a_close_at_the_mark_would_leave(
    fills: list[tuple[Side, int, int]], mark_cents: int
) -> None:
    # given any run of fills, and the cash they moved
    position, cash = FLAT, Decimal(0)
    for side, qty, cents in fills:
        px = Decimal(cents) / 100
        position = fill(position, side, str(qty), str(px))
        cash = cash_after_fill(cash, side=side, qty=Decimal(qty), px=px, multiplier=ONE, fee=Decimal(0))
    mark = Decimal(mark_cents) / 100
    # when the position is marked
    marked = position_mark(position, mark=mark, multiplier=ONE)
    # then total P&L is the cash plus what the open quantity is worth, to the cent
    assert position.realized_pnl + marked.unrealized_pnl == cash + marked.market_value
