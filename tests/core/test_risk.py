"""Pre-trade risk checks: each limit passes exactly at the limit and fails one lot or cent over; every check runs."""

import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.core.risk import (
    CheckOutcome,
    Exposure,
    Limits,
    OrderIntent,
    RiskCode,
    limits_tightest,
    order_notional,
    risk_check,
    risk_failures,
)
from trading.enums import OrdType, Side

D = Decimal
BUY = Side.BUY
SELL = Side.SELL
LIMIT = OrdType.LIMIT
MARKET = OrdType.MARKET
NO_EXPOSURE = Exposure()


def limit_order(side: Side, qty: str, limit_px: str, ref_px: str | None = "100", multiplier: str = "1") -> OrderIntent:
    return OrderIntent(side, LIMIT, D(qty), D(limit_px), None if ref_px is None else D(ref_px), D(multiplier))


def market_order(side: Side, qty: str, ref_px: str | None = "100", multiplier: str = "1") -> OrderIntent:
    return OrderIntent(side, MARKET, D(qty), None, None if ref_px is None else D(ref_px), D(multiplier))


def outcome_of(code: RiskCode, outcomes: list[CheckOutcome]) -> CheckOutcome:
    [outcome] = [outcome for outcome in outcomes if outcome.check is code]
    return outcome


def codes(outcomes: list[CheckOutcome]) -> list[RiskCode]:
    return [outcome.check for outcome in outcomes]


# --- order_notional -------------------------------------------------------------------


def test_notional_of_a_limit_order_is_priced_at_its_limit_times_the_multiplier() -> None:
    # given a buy of 3 option contracts at 2.35, multiplier 100, with the mid at 2.30
    order = limit_order(BUY, "3", "2.35", ref_px="2.30", multiplier="100")
    # when / then
    assert order_notional(order) == D("705.00")


def test_notional_of_a_market_order_is_priced_at_the_reference() -> None:
    # given / when / then
    assert order_notional(market_order(SELL, "250", ref_px="40.10")) == D("10025.00")


def test_notional_of_a_market_order_without_a_reference_is_unknown() -> None:
    # given / when / then
    assert order_notional(market_order(BUY, "100", ref_px=None)) is None


def test_a_package_at_a_net_credit_risks_its_absolute_notional() -> None:
    # given a risk reversal sold for a credit of 1.50 a unit, 100 units on a 100 multiplier
    order = replace(limit_order(BUY, "100", "-1.50", ref_px="-1.40"), multiplier=D(100))
    # when it is priced and collared
    outcomes = risk_check(order, Exposure(), Limits(max_order_notional=D(15_000), collar_bps=D(1_000)))
    # then the notional is the money at stake, and the collar measures against the reference's size
    assert order_notional(order) == D(15_000)
    assert [(o.check, o.passed, o.value) for o in outcomes[2:]] == [
        (RiskCode.MAX_NOTIONAL, True, "15000"),
        (RiskCode.PRICE_COLLAR, True, "714.29"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"qty": D(0)}, "invalid `qty`, was 0: must be greater than 0"),
        ({"limit_px": None}, "a LIMIT order needs `limit_px`"),
        ({"ref_px": D(0)}, "invalid `ref_px`, was 0: give None when the reference price is unknown"),
        ({"multiplier": D(0)}, "invalid `multiplier`, was 0: must be greater than 0"),
    ],
)
def test_order_intent_rejects_what_validation_should_have_caught(kwargs: dict[str, Any], message: str) -> None:
    # given a good LIMIT order
    order = limit_order(BUY, "100", "10.00", ref_px="10.00")
    # when one field is made bad / then
    with pytest.raises(ValueError, match=f"^{message}$"):
        replace(order, **kwargs)


# --- checks that always run -----------------------------------------------------------


def test_with_no_limits_only_the_kill_switch_and_the_restricted_list_run_and_pass() -> None:
    # given / when
    outcomes = risk_check(market_order(BUY, "100"), NO_EXPOSURE, Limits())
    # then
    assert outcomes == [
        CheckOutcome(RiskCode.KILL_SWITCH, True, "no kill switch covers this order"),
        CheckOutcome(RiskCode.RESTRICTED, True, "the instrument is not on the restricted list"),
    ]


def test_an_engaged_kill_switch_fails_and_quotes_its_text() -> None:
    # given
    exposure = Exposure(kill_switch="portfolio ALPHA: market turmoil")
    # when
    outcomes = risk_check(market_order(BUY, "100"), exposure, Limits())
    # then
    assert outcome_of(RiskCode.KILL_SWITCH, outcomes) == CheckOutcome(
        RiskCode.KILL_SWITCH, False, "kill switch engaged (portfolio ALPHA: market turmoil): no new orders until it is released"
    )


def test_a_restricted_instrument_fails_and_gives_the_reason() -> None:
    # given
    exposure = Exposure(restricted="pending merger announcement")
    # when
    outcomes = risk_check(market_order(BUY, "100"), exposure, Limits())
    # then
    assert outcome_of(RiskCode.RESTRICTED, outcomes) == CheckOutcome(
        RiskCode.RESTRICTED, False, "the instrument is on the restricted list: pending merger announcement"
    )


# --- MAX_QTY ------------------------------------------------------------------------------


