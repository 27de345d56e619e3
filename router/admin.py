from django.contrib import admin

from config.admin import ReadOnlyAdmin, SingletonAdmin
from router.models import RouterSettings, VenueMarkout, VenueStat
from router.selectors import venue_score_get


@admin.register(RouterSettings)
class RouterSettingsAdmin(SingletonAdmin):
    fieldsets = [
        ("Venue health", {"fields": ["stale_ms", "avoid_seconds", "max_decisions"]}),
        ("Information leakage", {"fields": ["max_display_share", "size_jitter", "max_delay_ms", "dark_min_qty"]}),
        (
            "Dark and RFQ",
            {"fields": ["dark_rest_share", "rfq_adv_share", "rfq_impact_bps", "rfq_depth_multiple", "impact_coefficient"]},
        ),
        (
            "Venue scoring",
            {"fields": ["exploration", "markout_weight", "reject_weight", "latency_weight", "fee_weight"]},
        ),
    ]


@admin.register(VenueStat)
class VenueStatAdmin(ReadOnlyAdmin):
    """What the router learned from our orders at each venue, and what it makes of it now."""

    list_display = ["venue", "orders", "rejects", "acks", "score", "updated_at"]

    @admin.display(description="score (mean, without exploration)")
    def score(self, row: VenueStat) -> str:
        score = venue_score_get(row.venue)
        return f"{score.describe()} -> {score.value:.4f}"


@admin.register(VenueMarkout)
class VenueMarkoutAdmin(ReadOnlyAdmin):
    list_display = ["venue", "horizon_s", "qty", "average_bps"]
    list_filter = ["venue", "horizon_s"]

    @admin.display(description="average markout (bps)")
    def average_bps(self, row: VenueMarkout) -> str:
        return f"{row.bps_qty_sum / row.qty:+.2f}" if row.qty else "-"
