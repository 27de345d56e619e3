"""Order checks, the whole-order router, and the DIRECT strategy."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ems.core.strategies import DIRECT, Slice, StrategyChoice, direct_slices, strategy_choose
from oms.core.validation import FieldError, order_check
from router.core import NoVenue, Route, VenueQuote, route_whole
from trading.enums import OrdType, Side, TimeInForce

D = Decimal
TICK = D("0.01")
LOT = D("100")

# --- order_check ---------------------------------------------------------------------


def check(qty: str, ord_type: OrdType, limit_px: str | None) -> list[FieldError]:
    return order_check(
        qty=D(qty), ord_type=ord_type, limit_px=None if limit_px is None else D(limit_px), tick_size=TICK, lot_size=LOT
    )


def codes(errors: list[FieldError]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in errors]


@pytest.mark.parametrize(
    ("qty", "ord_type", "limit_px", "expected"),
    [
        ("0", OrdType.LIMIT, "10.00", [("qty", "not_positive")]),
        ("-100", OrdType.MARKET, None, [("qty", "not_positive")]),
        ("150", OrdType.LIMIT, "10.00", [("qty", "off_lot")]),
        ("100.5", OrdType.MARKET, None, [("qty", "off_lot")]),
        ("100", OrdType.LIMIT, None, [("limit_px", "required")]),
        ("100", OrdType.LIMIT, "-1.00", [("limit_px", "not_positive")]),
        ("100", OrdType.LIMIT, "0", [("limit_px", "not_positive")]),
        ("100", OrdType.LIMIT, "10.005", [("limit_px", "off_tick")]),
        ("100", OrdType.MARKET, "10.00", [("limit_px", "not_allowed")]),
        ("0", OrdType.LIMIT, None, [("qty", "not_positive"), ("limit_px", "required")]),
        ("150", OrdType.MARKET, "10.00", [("qty", "off_lot"), ("limit_px", "not_allowed")]),
        ("100", OrdType.LIMIT, "10.00", []),
        ("2500", OrdType.LIMIT, "0.01", []),
        ("100", OrdType.MARKET, None, []),
    ],
)
def test_order_check_codes(qty, ord_type, limit_px, expected):
    # given / when
    errors = check(qty, ord_type, limit_px)
    # then
    assert codes(errors) == expected


def test_order_check_messages_say_what_was_wrong():
    # given / when
    errors = check("150", OrdType.LIMIT, "10.005")
    # then
    assert errors == [
        FieldError("qty", "off_lot", "invalid `qty`, was 150: must be a multiple of the lot size 100"),
        FieldError("limit_px", "off_tick", "invalid `limit_px`, was 10.005: must be a multiple of the tick size 0.01"),
    ]


def test_order_check_not_positive_and_not_allowed_messages():
    # given / when / then
    assert check("-5", OrdType.MARKET, "1.00") == [
        FieldError("qty", "not_positive", "invalid `qty`, was -5: must be greater than 0"),
        FieldError("limit_px", "not_allowed", "a MARKET order takes no `limit_px`"),
    ]
    assert check("100", OrdType.LIMIT, None) == [FieldError("limit_px", "required", "a LIMIT order needs `limit_px`")]


# --- route_whole -----------------------------------------------------------------------


def quote(venue: str, fee: str, px: str | None, qty: str = "500") -> VenueQuote:
    return VenueQuote(venue=venue, taker_fee=D(fee), px=None if px is None else D(px), qty=D(qty))


def test_buy_routes_to_the_lowest_ask_plus_fee():
    # given
    venues = [quote("AAA", "0.0030", "10.02"), quote("BBB", "0.0030", "10.01"), quote("CCC", "0.0120", "10.01")]
    # when
    route = route_whole(side=Side.BUY, venues=venues)
    # then
    assert route == Route("BBB", "best fee-adjusted price: 10.01 + 0.0030/sh fee, 500 shown")


def test_buy_fee_can_outweigh_a_better_price():
    # given 10.01 + 0.0150 = 10.0250 against 10.02 + 0.0010 = 10.0210
    venues = [quote("AAA", "0.0150", "10.01"), quote("BBB", "0.0010", "10.02")]
    # when
    route = route_whole(side=Side.BUY, venues=venues)
    # then
    assert route.venue == "BBB"


def test_sell_routes_to_the_highest_bid_less_fee():
    # given nets 9.9870, 9.9820 (rebate), 9.9890
    venues = [quote("AAA", "0.0030", "9.99"), quote("BBB", "-0.0020", "9.98"), quote("CCC", "0.0010", "9.99")]
    # when
    route = route_whole(side=Side.SELL, venues=venues)
    # then
    assert route.venue == "CCC"


def test_sell_rebate_can_outweigh_a_worse_bid():
    # given 9.99 - 0.0300 = 9.9600 against 9.98 + 0.0020 = 9.9820
    venues = [quote("AAA", "0.0300", "9.99"), quote("BBB", "-0.0020", "9.98")]
    # when
    route = route_whole(side=Side.SELL, venues=venues)
    # then
    assert route.venue == "BBB"


@pytest.mark.parametrize("side", list(Side))
def test_equal_all_in_price_goes_to_the_most_size(side):
    # given
    venues = [quote("AAA", "0.0030", "10.01", "300"), quote("BBB", "0.0030", "10.01", "800")]
    # when
    route = route_whole(side=side, venues=venues)
    # then
    assert route == Route("BBB", "best fee-adjusted price: 10.01 + 0.0030/sh fee, 800 shown")


def test_equal_all_in_from_different_price_and_fee_goes_to_the_most_size():
    # given 10.01 + 0.0040 == 10.012 + 0.0020
    venues = [quote("AAA", "0.0040", "10.01", "300"), quote("BBB", "0.0020", "10.012", "400")]
    # when
    route = route_whole(side=Side.BUY, venues=venues)
    # then
    assert route.venue == "BBB"


@pytest.mark.parametrize("order", [["ZED", "ARCA", "MID"], ["MID", "ZED", "ARCA"], ["ARCA", "MID", "ZED"]])
def test_full_tie_goes_to_the_lowest_code_whatever_the_order(order):
    # given
    venues = [quote(code, "0.0030", "10.01", "500") for code in order]
    # when
    route = route_whole(side=Side.BUY, venues=venues)
    # then
    assert route.venue == "ARCA"


def test_venues_without_a_quote_are_skipped_when_some_have_one():
    # given the cheapest venue shows nothing
    venues = [quote("FREE", "0.0000", None, "0"), quote("PAID", "0.0030", "10.05")]
    # when
    route = route_whole(side=Side.BUY, venues=venues)
    # then
    assert route.venue == "PAID"


def test_without_quotes_route_to_the_cheapest_fee():
    # given
    venues = [quote("AAA", "0.0030", None, "0"), quote("BBB", "0.0010", None, "0"), quote("CCC", "0.0020", None, "0")]
    # when
    route = route_whole(side=Side.SELL, venues=venues)
    # then
    assert route == Route("BBB", "no market data: cheapest taker fee (0.0010/sh)")


def test_without_quotes_a_fee_tie_goes_to_the_lowest_code():
    # given
    venues = [quote("ZZZ", "0.0010", None, "0"), quote("MMM", "0.0010", None, "0"), quote("QQQ", "0.0030", None, "0")]
    # when
    route = route_whole(side=Side.BUY, venues=venues)
    # then
    assert route.venue == "MMM"


@pytest.mark.parametrize("side", list(Side))
def test_no_venues_raises_no_venue(side):
    # given / when / then
    with pytest.raises(NoVenue, match="no active lit venue"):
        route_whole(side=side, venues=[])


venue_quotes = st.lists(
    st.builds(
        VenueQuote,
        venue=st.sampled_from(["V0", "V1", "V2", "V3", "V4", "V5"]),
        taker_fee=st.integers(min_value=-30, max_value=30).map(lambda n: D(n).scaleb(-4)),
        px=st.integers(min_value=900, max_value=1100).map(lambda n: D(n).scaleb(-2)),
        qty=st.integers(min_value=0, max_value=2000).map(D),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=200)
@given(side=st.sampled_from(Side), venues=venue_quotes)
def test_chosen_venue_has_the_best_all_in_price(side, venues):
    # given
    def cost(v: VenueQuote) -> Decimal:
        return v.px + v.taker_fee if side is Side.BUY else v.taker_fee - v.px

    # when
    route = route_whole(side=side, venues=venues)
    # then
    chosen = [v for v in venues if v.venue == route.venue]
    best = min(cost(v) for v in venues)
    assert any(cost(v) == best for v in chosen)
    tied = [v for v in venues if cost(v) == best]
    assert max(v.qty for v in chosen if cost(v) == best) == max(v.qty for v in tied)


# --- strategy -----------------------------------------------------------------------------


def test_strategy_for_a_limit_order_is_direct_resting():
    # given / when
    choice = strategy_choose(ord_type=OrdType.LIMIT)
    # then
    how = "send the whole quantity to one lit venue: it works as a limit order for its time in force"
    assert choice == StrategyChoice(DIRECT, how, {})
    assert DIRECT == "DIRECT"


def test_strategy_for_a_market_order_is_direct_ioc():
    # given / when
    choice = strategy_choose(ord_type=OrdType.MARKET)
    # then
    assert choice.name == "DIRECT"
    assert choice.rationale == "send the whole quantity to one lit venue: it takes liquidity now; any remainder is cancelled (IOC)"
    assert choice.params == {}


def test_direct_limit_slice_is_everything_left_as_a_day_limit():
    # given / when
    slices = direct_slices(leaves_qty=D("300"), ord_type=OrdType.LIMIT, limit_px=D("10.05"))
    # then
    assert slices == [Slice(1, D("300"), OrdType.LIMIT, D("10.05"), TimeInForce.DAY)]


def test_direct_market_slice_is_everything_left_as_ioc():
    # given / when
    slices = direct_slices(leaves_qty=D("250"), ord_type=OrdType.MARKET, limit_px=None)
    # then
    assert slices == [Slice(1, D("250"), OrdType.MARKET, None, TimeInForce.IOC)]


@pytest.mark.parametrize("leaves", ["0", "-100", "0.0000"])
def test_direct_slices_nothing_when_nothing_is_left(leaves):
    # given / when / then
    assert direct_slices(leaves_qty=D(leaves), ord_type=OrdType.LIMIT, limit_px=D("10.00")) == []


@pytest.mark.parametrize(
    ("ord_type", "tif", "child_tif"),
    [
        (OrdType.LIMIT, TimeInForce.IOC, TimeInForce.IOC),
        (OrdType.LIMIT, TimeInForce.GTC, TimeInForce.GTC),
        (OrdType.LIMIT, TimeInForce.FOK, TimeInForce.FOK),
        (OrdType.MARKET, TimeInForce.DAY, TimeInForce.IOC),
        (OrdType.MARKET, TimeInForce.FOK, TimeInForce.FOK),
    ],
)
def test_direct_child_keeps_the_parents_time_in_force_but_a_market_order_never_rests(ord_type, tif, child_tif):
    # given / when
    slices = direct_slices(
        leaves_qty=D("100"), ord_type=ord_type, limit_px=D("10.00") if ord_type is OrdType.LIMIT else None, tif=tif
    )
    # then
    assert [s.tif for s in slices] == [child_tif]
