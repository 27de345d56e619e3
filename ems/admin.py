from django.contrib import admin

from config.admin import ReadOnlyAdmin, ReadOnlyInline
from ems.models import ChildOrder, Execution, FillMarkout, RoutingDecision


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    list_display = ["parent", "strategy", "status", "created_at", "updated_at"]
    list_filter = ["strategy", "status"]


@admin.register(ChildOrder)
class ChildOrderAdmin(ReadOnlyAdmin):
    list_display = [
        "cl_ord_id",
        "parent",
        "venue",
        "side",
        "qty",
        "ord_type",
        "limit_px",
        "tif",
        "status",
        "filled_qty",
        "avg_px",
        "sent_at",
    ]
    list_filter = ["status", "venue", "side"]
    search_fields = ["cl_ord_id", "venue_order_id", "parent__id"]


class RoutedChildInline(ReadOnlyInline):
    model = ChildOrder
    fields = readonly_fields = (
        "cl_ord_id",
        "venue",
        "action",
        "qty",
        "limit_px",
        "tif",
        "display_qty",
        "min_qty",
        "status",
        "filled_qty",
    )


@admin.register(RoutingDecision)
class RoutingDecisionAdmin(ReadOnlyAdmin):
    list_display = [
        "parent",
        "seq",
        "side",
        "qty",
        "limit_px",
        "urgency",
        "actions",
        "routed_qty",
        "unrouted_qty",
        "rfq",
        "decision_us",
        "created_at",
    ]
    list_filter = ["rfq", "urgency"]
    search_fields = ["parent__id"]
    inlines = [RoutedChildInline]


@admin.register(FillMarkout)
class FillMarkoutAdmin(ReadOnlyAdmin):
    list_display = ["fill", "horizon_s", "mid_px", "bps", "measured_at"]
    list_filter = ["horizon_s"]
