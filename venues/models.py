from datetime import time
from decimal import Decimal

from django.db import models
from django.db.models import Q

from config.fields import MoneyField, PriceField, QtyField, enum_choices
from trading.enums import AssetClass, VenueKind
from venues.sim.params import Regime, SessionState


def _default_tick_table() -> list[list[str]]:
    # Reg NMS Rule 612: sub-penny increments only below one dollar.
    return [["0", "0.0001"], ["1", "0.01"]]


def _default_covers() -> list[str]:
    return [kind.value for kind in AssetClass]


class Venue(models.Model):
    """A place to trade: a lit exchange, a dark pool or an RFQ dealer."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, choices=enum_choices(VenueKind))
    maker_fee = MoneyField(default=Decimal(0), help_text="per share; negative is a rebate")
    taker_fee = MoneyField(default=Decimal(0), help_text="per share")
    latency_ms = models.PositiveIntegerField(default=1, help_text="order acknowledgement latency")
    depth_scale = QtyField(
        default=Decimal(1), help_text="simulator: this venue's share of the market's liquidity, as a relative weight"
    )
    tick_table = models.JSONField(
        default=_default_tick_table,
        help_text='price bands as [[from_px, tick], ...], e.g. [["0", "0.0001"], ["1", "0.01"]]; '
        "an instrument's own tick applies when coarser",
    )
    session_open = models.TimeField(default=time(9, 30), help_text="continuous trading starts (venue local time)")
    session_close = models.TimeField(default=time(16, 0), help_text="continuous trading ends; DAY orders expire")
    session_state = models.CharField(
        max_length=16,
        choices=enum_choices(SessionState),
        default=SessionState.OPEN,
        help_text="OPEN follows the session hours; HALTED or CLOSED override them",
    )
    covers = models.JSONField(
        default=_default_covers, blank=True, help_text='RFQ dealers: the asset classes it quotes, e.g. ["EQUITY", "OPTION"]'
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(depth_scale__gt=0), name="venue_depth_scale_positive"),
            models.CheckConstraint(condition=Q(session_open__lt=models.F("session_close")), name="venue_session_order"),
        ]

    def __str__(self) -> str:
        return self.code


class MarketSimulator(models.Model):
    """The simulated background market's settings; one row (pk 1), edited in admin, read by the gateway."""

    seed = models.PositiveIntegerField(default=7, help_text="the same seed gives the same market, event for event")
    regime = models.CharField(max_length=16, choices=enum_choices(Regime), default=Regime.CALM)
    volatility = models.DecimalField(
        max_digits=8, decimal_places=4, default=Decimal("0.25"), help_text="annualised volatility of fair value"
    )
    trend_bps_per_hour = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal(20), help_text="drift of fair value in the TRENDING regime"
    )
    impact_coefficient = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        default=Decimal("0.7"),
        help_text="Y in impact = Y * sigma_daily * sqrt(Q / ADV) for an order that walks the book",
    )
    permanent_impact_share = models.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("0.4"), help_text="share of an order's impact that stays"
    )
    adv_shares = QtyField(default=Decimal(2_000_000), help_text="target daily volume per instrument")

    class Meta:
        verbose_name = "market simulator"
        verbose_name_plural = "market simulator"

    def __str__(self) -> str:
        return f"simulator (seed {self.seed}, {self.regime})"


class SimulatedInstrument(models.Model):
    """Per-instrument overrides of the simulator's settings; blank fields take the simulator's."""

    symbol = models.CharField(max_length=32, unique=True)
    regime = models.CharField(max_length=16, choices=enum_choices(Regime), blank=True)
    volatility = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    adv_shares = QtyField(null=True, blank=True)

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol


class InstrumentAnalytics(models.Model):
    """Statistics of an instrument's market, computed from its history; what algos and the router size against."""

    symbol = models.CharField(max_length=32, unique=True)
    as_of = models.DateTimeField()
    days = models.PositiveIntegerField(help_text="trading days of history used")
    adv = QtyField(help_text="average daily volume, shares")
    volatility_annual = models.DecimalField(max_digits=10, decimal_places=6)
    volatility_daily = models.DecimalField(max_digits=10, decimal_places=6)
    spread_bps = models.DecimalField(max_digits=12, decimal_places=4, help_text="time-weighted quoted NBBO spread")
    spread_px = PriceField(help_text="time-weighted quoted NBBO spread")
    depth = QtyField(help_text="time-weighted size at the NBBO, both sides averaged")
    bucket_minutes = models.PositiveIntegerField()
    volume_profile = models.JSONField(help_text="share of the day's volume per bucket from the open, as strings")

    class Meta:
        ordering = ["symbol"]
        verbose_name_plural = "instrument analytics"

    def __str__(self) -> str:
        return f"{self.symbol} analytics ({self.days} days)"