def test_qty_exactly_at_the_per_order_limit_passes() -> None:
    # given
    limits = Limits(max_order_qty=D("100000"))
    # when
    outcomes = risk_check(market_order(BUY, "100000"), NO_EXPOSURE, limits)
    # then
    assert outcome_of(RiskCode.MAX_QTY, outcomes) == CheckOutcome(
        RiskCode.MAX_QTY, True, "qty 100,000 is within the per-order limit of 100,000", "100000", "100000"
    )


def test_qty_one_lot_over_the_per_order_limit_fails() -> None:
    # given
    limits = Limits(max_order_qty=D("100000"))
    # when
    outcomes = risk_check(market_order(BUY, "100100"), NO_EXPOSURE, limits)
    # then
    assert outcome_of(RiskCode.MAX_QTY, outcomes) == CheckOutcome(
        RiskCode.MAX_QTY, False, "qty 100,100 is over the per-order limit of 100,000", "100100", "100000"
    )


def test_limits_in_exponent_form_are_written_out_plainly() -> None:
    # given limits as a database or a normalize() may hand them over
    limits = Limits(max_order_qty=D("1E+6"), max_order_notional=D("2.5E+7"))
    # when
    outcomes = risk_check(market_order(BUY, "1000.0000", ref_px="10.00000000"), NO_EXPOSURE, limits)
    # then
    assert outcome_of(RiskCode.MAX_QTY, outcomes) == CheckOutcome(
        RiskCode.MAX_QTY, True, "qty 1,000 is within the per-order limit of 1,000,000", "1000", "1000000"
    )
    assert outcome_of(RiskCode.MAX_NOTIONAL, outcomes) == CheckOutcome(
        RiskCode.MAX_NOTIONAL,
        True,
        "order notional 10,000.00 USD is within the per-order limit of 25,000,000.00 USD",
        "10000",
        "25000000",
    )


# --- MAX_NOTIONAL ---------------------------------------------------------------------


def test_notional_exactly_at_the_per_order_limit_passes() -> None:
    # given 10,000 at 100.00
    limits = Limits(max_order_notional=D("1000000.00"))
    # when
    outcomes = risk_check(limit_order(BUY, "10000", "100.00"), NO_EXPOSURE, limits)
    # then
    assert outcome_of(RiskCode.MAX_NOTIONAL, outcomes) == CheckOutcome(
        RiskCode.MAX_NOTIONAL,
        True,
        "order notional 1,000,000.00 USD is within the per-order limit of 1,000,000.00 USD",
        "1000000",
        "1000000",
    )


def test_notional_one_cent_over_the_per_order_limit_fails() -> None:
    # given one share at 1,000,000.01
    limits = Limits(max_order_notional=D("1000000.00"))
    order = OrderIntent(BUY, LIMIT, D(1), D("1000000.01"), D("1000000.00"), currency="EUR")
    # when
    outcomes = risk_check(order, NO_EXPOSURE, limits)
    # then
    assert outcome_of(RiskCode.MAX_NOTIONAL, outcomes) == CheckOutcome(
        RiskCode.MAX_NOTIONAL,
        False,
        "order notional 1,000,000.01 EUR is over the per-order limit of 1,000,000.00 EUR",
        "1000000.01",
        "1000000",
    )


def test_a_notional_a_fraction_of_a_cent_over_shows_its_sub_cent_digits() -> None:
    # given 4 shares at 0.001 over a price that reaches the limit exactly
    limits = Limits(max_order_notional=D("1000.00"))
    # when
    outcomes = risk_check(limit_order(BUY, "4", "250.001"), NO_EXPOSURE, limits)
    # then rounding to the cent would show 1,000.00 over a limit of 1,000.00
    assert outcome_of(RiskCode.MAX_NOTIONAL, outcomes) == CheckOutcome(
        RiskCode.MAX_NOTIONAL,
        False,
        "order notional 1,000.004 USD is over the per-order limit of 1,000.00 USD",
        "1000.004",
        "1000",
    )


def test_notional_counts_the_multiplier() -> None:
    # given 10 contracts at 5.00, multiplier 100
    limits = Limits(max_order_notional=D("4999.99"))
    # when
    outcomes = risk_check(limit_order(BUY, "10", "5.00", ref_px="5.00", multiplier="100"), NO_EXPOSURE, limits)
    # then
    assert outcome_of(RiskCode.MAX_NOTIONAL, outcomes).value == "5000"
    assert not outcome_of(RiskCode.MAX_NOTIONAL, outcomes).passed


# --- NO_REFERENCE_PRICE -------------------------------------------------------------------


def test_market_order_without_a_reference_fails_once_and_skips_every_notional_check() -> None:
    # given all three notional limits set
    limits = Limits(max_order_notional=D(1_000_000), credit_limit=D(5_000_000), daily_notional=D(10_000_000))
    # when
    outcomes = risk_check(market_order(BUY, "100", ref_px=None), NO_EXPOSURE, limits)
    # then
    assert outcomes[2:] == [
        CheckOutcome(
            RiskCode.NO_REFERENCE_PRICE,
            False,
            "no reference price for a MARKET order: its notional cannot be checked; send a LIMIT order",
        )
    ]
    assert codes(outcomes) == [RiskCode.KILL_SWITCH, RiskCode.RESTRICTED, RiskCode.NO_REFERENCE_PRICE]


