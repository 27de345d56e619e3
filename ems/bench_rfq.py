"""The RFQ workflow's own overhead, on the live system: ``make bench``'s ``rfq`` section.

``python -m ems.bench --only rfq [--rfq-requests N] [--rfq-interval-ms I]``.

**What it measures** (the dealers' simulated latency excluded from both):

- *request to all dealers notified*: from the PM's order entering the OMS
  (``parent_order_submit``, what ``POST /api/orders/`` runs, with
  ``strategy: RFQ``) to the last of its dealers' ``QuoteRequest`` messages
  on the gateway's stream, read by a consumer group of this process (the
  dealer desk reads the same stream): the OMS's checks and commit, the
  Celery start, the dealer selection, the book saved, the stream written.
  Baseline: a bare Redis stream round trip, one message added by this process
  to a stream of its own and read by the same reader thread, one a request;
- *quote to ladder*: from the instant a dealer's quote leaves the dealer (its
  ``transact_time_ns``: when its simulated latency ends, on this machine's
  clock) to the first blotter message that carries it, heard by a trader's
  websocket consumer in this process over the Redis channel layer: the
  gateway's release, the Celery hand-off, the worker's transaction, the
  publish. Baseline: a bare channel-layer message sent by this process to the
  same consumer's group, one a request.

**How.** On the live system (``ems.bench_live``: the gateway with the five
demo dealers, the workers and beat). N requests (default 40; quick 8) for 10
ACME calls, one every I ms (default 250), each with a 5 s window to the four
dealers that quote options. p50/p99/max in ms. No test asserts these figures.
"""

import asyncio
import contextlib
import threading
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from ems.bench_live import SetupFailed
from oms.bench_measure import summary_ms

if TYPE_CHECKING:
    from ems.bench_live import LiveSystem

DEALERS: Final = ["DLR-KF", "DLR-NB", "DLR-HM", "DLR-SL"]
_GROUP: Final = "bench-rfq"


REQUESTS: Final = 40
QUICK_REQUESTS: Final = 8
INTERVAL_MS: Final = 250
PROBE_STREAM: Final = "bench:rfq-probe"


def summary(values_ms: Sequence[float]) -> dict[str, Any]:
    return summary_ms(values_ms)


