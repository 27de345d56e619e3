"""The router's reads: its live settings and each venue's statistics, as the pure core takes them."""

import random
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from types import MappingProxyType

from router.core.market import RouterParams
from router.core.scoring import VenueScore, VenueStats, venue_score
from router.models import RouterSettings, VenueMarkout, VenueStat
from trading.numbers import plain
from venues.models import Venue


def router_settings_get() -> RouterSettings:
    """Return the settings row, or the defaults when none was saved."""
    return RouterSettings.objects.filter(pk=1).first() or RouterSettings()


def router_params(row: RouterSettings) -> RouterParams:
    """Return ``row`` as the pure core's parameters."""
    return RouterParams(
        stale_ms=row.stale_ms,
        max_display_share=row.max_display_share,
        size_jitter=row.size_jitter,
        max_delay_ms=row.max_delay_ms,
        dark_min_qty=plain(row.dark_min_qty),
        dark_rest_share=row.dark_rest_share,
        rfq_adv_share=row.rfq_adv_share,
        rfq_impact_bps=row.rfq_impact_bps,
        rfq_depth_multiple=row.rfq_depth_multiple,
        impact_coefficient=row.impact_coefficient,
        exploration=row.exploration,
        markout_weight=row.markout_weight,
        reject_weight=row.reject_weight,
        latency_weight=row.latency_weight,
        fee_weight=row.fee_weight,
    )


def venue_stats_read() -> dict[str, VenueStats]:
    """Return every venue's statistics by venue code (venues never used are absent)."""
    markouts: dict[str, dict[int, tuple[Decimal, Decimal]]] = defaultdict(dict)
    for row in VenueMarkout.objects.select_related("venue"):
        markouts[row.venue.code][row.horizon_s] = (row.qty, row.bps_qty_sum)
    stats = {
        row.venue.code: VenueStats(
            orders=row.orders,
            filled_share_sum=row.filled_share_sum,
            rejects=row.rejects,
            acks=row.acks,
            ack_ms_sum=row.ack_ms_sum,
            markouts=MappingProxyType(markouts.pop(row.venue.code, {})),
        )
        for row in VenueStat.objects.select_related("venue")
    }
    for code, only_markouts in markouts.items():
        stats[code] = VenueStats(markouts=MappingProxyType(only_markouts))
    return stats


def venue_score_get(venue: Venue) -> VenueScore:
    """Return the venue's score as the router would rank it without exploration (the posterior mean)."""
    stats = venue_stats_read().get(venue.code, VenueStats())
    params = replace(router_params(router_settings_get()), exploration=Decimal(0))
    return venue_score(stats, declared_latency_ms=Decimal(venue.latency_ms), params=params, rng=random.Random(0))
