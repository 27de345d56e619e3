"""Venue scores: the Beta prior and posterior fill rate, qty-weighted markouts, rejects, latency, Thompson sampling."""

import random
from collections import Counter
from decimal import Decimal
from types import MappingProxyType

import pytest

from router.core.market import RouteRequest, RouterParams, VenueBook
from router.core.policy import route
from router.core.scoring import VenueScore, VenueStats, venue_score
from trading.enums import Side, TimeInForce, Urgency, VenueKind

D = Decimal
MEAN = RouterParams(exploration=D(0))  # rank by the posterior mean
SAMPLED = RouterParams(exploration=D(1))  # Thompson sampling


def score(stats: VenueStats, *, latency: str = "1.5", params: RouterParams = MEAN, seed: int = 1) -> VenueScore:
    return venue_score(stats, declared_latency_ms=D(latency), params=params, rng=random.Random(seed))


def test_a_venue_without_history_starts_at_one_half() -> None:
    # given / when
    result = score(VenueStats())
    # then
    assert result.fill_rate == pytest.approx(0.5)
    assert result.fill_rate_drawn == pytest.approx(0.5)
    assert result.markout_bps == 0
    assert result.reject_rate == 0
    assert result.latency_ms == pytest.approx(1.5)  # the declared latency, nothing measured yet
    assert result.value == pytest.approx(0.4985)  # 0.5 - 0.001 x 1.5 ms
    assert result.describe() == "fill rate 50%, markout +0.0 bps, rejects 0%, latency 1.5 ms"


def test_the_fill_rate_moves_with_the_filled_share_of_finished_orders() -> None:
    # given 8 orders that filled 6 in all, and 8 that filled 1
    good = VenueStats(orders=8, filled_share_sum=D(6))
    poor = VenueStats(orders=8, filled_share_sum=D(1))
    # when
    good_score, poor_score = score(good), score(poor)
    # then Beta(1 + filled, 1 + unfilled): 7/10 and 2/10
    assert good_score.fill_rate == pytest.approx(0.7)
    assert poor_score.fill_rate == pytest.approx(0.2)
    assert good_score.value - poor_score.value == pytest.approx(0.5)


def test_markouts_are_weighted_by_the_quantity_measured() -> None:
    # given 100 shares at +5 bps after 1 s and 300 shares at -1 bps after 60 s
    stats = VenueStats(markouts=MappingProxyType({1: (D(100), D(500)), 60: (D(300), D(-300))}))
    # when
    result = score(stats)
    # then (500 - 300) / 400, not the plain mean of 5 and -1
    assert result.markout_bps == pytest.approx(0.5)
    assert result.value == pytest.approx(0.4985 + 0.02 * 0.5)


def test_adverse_markouts_lower_the_value() -> None:
    # given
    adverse = VenueStats(markouts=MappingProxyType({5: (D(1000), D(-4000))}))
    # when
    result = score(adverse)
    # then -4 bps at 0.02 a bp
    assert result.markout_bps == pytest.approx(-4)
    assert result.value == pytest.approx(0.4985 - 0.08)


def test_rejects_lower_the_value() -> None:
    # given the same fills, one venue with 2 rejects in 8 orders
    clean = VenueStats(orders=8, filled_share_sum=D(4))
    rejecting = VenueStats(orders=8, filled_share_sum=D(4), rejects=2)
    # when
    clean_score, rejecting_score = score(clean), score(rejecting)
    # then the reject rate has the same prior: 2 / (8 + 2)
    assert rejecting_score.reject_rate == pytest.approx(0.2)
    assert clean_score.value - rejecting_score.value == pytest.approx(0.2)


def test_measured_latency_replaces_the_declared_one_and_lowers_the_value() -> None:
    # given 4 acknowledgements taking 20 ms in all
    slow = VenueStats(acks=4, ack_ms_sum=D(20))
    # when
    measured = score(slow, latency="1")
    declared = score(VenueStats(), latency="1")
    # then
    assert measured.latency_ms == pytest.approx(5)
    assert declared.latency_ms == pytest.approx(1)
    assert declared.value - measured.value == pytest.approx(0.004)


def test_without_exploration_the_drawn_fill_rate_is_the_mean() -> None:
    # given
    cases = [VenueStats(), VenueStats(orders=3, filled_share_sum=D("2.5")), VenueStats(orders=50, filled_share_sum=D(10))]
    # when
    results = [score(stats, seed=seed) for stats in cases for seed in range(5)]
    # then
    assert all(r.fill_rate_drawn == r.fill_rate for r in results)


def test_with_exploration_the_drawn_fill_rate_varies_around_the_mean() -> None:
    # given
    stats = VenueStats(orders=10, filled_share_sum=D(6))
    # when
    drawn = [score(stats, params=SAMPLED, seed=seed).fill_rate_drawn for seed in range(200)]
    # then
    assert all(0 < d < 1 for d in drawn)
    assert len(set(drawn)) == 200
    assert min(drawn) < 7 / 12 < max(drawn)


def _venue(code: str) -> VenueBook:
    return VenueBook(
        code=code,
        kind=VenueKind.LIT,
        state="OPEN",
        maker_fee=D("-0.0020"),
        taker_fee=D("0.0030"),
        latency_ms=D(1),
        age_ms=0,
        asks=((D("100.01"), D(1000)),),
    )


def test_thompson_sampling_mostly_picks_the_better_venue_but_still_tries_the_other() -> None:
    # given two venues showing the same size at the same price and fees; B has filled our orders more often
    venues = [_venue("A"), _venue("B")]
    stats = {"A": VenueStats(orders=10, filled_share_sum=D(3)), "B": VenueStats(orders=10, filled_share_sum=D(6))}
    req = RouteRequest("ACME", Side.BUY, D(500), D("100.05"), Urgency.HIGH, TimeInForce.IOC, D(1), D("0.01"))
    rng = random.Random(11)
    # when 300 decisions are made, one after another
    chosen = Counter(route(req, venues, stats=stats, params=SAMPLED, rng=rng).orders[0].venue for _ in range(300))
    # then
    assert chosen["A"] + chosen["B"] == 300
    assert chosen["B"] > chosen["A"] > 0


def test_without_exploration_the_better_venue_is_always_picked() -> None:
    # given
    venues = [_venue("A"), _venue("B")]
    stats = {"A": VenueStats(orders=10, filled_share_sum=D(3)), "B": VenueStats(orders=10, filled_share_sum=D(6))}
    req = RouteRequest("ACME", Side.BUY, D(500), D("100.05"), Urgency.HIGH, TimeInForce.IOC, D(1), D("0.01"))
    rng = random.Random(11)
    # when
    chosen = Counter(route(req, venues, stats=stats, params=MEAN, rng=rng).orders[0].venue for _ in range(50))
    # then
    assert chosen == Counter({"B": 50})
