from django.db import models
from django.db.models import F, Q

from config.fields import PriceField, QtyField, enum_choices
from oms.models import ParentOrder
from trading.enums import OrdType, Side, TimeInForce
from trading.numbers import ZERO
from trading.states import OrdStatus
from venues.models import Venue


class Execution(models.Model):
    """How a parent order is being worked: the strategy chosen, with its parameters and why."""

    RUNNING = "RUNNING"
    DONE = "DONE"
    STOPPED = "STOPPED"

    parent = models.OneToOneField(ParentOrder, on_delete=models.PROTECT, related_name="execution")
    strategy = models.CharField(max_length=32)
    params = models.JSONField(default=dict, blank=True)
    rationale = models.TextField()
    status = models.CharField(max_length=16, default=RUNNING, choices=[(s, s.title()) for s in (RUNNING, DONE, STOPPED)])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"#{self.parent_id} {self.strategy}"


class ChildOrder(models.Model):
    """One order at one venue, working part of a parent."""

    parent = models.ForeignKey(ParentOrder, on_delete=models.PROTECT, related_name="children")
    slice_no = models.PositiveIntegerField(help_text="the strategy's slice; one child per slice makes ticks idempotent")
    cl_ord_id = models.CharField(max_length=64, unique=True)
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="child_orders")
    side = models.CharField(max_length=4, choices=enum_choices(Side))
    ord_type = models.CharField(max_length=8, choices=enum_choices(OrdType))
    qty = QtyField()
    limit_px = PriceField(null=True, blank=True)
    tif = models.CharField(max_length=4, choices=enum_choices(TimeInForce))
    status = models.CharField(max_length=16, choices=enum_choices(OrdStatus), default=OrdStatus.PENDING_NEW)
    filled_qty = QtyField(default=ZERO)
    filled_notional = models.DecimalField(max_digits=36, decimal_places=12, default=ZERO)
    avg_px = PriceField(default=ZERO)
    venue_order_id = models.CharField(max_length=64, blank=True)
    report_seq = models.PositiveIntegerField(default=0, help_text="the last execution report applied, in venue order")
    route_reason = models.TextField(blank=True)
    text = models.TextField(blank=True, help_text="the venue's last word: a reject or cancel reason")
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "slice_no"], name="child_once_per_slice"),
            models.CheckConstraint(condition=Q(qty__gt=0), name="child_qty_positive"),
            models.CheckConstraint(condition=Q(filled_qty__gte=0) & Q(filled_qty__lte=F("qty")), name="child_not_overfilled"),
        ]
        indexes = [models.Index(fields=["status", "sent_at"])]

    def __str__(self) -> str:
        return self.cl_ord_id
