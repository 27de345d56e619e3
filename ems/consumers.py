"""The blotter's websocket: order and fill updates, live, for what the user may see."""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from ems.publish import DESK_GROUP, portfolio_group
from oms import roles


@database_sync_to_async
def _groups_for(user: Any) -> list[str]:
    if roles.sees_all_orders(user):
        return [DESK_GROUP]
    return [portfolio_group(pk) for pk in roles.portfolios_for(user).values_list("pk", flat=True)]


class BlotterConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.groups_joined = await _groups_for(user)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.get_username(), "groups": self.groups_joined})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def blotter_message(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])
