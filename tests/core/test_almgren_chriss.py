"""Almgren & Chriss (2000) optimal execution, checked on the paper's example."""

import math
import random
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest

from ems.core.almgren_chriss import (
    AcParams,
    ac_cost_variance,
    ac_fractions,
    ac_frontier,
    ac_optimal_cost_variance,
    ac_params_for,
    ac_plan,
    risk_aversion_for,
)
from trading.enums import Urgency

# The paper's example: S0 = 50, 30 % a year, 250 trading days, spread 1/8, ADV 5,000,000.
SIGMA = 0.3 * 50 / math.sqrt(250)  # 0.9487 $/share/day^0.5; sigma^2 = 0.9
EXAMPLE = AcParams(shares=1_000_000.0, horizon=5.0, intervals=5, sigma=SIGMA, eps=0.0625, eta=2.5e-6, gamma=2.5e-7)
TAU = 1.0
ETA_TILDE = 2.5e-6 - 2.5e-7 * TAU / 2  # 2.375e-6
PAPER_LAMBDA = 1e-6

# Known figures for lam = 1e-6, derived below from the formulas (not from the module):
KAPPA_EXAMPLE = 0.6063  # per day
KAPPA_T_EXAMPLE = 3.0313
# lam = 0: 1/2 gamma X^2 + eps X + eta_tilde X^2 / T = 125,000 + 62,500 + 475,000
LINEAR_COST = 662_500.00


def independent_kappa(lam: float) -> float:
    kappa_tilde_sq = lam * SIGMA**2 / ETA_TILDE
    return math.acosh(kappa_tilde_sq * TAU**2 / 2 + 1) / TAU


def objective(params: AcParams, trades: Sequence[float], lam: float) -> float:
    expected_cost, variance = ac_cost_variance(params, trades)
    return expected_cost + lam * variance


# --- the optimal trajectory ------------------------------------------------------------


def test_kappa_in_the_paper_example() -> None:
    # given the paper's example and lam = 1e-6
    # when
    plan = ac_plan(EXAMPLE, PAPER_LAMBDA)
    # then kappa is about 0.6 a day (kappa T about 3), as the arccosh formula gives
    kappa = independent_kappa(PAPER_LAMBDA)
    assert kappa == pytest.approx(KAPPA_EXAMPLE, abs=5e-5)
    assert kappa * 5 == pytest.approx(KAPPA_T_EXAMPLE, abs=5e-5)
    assert plan.kappa == pytest.approx(kappa, rel=1e-12)
    assert plan.kappa * EXAMPLE.horizon == pytest.approx(KAPPA_T_EXAMPLE, abs=5e-5)


def test_trajectory_follows_the_sinh_formula() -> None:
    # given
    kappa = independent_kappa(PAPER_LAMBDA)
    expected = [1_000_000 * math.sinh(kappa * (5 - j)) / math.sinh(kappa * 5) for j in range(6)]
    # when
    plan = ac_plan(EXAMPLE, PAPER_LAMBDA)
    # then
    assert plan.holdings == pytest.approx(expected, rel=1e-6, abs=1e-6)
    assert plan.holdings[0] == 1_000_000.0
    assert plan.holdings[-1] == 0.0
    assert [round(x) for x in plan.holdings] == [1_000_000, 542_381, 290_295, 148_216, 62_303, 0]
    assert plan.trades == pytest.approx([expected[j - 1] - expected[j] for j in range(1, 6)], rel=1e-6)
    assert math.fsum(plan.trades) == pytest.approx(1_000_000.0, rel=1e-12)


def test_expected_cost_and_variance_match_the_paper_closed_forms() -> None:
    # given the paper's closed forms for the optimal strategy, written out here
    x, horizon, tau, kappa = 1_000_000.0, 5.0, TAU, independent_kappa(PAPER_LAMBDA)
    closed_cost = (
        0.5 * 2.5e-7 * x**2
        + 0.0625 * x
        + ETA_TILDE
        * x**2
        * math.tanh(kappa * tau / 2)
        * (tau * math.sinh(2 * kappa * horizon) + 2 * horizon * math.sinh(kappa * tau))
        / (2 * tau**2 * math.sinh(kappa * horizon) ** 2)
    )
    closed_variance = (
        0.5
        * SIGMA**2
        * x**2
        * (tau * math.sinh(kappa * horizon) * math.cosh(kappa * (horizon - tau)) - horizon * math.sinh(kappa * tau))
        / (math.sinh(kappa * horizon) ** 2 * math.sinh(kappa * tau))
    )
    # when
    plan = ac_plan(EXAMPLE, PAPER_LAMBDA)
    # then the sums over the trajectory agree, and so does the module's own closed form
    assert plan.expected_cost == pytest.approx(closed_cost, rel=1e-9)
    assert plan.variance == pytest.approx(closed_variance, rel=1e-9)
    assert ac_optimal_cost_variance(EXAMPLE, PAPER_LAMBDA) == pytest.approx((closed_cost, closed_variance), rel=1e-9)
    # the headline figures in the module docstring
    assert round(plan.expected_cost) == 910_478
    assert round(math.sqrt(plan.variance)) == 603_215


