"""The router's settings (edited in admin) and what it has learned about each venue from our own orders."""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from config.fields import QtyField
from venues.models import Venue


def _share(default: str, help_text: str) -> models.DecimalField:
    return models.DecimalField(max_digits=6, decimal_places=4, default=Decimal(default), help_text=help_text)


def _weight(default: str, help_text: str) -> models.DecimalField:
    return models.DecimalField(max_digits=10, decimal_places=6, default=Decimal(default), help_text=help_text)


class RouterSettings(models.Model):
    """One row (pk 1): the live values of ``router.core.market.RouterParams``."""

    stale_ms = models.PositiveIntegerField(default=5_000, help_text="a venue silent longer than this is not routed to")
    max_display_share = _share("0.25", "a resting order shows at most this share of the depth at its price")
    size_jitter = _share("0.20", "child sizes vary by up to this share")
    max_delay_ms = models.PositiveIntegerField(default=250, help_text="resting orders wait a random delay up to this")
    dark_min_qty = QtyField(default=Decimal(200), help_text="the smallest execution accepted in a dark pool")
    dark_rest_share = _share("0.50", "low urgency: share of a mid-sized quantity resting in the dark")
    rfq_adv_share = _share("0.05", "a block from this share of ADV: RFQ")
    rfq_impact_bps = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal(50), help_text="a block from this expected impact: RFQ"
    )
    rfq_depth_multiple = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal(20), help_text="without ADV: a block from this many times the depth"
    )
    impact_coefficient = models.DecimalField(
        max_digits=6, decimal_places=3, default=Decimal("0.7"), help_text="Y in impact = Y * sigma_daily * sqrt(Q / ADV)"
    )
    exploration = _share("1", "0: rank venues by their mean fill rate; 1: Thompson sampling")
    markout_weight = _weight("0.02", "score per bp of markout")
    reject_weight = _weight("1", "score per unit of reject rate")
    latency_weight = _weight("0.001", "score per ms of latency")
    fee_weight = _weight("0.05", "score per bp of maker fee")
    max_decisions = models.PositiveIntegerField(
        default=25, help_text="routing decisions per parent order before the execution stops and asks for a trader"
    )
    avoid_seconds = models.PositiveIntegerField(
        default=60, help_text="a venue that rejected a parent's child is avoided for that parent this long"
    )

    class Meta:
        verbose_name = "router settings"
        verbose_name_plural = "router settings"
        constraints = [
            models.CheckConstraint(condition=Q(max_display_share__gt=0) & Q(max_display_share__lte=1), name="router_display_share"),
            models.CheckConstraint(condition=Q(size_jitter__gte=0) & Q(size_jitter__lt=1), name="router_size_jitter"),
            models.CheckConstraint(condition=Q(dark_rest_share__gte=0) & Q(dark_rest_share__lte=1), name="router_dark_share"),
            models.CheckConstraint(condition=Q(exploration__gte=0) & Q(exploration__lte=1), name="router_exploration"),
            models.CheckConstraint(condition=Q(dark_min_qty__gt=0), name="router_dark_min_positive"),
        ]

    def __str__(self) -> str:
        return "router settings"


class VenueStat(models.Model):
    """Running totals of our finished orders at one venue: what its score is computed from."""

    venue = models.OneToOneField(Venue, on_delete=models.CASCADE, related_name="router_stat")
    orders = models.PositiveIntegerField(default=0, help_text="finished orders: filled, cancelled, expired or rejected")
    filled_share_sum = models.DecimalField(max_digits=20, decimal_places=8, default=Decimal(0))
    rejects = models.PositiveIntegerField(default=0)
    acks = models.PositiveIntegerField(default=0)
    ack_ms_sum = models.DecimalField(max_digits=20, decimal_places=3, default=Decimal(0))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["venue__code"]

    def __str__(self) -> str:
        return f"{self.venue.code}: {self.orders} orders"


class VenueMarkout(models.Model):
    """Markouts of our fills at one venue and horizon: filled qty measured and the sum of bps x qty."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="router_markouts")
    horizon_s = models.PositiveIntegerField()
    qty = QtyField(default=Decimal(0))
    bps_qty_sum = models.DecimalField(max_digits=28, decimal_places=6, default=Decimal(0))

    class Meta:
        ordering = ["venue__code", "horizon_s"]
        constraints = [models.UniqueConstraint(fields=["venue", "horizon_s"], name="markout_once_per_venue_horizon")]

    def __str__(self) -> str:
        return f"{self.venue.code} {self.horizon_s}s"
