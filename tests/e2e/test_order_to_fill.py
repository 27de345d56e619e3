"""The thin path, all real: REST -> OMS -> Celery worker -> Redis stream -> gateway -> venue
-> reports -> worker -> child, parent, position, cash -> websocket.

A real Celery worker and the real gateway run as separate processes against the
test database and the real Redis (external or embedded, as configured).
"""

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User

from config.redis import redis_client
from ems.consumers import BlotterConsumer
from ems.models import ChildOrder, Execution
from oms.models import Fill, OrderEvent, ParentOrder, Portfolio, Position
from tests.conftest import api_client_for, start_process, stop_process, wait_for

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def live_system(transactional_db: Any, demo: None, tmp_path: Path) -> Iterator[Path]:
    """Start a Celery worker (prefork, 2 processes) and the gateway on an empty Redis; stop them after the test.

    Emptied first: an earlier test may have left child orders on the gateway's stream.
    """
    redis_client().flushdb()
    worker = start_process(
        ["-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=2", "--without-mingle", "--without-gossip"],
        tmp_path / "worker.log",
    )
    gateway = start_process(["manage.py", "rungateway"], tmp_path / "gateway.log")
    try:
        yield tmp_path
    finally:
        stop_process(gateway)
        stop_process(worker)


def test_rest_order_is_filled_booked_and_streamed(live_system: Path) -> None:
    # given a PM's live blotter and the demo market: XGAM (inverted fees, the cheapest to take
    # from) shows 500 shares a level from 101.51 up
    pm = User.objects.get(username="pm1")
    portfolio = Portfolio.objects.get(code="GROWTH")
    cash_before = portfolio.cash

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        blotter = WebsocketCommunicator(BlotterConsumer.as_asgi(), "/ws/blotter/")
        blotter.scope["user"] = pm
        connected, _ = await blotter.connect()
        assert connected
        assert (await blotter.receive_json_from(timeout=10))["type"] == "hello"

        # when the PM buys 1,200 ACME limit 101.53 over REST
        response = await database_sync_to_async(_post_order)()
        assert response.status_code == 201, response.content
        order = response.json()

        # then the blotter hears the fills until the order is filled
        messages = []
        while True:
            message = await blotter.receive_json_from(timeout=60)
            messages.append(message)
            if message.get("order", {}).get("id") == order["id"] and message["order"]["status"] == "FILLED":
                break
        await blotter.disconnect()
        return order, messages

    order, messages = async_to_sync(scenario)()

    fills = [m["fill"] for m in messages if m["type"] == "fill"]
    assert [(f["qty"], f["px"], f["venue"]) for f in fills] == [
        ("500.0000", "101.51000000", "XGAM"),
        ("500.0000", "101.52000000", "XGAM"),
        ("200.0000", "101.53000000", "XGAM"),
    ]
    # and the parent is filled at the quantity-weighted average, fees booked (XGAM pays a rebate)
    parent = ParentOrder.objects.get(pk=order["id"])
    assert parent.status == "FILLED"
    assert parent.filled_qty == Decimal("1200")
    assert parent.avg_px == Decimal("101.5175")
    assert parent.fees == Decimal("-0.6")
    assert list(Fill.objects.filter(parent=parent).values_list("qty", "px")) == [
        (Decimal("500"), Decimal("101.51")),
        (Decimal("500"), Decimal("101.52")),
        (Decimal("200"), Decimal("101.53")),
    ]
    child = ChildOrder.objects.get(parent=parent)
    assert (child.status, child.filled_qty, child.venue.code, child.report_seq) == ("FILLED", Decimal("1200"), "XGAM", 4)
    assert Execution.objects.get(parent=parent).status == Execution.DONE
    # and the position and cash moved by exactly the fills and fees
    position = Position.objects.get(portfolio=portfolio, instrument__symbol="ACME")
    assert position.qty == Decimal("11200")  # 10,000 seeded + 1,200
    assert position.avg_cost == Decimal("98.55544643")  # (10,000 x 98.20 + 121,821) / 11,200
    portfolio.refresh_from_db()
    assert portfolio.cash == cash_before - Decimal("121821") + Decimal("0.6")
    # and every step is in the order's event log, in order
    kinds = list(OrderEvent.objects.filter(parent=parent).values_list("kind", flat=True))
    assert kinds == [
        "SUBMITTED",
        "ACCEPT",
        "STRATEGY_SELECTED",
        "CHILD_ROUTED",
        "CHILD_NEW",
        "FILL",
        "FILL",
        "FILL",
        "EXECUTION_DONE",
    ]
    # and the REST detail shows children, fills and events
    detail = api_client_for("pm1").get(f"/api/orders/{parent.pk}/").json()
    assert detail["status"] == "FILLED"
    assert [c["status"] for c in detail["children"]] == ["FILLED"]
    assert len(detail["fills"]) == 3
    assert detail["events"][-1]["kind"] == "EXECUTION_DONE"


def test_market_order_remainder_is_cancelled_and_execution_stops(live_system: Path) -> None:
    # given the demo market, where XGAM shows 5,000 shares on the offer across ten levels
    client = api_client_for("pm2")

    # when a PM sends a market order larger than the venue can fill
    response = client.post(
        "/api/orders/",
        {"portfolio": "VALUE", "instrument": "GLOBX", "side": "BUY", "qty": "6000", "ord_type": "MARKET"},
        format="json",
    )
    assert response.status_code == 201, response.content
    parent_id = response.json()["id"]

    # then the child takes all ten levels, the remainder is cancelled, and the execution stops
    execution = wait_for(
        lambda: Execution.objects.filter(parent_id=parent_id).exclude(status=Execution.RUNNING).first(),
        what="the execution to end",
    )
    assert execution.status == Execution.STOPPED
    parent = ParentOrder.objects.get(pk=parent_id)
    assert parent.filled_qty == Decimal("5000")
    assert parent.status == "PARTIALLY_FILLED"
    assert ChildOrder.objects.get(parent_id=parent_id).status == "CANCELED"
    assert Fill.objects.filter(parent_id=parent_id).count() == 10
    assert Position.objects.get(portfolio__code="VALUE", instrument__symbol="GLOBX").qty == Decimal("10000")


def _post_order() -> Any:
    return api_client_for("pm1").post(
        "/api/orders/",
        {"portfolio": "GROWTH", "instrument": "ACME", "side": "BUY", "qty": "1200", "ord_type": "LIMIT", "limit_px": "101.53"},
        format="json",
    )
