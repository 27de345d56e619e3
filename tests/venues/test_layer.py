"""Sending to Channels groups from sync code: one event loop per process, reused, and a new one after a fork."""

import os
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

import config.layer
from config.layer import group_send


def _listen(layer: Any, *groups: str) -> str:
    channel: str = async_to_sync(layer.new_channel)()
    for group in groups:
        async_to_sync(layer.group_add)(group, channel)
    return channel


def _heard(layer: Any, channels: list[str], count: int) -> list[list[int]]:
    """What each channel receives, ``count`` events each, on one loop (as a consumer would)."""

    async def receive() -> list[list[int]]:
        return [[(await layer.receive(channel))["n"] for _ in range(count)] for channel in channels]

    return async_to_sync(receive)()


def test_one_send_reaches_every_group_and_later_sends_reuse_the_same_loop() -> None:
    # given one channel in group a and another in group b
    layer = get_channel_layer()
    first, second = _listen(layer, "layer-test-a"), _listen(layer, "layer-test-b")

    # when two events are sent to both groups
    group_send(("layer-test-a", "layer-test-b"), {"type": "x.y", "n": 1})
    loop = config.layer._running_loop()
    group_send(("layer-test-a", "layer-test-b"), {"type": "x.y", "n": 2})

    # then each channel hears both, in order, and the process kept one loop, running
    assert _heard(layer, [first, second], 2) == [[1, 2], [1, 2]]
    assert config.layer._running_loop() is loop
    assert loop.is_running()


def test_a_forked_process_starts_its_own_loop() -> None:
    # given the loop this process started, as a forked child would inherit it (its thread does not survive a fork)
    layer = get_channel_layer()
    channel = _listen(layer, "layer-test-fork")
    group_send(("layer-test-fork",), {"type": "x.y", "n": 1})
    inherited = config.layer._running_loop()
    config.layer._loop = (os.getpid() + 1, inherited)  # recorded by another pid: the parent's

    # when the "child" sends
    group_send(("layer-test-fork",), {"type": "x.y", "n": 2})

    # then it runs a loop of its own, and the event still arrives
    assert config.layer._running_loop() is not inherited
    assert _heard(layer, [channel], 2) == [[1, 2]]
    inherited.call_soon_threadsafe(inherited.stop)


def test_sync_code_an_event_loop_called_sends_on_that_loop() -> None:
    # given no loop of the helper's own yet, and a channel in a group
    layer = get_channel_layer()
    channel = _listen(layer, "layer-test-caller")
    config.layer._loop = None

    # when a coroutine calls sync code (a REST view under Daphne) that sends
    async def scenario() -> int:
        await sync_to_async(group_send)(("layer-test-caller",), {"type": "x.y", "n": 7})
        return int((await layer.receive(channel))["n"])

    # then the event arrives, sent on the caller's loop: the helper started none
    assert async_to_sync(scenario)() == 7
    assert config.layer._loop is None
