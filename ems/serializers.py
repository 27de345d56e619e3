from rest_framework import serializers

from ems.models import ChildOrder
from venues.models import Venue


class ChildOrderSerializer(serializers.ModelSerializer):
    venue: serializers.SlugRelatedField[Venue] = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ChildOrder
        fields = [
            "cl_ord_id", "slice_no", "venue", "side", "ord_type", "qty", "limit_px", "tif", "status", "filled_qty",
            "avg_px", "venue_order_id", "route_reason", "text", "sent_at", "created_at",
        ]  # fmt: skip
