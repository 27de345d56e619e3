"""The blotter websocket: only logged-in users, and each sees only what it may."""

from typing import Any

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, User

from ems.consumers import BlotterConsumer
from ems.publish import blotter_publish_order
from oms.models import Instrument, ParentOrder, Portfolio
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


async def _user(name: str) -> User:
    from channels.db import database_sync_to_async

    return await database_sync_to_async(User.objects.get)(username=name)


async def _next(socket: WebsocketCommunicator) -> Any:
    if await socket.receive_nothing(timeout=1):
        return None
    return await socket.receive_json_from(timeout=5)