@pytest.mark.parametrize("limits", [Limits(daily_notional=D(1)), Limits(credit_limit=D(1)), Limits(max_order_notional=D(1))])
def test_any_one_notional_limit_needs_the_reference(limits: Limits) -> None:
    # given / when
    outcomes = risk_check(market_order(SELL, "100", ref_px=None), NO_EXPOSURE, limits)
    # then
    assert codes(risk_failures(outcomes)) == [RiskCode.NO_REFERENCE_PRICE]


def test_market_order_without_a_reference_passes_when_no_notional_is_limited() -> None:
    # given only quantity, position and collar limits (a collar applies to LIMIT orders only)
    limits = Limits(max_order_qty=D(1000), max_position_qty=D(1000), collar_bps=D(500))
    # when
    outcomes = risk_check(market_order(BUY, "100", ref_px=None), NO_EXPOSURE, limits)
    # then
    assert codes(outcomes) == [RiskCode.KILL_SWITCH, RiskCode.RESTRICTED, RiskCode.MAX_QTY, RiskCode.POSITION_LIMIT]
    assert risk_failures(outcomes) == []


def test_limit_order_without_a_reference_cannot_be_collared() -> None:
    # given a collar, and notional limits the limit price can still check
    limits = Limits(collar_bps=D(500), max_order_notional=D(1_000_000))
    # when
    outcomes = risk_check(limit_order(SELL, "100", "112.00", ref_px=None), NO_EXPOSURE, limits)
    # then
    assert codes(outcomes) == [RiskCode.KILL_SWITCH, RiskCode.RESTRICTED, RiskCode.MAX_NOTIONAL, RiskCode.NO_REFERENCE_PRICE]
    assert outcomes[-1] == CheckOutcome(
        RiskCode.NO_REFERENCE_PRICE,
        False,
        "no reference price: the sell limit 112.00 cannot be checked against the 500 bps price collar",
    )
    assert outcome_of(RiskCode.MAX_NOTIONAL, outcomes).passed


# --- PRICE_COLLAR ---------------------------------------------------------------------------


def test_buy_limit_exactly_at_the_collar_passes() -> None:
    # given
    limits = Limits(collar_bps=D(500))
    # when
    outcomes = risk_check(limit_order(BUY, "100", "105.00"), NO_EXPOSURE, limits)
    # then
    assert outcome_of(RiskCode.PRICE_COLLAR, outcomes) == CheckOutcome(
        RiskCode.PRICE_COLLAR,
        True,
        "buy limit 105.00 is 500.00 bps above the reference 100.00; within the 500 bps collar",
        "500",
        "500",
    )


def test_buy_limit_one_tick_outside_the_collar_fails() -> None:
    # given
    limits = Limits(collar_bps=D(500))
    # when
    outcomes = risk_check(limit_order(BUY, "100", "105.01"), NO_EXPOSURE, limits)
    # then
    assert outcome_of(RiskCode.PRICE_COLLAR, outcomes) == CheckOutcome(
        RiskCode.PRICE_COLLAR,
        False,
        "buy limit 105.01 is 501.00 bps above the reference 100.00; the collar is 500 bps",
        "501",
        "500",
    )


def test_the_collar_says_which_way_and_by_how_much() -> None:
    # given
    limits = Limits(collar_bps=D(500))
    # when
    outcomes = risk_check(limit_order(BUY, "100", "112.00"), NO_EXPOSURE, limits)
    # then
    assert outcome_of(RiskCode.PRICE_COLLAR, outcomes).message == (
        "buy limit 112.00 is 1,200.00 bps above the reference 100.00; the collar is 500 bps"
    )


def test_the_collar_applies_on_either_side_of_the_reference() -> None:
    # given a sell priced through the market, far below the reference
    limits = Limits(collar_bps=D("250.5"))
    # when
    outcomes = risk_check(limit_order(SELL, "100", "97.49"), NO_EXPOSURE, limits)
    # then
    assert outcome_of(RiskCode.PRICE_COLLAR, outcomes) == CheckOutcome(
        RiskCode.PRICE_COLLAR,
        False,
        "sell limit 97.49 is 251.00 bps below the reference 100.00; the collar is 250.5 bps",
        "251",
        "250.5",
    )


def test_a_limit_at_the_reference_is_zero_bps_away() -> None:
    # given
    limits = Limits(collar_bps=D(0))
    # when
    outcomes = risk_check(limit_order(SELL, "100", "100.00"), NO_EXPOSURE, limits)
    # then
    assert outcome_of(RiskCode.PRICE_COLLAR, outcomes) == CheckOutcome(
        RiskCode.PRICE_COLLAR,
        True,
        "sell limit 100.00 is 0.00 bps away from the reference 100.00; within the 0 bps collar",
        "0",
        "0",
    )


def test_the_deviation_rounds_up_to_the_hundredth_of_a_bp() -> None:
    # given 0.01 over 3.00 is 33.333... bps
    limits = Limits(collar_bps=D("33.33"))
    # when
    outcomes = risk_check(limit_order(BUY, "100", "3.01", ref_px="3.00"), NO_EXPOSURE, limits)
    # then a fraction of a bp over the collar is over it
    assert outcome_of(RiskCode.PRICE_COLLAR, outcomes).value == "33.34"
    assert not outcome_of(RiskCode.PRICE_COLLAR, outcomes).passed


