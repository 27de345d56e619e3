"""Instrument analytics from market history: ADV, spread, depth, volume profile, realized volatility, errors."""

from datetime import date
from decimal import Decimal

import pytest

from venues.analytics import MarketHistory, QuoteSample, TradeRecord, analytics_compute

MINUTE = 60_000_000_000
OPEN = 570 * MINUTE  # 09:30
DAY1 = date(2024, 1, 2)
DAY2 = date(2024, 1, 3)
DAY3 = date(2024, 1, 4)


def at(minutes: float) -> int:
    """Return the time ``minutes`` after the open, in nanoseconds since midnight."""
    return OPEN + int(minutes * MINUTE)


def trade(day: date, minutes: float, qty: str, px: str = "100") -> TradeRecord:
    return TradeRecord(day, at(minutes), Decimal(px), Decimal(qty))


def quote(day: date, minutes: float, bid: str | None, ask: str | None, bid_qty: str = "100", ask_qty: str = "100") -> QuoteSample:
    return QuoteSample(
        day,
        at(minutes),
        None if bid is None else Decimal(bid),
        Decimal(bid_qty),
        None if ask is None else Decimal(ask),
        Decimal(ask_qty),
    )


def mid_quote(day: date, minutes: float, mid: str) -> QuoteSample:
    """A quote one cent wide around ``mid``."""
    return quote(day, minutes, str(Decimal(mid) - Decimal("0.005")), str(Decimal(mid) + Decimal("0.005")))


def history(trades: list[TradeRecord], quotes: list[QuoteSample], session_minutes: int = 60) -> MarketHistory:
    return MarketHistory("XYZ", OPEN, at(session_minutes), trades, quotes)


def test_adv_is_the_mean_daily_volume_and_a_day_without_trades_counts_as_zero():
    # given two days that traded 300 and 300 shares and a third that only quoted
    trades = [trade(DAY1, 1, "100"), trade(DAY1, 40, "200"), trade(DAY2, 5, "300")]
    quotes = [mid_quote(day, 0, "100") for day in (DAY1, DAY2, DAY3)]
    # when
    two_days = analytics_compute(history(trades, quotes[:2]))
    three_days = analytics_compute(history(trades, quotes))
    # then
    assert (two_days.days, two_days.adv) == (2, Decimal("300.0000"))
    assert (three_days.days, three_days.adv) == (3, Decimal("200.0000"))


def test_trades_outside_the_session_are_not_counted():
    # given a pre-open print and a print after the close around a 100-share session
    trades = [trade(DAY1, -10, "500"), trade(DAY1, 30, "100"), trade(DAY1, 61, "700")]
    # when
    result = analytics_compute(history(trades, [mid_quote(DAY1, 0, "100")]))
    # then
    assert result.adv == Decimal("100.0000")


def test_spread_and_depth_are_time_weighted_skipping_one_sided_time_for_the_spread():
    # given a pre-open quote 2 bps wide holding 20 minutes into the session, 10 minutes without a bid,
    # then a quote 4 bps wide for the last 30 minutes
    quotes = [
        quote(DAY1, -5, "99.99", "100.01", bid_qty="200", ask_qty="400"),
        quote(DAY1, 20, None, "100.02", bid_qty="0", ask_qty="120"),
        quote(DAY1, 30, "99.98", "100.02", bid_qty="200", ask_qty="200"),
    ]
    # when
    result = analytics_compute(history([trade(DAY1, 1, "100")], quotes))
    # then spread over the 50 two-sided minutes: (0.02*20 + 0.04*30) / 50 and (2*20 + 4*30) / 50 bps
    assert result.spread_px == Decimal("0.03200000")
    assert result.spread_bps == Decimal("3.2000")
    # and depth over all 60 quoted minutes: (300*20 + 60*10 + 200*30) / 60
    assert result.depth == Decimal("210.0000")


def test_a_quote_holds_within_its_day_only():
    # given day 1 quoted 2 bps wide from the open, and day 2 first quoted 4 bps wide half-way through
    quotes = [quote(DAY1, 0, "99.99", "100.01"), quote(DAY2, 30, "99.98", "100.02")]
    trades = [trade(DAY1, 1, "100"), trade(DAY2, 31, "100")]
    # when
    result = analytics_compute(history(trades, quotes))
    # then day 1's quote weighs 60 minutes, day 2's 30 (not 90): (2*60 + 4*30) / 90
    assert result.spread_bps == Decimal("2.6667")


def test_volume_profile_averages_each_days_shares_per_bucket_with_a_partial_last_bucket():
    # given 25-minute buckets over 60 minutes (the last bucket 10 minutes long); a print at the close is in it
    trades = [
        trade(DAY1, 0, "100"),
        trade(DAY1, 30, "100"),
        trade(DAY1, 60, "200"),
        trade(DAY2, 10, "300"),
    ]
    quotes = [mid_quote(DAY1, 0, "100"), mid_quote(DAY2, 0, "100"), mid_quote(DAY3, 0, "100")]
    # when day 3, which did not trade, is in the history too
    result = analytics_compute(history(trades, quotes), bucket_minutes=25)
    # then the shares are the mean of (0.25, 0.25, 0.5) and (1, 0, 0): day 3 has no shares to average
    assert result.bucket_minutes == 25
    assert result.volume_profile == (Decimal("0.625000"), Decimal("0.125000"), Decimal("0.250000"))


