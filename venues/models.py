from decimal import Decimal

from django.db import models
from django.db.models import Q

from config.fields import MoneyField, QtyField, enum_choices
from trading.enums import VenueKind


class Venue(models.Model):
    """A place to trade: a lit exchange, a dark pool or an RFQ dealer."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, choices=enum_choices(VenueKind))
    maker_fee = MoneyField(default=Decimal(0), help_text="per share; negative is a rebate")
    taker_fee = MoneyField(default=Decimal(0), help_text="per share")
    latency_ms = models.PositiveIntegerField(default=1, help_text="order acknowledgement latency")
    depth_scale = QtyField(default=Decimal(1), help_text="simulator: the market maker's size as a multiple of the template")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "code"]
        constraints = [models.CheckConstraint(condition=Q(depth_scale__gt=0), name="venue_depth_scale_positive")]

    def __str__(self) -> str:
        return self.code