def test_market_orders_are_not_collared() -> None:
    # given
    limits = Limits(collar_bps=D(1))
    # when
    outcomes = risk_check(market_order(BUY, "100"), NO_EXPOSURE, limits)
    # then
    assert RiskCode.PRICE_COLLAR not in codes(outcomes)
    assert risk_failures(outcomes) == []


# --- CREDIT_LIMIT -------------------------------------------------------------------------


def test_credit_exactly_at_the_limit_passes() -> None:
    # given 200,000 working, 50,000 filled today, and a 750,000 order
    exposure = Exposure(open_notional=D("200000.00"), filled_notional_today=D("50000.00"))
    limits = Limits(credit_limit=D("1000000.00"))
    # when
    outcomes = risk_check(limit_order(BUY, "7500", "100.00"), exposure, limits)
    # then
    assert outcome_of(RiskCode.CREDIT_LIMIT, outcomes) == CheckOutcome(
        RiskCode.CREDIT_LIMIT,
        True,
        "credit in use with this order 1,000,000.00 USD (open orders 200,000.00 + filled today 50,000.00"
        " + this order 750,000.00) is within the credit limit of 1,000,000.00 USD",
        "1000000",
        "1000000",
    )


def test_credit_one_cent_over_the_limit_fails() -> None:
    # given
    exposure = Exposure(open_notional=D("200000.01"), filled_notional_today=D("50000.00"))
    limits = Limits(credit_limit=D("1000000.00"))
    # when
    outcomes = risk_check(limit_order(SELL, "7500", "100.00"), exposure, limits)
    # then
    assert outcome_of(RiskCode.CREDIT_LIMIT, outcomes) == CheckOutcome(
        RiskCode.CREDIT_LIMIT,
        False,
        "credit in use with this order 1,000,000.01 USD (open orders 200,000.01 + filled today 50,000.00"
        " + this order 750,000.00) is over the credit limit of 1,000,000.00 USD",
        "1000000.01",
        "1000000",
    )


# --- POSITION_LIMIT ------------------------------------------------------------------------


def test_buy_whose_worst_case_position_is_exactly_at_the_limit_passes() -> None:
    # given long 5,000 with 2,000 more being bought
    exposure = Exposure(position_qty=D(5000), open_buy_qty=D(2000), open_sell_qty=D(9000))
    limits = Limits(max_position_qty=D(10000))
    # when
    outcomes = risk_check(market_order(BUY, "3000"), exposure, limits)
    # then the working sells do not offset: they may never fill
    assert outcome_of(RiskCode.POSITION_LIMIT, outcomes) == CheckOutcome(
        RiskCode.POSITION_LIMIT,
        True,
        "worst-case position with this order 10,000 (position 5,000 + open buys 2,000 + this buy 3,000)"
        " is within the position limit of 10,000 long or short",
        "10000",
        "10000",
    )


def test_buy_one_lot_over_the_position_limit_fails() -> None:
    # given
    exposure = Exposure(position_qty=D(5000), open_buy_qty=D(2000))
    limits = Limits(max_position_qty=D(10000))
    # when
    outcomes = risk_check(market_order(BUY, "3100"), exposure, limits)
    # then
    assert outcome_of(RiskCode.POSITION_LIMIT, outcomes) == CheckOutcome(
        RiskCode.POSITION_LIMIT,
        False,
        "worst-case position with this order 10,100 (position 5,000 + open buys 2,000 + this buy 3,100)"
        " is over the position limit of 10,000 long or short",
        "10100",
        "10000",
    )


def test_sell_that_takes_the_position_short_past_the_limit_fails() -> None:
    # given long 1,000 with 3,000 being sold
    exposure = Exposure(position_qty=D(1000), open_buy_qty=D(50000), open_sell_qty=D(3000))
    limits = Limits(max_position_qty=D(10000))
    # when
    outcomes = risk_check(market_order(SELL, "8001"), exposure, limits)
    # then
    assert outcome_of(RiskCode.POSITION_LIMIT, outcomes) == CheckOutcome(
        RiskCode.POSITION_LIMIT,
        False,
        "worst-case position with this order -10,001 (position 1,000 - open sells 3,000 - this sell 8,001)"
        " is over the position limit of 10,000 long or short",
        "10001",
        "10000",
    )


def test_sell_exactly_at_the_short_limit_passes() -> None:
    # given
    exposure = Exposure(position_qty=D(1000), open_sell_qty=D(3000))
    limits = Limits(max_position_qty=D(10000))
    # when
    outcomes = risk_check(market_order(SELL, "8000"), exposure, limits)
    # then
    assert outcome_of(RiskCode.POSITION_LIMIT, outcomes).passed
    assert outcome_of(RiskCode.POSITION_LIMIT, outcomes).value == "10000"