def test_volume_profile_puts_the_rounding_residue_in_the_largest_bucket():
    # given shares of 1/6, 1/6 and 4/6, which round to 0.166667 + 0.166667 + 0.666667 = 1.000001
    trades = [trade(DAY1, 0, "1"), trade(DAY1, 20, "1"), trade(DAY1, 40, "4")]
    # when
    result = analytics_compute(history(trades, [mid_quote(DAY1, 0, "100")]), bucket_minutes=20)
    # then the largest bucket gives back the millionth
    assert result.volume_profile == (Decimal("0.166667"), Decimal("0.166667"), Decimal("0.666666"))
    assert sum(result.volume_profile) == Decimal(1)


def test_volatility_is_the_root_of_the_summed_squared_log_returns_of_the_sampled_mid():
    # given a 10-minute session sampled every 5 minutes: mid 100 at the open, 110 at 5, 99 from minute 7
    quotes = [mid_quote(DAY1, 0, "100"), mid_quote(DAY1, 5, "110"), mid_quote(DAY1, 7, "99")]
    # when
    result = analytics_compute(history([trade(DAY1, 1, "100")], quotes, session_minutes=10), return_minutes=5)
    # then sqrt(ln(1.1)^2 + ln(0.9)^2) and that times sqrt(252)
    assert result.volatility_daily == Decimal("0.142073")
    assert result.volatility_annual == Decimal("2.255346")


def test_volatility_adds_the_mean_squared_overnight_return_to_the_mean_intraday_variance():
    # given a 12-minute session sampled at 0, 5, 10 and the close at 12: day 1 ends 1 % up,
    # day 2 opens 1 % above day 1's close and stays flat
    quotes = [mid_quote(DAY1, 0, "100"), mid_quote(DAY1, 11, "101"), mid_quote(DAY2, 0, "102.01")]
    trades = [trade(DAY1, 1, "100"), trade(DAY2, 1, "100")]
    # when
    result = analytics_compute(history(trades, quotes, session_minutes=12), return_minutes=5)
    # then variance = ln(1.01)^2 / 2 days + ln(1.01)^2 / 1 night, so daily = ln(1.01) * sqrt(1.5)
    assert result.volatility_daily == Decimal("0.012187")
    # and annual comes from the unrounded daily: 0.0121866... * sqrt(252)
    assert result.volatility_annual == Decimal("0.193457")


def test_a_grid_point_without_a_two_sided_quote_is_skipped_so_the_return_spans_the_gap():
    # given mid 100 at the open, 110 at minute 2, no bid at the 5-minute mark, 121 from minute 8
    quotes = [
        mid_quote(DAY1, 0, "100"),
        mid_quote(DAY1, 2, "110"),
        quote(DAY1, 4, None, "110"),
        mid_quote(DAY1, 8, "121"),
    ]
    # when
    result = analytics_compute(history([trade(DAY1, 1, "100")], quotes, session_minutes=10), return_minutes=5)
    # then one return from 100 to 121: ln(1.21), not two of ln(1.1)
    assert result.volatility_daily == Decimal("0.190620")


def test_empty_history_is_an_error():
    # given / when / then
    with pytest.raises(ValueError, match="no trades or quotes in the history of XYZ"):
        analytics_compute(history([], []))


def test_history_without_quotes_is_an_error():
    # given only trades
    trades = [trade(DAY1, 1, "100")]
    # when / then
    with pytest.raises(ValueError, match="no quote samples in the history of XYZ"):
        analytics_compute(history(trades, []))


def test_history_without_volume_is_an_error():
    # given quotes on two days and no trade in the session
    quotes = [mid_quote(DAY1, 0, "100"), mid_quote(DAY2, 0, "100")]
    # when / then
    with pytest.raises(ValueError, match="no traded volume in the session on any of the 2 days of XYZ"):
        analytics_compute(history([trade(DAY1, 90, "100")], quotes))


def test_history_with_only_one_sided_quotes_is_an_error():
    # given a market that never had a bid
    quotes = [quote(DAY1, 0, None, "100.01")]
    # when / then
    with pytest.raises(ValueError, match="no two-sided quotes"):
        analytics_compute(history([trade(DAY1, 1, "100")], quotes))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bucket_minutes": 0}, "invalid `bucket_minutes`, was 0"),
        ({"return_minutes": -5}, "invalid `return_minutes`, was -5"),
        ({"trading_days_per_year": 0}, "invalid `trading_days_per_year`, was 0"),
    ],
)
def test_non_positive_parameters_are_errors(kwargs, message):
    # given a valid history
    valid = history([trade(DAY1, 1, "100")], [mid_quote(DAY1, 0, "100")])
    # when / then
    with pytest.raises(ValueError, match=message):
        analytics_compute(valid, **kwargs)


def test_session_that_closes_before_it_opens_is_an_error():
    # given
    reversed_session = MarketHistory("XYZ", at(60), OPEN, [trade(DAY1, 1, "100")], [mid_quote(DAY1, 0, "100")])
    # when / then
    with pytest.raises(ValueError, match="invalid session"):
        analytics_compute(reversed_session)
