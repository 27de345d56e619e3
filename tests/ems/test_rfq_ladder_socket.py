"""The RFQ ladder streams to the trader's blotter over Channels as each quote lands, and only to who may see it."""

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from ems import algos, rfqs, tasks
from ems.consumers import BlotterConsumer
from ems.models import Rfq
from oms import ports
from tests.ems.market import market_set
from tests.ems.test_blotter_socket import _next, _user
from tests.ems.test_rfqs import option, order_for, quote


@pytest.fixture
def no_worker(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """The test plays the worker and the dealers: queued starts and wake-ups are dropped, requests go to a spare stream."""
    monkeypatch.setattr(type(ports.execution), "start", lambda self, parent_id: None)
    monkeypatch.setattr(tasks.rfq_tick, "apply_async", lambda *args, **kwargs: None)
    settings.GATEWAY_ORDER_STREAM = "test:rfq-ladder:orders"


def test_the_ladder_updates_live_as_each_quote_lands(transactional_db: Any, demo: None, no_worker: None) -> None:
    # given an open request for pm1's 50 calls
    market_set()
    order = order_for(option())
    algos.execution_start(parent_id=order.pk)
    rfq = Rfq.objects.get(parent=order)
    offers = [quote(rfq, "DLR-KF", offer="5.10"), quote(rfq, "DLR-NB", offer="4.95")]

    async def scenario() -> dict[str, list[Any]]:
        sockets = {}
        for name in ("trader1", "pm1", "pm2"):
            socket = WebsocketCommunicator(BlotterConsumer.as_asgi(), "/ws/blotter/")
            socket.scope["user"] = await _user(name)
            connected, _ = await socket.connect()
            assert connected
            await socket.receive_json_from(timeout=5)  # hello
            sockets[name] = socket
        heard: dict[str, list[Any]] = {name: [] for name in sockets}
        apply = database_sync_to_async(rfqs.rfq_apply)
        # when two dealers' offers land, one after the other
        for message in offers:
            await apply([message])
            for name, socket in sockets.items():
                heard[name].append(await _next(socket))
        for socket in sockets.values():
            await socket.disconnect()
        return heard

    heard = async_to_sync(scenario)()

    # then the trader (the desk) and the order's PM see the ladder grow, best first; the other PM sees nothing
    for name in ("trader1", "pm1"):
        first, second = heard[name]
        assert first["type"] == second["type"] == "rfq"
        assert [row["dealer"] for row in first["rfq"]["ladder"]["offers"]] == ["DLR-KF"]
        assert [(row["dealer"], row["px"]) for row in second["rfq"]["ladder"]["offers"]] == [("DLR-NB", "4.95"), ("DLR-KF", "5.10")]
        assert second["rfq"]["version"] > first["rfq"]["version"]
    assert heard["pm2"] == [None, None]
