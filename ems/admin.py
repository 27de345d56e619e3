from django.contrib import admin

from config.admin import ReadOnlyAdmin
from ems.models import ChildOrder, Execution


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