def test_buy_that_reduces_a_short_over_the_limit_passes() -> None:
    # given short 12,000, over the limit, being bought back
    exposure = Exposure(position_qty=D(-12000))
    limits = Limits(max_position_qty=D(10000))
    # when
    outcomes = risk_check(market_order(BUY, "2000"), exposure, limits)
    # then
    assert outcome_of(RiskCode.POSITION_LIMIT, outcomes) == CheckOutcome(
        RiskCode.POSITION_LIMIT,
        True,
        "worst-case position with this order -10,000 (position -12,000 + open buys 0 + this buy 2,000)"
        " is within the position limit of 10,000 long or short",
        "10000",
        "10000",
    )


def test_fractional_quantities_drop_trailing_zeros() -> None:
    # given
    exposure = Exposure(position_qty=D("0.5000"))
    limits = Limits(max_position_qty=D("1.0000"))
    # when
    outcomes = risk_check(market_order(BUY, "0.5001"), exposure, limits)
    # then
    assert outcome_of(RiskCode.POSITION_LIMIT, outcomes) == CheckOutcome(
        RiskCode.POSITION_LIMIT,
        False,
        "worst-case position with this order 1.0001 (position 0.5 + open buys 0 + this buy 0.5001)"
        " is over the position limit of 1 long or short",
        "1.0001",
        "1",
    )


# --- DAILY_NOTIONAL -------------------------------------------------------------------------


def test_daily_notional_exactly_at_the_limit_passes() -> None:
    # given
    exposure = Exposure(submitted_notional_today=D("1500000.00"))
    limits = Limits(daily_notional=D("2000000.00"))
    # when
    outcomes = risk_check(market_order(BUY, "5000", ref_px="100.00"), exposure, limits)
    # then
    assert outcome_of(RiskCode.DAILY_NOTIONAL, outcomes) == CheckOutcome(
        RiskCode.DAILY_NOTIONAL,
        True,
        "notional submitted today with this order 2,000,000.00 USD (earlier orders 1,500,000.00 + this order 500,000.00)"
        " is within the daily limit of 2,000,000.00 USD",
        "2000000",
        "2000000",
    )


def test_daily_notional_one_cent_over_the_limit_fails() -> None:
    # given
    exposure = Exposure(submitted_notional_today=D("1500000.01"))
    limits = Limits(daily_notional=D("2000000.00"))
    # when
    outcomes = risk_check(market_order(BUY, "5000", ref_px="100.00"), exposure, limits)
    # then
    assert outcome_of(RiskCode.DAILY_NOTIONAL, outcomes) == CheckOutcome(
        RiskCode.DAILY_NOTIONAL,
        False,
        "notional submitted today with this order 2,000,000.01 USD (earlier orders 1,500,000.01 + this order 500,000.00)"
        " is over the daily limit of 2,000,000.00 USD",
        "2000000.01",
        "2000000",
    )


# --- THROTTLE -----------------------------------------------------------------------------


def test_the_last_order_the_throttle_allows_passes() -> None:
    # given 9 orders in the last second
    limits = Limits(max_orders=10, per_seconds=1)
    # when
    outcomes = risk_check(market_order(BUY, "100"), Exposure(recent_orders=9), limits)
    # then
    assert outcome_of(RiskCode.THROTTLE, outcomes) == CheckOutcome(
        RiskCode.THROTTLE, True, "10 orders in 1 s with this one is within 10 orders in 1 s", "10", "10"
    )


def test_one_order_more_than_the_throttle_allows_fails() -> None:
    # given
    limits = Limits(max_orders=10, per_seconds=1)
    # when
    outcomes = risk_check(market_order(BUY, "100"), Exposure(recent_orders=10), limits)
    # then
    assert outcome_of(RiskCode.THROTTLE, outcomes) == CheckOutcome(
        RiskCode.THROTTLE, False, "11 orders in 1 s with this one is more than 10 orders in 1 s: slow down", "11", "10"
    )


def test_a_throttle_of_one_order_a_minute_speaks_in_the_singular() -> None:
    # given
    limits = Limits(max_orders=1, per_seconds=60)
    # when
    outcomes = risk_check(market_order(BUY, "100"), NO_EXPOSURE, limits)
    # then
    assert outcome_of(RiskCode.THROTTLE, outcomes).message == "1 order in 60 s with this one is within 1 order in 60 s"


# --- DUPLICATE ----------------------------------------------------------------------------


def test_an_order_with_no_identical_one_in_the_window_passes() -> None:
    # given
    limits = Limits(duplicate_seconds=5)
    # when
    outcomes = risk_check(market_order(BUY, "100"), NO_EXPOSURE, limits)
    # then
    assert outcome_of(RiskCode.DUPLICATE, outcomes) == CheckOutcome(RiskCode.DUPLICATE, True, "no identical order in the last 5 s")


def test_a_duplicate_names_the_earlier_order_and_how_to_send_it_anyway() -> None:
    # given
    limits = Limits(duplicate_seconds=5)
    # when
    outcomes = risk_check(market_order(BUY, "100"), Exposure(duplicate_of=123), limits)
    # then
    assert outcome_of(RiskCode.DUPLICATE, outcomes) == CheckOutcome(
        RiskCode.DUPLICATE,
        False,
        "identical to order #123 sent in the last 5 s: resend with `allow_duplicate: true` if intended",
    )


def test_no_duplicate_check_without_a_window() -> None:
    # given an identical order, but no duplicate window configured
    # when
    outcomes = risk_check(market_order(BUY, "100"), Exposure(duplicate_of=123), Limits())
    # then
    assert RiskCode.DUPLICATE not in codes(outcomes)


