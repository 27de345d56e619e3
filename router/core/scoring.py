"""Venue scores learned from our own orders: fill rate, markouts, rejects and latency.

Pure. ``VenueStats`` are running totals the shell keeps per venue
(``router.models``); ``venue_score`` turns them into one number the policies rank
by, with the parts kept for the decision record.

The fill rate is the mean filled share of our finished orders at the venue,
with a Beta(1, 1) prior so a venue we have not used starts at one half and
moves as evidence comes in. Exploration is Thompson sampling: the rate used for
ranking is drawn from the Beta posterior (``exploration`` scales the draw's
distance from the mean; 0 ranks by the mean), so a venue with little history
still gets tried now and then, and a venue that fills well wins more often.

Markouts are in bps of the fill price, signed so that positive is good for us
(the mid moved our way after the fill) and negative is adverse selection.
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from router.core.market import RouterParams
from trading.numbers import ZERO


@dataclass(frozen=True, slots=True)
class VenueStats:
    """Running totals of our orders at one venue."""

    orders: int = 0  # finished orders (filled, cancelled, expired or rejected)
    filled_share_sum: Decimal = ZERO  # sum over finished orders of filled qty / qty
    rejects: int = 0
    acks: int = 0
    ack_ms_sum: Decimal = ZERO
    # horizon in seconds -> (filled qty measured, sum of markout bps x qty)
    markouts: Mapping[int, tuple[Decimal, Decimal]] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class VenueScore:
    """A venue's score. Floats: a ranking model, like the simulator's agent rates; never a price or a size."""

    fill_rate: float  # posterior mean
    fill_rate_drawn: float  # what the ranking used (the mean when exploration is 0)
    markout_bps: float  # qty-weighted over all horizons measured; 0 without fills
    reject_rate: float
    latency_ms: float  # measured, else the venue's declared latency
    value: float  # the one number policies rank by: higher is better

    def describe(self) -> str:
        return (
            f"fill rate {self.fill_rate:.0%}, markout {self.markout_bps:+.1f} bps, "
            f"rejects {self.reject_rate:.0%}, latency {self.latency_ms:.1f} ms"
        )


Weights = tuple[float, float, float, float]  # exploration, markout, reject, latency


def score_weights(params: RouterParams) -> Weights:
    """The scoring settings as floats, once per decision."""
    return (
        float(params.exploration),
        float(params.markout_weight),
        float(params.reject_weight),
        float(params.latency_weight),
    )


def venue_score(stats: VenueStats, *, declared_latency_ms: Decimal, params: RouterParams, rng: random.Random) -> VenueScore:
    """Score a venue from its statistics; draws once from ``rng`` (Thompson sampling)."""
    return weighted_score(stats, declared_latency_ms=declared_latency_ms, weights=score_weights(params), rng=rng)


def weighted_score(stats: VenueStats, *, declared_latency_ms: Decimal, weights: Weights, rng: random.Random) -> VenueScore:
    """``venue_score`` with the weights already converted (the router scores every venue with one set)."""
    exploration, markout_weight, reject_weight, latency_weight = weights
    filled = float(stats.filled_share_sum)
    alpha = 1.0 + filled
    beta = 1.0 + stats.orders - filled
    mean = alpha / (alpha + beta)
    drawn = mean + exploration * (rng.betavariate(alpha, beta) - mean) if exploration else mean
    measured = total = 0.0
    for qty, bps_qty in stats.markouts.values():
        measured += float(qty)
        total += float(bps_qty)
    markout = total / measured if measured else 0.0
    reject_rate = stats.rejects / (stats.orders + 2)
    latency = float(stats.ack_ms_sum) / stats.acks if stats.acks else float(declared_latency_ms)
    value = drawn + markout_weight * markout - reject_weight * reject_rate - latency_weight * latency
    return VenueScore(
        fill_rate=mean,
        fill_rate_drawn=drawn,
        markout_bps=markout,
        reject_rate=reject_rate,
        latency_ms=latency,
        value=value,
    )
