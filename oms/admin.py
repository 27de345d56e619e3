from typing import Any, Final

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.admin import ReadOnlyAdmin, ReadOnlyInline
from oms.kill_switch import KillSwitchDenied, kill_switch_engage, kill_switch_release
from oms.models import (
    Account,
    Fill,
    Instrument,
    InstrumentLeg,
    KillScope,
    KillSwitch,
    KillSwitchEvent,
    OrderEvent,
    ParentOrder,
    Portfolio,
    Position,
    Restriction,
    RiskLimit,
)


class InstrumentLegInline(admin.TabularInline):
    """A package's legs: each leg's side when the package is bought, and its units per package unit."""

    model = InstrumentLeg
    fk_name = "package"
    extra = 0
    raw_id_fields = ["instrument"]


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["symbol", "name", "asset_class", "structure", "currency", "tick_size", "lot_size", "ref_px", "active"]
    list_filter = ["asset_class", "structure", "active", "currency"]
    search_fields = ["symbol", "name"]
    raw_id_fields = ["underlying"]
    inlines = [InstrumentLegInline]


class AccountInline(admin.TabularInline):
    model = Account
    extra = 0


@admin.register(Portfolio)
class PortfolioAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "owner", "currency", "cash"]
    search_fields = ["code", "name", "owner__username"]
    inlines = [AccountInline]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "portfolio"]
    search_fields = ["code", "name"]


class FillInline(ReadOnlyInline):
    model = Fill
    readonly_fields = ["child_cl_ord_id", "venue", "exec_id", "side", "qty", "px", "fee", "liquidity", "executed_at"]


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    readonly_fields = ["created_at", "kind", "child_cl_ord_id", "status_before", "status_after", "actor", "reason", "data"]


@admin.register(ParentOrder)
class ParentOrderAdmin(ReadOnlyAdmin):
    """Orders change only through services (which log events), never by editing a row."""

    list_display = [
        "id",
        "portfolio",
        "instrument",
        "side",
        "qty",
        "ord_type",
        "limit_px",
        "status",
        "filled_qty",
        "avg_px",
        "created_at",
    ]
    list_filter = ["status", "side", "ord_type", "portfolio"]
    search_fields = ["id", "cl_ord_id", "instrument__symbol"]
    inlines = [FillInline, OrderEventInline]


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = ["id", "parent", "venue", "exec_id", "side", "qty", "px", "fee", "liquidity", "executed_at"]
    list_filter = ["venue", "side", "liquidity"]
    search_fields = ["exec_id", "child_cl_ord_id"]


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "parent", "kind", "status_before", "status_after", "actor", "created_at"]
    list_filter = ["kind"]
    search_fields = ["parent__id", "child_cl_ord_id"]


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ["portfolio", "instrument", "qty", "avg_cost", "cost_basis", "realized_pnl", "fees", "updated_at"]
    list_filter = ["portfolio"]


# --- pre-trade risk and the kill switch: the risk role's pages ---------------------------------


@admin.register(RiskLimit)
class RiskLimitAdmin(admin.ModelAdmin):
    """Limits by scope: no portfolio and no instrument is the firm's; every row covering an order applies, strictest wins."""

    list_display = [
        "scope_label", "max_order_qty", "max_order_notional", "collar_bps", "credit_limit", "max_position_qty",
        "daily_notional", "max_orders", "per_seconds", "duplicate_seconds", "active", "updated_at",
    ]  # fmt: skip
    list_filter = ["active", "asset_class", "portfolio"]
    raw_id_fields = ["instrument"]


@admin.register(Restriction)
class RestrictionAdmin(admin.ModelAdmin):
    """The restricted list: an entry on a stock covers its options and the packages with it in a leg."""

    list_display = ["instrument", "portfolio", "reason", "created_at"]
    list_filter = ["portfolio"]
    search_fields = ["instrument__symbol", "reason"]
    raw_id_fields = ["instrument"]


class KillSwitchEventInline(ReadOnlyInline):
    model = KillSwitchEvent
    readonly_fields = ["created_at", "action", "actor", "reason", "data"]


ENGAGE_FIELDS: Final = ("scope", "portfolio", "trader", "instrument", "venue", "reason")


@admin.register(KillSwitch)
class KillSwitchAdmin(admin.ModelAdmin):
    """Add engages a switch (and cancels what works in its scope); "Release" needs the risk role. Rows are never edited."""

    list_display = ["id", "target_label", "reason", "engaged", "engaged_by", "engaged_at", "released_by", "released_at"]
    list_filter = ["engaged", "scope"]
    fields = list(ENGAGE_FIELDS)
    raw_id_fields = ["instrument", "trader"]
    inlines = [KillSwitchEventInline]
    actions = ["release"]

    def get_readonly_fields(self, request: HttpRequest, obj: KillSwitch | None = None) -> list[str]:
        return list(ENGAGE_FIELDS) if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: KillSwitch, form: Any, change: bool) -> None:
        if change:
            return  # shown read-only: a switch changes only by being released
        engaged = kill_switch_engage(
            user=request.user,
            scope=KillScope(obj.scope),
            reason=obj.reason,
            portfolio=obj.portfolio,
            trader=obj.trader,
            instrument=obj.instrument,
            venue=obj.venue,
        )
        obj.pk = engaged.pk

    @admin.action(description="Release the selected kill switches")
    def release(self, request: HttpRequest, queryset: QuerySet[KillSwitch]) -> None:
        try:
            for switch in queryset.filter(engaged=True):
                kill_switch_release(user=request.user, switch_id=switch.pk, reason="released in admin")
        except KillSwitchDenied as denied:
            self.message_user(request, str(denied), level=messages.ERROR)