@pytest.mark.parametrize("lam", [1e-8, 1e-7, 2e-6, 1e-5, 1e-4])
def test_sums_match_the_closed_forms_across_risk_aversions(lam: float) -> None:
    # given / when
    plan = ac_plan(EXAMPLE, lam)
    # then
    assert (plan.expected_cost, plan.variance) == pytest.approx(ac_optimal_cost_variance(EXAMPLE, lam), rel=1e-9)


def test_risk_neutral_trades_the_straight_line() -> None:
    # given / when
    plan = ac_plan(EXAMPLE, 0.0)
    # then 200,000 shares a day, E = 1/2 gamma X^2 + eps X + eta_tilde X^2 / T to the cent
    assert plan.kappa == 0.0
    assert plan.holdings == (1_000_000.0, 800_000.0, 600_000.0, 400_000.0, 200_000.0, 0.0)
    assert plan.trades == (200_000.0,) * 5
    assert plan.expected_cost == pytest.approx(LINEAR_COST, abs=0.005)
    by_hand = 0.5 * 2.5e-7 * 1e12 + 0.0625 * 1e6 + ETA_TILDE * 1e12 / 5
    assert by_hand == pytest.approx(LINEAR_COST, abs=0.005)
    # V = sigma^2 tau sum x_k^2 = 0.9 * (0.8^2 + 0.6^2 + 0.4^2 + 0.2^2) 1e12 = 1.08e12
    assert plan.variance == pytest.approx(SIGMA**2 * TAU * (8e5**2 + 6e5**2 + 4e5**2 + 2e5**2), rel=1e-12)
    assert plan.variance == pytest.approx(1.08e12, rel=1e-12)
    assert ac_optimal_cost_variance(EXAMPLE, 0.0) == pytest.approx((LINEAR_COST, 1.08e12), rel=1e-12)


def test_no_volatility_trades_the_straight_line_whatever_the_risk_aversion() -> None:
    # given
    params = replace(EXAMPLE, sigma=0.0)
    # when
    plan = ac_plan(params, 1e-5)
    # then
    assert plan.kappa == 0.0
    assert plan.holdings == (1_000_000.0, 800_000.0, 600_000.0, 400_000.0, 200_000.0, 0.0)
    assert plan.variance == 0.0


def test_a_tiny_risk_aversion_is_the_straight_line_in_the_limit() -> None:
    # given / when
    plan = ac_plan(EXAMPLE, 1e-300)
    # then
    assert plan.kappa > 0.0
    assert plan.holdings == pytest.approx((1_000_000.0, 800_000.0, 600_000.0, 400_000.0, 200_000.0, 0.0), rel=1e-12)
    assert ac_optimal_cost_variance(EXAMPLE, 1e-300) == pytest.approx((LINEAR_COST, 1.08e12), rel=1e-12)


def test_a_huge_risk_aversion_sells_almost_everything_at_once_without_overflow() -> None:
    # given / when (kappa T is about 755: math.sinh(kappa T) itself would overflow)
    plan = ac_plan(EXAMPLE, 1e60)
    # then
    assert plan.kappa * 5 > 710
    assert plan.holdings[0] == 1_000_000.0
    assert plan.holdings[1] < 1e-6
    assert plan.holdings[-1] == 0.0
    assert all(math.isfinite(x) for x in plan.holdings)
    assert plan.trades[0] == pytest.approx(1_000_000.0)


def test_closed_form_refuses_a_kappa_beyond_the_float_range() -> None:
    # given / when / then
    with pytest.raises(ValueError, match=r"invalid `risk_aversion`, was 1e\+30"):
        ac_optimal_cost_variance(EXAMPLE, 1e30)


