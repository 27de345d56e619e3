from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from config.admin import ReadOnlyAdmin, ReadOnlyInline
from ems.core.algos import SPECS, ParamError, strategy_parse
from ems.models import (
    ChildOrder,
    DealerScore,
    Execution,
    ExecutionTick,
    FillMarkout,
    Rfq,
    RfqLogEntry,
    RoutingDecision,
    SelectionRule,
)


class ExecutionTickInline(ReadOnlyInline):
    model = ExecutionTick
    fields = readonly_fields = (
        "tick_no", "trigger", "strategy", "due_at", "ran_at", "lateness_ms", "target_qty", "filled_qty", "sent_qty", "reasons",
    )  # fmt: skip


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    list_display = ["parent", "strategy", "base_strategy", "rule", "status", "tick_no", "next_tick_at", "end_at"]
    list_filter = ["strategy", "base_strategy", "status"]
    inlines = [ExecutionTickInline]


class SelectionRuleForm(forms.ModelForm):
    """Check the strategy's name and that its parameters are the strategy's own."""

    class Meta:
        model = SelectionRule
        fields = [
            "name", "priority", "active", "strategy", "params", "rationale", "urgency", "asset_class", "multi_leg",
            "min_adv_share", "max_adv_share", "volatility_regime", "min_spread_bps", "max_spread_bps", "min_depth_multiple",
        ]  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            strategy = strategy_parse(str(data.get("strategy", "")))
        except ParamError as exc:
            self.add_error("strategy", exc.message)
            return data
        data["strategy"] = strategy.value
        params = data.get("params") or {}
        if not isinstance(params, dict):
            self.add_error("params", "must be an object of parameter names to values")
            return data
        known = {spec.name for spec in SPECS[strategy]}
        for name in sorted(set(params) - known):
            self.add_error("params", f"`{name}` is not a parameter of {strategy.value} ({', '.join(sorted(known)) or 'none'})")
        return data


@admin.register(SelectionRule)
class SelectionRuleAdmin(admin.ModelAdmin):
    """The strategy selection matrix: the first active rule by priority whose conditions all hold wins."""

    form = SelectionRuleForm
    list_display = [
        "priority", "name", "active", "strategy", "urgency", "asset_class", "min_adv_share", "max_adv_share",
        "volatility_regime", "min_spread_bps", "rationale",
    ]  # fmt: skip
    list_editable = ["active"]
    list_display_links = ["name"]
    ordering = ["priority", "name"]
    fieldsets = [
        (None, {"fields": ["name", "priority", "active", "strategy", "params", "rationale"]}),
        (
            "Conditions (blank: any)",
            {
                "fields": [
                    "urgency",
                    "asset_class",
                    "multi_leg",
                    "min_adv_share",
                    "max_adv_share",
                    "volatility_regime",
                    "min_spread_bps",
                    "max_spread_bps",
                    "min_depth_multiple",
                ]
            },
        ),
    ]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)  # deactivate a rule rather than lose it


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


class RfqLogInline(ReadOnlyInline):
    model = RfqLogEntry
    fields = readonly_fields = ("at", "event", "state", "dealer", "quote_id", "reason")


@admin.register(Rfq)
class RfqAdmin(ReadOnlyAdmin):
    """Requests change only through the auction (``ems.rfqs``), never by editing a row."""

    list_display = ["id", "parent", "initiator", "side", "qty", "filled_qty", "avg_px", "state", "opened_at", "closed_at"]
    list_filter = ["state", "initiator"]
    search_fields = ["quote_req_id", "parent__id"]
    inlines = [RfqLogInline]


@admin.register(DealerScore)
class DealerScoreAdmin(ReadOnlyAdmin):
    """Each dealer's record, kept by the requests it was asked in; the panel itself is edited under Venues."""

    list_display = ["venue", "requests", "responses", "wins", "last_looks", "last_look_rejects", "score", "summary"]

    @admin.display(description="score")
    def score(self, row: DealerScore) -> str:
        from ems.rfqs import record_of, rfq_policy

        value = record_of(row).score(rfq_policy().weights)
        return "—" if value is None else str(value)

    @admin.display(description="record")
    def summary(self, row: DealerScore) -> str:
        from ems.rfqs import record_of

        return record_of(row).summary()
