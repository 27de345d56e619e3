"""The market view's websocket: one symbol's books, consolidated view and trades, live.

On connect the socket sends a ``snapshot`` read from Redis, then forwards each
``market.update`` the gateway publishes as an ``update``; both carry ``seq``, so
the page drops updates its snapshot already holds and resyncs (reconnects) on a
gap. A symbol with no data yet gets an empty snapshot (``seq`` 0) and stays
subscribed, since data may start later; a malformed symbol is closed with 4404.
Anonymous users are closed with 4401.
"""

from typing import Any, Final

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from config.redis import redis_client
from venues.marketdata import market_group, market_snapshot_read, symbol_valid

SNAPSHOT_TRADES: Final = 100


def _snapshot(symbol: str) -> dict[str, Any]:
    return market_snapshot_read(redis_client(), symbol, SNAPSHOT_TRADES)


class MarketConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        symbol = self.scope["url_route"]["kwargs"].get("symbol", "")
        if not symbol_valid(symbol):
            await self.close(code=4404)
            return
        # Join before reading: an update published in between is queued behind the snapshot,
        # and the page drops it by ``seq`` if the snapshot already holds it.
        self.group = market_group(symbol)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        snapshot = await sync_to_async(_snapshot, thread_sensitive=False)(symbol)
        await self.send_json({"type": "snapshot", **snapshot})

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def market_update(self, event: dict[str, Any]) -> None:
        await self.send_json({**event, "type": "update"})