# --- the efficient frontier and optimality --------------------------------------------------------


def test_frontier_trades_expected_cost_for_variance() -> None:
    # given
    grid = [0.0, 1e-8, 1e-7, 3e-7, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4]
    # when
    frontier = ac_frontier(EXAMPLE, grid)
    # then E rises and V falls strictly with the risk aversion
    assert [lam for lam, _, _ in frontier] == grid
    costs = [cost for _, cost, _ in frontier]
    variances = [variance for _, _, variance in frontier]
    assert all(a < b for a, b in pairwise(costs))
    assert all(a > b for a, b in pairwise(variances))
    assert costs[0] == pytest.approx(LINEAR_COST, abs=0.005)


@pytest.mark.parametrize("lam", [0.0, 1e-7, 1e-6, 1e-5])
def test_no_other_trajectory_beats_the_optimum(lam: float) -> None:
    # given the optimum and a seeded rng
    plan = ac_plan(EXAMPLE, lam)
    best = objective(EXAMPLE, plan.trades, lam)
    rng = random.Random(20000101)
    # when trades are moved between intervals, the total kept at X
    for trial in range(2_000):
        trades = list(plan.trades)
        scale = 1_000_000 * (0.3 if trial % 2 else 0.001)
        for _ in range(rng.randint(1, 4)):
            give, take = rng.sample(range(5), 2)
            shift = rng.uniform(-scale, scale)
            trades[give] += shift
            trades[take] -= shift
        # then the objective E + lam V is never lower
        assert objective(EXAMPLE, trades, lam) >= best * (1 - 1e-12)


def test_cost_variance_of_any_trajectory_by_hand() -> None:
    # given all at once on day one: E = 1/2 gamma X^2 + eps X + eta_tilde/tau X^2, V = 0 (nothing held after)
    trades = [1_000_000.0, 0.0, 0.0, 0.0, 0.0]
    # when
    expected_cost, variance = ac_cost_variance(EXAMPLE, trades)
    # then
    assert expected_cost == pytest.approx(125_000 + 62_500 + 2_375_000, abs=0.005)
    assert variance == 0.0


def test_cost_variance_charges_the_spread_on_buying_back() -> None:
    # given a round trip inside the schedule: sell 1.2M then buy back 0.2M
    trades = [1_200_000.0, -200_000.0, 0.0, 0.0, 0.0]
    # when
    expected_cost, variance = ac_cost_variance(EXAMPLE, trades)
    # then eps is paid on 1.4M shares; holdings are -200,000 then 0
    assert expected_cost == pytest.approx(125_000 + 0.0625 * 1.4e6 + ETA_TILDE * (1.44e12 + 0.04e12), abs=0.005)
    assert variance == pytest.approx(SIGMA**2 * 4e10, rel=1e-12)


@pytest.mark.parametrize(
    ("trades", "message"),
    [
        ([250_000.0] * 4, "invalid `trades`, had 4 trades"),
        ([200_000.0] * 4 + [100_000.0], "invalid `trades`, summed to 900000.0"),
        ([200_000.0] * 4 + [math.nan], "invalid `trades`, was"),
    ],
)
def test_cost_variance_rejects_a_trajectory_that_does_not_sell_everything(trades: list[float], message: str) -> None:
    # given / when / then
    with pytest.raises(ValueError, match=message):
        ac_cost_variance(EXAMPLE, trades)


# --- fractions and urgency ------------------------------------------------------------------------


def test_fractions_are_the_cumulative_share_done() -> None:
    # given / when
    linear = ac_fractions(EXAMPLE, 0.0)
    paper = ac_fractions(EXAMPLE, PAPER_LAMBDA)
    # then
    assert linear == pytest.approx((0.2, 0.4, 0.6, 0.8, 1.0), rel=1e-15)
    assert paper == pytest.approx((0.457619, 0.709705, 0.851784, 0.937697, 1.0), abs=1e-6)
    assert paper[-1] == 1.0
    assert all(a < b for a, b in pairwise(paper))


def test_urgency_maps_to_documented_risk_aversions() -> None:
    # given / when / then
    assert risk_aversion_for("LOW") == 1e-7
    assert risk_aversion_for("MEDIUM") == PAPER_LAMBDA
    assert risk_aversion_for(Urgency.HIGH) == 1e-5


