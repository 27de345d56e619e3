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
    decision_px = PriceField(
        null=True, blank=True, help_text="the mark when the order was accepted: TCA's decision price (delay cost from it)"
    )
    allocate_by = models.CharField(
        max_length=8,
        choices=[("QTY", "Qty"), ("RATIO", "Ratio")],
        blank=True,
        help_text="a block order's split among accounts (the allocations); blank: all to the portfolio",
    )
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
    mid_px = PriceField(
        null=True,
        blank=True,
        help_text="the market's mid when the fill was booked (NBBO mid; an option's or package's theoretical value): "
        "the benchmark of its effective spread; empty when there was none",
    )
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


# --- block allocations ----------------------------------------------------------------------


class Allocation(models.Model):
    """One account's part of a block order: a target quantity or a ratio (``ParentOrder.allocate_by``).

    Each fill is split among the order's allocations by ``oms.core.allocation``
    and each share books to its account's portfolio.
    """

    parent = models.ForeignKey(ParentOrder, on_delete=models.PROTECT, related_name="allocations")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="allocations")
    position = models.PositiveSmallIntegerField(help_text="1, 2, ... as given: the tie-break of leftover lots")
    weight = QtyField(help_text="a target quantity or a ratio; only the proportions matter")
    allocated_qty = QtyField(default=ZERO)

    class Meta:
        ordering = ["parent_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "account"], name="allocation_once_per_account"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="allocation_weight_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.parent_id} {self.account_id}: {self.weight}"


class FillAllocation(models.Model):
    """One account's share of a block fill, at the fill's price, with its share of the fee."""

    fill = models.ForeignKey(Fill, on_delete=models.PROTECT, related_name="allocations")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="fill_allocations")
    qty = QtyField()
    fee = MoneyField(default=ZERO)

    class Meta:
        ordering = ["fill_id", "account_id"]
        constraints = [models.UniqueConstraint(fields=["fill", "account"], name="fill_allocation_once")]

    def __str__(self) -> str:
        return f"{self.fill_id} -> {self.account_id}: {self.qty}"


# --- pre-trade risk and the kill switch ----------------------------------------------------------


class RiskLimit(models.Model):
    """Pre-trade limits of one scope: the firm (no portfolio, no instrument), a portfolio, an instrument, or both;
    optionally narrowed to one asset class (a collar of 10% suits a stock, not an option).

    Every limit row whose scope covers an order applies; field by field the
    strictest wins (``oms.core.risk.limits_tightest``). A blank field is no limit.
    """

    portfolio = models.ForeignKey(Portfolio, null=True, blank=True, on_delete=models.CASCADE, related_name="risk_limits")
    instrument = models.ForeignKey(Instrument, null=True, blank=True, on_delete=models.CASCADE, related_name="risk_limits")
    asset_class = models.CharField(
        max_length=16, choices=enum_choices(AssetClass), blank=True, help_text="only orders in this asset class; blank: all"
    )
    max_order_qty = QtyField(null=True, blank=True, help_text="per order")
    max_order_notional = MoneyField(null=True, blank=True, help_text="per order, qty x price x multiplier")
    collar_bps = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, help_text="a limit price at most this far from the reference"
    )
    credit_limit = MoneyField(null=True, blank=True, help_text="working orders' remaining notional plus today's fills")
    max_position_qty = QtyField(null=True, blank=True, help_text="absolute position with working orders, worst case")
    daily_notional = MoneyField(null=True, blank=True, help_text="notional of the orders submitted today")
    max_orders = models.PositiveIntegerField(null=True, blank=True, help_text="throttle: new orders per window")
    per_seconds = models.PositiveIntegerField(default=1, help_text="the throttle's window")
    duplicate_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="an identical order within this many seconds is refused as a duplicate"
    )
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["portfolio_id", "instrument_id", "id"]
        constraints = [models.CheckConstraint(condition=Q(per_seconds__gt=0), name="risk_limit_window_positive")]

    def __str__(self) -> str:
        return f"limits: {self.scope_label}"

    @property
    def scope_label(self) -> str:
        parts = [str(part) for part in (self.portfolio, self.instrument) if part is not None]
        return " / ".join(parts or ["firm"]) + (f" ({self.asset_class.lower()})" if self.asset_class else "")


