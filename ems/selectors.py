from typing import Any

from ems.models import ChildOrder, RoutingDecision
from ems.serializers import ChildOrderSerializer, RoutingDecisionSerializer


def child_order_list(*, parent_id: int) -> list[dict[str, Any]]:
    """Return the parent's child orders in their API shape (Decimals as strings)."""
    children = ChildOrder.objects.filter(parent_id=parent_id).select_related("venue", "decision").order_by("id")
    return [dict(row) for row in ChildOrderSerializer(children, many=True).data]


def routing_decision_list(*, parent_id: int) -> list[dict[str, Any]]:
    """Return the parent's routing decisions, first to last, in their API shape."""
    decisions = RoutingDecision.objects.filter(parent_id=parent_id).prefetch_related("children").order_by("seq")
    return [dict(row) for row in RoutingDecisionSerializer(decisions, many=True).data]
