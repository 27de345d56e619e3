"""The market websocket: logged-in users only, a snapshot from Redis on connect, then live updates."""

import uuid
from decimal import Decimal
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, User

from config.redis import redis_client
from trading.enums import Side
from venues.marketdata import BookView, TradePrint, market_publish
from venues.routing import websocket_urlpatterns

D = Decimal
TS = "2025-01-02T14:30:00+00:00"


def new_symbol() -> str:
    return "S" + uuid.uuid4().hex[:8].upper()  # each test its own symbol: the Redis is shared


def book(venue: str, symbol: str, bid: str, ask: str, state: str = "OPEN") -> BookView:
    return BookView(venue=venue, symbol=symbol, bids=((D(bid), D("100"), 1),), asks=((D(ask), D("200"), 2),), state=state, ts=TS)


def socket_for(symbol: str, user: Any) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/market/{symbol}/")
    socket.scope["user"] = user
    return socket


def test_anonymous_socket_is_refused(db: Any) -> None:
    async def scenario() -> tuple[bool, Any]:
        return await socket_for("GLOBX", AnonymousUser()).connect()

    connected, code = async_to_sync(scenario)()
    assert not connected
    assert code == 4401


def test_a_malformed_symbol_is_refused(db: Any) -> None:
    # given
    user = User.objects.create_user("md-malformed")

    async def scenario() -> tuple[bool, Any]:
        return await socket_for("BAD%24SYM", user).connect()

    # when
    connected, code = async_to_sync(scenario)()

    # then
    assert not connected
    assert code == 4404


def test_connect_sends_the_snapshot_then_forwards_updates(db: Any) -> None:
    # given a symbol with a published market
    symbol = new_symbol()
    user = User.objects.create_user("md-viewer")
    market_publish(
        redis_client(),
        symbol,
        [book("XALP", symbol, "10.00", "10.02"), book("XBET", symbol, "10.01", "10.03", state="HALTED")],
        [TradePrint(venue="XALP", symbol=symbol, px=D("10.02"), qty=D("100"), aggressor=Side.BUY, ts=TS)],
    )

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        socket = socket_for(symbol, user)
        connected, _ = await socket.connect()
        assert connected
        snapshot = await socket.receive_json_from(timeout=5)

        # when the gateway publishes a new book and a trade
        await sync_to_async(market_publish, thread_sensitive=False)(
            redis_client(),
            symbol,
            [book("XALP", symbol, "10.01", "10.02")],
            [TradePrint(venue="XALP", symbol=symbol, px=D("10.01"), qty=D("5"), aggressor=Side.SELL, ts=TS)],
            channel_layer=get_channel_layer(),
        )
        update = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return snapshot, update

    snapshot, update = async_to_sync(scenario)()

    # then the snapshot holds what was in Redis
    assert snapshot["type"] == "snapshot"
    assert snapshot["seq"] == 1
    assert [(b["venue"], b["state"]) for b in snapshot["books"]] == [("XALP", "OPEN"), ("XBET", "HALTED")]
    assert (snapshot["consolidated"]["bid_px"], snapshot["consolidated"]["ask_px"]) == ("10.00", "10.02")
    assert [t["px"] for t in snapshot["trades"]] == ["10.02"]
    # and the update follows it with the next seq, every venue's book and only the new trade
    assert update["type"] == "update"
    assert update["seq"] == 2
    assert [(b["venue"], b["bids"][0][0]) for b in update["books"]] == [("XALP", "10.01"), ("XBET", "10.01")]
    assert update["consolidated"]["bid_px"] == "10.01"
    assert update["consolidated"]["bid_venues"] == ["XALP"]
    assert [(t["px"], t["aggressor"]) for t in update["trades"]] == [("10.01", "SELL")]


def test_an_unknown_symbol_gets_an_empty_snapshot_and_hears_its_first_update(db: Any) -> None:
    # given a symbol nobody has published yet
    symbol = new_symbol()
    user = User.objects.create_user("md-early")

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        socket = socket_for(symbol, user)
        connected, _ = await socket.connect()
        assert connected
        snapshot = await socket.receive_json_from(timeout=5)
        # when its first market data arrives
        await sync_to_async(market_publish, thread_sensitive=False)(
            redis_client(), symbol, [book("XALP", symbol, "10.00", "10.02")], [], channel_layer=get_channel_layer()
        )
        update = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return snapshot, update

    snapshot, update = async_to_sync(scenario)()

    # then
    assert snapshot == {"type": "snapshot", "symbol": symbol, "seq": 0, "books": [], "consolidated": None, "trades": []}
    assert (update["type"], update["seq"], update["consolidated"]["ask_px"]) == ("update", 1, "10.02")


def test_a_socket_hears_only_its_own_symbol(db: Any) -> None:
    # given a viewer of one symbol
    watched, other = new_symbol(), new_symbol()
    user = User.objects.create_user("md-one")

    async def scenario() -> bool:
        socket = socket_for(watched, user)
        connected, _ = await socket.connect()
        assert connected
        await socket.receive_json_from(timeout=5)  # snapshot
        # when another symbol updates
        await sync_to_async(market_publish, thread_sensitive=False)(
            redis_client(), other, [book("XALP", other, "1.00", "1.01")], [], channel_layer=get_channel_layer()
        )
        heard_nothing = await socket.receive_nothing(timeout=1)
        await socket.disconnect()
        return heard_nothing

    # then
    assert async_to_sync(scenario)()