def test_urgency_shapes_the_schedule_in_the_paper_example() -> None:
    # given / when
    low, medium, high = (ac_fractions(EXAMPLE, risk_aversion_for(urgency)) for urgency in ("LOW", "MEDIUM", "HIGH"))
    # then LOW stays within 6 points of the straight line, HIGH does over 80 % on day one
    linear = (0.2, 0.4, 0.6, 0.8, 1.0)
    assert max(abs(a - b) for a, b in zip(low, linear, strict=True)) < 0.06
    assert medium[0] == pytest.approx(0.4576, abs=1e-4)
    assert high[0] > 0.8
    assert all(lo < mid < hi for lo, mid, hi in zip(low[:-1], medium[:-1], high[:-1], strict=True))


def test_unknown_urgency_is_rejected() -> None:
    # given / when / then
    with pytest.raises(ValueError, match="invalid `urgency`, was 'URGENT'"):
        risk_aversion_for("URGENT")


# --- parameters -----------------------------------------------------------------------------------


def test_params_for_an_instrument_reproduce_the_paper_example() -> None:
    # given / when
    params = ac_params_for(
        shares=1_000_000,
        horizon_days=5,
        intervals=5,
        price=Decimal("50"),
        volatility_daily=0.3 / math.sqrt(250),
        adv=5_000_000,
        spread=Decimal("0.125"),
    )
    # then
    assert params.shares == 1_000_000.0
    assert params.horizon == 5.0
    assert params.intervals == 5
    assert params.sigma == pytest.approx(SIGMA, rel=1e-15)
    assert params.eps == 0.0625
    assert params.eta == pytest.approx(2.5e-6, rel=1e-15)
    assert params.gamma == pytest.approx(2.5e-7, rel=1e-15)


@pytest.mark.parametrize("field", ["shares", "horizon_days", "price", "volatility_daily", "adv", "spread"])
@pytest.mark.parametrize("value", [0, -1, math.inf])
def test_params_for_rejects_non_positive_inputs(field: str, value: float) -> None:
    # given
    inputs: dict[str, Any] = {
        "shares": 1_000_000,
        "horizon_days": 5,
        "intervals": 5,
        "price": 50,
        "volatility_daily": 0.019,
        "adv": 5_000_000,
        "spread": 0.125,
    }
    inputs[field] = value
    # when / then
    with pytest.raises(ValueError, match=f"invalid `{field}`, was {value}"):
        ac_params_for(**inputs)


def test_params_for_rejects_a_horizon_too_coarse_for_the_model() -> None:
    # given 25-day intervals: eta_tilde = spread/adv * (100 - 5 * 25) < 0
    # when / then
    with pytest.raises(ValueError, match="invalid `eta_tilde`"):
        ac_params_for(shares=1e6, horizon_days=25, intervals=1, price=50, volatility_daily=0.019, adv=5e6, spread=0.125)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"shares": 0.0}, "invalid `shares`, was 0.0"),
        ({"shares": -5.0}, "invalid `shares`, was -5.0"),
        ({"horizon": 0.0}, "invalid `horizon`, was 0.0"),
        ({"intervals": 0}, "invalid `intervals`, was 0"),
        ({"intervals": 2.5}, "invalid `intervals`, was 2.5"),
        ({"sigma": -0.1}, "invalid `sigma`, was -0.1"),
        ({"sigma": math.nan}, "invalid `sigma`, was nan"),
        ({"eps": -0.01}, "invalid `eps`, was -0.01"),
        ({"gamma": -1e-7}, "invalid `gamma`, was -1e-07"),
        ({"eta": 0.0}, "invalid `eta`, was 0.0"),
        ({"eta": 1e-7}, r"invalid `eta_tilde` \(eta - gamma\*tau/2\), was -2.5e-08"),
    ],
)
def test_plan_rejects_invalid_parameters(change: dict[str, Any], message: str) -> None:
    # given
    params = replace(EXAMPLE, **change)
    # when / then
    with pytest.raises(ValueError, match=message):
        ac_plan(params, PAPER_LAMBDA)


@pytest.mark.parametrize("lam", [-1e-6, math.nan, math.inf])
def test_plan_rejects_an_invalid_risk_aversion(lam: float) -> None:
    # given / when / then
    with pytest.raises(ValueError, match="invalid `risk_aversion`"):
        ac_plan(EXAMPLE, lam)