class Restriction(models.Model):
    """The restricted list: no new order in ``instrument`` (for one portfolio, or firm-wide when blank)."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="restrictions")
    portfolio = models.ForeignKey(Portfolio, null=True, blank=True, on_delete=models.CASCADE, related_name="restrictions")
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["instrument_id", "id"]

    def __str__(self) -> str:
        return f"{self.instrument} restricted: {self.reason}"


class KillScope(models.TextChoices):
    FIRM = "FIRM"
    PORTFOLIO = "PORTFOLIO"
    TRADER = "TRADER"
    INSTRUMENT = "INSTRUMENT"
    VENUE = "VENUE"


class KillSwitch(models.Model):
    """An engaged kill switch blocks new orders in its scope; engaging it cancelled what worked there.

    A VENUE switch blocks routing to that venue (and RFQs to that dealer) and
    cancelled the children working there; the parents go on elsewhere. Engaged
    and released through ``oms.kill_switch`` only, each step audited in
    ``KillSwitchEvent``; releasing needs the risk role.
    """

    scope = models.CharField(max_length=16, choices=KillScope.choices)
    portfolio = models.ForeignKey(Portfolio, null=True, blank=True, on_delete=models.PROTECT, related_name="kill_switches")
    trader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="kill_switches"
    )
    instrument = models.ForeignKey(Instrument, null=True, blank=True, on_delete=models.PROTECT, related_name="kill_switches")
    venue = models.CharField(max_length=32, blank=True, help_text="a venue's or dealer's code")
    reason = models.CharField(max_length=200)
    engaged = models.BooleanField(default=True)
    engaged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    engaged_at = models.DateTimeField(auto_now_add=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope="FIRM", portfolio__isnull=True, trader__isnull=True, instrument__isnull=True, venue="")
                    | Q(scope="PORTFOLIO", portfolio__isnull=False, trader__isnull=True, instrument__isnull=True, venue="")
                    | Q(scope="TRADER", portfolio__isnull=True, trader__isnull=False, instrument__isnull=True, venue="")
                    | Q(scope="INSTRUMENT", portfolio__isnull=True, trader__isnull=True, instrument__isnull=False, venue="")
                    | (Q(scope="VENUE", portfolio__isnull=True, trader__isnull=True, instrument__isnull=True) & ~Q(venue=""))
                ),
                name="kill_switch_scope_target",
            )
        ]
        indexes = [models.Index(fields=["engaged"])]

    def __str__(self) -> str:
        return f"kill switch {self.target_label}{'' if self.engaged else ' (released)'}"

    @property
    def target_label(self) -> str:
        """The scope in words: "firm", "portfolio ALPHA", "trader bob", "instrument ACME", "venue DARK"."""
        target = {
            KillScope.FIRM: "",
            KillScope.PORTFOLIO: str(self.portfolio),
            KillScope.TRADER: self.trader.get_username() if self.trader else "",
            KillScope.INSTRUMENT: str(self.instrument),
            KillScope.VENUE: self.venue,
        }[KillScope(self.scope)]
        return f"{self.scope.lower()} {target}".strip()


class KillSwitchEvent(models.Model):
    """The kill switch's audit trail, append-only: who engaged or released it, why, and what it cancelled."""

    switch = models.ForeignKey(KillSwitch, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=16)  # ENGAGED | RELEASED
    actor = models.CharField(max_length=64)
    reason = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.switch_id} {self.action} by {self.actor}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("kill switch events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("kill switch events are append-only")