# --- every check, every failure -------------------------------------------------------------

EVERY_LIMIT = Limits(
    max_order_qty=D(100_000),
    max_order_notional=D(1_000_000),
    collar_bps=D(500),
    credit_limit=D(5_000_000),
    max_position_qty=D(200_000),
    daily_notional=D(10_000_000),
    max_orders=10,
    per_seconds=1,
    duplicate_seconds=5,
)


def test_every_check_runs_in_risk_code_order() -> None:
    # given
    order = limit_order(BUY, "1000", "101.00")
    # when
    outcomes = risk_check(order, NO_EXPOSURE, EVERY_LIMIT)
    # then
    assert codes(outcomes) == [code for code in RiskCode if code is not RiskCode.NO_REFERENCE_PRICE]
    assert risk_failures(outcomes) == []


def test_an_order_failing_three_checks_gets_three_failures() -> None:
    # given a kill switch, a limit outside the collar, and a duplicate
    exposure = Exposure(kill_switch="firm: end of day", duplicate_of=7)
    # when
    outcomes = risk_check(limit_order(BUY, "1000", "112.00"), exposure, EVERY_LIMIT)
    failures = risk_failures(outcomes)
    # then the checks after the first failure still ran, and the rest passed
    assert codes(failures) == [RiskCode.KILL_SWITCH, RiskCode.PRICE_COLLAR, RiskCode.DUPLICATE]
    assert [outcome.message for outcome in failures] == [
        "kill switch engaged (firm: end of day): no new orders until it is released",
        "buy limit 112.00 is 1,200.00 bps above the reference 100.00; the collar is 500 bps",
        "identical to order #7 sent in the last 5 s: resend with `allow_duplicate: true` if intended",
    ]
    assert len(outcomes) == 10


def test_every_failure_is_reported_at_once() -> None:
    # given an order that breaks every limit it can
    exposure = Exposure(
        restricted="insider list",
        kill_switch="desk: turmoil",
        open_notional=D(5_000_000),
        submitted_notional_today=D(10_000_000),
        recent_orders=10,
        duplicate_of=1,
    )
    # when
    outcomes = risk_check(limit_order(BUY, "200001", "200.00"), exposure, EVERY_LIMIT)
    # then
    assert codes(risk_failures(outcomes)) == [code for code in RiskCode if code is not RiskCode.NO_REFERENCE_PRICE]


def test_risk_failures_keeps_the_failed_in_order() -> None:
    # given
    passed = CheckOutcome(RiskCode.KILL_SWITCH, True, "ok")
    failed_qty = CheckOutcome(RiskCode.MAX_QTY, False, "too big", "2", "1")
    failed_throttle = CheckOutcome(RiskCode.THROTTLE, False, "too fast", "3", "2")
    # when / then
    assert risk_failures(iter([passed, failed_qty, passed, failed_throttle])) == [failed_qty, failed_throttle]


# --- limits_tightest ---------------------------------------------------------------------------


def test_tightest_takes_the_smallest_limit_set_per_field() -> None:
    # given firm, portfolio and instrument scopes
    firm = Limits(max_order_qty=D(1_000_000), max_order_notional=D(50_000_000), credit_limit=D(100_000_000))
    portfolio = Limits(max_order_notional=D(5_000_000), collar_bps=D(1000), daily_notional=D(20_000_000))
    instrument = Limits(max_order_qty=D(25_000), collar_bps=D(300), max_position_qty=D(100_000))
    # when
    tightest = limits_tightest([firm, portfolio, instrument])
    # then
    assert tightest == Limits(
        max_order_qty=D(25_000),
        max_order_notional=D(5_000_000),
        collar_bps=D(300),
        credit_limit=D(100_000_000),
        max_position_qty=D(100_000),
        daily_notional=D(20_000_000),
    )


def test_tightest_of_nothing_limits_nothing() -> None:
    # given / when / then
    assert limits_tightest([]) == Limits()
    assert limits_tightest([Limits(), Limits()]) == Limits()


def test_tightest_keeps_a_zero_limit() -> None:
    # given a scope that allows nothing
    # when
    tightest = limits_tightest([Limits(max_order_qty=D(0)), Limits(max_order_qty=D(100))])
    # then
    assert tightest.max_order_qty == D(0)


def test_tightest_throttle_is_the_lowest_rate_taken_as_a_pair() -> None:
    # given 10 a second (rate 10), 15 in 2 seconds (7.5) and 500 a minute (8.33)
    scopes = [Limits(max_orders=10, per_seconds=1), Limits(max_orders=15, per_seconds=2), Limits(max_orders=500, per_seconds=60)]
    # when
    tightest = limits_tightest(scopes)
    # then
    assert (tightest.max_orders, tightest.per_seconds) == (15, 2)


def test_tightest_throttle_on_equal_rates_is_the_shorter_burst() -> None:
    # given 20 in 2 s allows a burst of 20, 10 in 1 s only 10
    # when
    tightest = limits_tightest([Limits(max_orders=20, per_seconds=2), Limits(max_orders=10, per_seconds=1)])
    # then
    assert (tightest.max_orders, tightest.per_seconds) == (10, 1)


