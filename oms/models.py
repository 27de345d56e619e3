"""The OMS's records: instruments, portfolios, parent orders, fills, positions, the event log."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from config.fields import MoneyField, PriceField, QtyField, enum_choices
from oms.core.positions import PositionState
from trading.enums import AssetClass, OrdType, PutCall, Side, TimeInForce, Urgency
from trading.numbers import ZERO
from trading.states import OrdStatus


class Instrument(models.Model):
    symbol = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=128, blank=True)
    asset_class = models.CharField(max_length=16, choices=enum_choices(AssetClass), default=AssetClass.EQUITY)
    currency = models.CharField(max_length=3, default="USD")
    tick_size = PriceField()
    lot_size = QtyField()
    multiplier = QtyField(default=Decimal(1), help_text="contract multiplier: 100 for a US equity option")
    ref_px = PriceField(help_text="reference price: the last close, until live market data marks it")
    underlying = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="derivatives")
    strike = PriceField(null=True, blank=True)
    expiry = models.DateField(null=True, blank=True)
    put_call = models.CharField(max_length=4, choices=enum_choices(PutCall), blank=True)
    structure = models.CharField(
        max_length=16, blank=True, help_text="a package (VERTICAL, STRADDLE, ...) with the legs below; blank: one instrument"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(condition=Q(tick_size__gt=0), name="instrument_tick_positive"),
            models.CheckConstraint(condition=Q(lot_size__gt=0), name="instrument_lot_positive"),
            models.CheckConstraint(
                condition=Q(asset_class=AssetClass.EQUITY)
                | (~Q(structure="") & Q(underlying__isnull=False))
                | (Q(underlying__isnull=False) & Q(strike__isnull=False) & Q(expiry__isnull=False) & ~Q(put_call="")),
                name="instrument_option_terms",
            ),
        ]

    def __str__(self) -> str:
        return self.symbol

    @property
    def is_package(self) -> bool:
        return bool(self.structure)


class InstrumentLeg(models.Model):
    """One leg of a package instrument: ``ratio`` units of ``instrument`` per package unit, ``side`` when it is bought.

    A package is listed like an exchange's user-defined strategy: one symbol,
    traded at one net price per unit; its fills book to each leg's position.
    """

    package = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="legs")
    leg_no = models.PositiveSmallIntegerField(help_text="1, 2, ... in the package's order")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="in_packages")
    side = models.CharField(max_length=4, choices=enum_choices(Side))
    ratio = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["package_id", "leg_no"]
        constraints = [
            models.UniqueConstraint(fields=["package", "leg_no"], name="leg_once"),
            models.CheckConstraint(condition=Q(ratio__gt=0), name="leg_ratio_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.package_id} leg {self.leg_no}: {self.side} {self.ratio} {self.instrument_id}"


class Portfolio(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=128)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="portfolios")
    currency = models.CharField(max_length=3, default="USD")
    cash = MoneyField(default=ZERO)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Account(models.Model):
    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="accounts")
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=128)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class ParentOrderQuerySet(models.QuerySet["ParentOrder"]):
    def locked(self) -> "ParentOrderQuerySet":
        """For update, with its instrument: the order's row only (``OF self``), never the instrument's, which every
        order of the instrument joins (locking it ran their ticks and fills one at a time, and deadlocked a submit's
        foreign-key check against a fill)."""
        return self.select_for_update(of=("self",)).select_related("instrument")


class ParentOrder(models.Model):
    """A PM's order: what to trade. The EMS decides how, through child orders."""

    cl_ord_id = models.CharField(max_length=64, blank=True, help_text="the client's id; a retry with it is idempotent")
    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="orders")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="orders")
    side = models.CharField(max_length=4, choices=enum_choices(Side))
    ord_type = models.CharField(max_length=8, choices=enum_choices(OrdType))
    qty = QtyField()
    limit_px = PriceField(null=True, blank=True)
    tif = models.CharField(max_length=4, choices=enum_choices(TimeInForce), default=TimeInForce.DAY)
    urgency = models.CharField(max_length=8, choices=enum_choices(Urgency), default=Urgency.MEDIUM)
    strategy = models.CharField(max_length=16, blank=True, help_text="the PM's choice of algo; blank: the selection matrix")
    strategy_params = models.JSONField(default=dict, blank=True, help_text="the algo's parameters, as given")
    start_at = models.DateTimeField(null=True, blank=True, help_text="work from; blank: now")
    end_at = models.DateTimeField(null=True, blank=True, help_text="work until; blank: from the algo's duration")
    status = models.CharField(max_length=16, choices=enum_choices(OrdStatus), default=OrdStatus.PENDING_NEW)
    filled_qty = QtyField(default=ZERO)
    filled_notional = models.DecimalField(max_digits=36, decimal_places=12, default=ZERO)  # exact: qty x px
    avg_px = PriceField(default=ZERO)
    fees = MoneyField(default=ZERO)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ParentOrderQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(qty__gt=0), name="parent_qty_positive"),
            models.CheckConstraint(condition=Q(filled_qty__gte=0) & Q(filled_qty__lte=F("qty")), name="parent_not_overfilled"),
            models.UniqueConstraint(
                fields=["created_by", "cl_ord_id"], condition=~Q(cl_ord_id=""), name="parent_cl_ord_id_unique_per_user"
            ),
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.side} {self.qty} {self.instrument_id}"

    @property
    def leaves_qty(self) -> Decimal:
        """Return what is left to trade: ``qty - filled_qty`` while working, 0 once done."""
        return ZERO if OrdStatus(self.status).is_terminal else self.qty - self.filled_qty


