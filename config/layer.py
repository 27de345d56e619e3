"""Send to Channels groups from sync code (Celery workers, the gateway) over one event loop per process.

``async_to_sync`` runs each call on a new event loop in a new thread, and
channels_redis keeps its Redis connections per loop, so every send paid for a
thread, a loop and fresh connections: a tenth of a worker's time under load
(``make bench``). Here each process keeps one loop running in a daemon thread,
started on first use (and again in a forked child, which inherits no threads),
and a send is a coroutine handed to it. Sync code that an event loop called
through ``sync_to_async`` (a REST view under Daphne) sends on that loop instead,
as ``async_to_sync`` does, beside the consumers it serves. (channels_redis keeps
its connections per loop, so the loops never share one.) Never call this from
a coroutine.
"""

import asyncio
import os
import threading
from collections.abc import Iterable
from typing import Any, Final

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

SEND_TIMEOUT_S: Final = 5.0

_lock = threading.Lock()
_loop: tuple[int, asyncio.AbstractEventLoop] | None = None  # (the pid that started it, the loop)


def _running_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="channel-layer", daemon=True).start()
            _loop = (os.getpid(), loop)
        return _loop[1]


def group_send(groups: Iterable[str], event: dict[str, Any], *, layer: Any = None) -> None:
    """Send ``event`` to each of ``groups`` on ``layer`` (default: the project's), waiting for it; raise what it raised.

    Without a channel layer configured, do nothing.
    """
    layer = layer or get_channel_layer()
    if layer is None:
        return
    targets = list(groups)

    async def send() -> None:
        for group in targets:
            await layer.group_send(group, event)

    if _caller_loop() is not None:
        async_to_sync(send)()
        return
    asyncio.run_coroutine_threadsafe(send(), _running_loop()).result(timeout=SEND_TIMEOUT_S)


def _caller_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop that called this thread's code through ``sync_to_async``, if any (asgiref's record)."""
    local = SyncToAsync.threadlocal
    if getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    loop: asyncio.AbstractEventLoop | None = getattr(local, "main_event_loop", None)
    return loop if loop is not None and loop.is_running() else None