def test_tightest_throttle_ignores_scopes_without_one() -> None:
    # given a scope with a window but no count, which is no throttle
    # when
    tightest = limits_tightest([Limits(per_seconds=1), Limits(max_orders=100, per_seconds=10), Limits()])
    # then
    assert (tightest.max_orders, tightest.per_seconds) == (100, 10)


def test_tightest_duplicate_window_is_the_longest() -> None:
    # given
    scopes = [Limits(duplicate_seconds=2), Limits(), Limits(duplicate_seconds=30)]
    # when / then
    assert limits_tightest(iter(scopes)).duplicate_seconds == 30


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_order_qty": D(-1)}, "invalid `max_order_qty`, was -1: must not be negative"),
        ({"collar_bps": D("-0.5")}, "invalid `collar_bps`, was -0.5: must not be negative"),
        ({"max_orders": -1}, "invalid `max_orders`, was -1: must not be negative"),
        ({"duplicate_seconds": -5}, "invalid `duplicate_seconds`, was -5: must not be negative"),
        ({"per_seconds": 0}, "invalid `per_seconds`, was 0: must be at least 1"),
    ],
)
def test_limits_reject_negative_values_and_an_empty_window(kwargs: dict[str, Any], message: str) -> None:
    # given / when / then
    with pytest.raises(ValueError, match=f"^{message}$"):
        Limits(**kwargs)


# --- the property: a pass means the value is within the limit -------------------------------

QTYS = st.integers(min_value=1, max_value=2_000_000).map(lambda lots: D(lots) / 100)  # 0.01 to 20,000
PRICES = st.integers(min_value=1, max_value=10_000_000).map(lambda ticks: D(ticks) / 10_000)  # 0.0001 to 1,000
AMOUNTS = st.integers(min_value=0, max_value=10**10).map(lambda cents: D(cents) / 100)
OPTIONAL_AMOUNTS = st.none() | AMOUNTS | AMOUNTS.map(lambda amount: amount.normalize())


@st.composite
def orders(draw: st.DrawFn) -> OrderIntent:
    ord_type = draw(st.sampled_from(OrdType))
    return OrderIntent(
        side=draw(st.sampled_from(Side)),
        ord_type=ord_type,
        qty=draw(QTYS),
        limit_px=draw(PRICES) if ord_type is LIMIT else None,
        ref_px=draw(st.none() | PRICES),
        multiplier=draw(st.sampled_from([D(1), D(100), D("0.1")])),
    )


EXPOSURES = st.builds(
    Exposure,
    position_qty=st.integers(min_value=-30_000, max_value=30_000).map(D),
    open_buy_qty=st.integers(min_value=0, max_value=30_000).map(D),
    open_sell_qty=st.integers(min_value=0, max_value=30_000).map(D),
    open_notional=AMOUNTS,
    filled_notional_today=AMOUNTS,
    submitted_notional_today=AMOUNTS,
    recent_orders=st.integers(min_value=0, max_value=50),
    duplicate_of=st.none() | st.integers(min_value=1, max_value=10**6),
    restricted=st.none() | st.just("restricted"),
    kill_switch=st.none() | st.just("firm: halt"),
)
LIMITS = st.builds(
    Limits,
    max_order_qty=OPTIONAL_AMOUNTS,
    max_order_notional=OPTIONAL_AMOUNTS,
    collar_bps=st.none() | st.integers(min_value=0, max_value=5000).map(D),
    credit_limit=OPTIONAL_AMOUNTS,
    max_position_qty=OPTIONAL_AMOUNTS,
    daily_notional=OPTIONAL_AMOUNTS,
    max_orders=st.none() | st.integers(min_value=0, max_value=50),
    per_seconds=st.integers(min_value=1, max_value=60),
    duplicate_seconds=st.none() | st.integers(min_value=0, max_value=60),
)
PLAIN = re.compile(r"(0|[1-9]\d*)(\.\d*[1-9])?")
UNMEASURED = {RiskCode.KILL_SWITCH, RiskCode.RESTRICTED, RiskCode.NO_REFERENCE_PRICE, RiskCode.DUPLICATE}


@settings(max_examples=500, deadline=None)
@given(order=orders(), exposure=EXPOSURES, limits=LIMITS)
def test_each_outcome_passes_iff_its_value_is_within_its_limit(order: OrderIntent, exposure: Exposure, limits: Limits) -> None:
    # given / when
    outcomes = risk_check(order, exposure, limits)
    # then each check is reported once, in order
    reported = codes(outcomes)
    assert reported == sorted(set(reported), key=list(RiskCode).index)
    assert reported[:2] == [RiskCode.KILL_SWITCH, RiskCode.RESTRICTED]
    for outcome in outcomes:
        assert outcome.message
        if outcome.check in UNMEASURED:
            assert (outcome.value, outcome.limit) == ("", "")
            continue
        # the numbers are plain decimal strings: no exponent, no sign, no trailing zeros
        assert PLAIN.fullmatch(outcome.value), outcome.value
        assert PLAIN.fullmatch(outcome.limit), outcome.limit
        assert outcome.passed == (D(outcome.value) <= D(outcome.limit))
    # and the checks with no number behind them pass iff there is nothing to report
    assert outcome_of(RiskCode.KILL_SWITCH, outcomes).passed == (exposure.kill_switch is None)
    assert outcome_of(RiskCode.RESTRICTED, outcomes).passed == (exposure.restricted is None)
    assert all(not outcome.passed for outcome in outcomes if outcome.check is RiskCode.NO_REFERENCE_PRICE)
    if limits.duplicate_seconds is not None:
        assert outcome_of(RiskCode.DUPLICATE, outcomes).passed == (exposure.duplicate_of is None)


