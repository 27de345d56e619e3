"""The blotter websocket: only logged-in users, and each sees only what it may, live."""

from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, User

from ems import algos
from ems.consumers import BlotterConsumer
from ems.models import Execution
from ems.publish import blotter_publish_order
from oms import ports
from oms.models import Instrument, ParentOrder, Portfolio
from tests.ems.test_algos import twap
from trading.enums import OrdType, Side


def test_anonymous_socket_is_refused(transactional_db: Any) -> None:
    async def scenario() -> tuple[bool, Any]:
        socket = WebsocketCommunicator(BlotterConsumer.as_asgi(), "/ws/blotter/")
        socket.scope["user"] = AnonymousUser()
        return await socket.connect()

    connected, code = async_to_sync(scenario)()
    assert not connected
    assert code == 4401


def test_each_user_hears_only_the_portfolios_it_may_see(transactional_db: Any, demo: None) -> None:
    # given pm1, pm2 and a trader on the blotter, and an order in pm2's portfolio
    order = ParentOrder.objects.create(
        portfolio=Portfolio.objects.get(code="VALUE"),
        instrument=Instrument.objects.get(symbol="GLOBX"),
        side=Side.BUY,
        ord_type=OrdType.MARKET,
        qty=10,
        created_by=User.objects.get(username="pm2"),
        status="NEW",
    )

    async def scenario() -> dict[str, Any]:
        sockets = {}
        for name in ("pm1", "pm2", "trader1"):
            socket = WebsocketCommunicator(BlotterConsumer.as_asgi(), "/ws/blotter/")
            socket.scope["user"] = await _user(name)
            connected, _ = await socket.connect()
            assert connected
            await socket.receive_json_from(timeout=5)  # hello
            sockets[name] = socket

        # when the order is published
        from channels.db import database_sync_to_async

        await database_sync_to_async(blotter_publish_order)(parent_id=order.pk)

        # then pm2 and the trader hear it, pm1 does not
        heard = {name: await _next(socket) for name, socket in sockets.items()}
        for socket in sockets.values():
            await socket.disconnect()
        return heard

    heard = async_to_sync(scenario)()
    assert heard["pm2"]["order"]["id"] == order.pk
    assert heard["trader1"]["order"]["id"] == order.pk
    assert heard["pm1"] is None
    # no execution yet: the grid's strategy cell is blank
    assert (heard["trader1"]["order"]["execution_strategy"], heard["trader1"]["order"]["execution_base_strategy"]) == ("", "")
    assert heard["trader1"]["order"]["execution_updated_at"] is None


@pytest.fixture
def no_worker(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """No worker and no gateway here: the test starts and ticks the algo itself.

    Its commits are real (the socket hears them), so the starts and ticks they
    would queue are dropped, and the child orders go to a stream no gateway reads.
    """
    monkeypatch.setattr(type(ports.execution), "start", lambda self, parent_id: None)
    monkeypatch.setattr(algos, "execution_tick_enqueue", lambda **kwargs: None)
    settings.GATEWAY_ORDER_STREAM = "test:blotter:orders"


def test_a_strategy_switch_pushes_the_row_with_the_strategy_first_and_now(
    transactional_db: Any, demo: None, no_worker: None
) -> None:
    # given a TWAP at work, far behind its schedule, and a trader on the blotter
    order = twap()
    algos.execution_start(parent_id=order.pk)
    end_at = Execution.objects.get(parent=order).end_at
    assert end_at is not None

    async def scenario() -> Any:
        socket = WebsocketCommunicator(BlotterConsumer.as_asgi(), "/ws/blotter/")
        socket.scope["user"] = await _user("trader1")
        connected, _ = await socket.connect()
        assert connected
        await socket.receive_json_from(timeout=5)  # hello

        # when its tick a minute before the end switches it to IMMEDIATE to complete
        tick = database_sync_to_async(algos.execution_tick)
        await tick(parent_id=order.pk, tick_no=None, now=end_at - timedelta(seconds=60))

        heard = await _next(socket)
        await socket.disconnect()
        return heard

    heard = async_to_sync(scenario)()

    # then the trader hears the order's row, with the strategy it switched from and the one working it now
    assert Execution.objects.get(parent=order).strategy == "IMMEDIATE"
    assert heard["type"] == "order"
    row = heard["order"]
    assert (row["id"], row["execution_base_strategy"], row["execution_strategy"]) == (order.pk, "TWAP", "IMMEDIATE")
    assert isinstance(row["execution_updated_at"], str)


async def _user(name: str) -> User:
    from channels.db import database_sync_to_async

    return await database_sync_to_async(User.objects.get)(username=name)


async def _next(socket: WebsocketCommunicator) -> Any:
    if await socket.receive_nothing(timeout=1):
        return None
    return await socket.receive_json_from(timeout=5)


def test_an_idle_socket_stays_up_past_the_layers_blocking_read_and_still_hears(transactional_db: Any, demo: None) -> None:
    # given a trader's blotter that hears nothing for longer than the channel layer's 5 s blocking read
    # (redis-py 8's default 5 s socket timeout used to cut that read and tear the socket down)
    async def scenario() -> tuple[Any, dict[str, Any]]:
        socket = WebsocketCommunicator(BlotterConsumer.as_asgi(), "/ws/blotter/")
        socket.scope["user"] = await database_sync_to_async(User.objects.get)(username="trader1")
        connected, _ = await socket.connect()
        assert connected
        assert (await socket.receive_json_from(timeout=10))["type"] == "hello"
        assert await socket.receive_nothing(timeout=7, interval=0.5)  # idle, through one whole blocking read

        # when an order is published after the idle spell
        order = await database_sync_to_async(twap)()
        await database_sync_to_async(blotter_publish_order)(parent_id=order.pk)

        # then the same socket hears it
        message = await socket.receive_json_from(timeout=10)
        await socket.disconnect()
        return order, message

    order, message = async_to_sync(scenario)()
    assert (message["type"], message["order"]["id"]) == ("order", order.pk)
