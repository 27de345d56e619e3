from typing import Any

from ems.models import ChildOrder


def child_order_list(*, parent_id: int) -> list[dict[str, Any]]:
    """Return the parent's child orders as API values (Decimals as strings)."""
    rows = ChildOrder.objects.filter(parent_id=parent_id).select_related("venue").order_by("id")
    return [
        {
            "cl_ord_id": c.cl_ord_id,
            "slice_no": c.slice_no,
            "venue": c.venue.code,
            "side": c.side,
            "ord_type": c.ord_type,
            "qty": str(c.qty),
            "limit_px": None if c.limit_px is None else str(c.limit_px),
            "tif": c.tif,
            "status": c.status,
            "filled_qty": str(c.filled_qty),
            "avg_px": str(c.avg_px),
            "venue_order_id": c.venue_order_id,
            "route_reason": c.route_reason,
            "text": c.text,
            "sent_at": c.sent_at.isoformat() if c.sent_at else None,
            "created_at": c.created_at.isoformat(),
        }
        for c in rows
    ]