@settings(max_examples=300, deadline=None)
@given(order=orders(), exposure=EXPOSURES, limits=LIMITS)
def test_the_measured_values_are_the_documented_ones(order: OrderIntent, exposure: Exposure, limits: Limits) -> None:
    # given
    notional = order_notional(order)
    # when
    outcomes = {outcome.check: outcome for outcome in risk_check(order, exposure, limits)}
    # then
    if limits.max_order_qty is not None:
        assert D(outcomes[RiskCode.MAX_QTY].value) == order.qty
    if notional is not None and limits.max_order_notional is not None:
        assert D(outcomes[RiskCode.MAX_NOTIONAL].value) == notional
    if notional is not None and limits.credit_limit is not None:
        credit = exposure.open_notional + exposure.filled_notional_today + notional
        assert D(outcomes[RiskCode.CREDIT_LIMIT].value) == credit
    if notional is not None and limits.daily_notional is not None:
        assert D(outcomes[RiskCode.DAILY_NOTIONAL].value) == exposure.submitted_notional_today + notional
    if limits.max_position_qty is not None:
        on_side = exposure.open_buy_qty if order.side is BUY else exposure.open_sell_qty
        worst = exposure.position_qty + order.side.sign * (on_side + order.qty)
        assert D(outcomes[RiskCode.POSITION_LIMIT].value) == abs(worst)
    if limits.max_orders is not None:
        assert outcomes[RiskCode.THROTTLE].value == str(exposure.recent_orders + 1)
    needs_notional = limits.max_order_notional is not None or limits.credit_limit is not None or limits.daily_notional is not None
    collared = limits.collar_bps is not None and order.ord_type is LIMIT
    no_reference = (needs_notional and notional is None) or (collared and order.ref_px is None)
    assert (RiskCode.NO_REFERENCE_PRICE in outcomes) == no_reference
    assert (RiskCode.PRICE_COLLAR in outcomes) == (collared and order.ref_px is not None)
    if RiskCode.PRICE_COLLAR in outcomes:
        assert order.limit_px is not None
        assert order.ref_px is not None
        exact_bps = abs(order.limit_px - order.ref_px) * 10_000 / order.ref_px
        measured_bps = D(outcomes[RiskCode.PRICE_COLLAR].value)
        assert exact_bps <= measured_bps < exact_bps + D("0.01")


LIMIT_FIELDS = {
    RiskCode.MAX_QTY: "max_order_qty",
    RiskCode.MAX_NOTIONAL: "max_order_notional",
    RiskCode.PRICE_COLLAR: "collar_bps",
    RiskCode.CREDIT_LIMIT: "credit_limit",
    RiskCode.POSITION_LIMIT: "max_position_qty",
    RiskCode.DAILY_NOTIONAL: "daily_notional",
}
UNLIMITED = Limits(
    max_order_qty=D("1E+20"),
    max_order_notional=D("1E+20"),
    collar_bps=D("1E+20"),
    credit_limit=D("1E+20"),
    max_position_qty=D("1E+20"),
    daily_notional=D("1E+20"),
    max_orders=10**6,
)


def with_limit(code: RiskCode, limit: Decimal) -> Limits:
    """Return UNLIMITED with the limit that ``code`` checks set to ``limit``."""
    if code is RiskCode.THROTTLE:
        return replace(UNLIMITED, max_orders=int(limit))
    changes: dict[str, Any] = {LIMIT_FIELDS[code]: limit}
    return replace(UNLIMITED, **changes)


@settings(max_examples=300, deadline=None)
@given(order=orders(), exposure=EXPOSURES)
def test_a_limit_equal_to_the_measured_value_passes_and_anything_under_fails(order: OrderIntent, exposure: Exposure) -> None:
    # given what each check measures when nothing is near its limit
    measured = {outcome.check: D(outcome.value) for outcome in risk_check(order, exposure, UNLIMITED) if outcome.value}
    checked = {RiskCode.MAX_QTY, RiskCode.POSITION_LIMIT, RiskCode.THROTTLE}
    if order_notional(order) is not None:
        checked |= {RiskCode.MAX_NOTIONAL, RiskCode.CREDIT_LIMIT, RiskCode.DAILY_NOTIONAL}
    if order.ord_type is LIMIT and order.ref_px is not None:
        checked.add(RiskCode.PRICE_COLLAR)
    assert set(measured) == checked
    for code, value in measured.items():
        step = D(1) if code is RiskCode.THROTTLE else D("1E-12")  # finer than any value here
        # when
        at_limit = outcome_of(code, risk_check(order, exposure, with_limit(code, value)))
        under_limit = outcome_of(code, risk_check(order, exposure, with_limit(code, max(value - step, D(0)))))
        # then
        assert at_limit.passed, at_limit.message
        assert under_limit.passed == (value == 0), under_limit.message
