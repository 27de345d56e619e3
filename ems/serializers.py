from typing import Any

from rest_framework import serializers

from ems.models import ChildOrder, RoutingDecision
from venues.models import Venue


class ChildOrderSerializer(serializers.ModelSerializer):
    venue: serializers.SlugRelatedField[Venue] = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ChildOrder
        fields = [
            "cl_ord_id", "slice_no", "venue", "side", "ord_type", "qty", "limit_px", "tif", "status", "filled_qty",
            "avg_px", "venue_order_id", "action", "display_qty", "min_qty", "peg", "post_only", "decision_seq",
            "route_reason", "text", "sent_at", "acked_at", "created_at",
        ]  # fmt: skip

    decision_seq = serializers.IntegerField(source="decision.seq", read_only=True, default=None)


class RoutingDecisionSerializer(serializers.ModelSerializer):
    """A routing decision: the request, what the router saw (inputs), what it chose (orders) and why (reasons)."""

    children: Any = serializers.SlugRelatedField(slug_field="cl_ord_id", many=True, read_only=True)

    class Meta:
        model = RoutingDecision
        fields = [
            "seq", "created_at", "trigger", "side", "qty", "limit_px", "urgency", "actions", "routed_qty", "unrouted_qty",
            "rfq", "reasons", "excluded", "orders", "children", "inputs", "decision_us",
        ]  # fmt: skip
