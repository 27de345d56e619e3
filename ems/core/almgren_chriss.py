"""Optimal execution after Almgren & Chriss (2000), in discrete time. Pure.

The model: sell ``X`` shares over a horizon ``T`` cut into ``N`` intervals of
``tau = T / N``. The unaffected price is an arithmetic random walk with
volatility ``sigma`` ($/share per square root of the time unit). Trading
``n_k`` shares in interval ``k`` (rate ``v = n_k / tau``) moves the price for
good by ``tau * g(v)`` with ``g(v) = gamma * v`` (permanent impact) and costs
``h(v) = eps * sign(n_k) + eta * v`` per share on that trade only (temporary
impact). For holdings ``x_0 = X, ..., x_N = 0`` and trades ``n_k = x_{k-1} - x_k``:

    E[x] = 1/2 gamma X^2 + eps sum |n_k| + (eta_tilde / tau) sum n_k^2
    V[x] = sigma^2 sum_{k=1..N} tau x_k^2,      eta_tilde = eta - gamma tau / 2

Minimising ``E + lam V`` (``lam`` the risk aversion, per $) gives

    x_j = X sinh(kappa (T - t_j)) / sinh(kappa T),
    (2 / tau^2) (cosh(kappa tau) - 1) = lam sigma^2 / eta_tilde.

``lam = 0`` (risk neutral) is the limit ``kappa -> 0``: the straight line
(TWAP), computed as such. A buy program is the mirror image: the same schedule
and the same cost.

These are floats on purpose: a model of cost and risk used to shape a
schedule, not money. The order's quantities stay Decimal in the algo that
uses the shape (``ac_fractions``).

The paper's example (S0 = 50, X = 1,000,000 shares, T = 5 days, N = 5,
sigma = 0.3 * 50 / sqrt(250) = 0.9487 $/share/day^0.5, eps = 0.0625,
eta = 2.5e-6, gamma = 2.5e-7), computed by this module:

- ``lam = 1e-6``: kappa = 0.60626 per day (kappa T = 3.0313), holdings
  1,000,000 / 542,381 / 290,295 / 148,216 / 62,303 / 0, E = $910,478,
  V = 3.6387e11 $^2 (sqrt(V) = $603,215).
- ``lam = 0``: 200,000 shares a day, E = $662,500.00, sqrt(V) = $1,039,230.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from trading.enums import Urgency

# Beyond this kappa*T, sinh(2 kappa T) in the closed forms leaves the float range (the sums still hold).
_CLOSED_FORM_MAX_KAPPA_T: Final = 350.0
# Below this kappa*T the closed forms cancel (relative error ~1e-16 / (kappa T)^2) while the straight line's
# limit is off by ~(kappa T)^2: at 1e-4 both are ~1e-8, so use the limit there.
_CLOSED_FORM_MIN_KAPPA_T: Final = 1e-4
# Relative slack on "the trades sum to the shares": float sums of differences are not exact.
_SUM_TOLERANCE: Final = 1e-9

# Risk aversion (per $) for each urgency, calibrated on the paper's example (see risk_aversion_for).
RISK_AVERSION: Final[dict[Urgency, float]] = {
    Urgency.LOW: 1e-7,
    Urgency.MEDIUM: 1e-6,
    Urgency.HIGH: 1e-5,
}


@dataclass(frozen=True, slots=True)
class AcParams:
    """The model's inputs: shares to sell, horizon (time units), intervals, $/share volatility, impact coefficients.

    ``sigma`` is in $/share per sqrt(time unit); ``eps`` in $/share; ``eta`` in
    $/share per (share / time unit); ``gamma`` in $/share per share.
    """

    shares: float
    horizon: float
    intervals: int
    sigma: float
    eps: float
    eta: float
    gamma: float

    @property
    def tau(self) -> float:
        """Return the length of one interval (time units)."""
        return self.horizon / self.intervals

    @property
    def eta_tilde(self) -> float:
        """Return the temporary impact net of half a period's permanent impact, ``eta - gamma tau / 2``."""
        return self.eta - self.gamma * self.tau / 2


@dataclass(frozen=True, slots=True)
class AcPlan:
    holdings: tuple[float, ...]  # x_0..x_N (x_0 = X, x_N = 0), shares
    trades: tuple[float, ...]  # n_1..n_N, shares
    kappa: float  # per time unit
    expected_cost: float  # $ (E[x])
    variance: float  # $^2 (V[x])


def ac_plan(params: AcParams, risk_aversion: float) -> AcPlan:
    """Return the trajectory minimising ``E + risk_aversion * V``, with its E and V.

    Raise ValueError for invalid parameters (see ``AcParams``) or a negative risk aversion.
    """
    _check_params(params)
    _check_risk_aversion(risk_aversion)
    kappa = _kappa(params, risk_aversion)
    holdings = _holdings(params, kappa)
    trades = tuple(holdings[j - 1] - holdings[j] for j in range(1, params.intervals + 1))
    expected_cost, variance = _cost_variance(params, holdings, trades)
    return AcPlan(holdings=holdings, trades=trades, kappa=kappa, expected_cost=expected_cost, variance=variance)