class Fill(models.Model):
    """One venue execution, booked once: unique per venue and execution id."""

    parent = models.ForeignKey(ParentOrder, on_delete=models.PROTECT, related_name="fills")
    child_cl_ord_id = models.CharField(max_length=64, db_index=True)
    venue = models.CharField(max_length=32)
    exec_id = models.CharField(max_length=128)
    side = models.CharField(max_length=4, choices=enum_choices(Side))
    qty = QtyField()
    px = PriceField()
    fee = MoneyField(default=ZERO)
    liquidity = models.CharField(max_length=8, blank=True)
    executed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "exec_id"], name="fill_once_per_venue_exec_id"),
            models.CheckConstraint(condition=Q(qty__gt=0), name="fill_qty_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.venue}:{self.exec_id} {self.qty}@{self.px}"


class FillLeg(models.Model):
    """One leg of a package fill: what the leg's position booked. The legs' money makes the fill's price exactly."""

    fill = models.ForeignKey(Fill, on_delete=models.PROTECT, related_name="legs")
    leg_no = models.PositiveSmallIntegerField()
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="leg_fills")
    side = models.CharField(max_length=4, choices=enum_choices(Side))
    qty = QtyField()
    px = PriceField()

    class Meta:
        ordering = ["fill_id", "leg_no"]
        constraints = [models.UniqueConstraint(fields=["fill", "leg_no"], name="fill_leg_once")]

    def __str__(self) -> str:
        return f"{self.fill_id}.{self.leg_no} {self.side} {self.qty} {self.instrument_id}@{self.px}"


class Position(models.Model):
    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="positions")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="positions")
    qty = QtyField(default=ZERO)
    cost_basis = models.DecimalField(
        max_digits=36,
        decimal_places=12,
        default=ZERO,
        help_text="cost of the open quantity, signed like qty (see oms.core.positions)",
    )
    realized_pnl = MoneyField(default=ZERO)
    fees = MoneyField(default=ZERO)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["portfolio_id", "instrument_id"]
        constraints = [models.UniqueConstraint(fields=["portfolio", "instrument"], name="position_once")]

    def __str__(self) -> str:
        return f"{self.portfolio_id}/{self.instrument_id}: {self.qty}"

    @property
    def state(self) -> PositionState:
        return PositionState(self.qty, self.cost_basis, self.realized_pnl)

    @property
    def avg_cost(self) -> Decimal:
        return self.state.avg_cost


class OrderEvent(models.Model):
    """The append-only log of everything that happens to an order and its children."""

    parent = models.ForeignKey(ParentOrder, on_delete=models.PROTECT, related_name="events")
    child_cl_ord_id = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=32)
    status_before = models.CharField(max_length=16, blank=True)
    status_after = models.CharField(max_length=16, blank=True)
    actor = models.CharField(max_length=64, help_text="a username, or system:<component>")
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.parent_id} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("order events are append-only: an event is never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("order events are append-only: an event is never deleted")
