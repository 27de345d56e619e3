"""Push order and fill updates to the blotters over the Channels layer.

Groups: ``desk`` sees every order (traders, risk, admins); ``portfolio.<id>``
sees one portfolio (its PM). A publish failure is logged, never raised: the
database is the record and a blotter catches up on its next load.
"""

import json
import logging
from typing import Any

from config.layer import group_send
from ems.models import Rfq
from oms.api.serializers import FillSerializer, OrderSerializer
from oms.models import Fill, ParentOrder

log = logging.getLogger(__name__)

DESK_GROUP = "desk"


def portfolio_group(portfolio_id: int) -> str:
    return f"portfolio.{portfolio_id}"


def _send(portfolio_id: int, message: dict[str, Any]) -> None:
    event = {"type": "blotter.message", "message": json.loads(json.dumps(message))}
    try:
        group_send((DESK_GROUP, portfolio_group(portfolio_id)), event)
    except Exception:  # the channel layer is best effort; the database is the record
        log.exception("blotter publish failed")


def _order(parent: ParentOrder) -> dict[str, Any]:
    return dict(OrderSerializer(parent).data)


def blotter_publish_order(*, parent_id: int) -> None:
    parent = ParentOrder.objects.select_related("portfolio", "instrument", "created_by").get(pk=parent_id)
    _send(parent.portfolio_id, {"type": "order", "order": _order(parent)})


def blotter_publish_rfq(*, rfq_id: int) -> None:
    """Push a request's snapshot (its ladder as of now) to the desk and the order's portfolio."""
    from ems.rfqs import rfq_snapshot

    rfq = Rfq.objects.select_related("parent__instrument__underlying").get(pk=rfq_id)
    _send(rfq.parent.portfolio_id, {"type": "rfq", "rfq": rfq_snapshot(rfq)})


def blotter_publish_fill(*, fill_id: int) -> None:
    fill = Fill.objects.select_related("parent__portfolio", "parent__instrument", "parent__created_by").get(pk=fill_id)
    _send(fill.parent.portfolio_id, {"type": "fill", "fill": dict(FillSerializer(fill).data), "order": _order(fill.parent)})
