from django.contrib import admin

from config.admin import ReadOnlyAdmin, ReadOnlyInline
from oms.models import Account, Fill, Instrument, InstrumentLeg, OrderEvent, ParentOrder, Portfolio, Position


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