def ac_cost_variance(params: AcParams, trades: Sequence[float]) -> tuple[float, float]:
    """Return ``(E, V)`` in $ and $^2 of any trajectory given by its ``N`` trades, which must sum to the shares."""
    _check_params(params)
    if len(trades) != params.intervals:
        raise ValueError(f"invalid `trades`, had {len(trades)} trades: expected one per interval ({params.intervals})")
    if not all(math.isfinite(n) for n in trades):
        raise ValueError(f"invalid `trades`, was {tuple(trades)!r}: every trade must be finite")
    total = math.fsum(trades)
    if abs(total - params.shares) > _SUM_TOLERANCE * params.shares:
        raise ValueError(f"invalid `trades`, summed to {total}: must sum to `shares` ({params.shares})")
    holdings = [params.shares]
    for n in trades:
        holdings.append(holdings[-1] - n)
    return _cost_variance(params, tuple(holdings), tuple(trades))


def ac_optimal_cost_variance(params: AcParams, risk_aversion: float) -> tuple[float, float]:
    """Return ``(E, V)`` of the optimal trajectory from the paper's closed forms.

    A check on ``ac_plan``'s sums, not a replacement: raise ValueError past
    kappa T = 350 (float range), and below kappa T = 1e-4 return the straight
    line's values (the closed forms cancel there; relative error under 1e-8).
    """
    _check_params(params)
    _check_risk_aversion(risk_aversion)
    shares, horizon, tau = params.shares, params.horizon, params.tau
    fixed = 0.5 * params.gamma * shares**2 + params.eps * shares
    kappa = _kappa(params, risk_aversion)
    if kappa * horizon < _CLOSED_FORM_MIN_KAPPA_T:
        n = params.intervals
        variance = params.sigma**2 * shares**2 * horizon * (1 - 1 / n) * (1 - 1 / (2 * n)) / 3
        return fixed + params.eta_tilde * shares**2 / horizon, variance
    if kappa * horizon > _CLOSED_FORM_MAX_KAPPA_T:
        raise ValueError(f"invalid `risk_aversion`, was {risk_aversion}: kappa*T = {kappa * horizon} overflows the closed form")
    sinh_kt = math.sinh(kappa * horizon)
    sinh_ktau = math.sinh(kappa * tau)
    temporary = (
        params.eta_tilde
        * shares**2
        * math.tanh(kappa * tau / 2)
        * (tau * math.sinh(2 * kappa * horizon) + 2 * horizon * sinh_ktau)
        / (2 * tau**2 * sinh_kt**2)
    )
    variance = (
        0.5
        * params.sigma**2
        * shares**2
        * (tau * sinh_kt * math.cosh(kappa * (horizon - tau)) - horizon * sinh_ktau)
        / (sinh_kt**2 * sinh_ktau)
    )
    return fixed + temporary, variance


def ac_frontier(params: AcParams, risk_aversions: Sequence[float]) -> list[tuple[float, float, float]]:
    """Return ``(lam, E, V)`` of the optimal trajectory for each risk aversion: the efficient frontier."""
    frontier = []
    for lam in risk_aversions:
        plan = ac_plan(params, lam)
        frontier.append((lam, plan.expected_cost, plan.variance))
    return frontier


def ac_fractions(params: AcParams, risk_aversion: float) -> tuple[float, ...]:
    """Return the cumulative fraction of the shares done after each interval; the last is exactly 1.0.

    The schedule shape an implementation-shortfall algo applies to its own (Decimal) quantity.
    """
    holdings = ac_plan(params, risk_aversion).holdings
    return tuple((params.shares - x) / params.shares for x in holdings[1:])


def risk_aversion_for(urgency: str) -> float:
    """Return the risk aversion (per $) the implementation-shortfall algo uses for an urgency.

    Calibrated on the paper's example (1,000,000 shares over 5 days), one
    decade apart, so that each step changes the schedule visibly:

    - LOW, 1e-7: kappa T = 0.97, about the edge of the nearly linear regime
      (kappa T < 1): 24 % done after the first of five days (linear: 20 %),
      never more than 6 points ahead of the straight line.
    - MEDIUM, 1e-6: the paper's own choice; 46 % after day one.
    - HIGH, 1e-5: 82 % after day one, 97 % after day two.

    The risk aversion is per dollar, so the same urgency front-loads a larger
    or more volatile order more: that is the model's intent (more risk, more
    reason to hurry).
    """
    try:
        return RISK_AVERSION[Urgency(urgency)]
    except ValueError:
        raise ValueError(f"invalid `urgency`, was {urgency!r}: expected one of LOW, MEDIUM, HIGH") from None


