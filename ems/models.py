from typing import Any

from django.db import models
from django.db.models import F, Q

from config.fields import PriceField, QtyField, enum_choices
from oms.models import ParentOrder
from trading.enums import OrdType, Peg, Side, TimeInForce, Urgency
from trading.numbers import ZERO
from trading.states import OrdStatus
from venues.models import Venue


class Execution(models.Model):
    """How a parent order is being worked: the strategy chosen, its parameters and why, and where its schedule stands.

    A *segment* starts when the strategy starts, switches or the order is
    amended: its schedule (``schedule``, cumulative fractions per slice) covers
    what was left then, from ``segment_started_at`` to ``end_at``.
    ``tick_no`` is the next tick to run: a tick task carrying another number is
    a duplicate and does nothing.
    """

    RUNNING = "RUNNING"
    DONE = "DONE"
    STOPPED = "STOPPED"

    parent = models.OneToOneField(ParentOrder, on_delete=models.PROTECT, related_name="execution")
    strategy = models.CharField(max_length=32, help_text="the strategy working now")
    base_strategy = models.CharField(max_length=32, blank=True, help_text="the strategy first selected")
    rule = models.CharField(max_length=64, blank=True, help_text="the selection rule that chose it, or 'explicit'")
    params = models.JSONField(default=dict, blank=True)
    base_params = models.JSONField(default=dict, blank=True, help_text="the parameters first chosen: restored on a switch back")
    rationale = models.TextField()
    status = models.CharField(max_length=16, default=RUNNING, choices=[(s, s.title()) for s in (RUNNING, DONE, STOPPED)])
    start_at = models.DateTimeField(null=True, blank=True)
    end_at = models.DateTimeField(null=True, blank=True)
    arrival_mid = PriceField(null=True, blank=True, help_text="the mid when the execution started")
    segment_started_at = models.DateTimeField(null=True, blank=True)
    segment_filled_qty = QtyField(default=ZERO)
    schedule = models.JSONField(default=list, blank=True, help_text="cumulative fraction due by the end of each slice")
    last_switch_at = models.DateTimeField(null=True, blank=True)
    warned = models.JSONField(default=list, blank=True, help_text="warnings given once")
    tick_no = models.PositiveIntegerField(default=0)
    next_tick_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_tick_at"])]

    def __str__(self) -> str:
        return f"#{self.parent_id} {self.strategy}"


class ExecutionTick(models.Model):
    """One tick of an algo: when it was due and ran, where the schedule stood, what it sent and why."""

    execution = models.ForeignKey(Execution, on_delete=models.PROTECT, related_name="ticks")
    tick_no = models.PositiveIntegerField()
    trigger = models.CharField(max_length=200)
    strategy = models.CharField(max_length=32)
    due_at = models.DateTimeField(help_text="when the schedule wanted it")
    ran_at = models.DateTimeField()
    lateness_ms = models.IntegerField(help_text="ran_at - due_at for a scheduled tick; 0 for an event")
    target_qty = QtyField(null=True, blank=True, help_text="where the schedule said the parent should be")
    filled_qty = QtyField()
    sent_qty = QtyField(default=ZERO)
    cancelled = models.PositiveIntegerField(default=0)
    reasons = models.JSONField(default=list)

    class Meta:
        ordering = ["execution_id", "tick_no"]
        constraints = [models.UniqueConstraint(fields=["execution", "tick_no"], name="tick_once")]

    def __str__(self) -> str:
        return f"#{self.execution_id} tick {self.tick_no}"


class SelectionRule(models.Model):
    """One row of the strategy selection matrix: conditions (blank: any), the strategy, its parameters and why."""

    name = models.CharField(max_length=64, unique=True)
    priority = models.IntegerField(help_text="lower first; the first rule whose conditions all hold wins")
    active = models.BooleanField(default=True)
    strategy = models.CharField(max_length=16)
    params = models.JSONField(default=dict, blank=True, help_text="the algo's parameters; duration from the size if not given")
    rationale = models.CharField(max_length=200, help_text="why, in the trader's words")
    urgency = models.CharField(max_length=8, choices=enum_choices(Urgency), blank=True)
    asset_class = models.CharField(max_length=16, blank=True)
    multi_leg = models.BooleanField(null=True, blank=True)
    min_adv_share = models.DecimalField(max_digits=10, decimal_places=6, null=True, blank=True, help_text="0.05 is 5% of ADV")
    max_adv_share = models.DecimalField(max_digits=10, decimal_places=6, null=True, blank=True, help_text="exclusive")
    volatility_regime = models.CharField(
        max_length=8, blank=True, choices=[("CALM", "Calm"), ("NORMAL", "Normal"), ("VOLATILE", "Volatile")]
    )
    min_spread_bps = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    max_spread_bps = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True, help_text="exclusive")
    min_depth_multiple = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return f"{self.priority} {self.name} -> {self.strategy}"


