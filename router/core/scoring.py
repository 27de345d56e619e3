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

ZERO = Decimal(0)


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
    fill_rate: Decimal  # posterior mean
    fill_rate_drawn: Decimal  # what the ranking used (the mean when exploration is 0)
    markout_bps: Decimal  # qty-weighted over all horizons measured; 0 without fills
    reject_rate: Decimal
    latency_ms: Decimal  # measured, else the venue's declared latency
    value: Decimal  # the one number policies rank by: higher is better

    def describe(self) -> str:
        return (
            f"fill rate {self.fill_rate:.0%}, markout {self.markout_bps:+.1f} bps, "
            f"rejects {self.reject_rate:.0%}, latency {self.latency_ms:.1f} ms"
        )


def venue_score(stats: VenueStats, *, declared_latency_ms: Decimal, params: RouterParams, rng: random.Random) -> VenueScore:
    """Score a venue from its statistics; draws once from ``rng`` (Thompson sampling)."""
    alpha = 1 + stats.filled_share_sum
    beta = 1 + (stats.orders - stats.filled_share_sum)
    mean = alpha / (alpha + beta)
    drawn = Decimal(repr(rng.betavariate(float(alpha), float(beta))))  # a model quantity, not money
    drawn = mean + params.exploration * (drawn - mean)
    measured = sum((qty for qty, _ in stats.markouts.values()), ZERO)
    markout = sum((total for _, total in stats.markouts.values()), ZERO) / measured if measured else ZERO
    reject_rate = Decimal(stats.rejects) / Decimal(stats.orders + 2)
    latency = stats.ack_ms_sum / stats.acks if stats.acks else declared_latency_ms
    value = drawn + params.markout_weight * markout - params.reject_weight * reject_rate - params.latency_weight * latency
    return VenueScore(
        fill_rate=mean,
        fill_rate_drawn=drawn,
        markout_bps=markout,
        reject_rate=reject_rate,
        latency_ms=latency,
        value=value,
    )
