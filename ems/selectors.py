from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Subquery
from rest_framework.fields import DateTimeField

from ems.core.tca import slippage_bps
from ems.models import ChildOrder, Execution, ExecutionTick, RoutingDecision
from ems.serializers import ChildOrderSerializer, RoutingDecisionSerializer
from oms.models import Instrument
from trading.enums import Side
from trading.numbers import decimal_str


def child_order_list(*, parent_id: int) -> list[dict[str, Any]]:
    """Return the parent's child orders in their API shape (Decimals as strings)."""
    children = ChildOrder.objects.filter(parent_id=parent_id).select_related("venue", "decision").order_by("id")
    return [dict(row) for row in ChildOrderSerializer(children, many=True).data]


def routing_decision_list(*, parent_id: int) -> list[dict[str, Any]]:
    """Return the parent's routing decisions, first to last, in their API shape."""
    decisions = RoutingDecision.objects.filter(parent_id=parent_id).prefetch_related("children").order_by("seq")
    return [dict(row) for row in RoutingDecisionSerializer(decisions, many=True).data]


def execution_strategies(*, parent_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Return how each of these parents with an execution is worked now, for the blotter's rows.

    Strategy now and first, the execution's last change, where the schedule said the parent should be at
    its latest tick (``schedule_qty``; None for an unscheduled strategy), the arrival mid, and the filled
    part's slippage against it in bps (positive: a cost; None before a fill or without a positive mid).
    """
    last_target = (
        ExecutionTick.objects.filter(execution=OuterRef("pk"), target_qty__isnull=False)
        .order_by("-tick_no")
        .values("target_qty")[:1]
    )
    rows = (
        Execution.objects.filter(parent_id__in=parent_ids)
        .annotate(schedule_qty=Subquery(last_target))
        .values(
            "parent_id", "strategy", "base_strategy", "updated_at", "arrival_mid", "schedule_qty",
            "parent__side", "parent__filled_qty", "parent__avg_px",
        )
    )  # fmt: skip
    return {
        row["parent_id"]: {
            "strategy": row["strategy"],
            "base_strategy": row["base_strategy"] or row["strategy"],
            "updated_at": DateTimeField().to_representation(row["updated_at"]),
            "schedule_qty": row["schedule_qty"],
            "arrival_mid": row["arrival_mid"],
            "slippage_bps": _arrival_slippage(row),
        }
        for row in rows
    }


def _arrival_slippage(row: dict[str, Any]) -> Decimal | None:
    arrival, avg = row["arrival_mid"], row["parent__avg_px"]
    if not row["parent__filled_qty"] or arrival is None or avg is None or arrival <= 0 or avg <= 0:
        return None  # nothing filled yet, or a package priced at a net credit: no bps against it
    return slippage_bps(side=Side(row["parent__side"]), avg_px=avg, benchmark=arrival)


_ALGO_EVENTS = ("STRATEGY_SELECTED", "STRATEGY_SWITCH", "SCHEDULE_CATCH_UP", "SCHEDULE_LIMIT", "SCHEDULE_I_WOULD", "ALGO_WARNING")


def execution_detail(*, parent_id: int) -> dict[str, Any] | None:
    """Return the parent's execution: strategy (now and first), parameters, rationale, window, schedule, switches, ticks."""
    execution = Execution.objects.filter(parent_id=parent_id).select_related("parent").first()
    if execution is None:
        return None
    events = execution.parent.events.filter(kind__in=_ALGO_EVENTS).order_by("id")
    ticks = execution.ticks.order_by("tick_no")
    return {
        "strategy": execution.strategy,
        "base_strategy": execution.base_strategy,
        "rule": execution.rule,
        "params": execution.params,
        "rationale": execution.rationale,
        "status": execution.status,
        "start_at": execution.start_at,
        "end_at": execution.end_at,
        "arrival_mid": decimal_str(execution.arrival_mid),
        "segment_started_at": execution.segment_started_at,
        "segment_filled_qty": decimal_str(execution.segment_filled_qty),
        "schedule": execution.schedule,
        "next_tick_at": execution.next_tick_at,
        "tick_no": execution.tick_no,
        "switches": [{"at": e.created_at, "reason": e.reason, **e.data} for e in events if e.kind == "STRATEGY_SWITCH"],
        "notes": [{"at": e.created_at, "kind": e.kind, "reason": e.reason} for e in events if e.kind != "STRATEGY_SWITCH"],
        "ticks": [
            {
                "tick_no": t.tick_no,
                "trigger": t.trigger,
                "strategy": t.strategy,
                "due_at": t.due_at,
                "ran_at": t.ran_at,
                "lateness_ms": t.lateness_ms,
                "target_qty": decimal_str(t.target_qty),
                "filled_qty": decimal_str(t.filled_qty),
                "sent_qty": decimal_str(t.sent_qty),
                "reasons": t.reasons,
            }
            for t in ticks
        ],
    }


def instrument_marks(*, instrument_ids: list[int]) -> dict[int, Decimal]:
    """Return each instrument's live mark that is known, by id: the NBBO mid, or an option's or package's theoretical value."""
    from ems.rfqs import composite_mid

    marks: dict[int, Decimal] = {}
    for instrument in Instrument.objects.filter(pk__in=instrument_ids).select_related("underlying"):
        mark, _ = composite_mid(instrument)
        if mark is not None:
            marks[instrument.pk] = mark
    return marks
