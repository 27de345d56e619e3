"""RFQ, all real: an option order -> Celery worker -> the dealers in the gateway -> quotes on the ladder -> a click ->
last look -> fills per leg -> positions, with the ladder streaming to the trader's blotter over Channels.
"""

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User

from ems.consumers import BlotterConsumer
from ems.models import Rfq
from oms.models import Fill, FillLeg, Instrument, ParentOrder, Position
from tests.conftest import api_client_for, wait_for
from tests.e2e.test_order_to_fill import live_system  # noqa: F401 - the fixture: a worker and the gateway

pytestmark = [pytest.mark.e2e]


def test_a_package_rfq_streams_quotes_and_a_click_books_every_leg(live_system: Path) -> None:  # noqa: F811
    # given the trader's live blotter and the demo's 100/110 call vertical
    vertical = Instrument.objects.get(structure="VERTICAL")
    legs = list(vertical.legs.select_related("instrument"))
    trader = User.objects.get(username="trader1")

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        blotter = WebsocketCommunicator(BlotterConsumer.as_asgi(), "/ws/blotter/")
        blotter.scope["user"] = trader
        connected, _ = await blotter.connect()
        assert connected
        assert (await blotter.receive_json_from(timeout=10))["type"] == "hello"

        # when a PM asks for 10 verticals over REST, by RFQ, over a 20 s window
        response = await database_sync_to_async(_post_order)(vertical.pk)
        assert response.status_code == 201, response.content
        order = response.json()

        # then the ladder streams to the blotter as the dealers' quotes land (several quote options)
        snapshots: list[dict[str, Any]] = []
        while True:
            message = await blotter.receive_json_from(timeout=30)
            if message["type"] == "rfq":
                snapshots.append(message["rfq"])
                if len(message["rfq"]["ladder"]["offers"]) >= 2:
                    break
        await blotter.disconnect()
        return order, snapshots

    order, snapshots = async_to_sync(scenario)()
    rfq = Rfq.objects.get(parent_id=order["id"])
    assert snapshots[0]["id"] == rfq.pk
    offers = snapshots[-1]["ladder"]["offers"]
    prices = [Decimal(row["px"]) for row in offers]
    assert prices == sorted(prices)  # best (lowest) first
    assert all(row["improvement_bps"] is not None for row in offers)  # against the package's theoretical mid
    assert len({row["dealer"] for row in offers}) == len(offers)

    # when the trader clicks the best offer; a dealer may walk away on last look, so click again until one fills
    client = api_client_for("trader1")

    def filled() -> bool:
        rfq.refresh_from_db()
        if rfq.state in ("FILLED", "EXPIRED", "FAILED"):
            return True
        view = client.get(f"/api/rfqs/{rfq.pk}/").json()
        if view["state"] == "OPEN" and view["ladder"]["offers"]:
            client.post(f"/api/rfqs/{rfq.pk}/hit/", {"quote_id": view["ladder"]["offers"][0]["quote_id"]}, format="json")
        return False

    wait_for(filled, timeout=60, what="the request to end")

    # then the order is filled with one dealer, and each leg's position holds its share at prices that make the fill's
    rfq.refresh_from_db()
    assert rfq.state == "FILLED", rfq.reason
    parent = ParentOrder.objects.get(pk=order["id"])
    fill = Fill.objects.get(parent=parent)
    assert (parent.status, parent.filled_qty, fill.qty) == ("FILLED", Decimal(10), Decimal(10))
    booked = list(FillLeg.objects.filter(fill=fill).order_by("leg_no"))
    assert [(b.instrument_id, b.side, b.qty) for b in booked] == [(leg.instrument_id, leg.side, Decimal(10)) for leg in legs]
    assert booked[0].px - booked[1].px == fill.px  # bought C100 less sold C110: the package price, exactly
    positions = {
        p.instrument_id: p.qty
        for p in Position.objects.filter(portfolio=parent.portfolio, instrument__in=[leg.instrument for leg in legs])
    }
    assert positions == {legs[0].instrument_id: Decimal(10), legs[1].instrument_id: Decimal(-10)}


def _post_order(instrument_id: int) -> Any:
    return api_client_for("pm1").post(
        "/api/orders/",
        {
            "portfolio": "GROWTH",
            "instrument": Instrument.objects.get(pk=instrument_id).symbol,
            "side": "BUY",
            "ord_type": "MARKET",
            "qty": "10",
            "strategy": "RFQ",
            "strategy_params": {"window_seconds": 20, "dealers": ["DLR-KF", "DLR-NB", "DLR-HM", "DLR-SL"]},
        },
        format="json",
    )
