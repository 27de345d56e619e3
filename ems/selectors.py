from typing import Any

from ems.models import ChildOrder
from ems.serializers import ChildOrderSerializer


def child_order_list(*, parent_id: int) -> list[dict[str, Any]]:
    """Return the parent's child orders in their API shape (Decimals as strings)."""
    children = ChildOrder.objects.filter(parent_id=parent_id).select_related("venue").order_by("id")
    return [dict(row) for row in ChildOrderSerializer(children, many=True).data]