def ac_params_for(
    *,
    shares: float | Decimal,
    horizon_days: float | Decimal,
    intervals: int,
    price: float | Decimal,
    volatility_daily: float | Decimal,
    adv: float | Decimal,
    spread: float | Decimal,
) -> AcParams:
    """Return the model's parameters for a live instrument, derived as in the paper's example.

    Time is in days; ``volatility_daily`` is a fraction per sqrt(day) (0.019
    for 30 % a year), ``adv`` shares a day, ``spread`` the bid-ask in $/share.

    - ``sigma = price * volatility_daily``: the $/share random walk.
    - ``eps = spread / 2``: crossing half the spread on every trade.
    - ``eta = spread / (1 % of adv)``: trading at 1 % of the daily volume (a
      rate of ``0.01 adv`` shares a day) costs one spread of temporary impact.
    - ``gamma = spread / (10 % of adv)``: selling 10 % of the daily volume moves
      the price for good by one spread.

    (With the example's spread of 1/8 and ADV of 5,000,000 this gives
    eps = 0.0625, eta = 2.5e-6, gamma = 2.5e-7.) Raise ValueError for a
    non-positive input or when the result is not a valid model.
    """
    inputs = {
        "shares": shares,
        "horizon_days": horizon_days,
        "price": price,
        "volatility_daily": volatility_daily,
        "adv": adv,
        "spread": spread,
    }
    values = {}
    for name, value in inputs.items():
        number = float(value)
        if not (math.isfinite(number) and number > 0):
            raise ValueError(f"invalid `{name}`, was {value}: must be positive")
        values[name] = number
    params = AcParams(
        shares=values["shares"],
        horizon=values["horizon_days"],
        intervals=intervals,
        sigma=values["price"] * values["volatility_daily"],
        eps=values["spread"] / 2,
        eta=values["spread"] / (0.01 * values["adv"]),
        gamma=values["spread"] / (0.1 * values["adv"]),
    )
    _check_params(params)
    return params


def _check_params(params: AcParams) -> None:
    positive = {"shares": params.shares, "horizon": params.horizon, "eta": params.eta}
    for name, value in positive.items():
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"invalid `{name}`, was {value}: must be positive")
    if isinstance(params.intervals, bool) or not isinstance(params.intervals, int) or params.intervals < 1:
        raise ValueError(f"invalid `intervals`, was {params.intervals!r}: must be a whole number >= 1")
    non_negative = {"sigma": params.sigma, "eps": params.eps, "gamma": params.gamma}
    for name, value in non_negative.items():
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"invalid `{name}`, was {value}: must be >= 0")
    if not params.eta_tilde > 0:
        raise ValueError(
            f"invalid `eta_tilde` (eta - gamma*tau/2), was {params.eta_tilde}: "
            "the temporary impact must outweigh half an interval's permanent impact"
        )


def _check_risk_aversion(risk_aversion: float) -> None:
    if not (math.isfinite(risk_aversion) and risk_aversion >= 0):
        raise ValueError(f"invalid `risk_aversion`, was {risk_aversion}: must be >= 0")


def _kappa(params: AcParams, risk_aversion: float) -> float:
    # (2/tau^2)(cosh(kappa tau) - 1) = kappa_tilde^2, and cosh(u) - 1 = 2 sinh^2(u/2), so
    # kappa tau = 2 asinh(kappa_tilde tau / 2): the same root as arccosh, without its loss near 1.
    kappa_tilde = math.sqrt(risk_aversion * params.sigma**2 / params.eta_tilde)
    return 2 * math.asinh(kappa_tilde * params.tau / 2) / params.tau


def _holdings(params: AcParams, kappa: float) -> tuple[float, ...]:
    shares, horizon, n = params.shares, params.horizon, params.intervals
    if kappa == 0.0:  # risk neutral (or no volatility): the straight line
        return tuple(shares * (n - j) / n for j in range(n + 1))
    whole = kappa * horizon
    holdings = []
    for j in range(n + 1):
        left = kappa * (horizon - j * params.tau) if j < n else 0.0
        # sinh(a)/sinh(b) = e^(a-b) (1 - e^(-2a)) / (1 - e^(-2b)): no overflow for a large kappa T.
        holdings.append(shares * math.exp(left - whole) * math.expm1(-2 * left) / math.expm1(-2 * whole))
    holdings[0] = shares
    return tuple(holdings)


def _cost_variance(params: AcParams, holdings: tuple[float, ...], trades: tuple[float, ...]) -> tuple[float, float]:
    permanent = 0.5 * params.gamma * params.shares**2
    fixed = params.eps * math.fsum(abs(n) for n in trades)
    temporary = params.eta_tilde / params.tau * math.fsum(n * n for n in trades)
    variance = params.sigma**2 * params.tau * math.fsum(x * x for x in holdings[1:])
    return permanent + fixed + temporary, variance
