"""``python -m ems.bench_rfq``: the RFQ workflow's own overhead, on the whole system running for real.

``python -m ems.bench_rfq [--requests N] [--interval-ms I] [--json PATH]``

**What it measures** (the dealers' simulated latency excluded from both):

- *request to all dealers notified*: from the PM's order entering the OMS
  (``parent_order_submit``, what ``POST /api/orders/`` runs, with
  ``strategy: RFQ``) to the last of its dealers' ``QuoteRequest`` messages
  on the gateway's stream, read by a consumer group of this process (the
  dealer desk reads the same stream): the OMS's checks and commit, the
  Celery start, the dealer selection, the book saved, the stream written;
- *quote to ladder*: from the instant a dealer's quote leaves the dealer (its
  ``transact_time_ns``: when its simulated latency ends, on this machine's
  clock) to the first blotter message that carries it, heard by a trader's
  websocket in this process over the Redis channel layer: the gateway's
  release, the Celery hand-off, the worker's transaction, the publish.

**How.** As ``ems.bench_load``: its own PostgreSQL database and Redis database
(``BENCH_DATABASE_URL``, ``BENCH_REDIS_URL``), migrated and seeded, then the
gateway (with the five demo dealers), two Celery workers and beat. N requests
(default 100) for 10 ACME calls, one every I ms (default 300), each with a 5 s
window to the four dealers that quote options. p50/p99/max in ms. No test
asserts these figures.
"""

import argparse
import asyncio
import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from ems.bench_load import (
    LOG_DIR,
    Fleet,
    LoadConfig,
    SetupFailed,
    fleet_start,
    percentile,
    system_prepare,
    unreachable,
    wait_ready,
)

DEFAULT_JSON: Final = Path("var/bench/rfq.json")
DEALERS: Final = ["DLR-KF", "DLR-NB", "DLR-HM", "DLR-SL"]
_GROUP: Final = "bench-rfq"


def parse_args(argv: Sequence[str] | None = None) -> tuple[LoadConfig, int, int]:
    parser = argparse.ArgumentParser(prog="python -m ems.bench_rfq", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--interval-ms", type=int, default=300)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    if args.requests < 1 or args.interval_ms < 1:
        parser.error("--requests and --interval-ms must be at least 1")
    config = LoadConfig(
        executions=args.requests,
        workers=2,
        concurrency=2,
        minutes=1,
        slice_seconds=60,
        lead_seconds=0,
        grace_seconds=0,
        json_path=args.json,
        database_url=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_rfq"),
        redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
    )
    return config, args.requests, args.interval_ms


def summary(values_ms: Sequence[float]) -> dict[str, Any]:
    if not values_ms:
        return {"n": 0}
    micros = sorted(int(v * 1000) for v in values_ms)
    return {
        "n": len(micros),
        "p50_ms": round(percentile(micros, 50) / 1000, 1),
        "p99_ms": round(percentile(micros, 99) / 1000, 1),
        "max_ms": round(micros[-1] / 1000, 1),
    }


class _Listener(threading.Thread):
    """A trader's blotter socket in this process: every RFQ snapshot heard, with when."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.heard: list[tuple[int, dict[str, Any]]] = []
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
        with contextlib.suppress(Exception):  # closing the socket at the end is not part of the figure
            await socket.disconnect()


class _StreamReader(threading.Thread):
    """Reads the gateway's stream as a consumer group of its own: when each dealer's request was there to read."""

    def __init__(self, redis_url: str, stream: str) -> None:
        super().__init__(daemon=True)
        import redis

        self.client = redis.Redis.from_url(redis_url, decode_responses=True)
        self.stream = stream
        self.seen: dict[str, list[int]] = {}  # quote_req_id -> when each dealer's request was read
        self.stop = threading.Event()
        with contextlib.suppress(redis.ResponseError):  # the group exists: a rerun on the same Redis
            self.client.xgroup_create(stream, _GROUP, id="$", mkstream=True)

    def run(self) -> None:
        while not self.stop.is_set():
            response: Any = self.client.xreadgroup(_GROUP, "bench", {self.stream: ">"}, count=500, block=5)
            now = time.time_ns()
            for _stream, messages in response or []:
                for _id, fields in messages:
                    if fields.get("msg_type") == "R":
                        self.seen.setdefault(fields["quote_req_id"], []).append(now)


def measure(requests: int, interval_ms: int, redis_url: str) -> dict[str, Any]:
    from django.conf import settings
    from django.contrib.auth.models import User

    from ems.models import Rfq
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
        )
        submitted[order.pk] = started
        time.sleep(interval_ms / 1000)
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
    }


def _quote_sent_ns() -> dict[str, int]:
    """Each quote's ``transact_time_ns``: when it left its dealer (the end of the dealer's simulated latency)."""
    from ems.core.rfq_codec import book_load
    from ems.models import Rfq

    return {q.quote_id: q.quote.transact_time_ns for rfq in Rfq.objects.all() for q in book_load(rfq.book).quotes}


def table(report: dict[str, Any]) -> str:
    f = report["figures"]
    rows = [("request to all dealers notified", f["request_to_all_dealers_notified"]), ("quote to ladder", f["quote_to_ladder"])]
    lines = [f"{'RFQ overhead':<34}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}"]
    for name, s in rows:
        if s["n"]:
            lines.append(f"{name:<34}{s['n']:>6}{s['p50_ms']:>10}{s['p99_ms']:>10}{s['max_ms']:>10}")
        else:
            lines.append(f"{name:<34}{0:>6}   (nothing measured)")
    return "\n".join(lines)


def run(config: LoadConfig, requests: int, interval_ms: int) -> dict[str, Any]:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    setup_log = LOG_DIR / "rfq-setup.log"
    setup_log.write_bytes(b"")
    env = system_prepare(config, log=setup_log)
    fleet = Fleet(env=env, log_dir=LOG_DIR)
    try:
        fleet_start(fleet, config)
        wait_ready(config, fleet, ["ACME"])
        figures = measure(requests, interval_ms, config.redis_url)
    finally:
        fleet.stop()
    return {"requests": requests, "interval_ms": interval_ms, "figures": figures}


def main(argv: Sequence[str] | None = None) -> int:
    config, requests, interval_ms = parse_args(argv)
    why = unreachable(config)
    if why is not None:
        sys.stdout.write(f"bench_rfq skipped: {why}\n")
        return 0
    sys.stdout.write(f"bench_rfq: {requests} requests, one every {interval_ms} ms; logs in {LOG_DIR}\n")
    sys.stdout.flush()
    try:
        report = run(config, requests, interval_ms)
    except SetupFailed as exc:
        sys.stderr.write(f"bench_rfq failed: {exc}\n")
        return 1
    sys.stdout.write(table(report) + "\n")
    config.json_path.parent.mkdir(parents=True, exist_ok=True)
    config.json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    sys.stdout.write(f"\nwrote {config.json_path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