class RoutingDecision(models.Model):
    """One decision of the router for a parent: what it was asked, what it saw, what it chose and why."""

    parent = models.ForeignKey(ParentOrder, on_delete=models.PROTECT, related_name="routing_decisions")
    seq = models.PositiveIntegerField(help_text="1, 2, ... per parent")
    trigger = models.TextField(help_text="why the router was asked: the start, or what ended the last child")
    side = models.CharField(max_length=4, choices=enum_choices(Side))
    qty = QtyField(help_text="the quantity to place: leaves less what is working")
    limit_px = PriceField(null=True, blank=True)
    urgency = models.CharField(max_length=8, choices=enum_choices(Urgency))
    actions = models.JSONField(default=list, help_text="SWEEP, POST, DARK_PING, DARK_REST, RFQ")
    routed_qty = QtyField(default=ZERO)
    unrouted_qty = QtyField(default=ZERO)
    rfq = models.BooleanField(default=False, help_text="a block: handed to the RFQ workflow")
    reasons = models.JSONField(default=list)
    excluded = models.JSONField(default=dict, help_text="venue -> why it was not considered")
    inputs = models.JSONField(
        default=dict, help_text="what the router saw: each venue's state, age, fees, top of book and score; ADV, volatility"
    )
    orders = models.JSONField(default=list, help_text="the orders chosen, with their reasons")
    decision_us = models.PositiveIntegerField(default=0, help_text="time the pure router took, microseconds")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["parent_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["parent", "seq"], name="routing_decision_seq_once")]

    def __str__(self) -> str:
        return f"#{self.parent_id}.{self.seq} {'+'.join(self.actions) or 'nothing'}"


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
    decision = models.ForeignKey(RoutingDecision, null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    action = models.CharField(max_length=16, blank=True, help_text="the router's action: SWEEP, POST, DARK_PING, ...")
    display_qty = QtyField(null=True, blank=True, help_text="iceberg peak; blank shows it all")
    min_qty = QtyField(default=ZERO, help_text="dark: the smallest execution accepted")
    peg = models.CharField(max_length=4, choices=enum_choices(Peg), blank=True)
    post_only = models.BooleanField(default=False)
    delay_us = models.PositiveIntegerField(default=0, help_text="held this long before sending (arrival timing)")
    acked_at = models.DateTimeField(null=True, blank=True)
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


class FillMarkout(models.Model):
    """The mid some seconds after a fill, and the markout against the fill price (bps, positive is good for us)."""

    fill = models.ForeignKey("oms.Fill", on_delete=models.PROTECT, related_name="markouts")
    horizon_s = models.PositiveIntegerField()
    mid_px = PriceField()
    bps = models.DecimalField(max_digits=14, decimal_places=4)
    measured_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["fill_id", "horizon_s"]
        constraints = [models.UniqueConstraint(fields=["fill", "horizon_s"], name="markout_once_per_fill_horizon")]

    def __str__(self) -> str:
        return f"fill {self.fill_id} +{self.horizon_s}s: {self.bps} bps"


class Rfq(models.Model):
    """One request for quote: the auction's state (``ems.core.rfq.RfqBook``, as JSON) and the columns the desk queries.

    ``book`` is the record: every change goes through the pure auction and is
    saved whole with its log entries in one transaction (``ems.rfqs``). The
    other columns repeat what the book says, for lists, filters and admin.
    ``version`` grows with each change, so a blotter keeps the newest snapshot.
    """

    quote_req_id = models.CharField(max_length=32, unique=True, help_text="opaque: what the dealers see")
    parent = models.ForeignKey(ParentOrder, on_delete=models.PROTECT, related_name="rfqs")
    initiator = models.CharField(max_length=8)
    started_by = models.CharField(max_length=64, help_text="a username, or system:<component>")
    side = models.CharField(max_length=8)
    qty = QtyField()
    filled_qty = QtyField(default=ZERO)
    avg_px = PriceField(default=ZERO)
    state = models.CharField(max_length=16)
    reason = models.TextField(blank=True)
    dealers = models.JSONField(default=list, help_text="the dealers asked, in rank order")
    selection = models.JSONField(default=dict, blank=True, help_text="per dealer: why it was asked, or left out")
    book = models.JSONField()
    version = models.PositiveIntegerField(default=1)
    wakeup_at = models.DateTimeField(null=True, blank=True, help_text="when a quote or the request next expires")
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "wakeup_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(qty__gt=0), name="rfq_qty_positive"),
            models.CheckConstraint(condition=Q(filled_qty__gte=0) & Q(filled_qty__lte=F("qty")), name="rfq_not_overfilled"),
        ]

    def __str__(self) -> str:
        return f"RFQ {self.pk} #{self.parent_id} {self.state}"


class RfqLogEntry(models.Model):
    """The append-only log of one RFQ: each event, the state after it, and why (from the auction's ``RfqLog``)."""

    rfq = models.ForeignKey(Rfq, on_delete=models.PROTECT, related_name="log")
    at = models.DateTimeField()
    event = models.CharField(max_length=24)
    state = models.CharField(max_length=24)
    reason = models.TextField(blank=True)
    dealer = models.CharField(max_length=32, blank=True)
    quote_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"RFQ {self.rfq_id} {self.event} -> {self.state}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("RFQ log entries are append-only: an entry is never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("RFQ log entries are append-only: an entry is never deleted")


class DealerScore(models.Model):
    """A dealer's record over our past requests (``ems.core.rfq.DealerRecord``): what ranks it for the next one."""

    venue = models.OneToOneField(Venue, on_delete=models.PROTECT, related_name="dealer_score")
    requests = models.PositiveIntegerField(default=0)
    responses = models.PositiveIntegerField(default=0)
    wins = models.PositiveIntegerField(default=0)
    distance_bps_sum = models.DecimalField(max_digits=20, decimal_places=4, default=ZERO)
    distances = models.PositiveIntegerField(default=0)
    cover_bps_sum = models.DecimalField(max_digits=20, decimal_places=4, default=ZERO)
    covers = models.PositiveIntegerField(default=0)
    markout_bps_sum = models.DecimalField(max_digits=20, decimal_places=4, default=ZERO)
    markouts = models.PositiveIntegerField(default=0)
    last_looks = models.PositiveIntegerField(default=0)
    last_look_rejects = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["venue__code"]

    def __str__(self) -> str:
        return f"{self.venue_id}: {self.requests} requests"