class _Listener(threading.Thread):
    """A trader's blotter socket in this process: every RFQ snapshot heard, with when."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.heard: list[tuple[int, dict[str, Any]]] = []
        self.probes: list[float] = []  # ms from a bare channel-layer message's send to its arrival
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        asyncio.run(self._listen())

    async def _listen(self) -> None:
        from channels.db import database_sync_to_async
        from channels.testing import WebsocketCommunicator
        from django.contrib.auth.models import User

        from ems.consumers import BlotterConsumer

        socket = WebsocketCommunicator(BlotterConsumer.as_asgi(), "/ws/blotter/")
        socket.scope["user"] = await database_sync_to_async(User.objects.get)(username="trader1")
        await socket.connect()
        await socket.receive_json_from(timeout=10)  # hello
        self.ready.set()
        while not self.stop.is_set():
            try:
                message = await socket.receive_json_from(timeout=0.5)
            except (TimeoutError, asyncio.CancelledError):  # the test communicator cancels its read on a timeout
                continue
            if message.get("type") == "rfq":
                self.heard.append((time.time_ns(), message["rfq"]))
            elif message.get("type") == "bench.probe":
                self.probes.append((time.time_ns() - int(message["sent_ns"])) / 1e6)
        with contextlib.suppress(Exception, asyncio.CancelledError):  # closing the socket is not part of the figure
            await socket.disconnect()


class _StreamReader(threading.Thread):
    """Reads the gateway's stream as a consumer group of its own: when each dealer's request was there to read."""

    def __init__(self, redis_url: str, stream: str) -> None:
        super().__init__(daemon=True)
        import redis

        self.client = redis.Redis.from_url(redis_url, decode_responses=True)
        self.stream = stream
        self.seen: dict[str, list[int]] = {}  # quote_req_id -> when each dealer's request was read
        self.probes: list[float] = []  # ms from a bare XADD on PROBE_STREAM to its read here
        self.probe_from = "0-0"  # the stream is emptied first: every probe added from now on is read
        self.client.delete(PROBE_STREAM)
        self.stop = threading.Event()
        with contextlib.suppress(redis.ResponseError):  # the group exists: a rerun on the same Redis
            self.client.xgroup_create(stream, _GROUP, id="$", mkstream=True)

    def run(self) -> None:
        while not self.stop.is_set():
            response: Any = self.client.xreadgroup(_GROUP, "bench", {self.stream: ">"}, count=500, block=5)
            now = time.time_ns()
            probes: Any = self.client.xread({PROBE_STREAM: self.probe_from}, count=100, block=1)
            probed = time.time_ns()
            for _stream, messages in probes or []:
                for message_id, fields in messages:
                    self.probe_from = message_id
                    self.probes.append((probed - int(fields["sent_ns"])) / 1e6)
            for _stream, messages in response or []:
                for _id, fields in messages:
                    if fields.get("msg_type") == "R":
                        self.seen.setdefault(fields["quote_req_id"], []).append(now)


def measure(requests: int, interval_ms: int, redis_url: str) -> dict[str, Any]:
    from django.conf import settings
    from django.contrib.auth.models import User

    from config.layer import group_send
    from ems.models import Rfq
    from ems.publish import DESK_GROUP
    from oms.models import Instrument, Portfolio
    from oms.services import OrderTerms, parent_order_submit
    from trading.enums import OrdType, Side, TimeInForce, Urgency

    listener, reader = _Listener(), _StreamReader(redis_url, settings.GATEWAY_ORDER_STREAM)
    listener.start()
    reader.start()
    if not listener.ready.wait(timeout=30):
        raise SetupFailed("the blotter socket did not connect")
    call = Instrument.objects.filter(asset_class="OPTION", structure="", strike=100, put_call="CALL").first()
    if call is None:
        raise SetupFailed("the demo's ACME 100 call is missing")
    pm, portfolio = User.objects.get(username="pm1"), Portfolio.objects.get(code="GROWTH")
    submitted: dict[int, int] = {}
    for _ in range(requests):
        started = time.time_ns()
        order, _created = parent_order_submit(
            user=pm,
            terms=OrderTerms(
                portfolio=portfolio,
                instrument=call,
                side=Side.BUY,
                ord_type=OrdType.MARKET,
                qty=Decimal(10),
                limit_px=None,
                tif=TimeInForce.DAY,
                urgency=Urgency.MEDIUM,
                strategy="RFQ",
                strategy_params={"window_seconds": 5, "dealers": DEALERS},
            ),
            allow_duplicate=True,  # the same terms every time, on purpose
        )
        submitted[order.pk] = started
        time.sleep(interval_ms / 2000)
        reader.client.xadd(PROBE_STREAM, {"sent_ns": str(time.time_ns())})  # the baselines, one a request
        group_send((DESK_GROUP,), {"type": "blotter.message", "message": {"type": "bench.probe", "sent_ns": time.time_ns()}})
        time.sleep(interval_ms / 2000)
    time.sleep(8)  # the last windows end, their last quotes land
    listener.stop.set()
    reader.stop.set()
    listener.join(timeout=5)
    reader.join(timeout=5)

    notified: list[float] = []
    incomplete = 0
    for rfq in Rfq.objects.filter(parent_id__in=submitted):
        seen = reader.seen.get(rfq.quote_req_id, [])
        if len(seen) < len(rfq.dealers):
            incomplete += 1
            continue
        notified.append((max(seen) - submitted[rfq.parent_id]) / 1e6)
    first_heard: dict[str, int] = {}
    for heard_ns, snapshot in listener.heard:
        for quote in snapshot["quotes"]:
            first_heard.setdefault(quote["quote_id"], heard_ns)
    quote_sent = _quote_sent_ns()
    to_ladder = [(heard - quote_sent[qid]) / 1e6 for qid, heard in first_heard.items() if qid in quote_sent]
    return {
        "requests": requests,
        "rfqs_opened": Rfq.objects.filter(parent_id__in=submitted).count(),
        "request_to_all_dealers_notified": summary(notified),
        "requests_not_all_notified": incomplete,
        "quote_to_ladder": summary(to_ladder),
        "quotes_on_ladder": len(to_ladder),
        "redis_stream_round_trip": summary(reader.probes),
        "channel_layer_to_consumer": summary(listener.probes),
    }


def _quote_sent_ns() -> dict[str, int]:
    """Each quote's ``transact_time_ns``: when it left its dealer (the end of the dealer's simulated latency)."""
    from ems.core.rfq_codec import book_load
    from ems.models import Rfq

    return {q.quote_id: q.quote.transact_time_ns for rfq in Rfq.objects.all() for q in book_load(rfq.book).quotes}


def table(report: dict[str, Any]) -> str:
    f = report["figures"]
    rows = [
        ("request to all dealers notified", f["request_to_all_dealers_notified"]),
        ("  baseline: Redis stream round trip", f.get("redis_stream_round_trip", {"n": 0})),
        ("quote to ladder", f["quote_to_ladder"]),
        ("  baseline: channel layer to consumer", f.get("channel_layer_to_consumer", {"n": 0})),
    ]
    lines = [f"{'RFQ overhead':<38}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}"]
    for name, s in rows:
        if s["n"]:
            lines.append(f"{name:<38}{s['n']:>6}{s['p50_ms']:>10}{s['p99_ms']:>10}{s['max_ms']:>10}")
        else:
            lines.append(f"{name:<38}{0:>6}   (nothing measured)")
    return "\n".join(lines)


def run(live: "LiveSystem", *, requests: int, interval_ms: int) -> dict[str, Any]:
    """Run the section on ``live`` (prepared): the gateway, workers and beat started if they are not."""
    if requests < 1 or interval_ms < 1:
        raise ValueError(f"invalid `requests` or `interval_ms`, was {requests}, {interval_ms}: at least 1")
    live.start("gateway", "workers", "beat")
    figures = measure(requests, interval_ms, live.config.redis_url)
    return {"requests": requests, "interval_ms": interval_ms, "figures": figures}
