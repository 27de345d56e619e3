"""Ticks under faults, all real: a worker SIGKILLed in the middle of a tick loses nothing and sends nothing twice.

The first test runs a TWAP through a real worker, the gateway and beat; the
worker is an ordinary one but for ``_tick`` being wrapped
(``tests/e2e/worker_dies_mid_tick.py``) so that it kills itself once, after
a tick's database work and before its commit, at a moment when nothing but
the sweep could run the execution's next tick. A fresh worker is started;
beat's sweep (every 5 s, ``config/celery.py``) finds the execution overdue by
``CHILD_RESEND_SECONDS`` (4 s here) and asks for the pending tick again.

The second test runs one tick twice at once against the real database: the
delivery that finds the parent's row locked waits, then sees the tick done.
(``tests/ems/test_algos.py`` covers a duplicate that arrives after the first
delivery committed.)
"""

import contextlib
import json
import re
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.redis import redis_client
from ems import algos
from ems.models import ChildOrder, Execution, ExecutionTick
from oms.models import Fill, OrderEvent, ParentOrder
from tests.conftest import ROOT, api_client_for, process_env, stop_process, wait_for
from tests.ems.market import market_set
from trading.states import TERMINAL

pytestmark = [pytest.mark.e2e]

RESEND_SECONDS = 4  # the sweep resumes an execution whose tick is this late (room for a loaded machine)
KILL_AT = 3  # the worker dies in the first scheduled tick from this one on that places children with none working
WORKER_OPTIONS = ["--loglevel=INFO", "--without-mingle", "--without-gossip"]


@dataclass
class Processes:
    """The processes a test started, each with its log; stopped (only these) when the test ends."""

    logs: Path
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, args: list[str], **env: str) -> subprocess.Popen[bytes]:
        environment = {**process_env(), "CHILD_RESEND_SECONDS": str(RESEND_SECONDS), **env}
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


@pytest.fixture
def processes(transactional_db: Any, demo: None, tmp_path: Path) -> Iterator[Processes]:
    """Start nothing yet; stop, newest first, whatever the test started. Redis is emptied first."""
    redis_client().flushdb()
    started = Processes(logs=tmp_path)
    try:
        yield started
    finally:
        for process in reversed(started.started):
            stop_process(process)


def _gateway_new_orders() -> list[str]:
    """The cl_ord_id of every new order ever put on the gateway's stream (acknowledged entries stay on it)."""
    entries = cast(list[tuple[str, dict[str, str]]], redis_client().xrange(settings.GATEWAY_ORDER_STREAM))
    return [fields["cl_ord_id"] for _id, fields in entries if fields.get("msg_type", "D") == "D"]


def test_a_worker_killed_mid_tick_loses_nothing_and_beat_resumes_the_twap(processes: Processes, tmp_path: Path) -> None:
    # given the gateway, beat, and a worker that will die in the middle of a tick
    record = tmp_path / "killed-tick.json"
    processes.start("gateway", ["manage.py", "rungateway"])
    processes.start("beat", ["-m", "celery", "-A", "config", "beat", "--loglevel=INFO", "-s", str(tmp_path / "beat-schedule")])
    doomed_worker = processes.start(
        "doomed-worker",
        ["-m", "celery", "-A", "tests.e2e.worker_dies_mid_tick", "worker", *WORKER_OPTIONS, "--pool=solo"],
        TICK_KILL_RECORD=str(record),
        TICK_KILL_AT=str(KILL_AT),
    )

    # when a PM sends a TWAP of 1,500 ACME over 30 s in 2 s slices (a marketable limit: each slice fills at once)
    response = api_client_for("pm1").post(
        "/api/orders/",
        {
            "portfolio": "GROWTH",
            "instrument": "ACME",
            "side": "BUY",
            "qty": "1500",
            "ord_type": "LIMIT",
            "limit_px": "103.00",
            "strategy": "TWAP",
            "end_at": (timezone.now() + timedelta(seconds=30)).isoformat(),
            "strategy_params": {"slice_seconds": 2, "size_jitter": "0", "time_jitter": "0"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    parent_id = response.json()["id"]

    # then the worker dies by SIGKILL in a tick that had placed its slice, before the commit
    assert doomed_worker.wait(timeout=60) == -signal.SIGKILL, processes.log("doomed-worker")[-3000:]
    died_at = timezone.now()
    killed = json.loads(record.read_text())
    doomed = {child["cl_ord_id"] for child in killed["children"]}
    assert killed["parent_id"] == parent_id
    assert killed["tick_no"] >= KILL_AT
    assert doomed
    # and nothing of that tick is left: its children neither stored nor sent, its number still the pending one
    execution = Execution.objects.get(parent_id=parent_id)
    assert (execution.status, execution.tick_no) == (Execution.RUNNING, killed["tick_no"])
    assert execution.next_tick_at is not None
    assert execution.next_tick_at < died_at
    assert not ExecutionTick.objects.filter(execution=execution, tick_no=killed["tick_no"]).exists()
    assert not ChildOrder.objects.filter(cl_ord_id__in=doomed).exists()
    assert not doomed & set(_gateway_new_orders())
    # and nothing was working when it died (nor a nudge queued, see the wrapper): only the sweep can resume it
    assert not ParentOrder.objects.get(pk=parent_id).children.exclude(status__in=TERMINAL).exists()

    # when a fresh worker starts (beat has been running all along)
    processes.start("worker", ["-m", "celery", "-A", "config", "worker", *WORKER_OPTIONS, "--concurrency=2"])

    # then the sweep resumes the execution at the tick that died, and the order is filled
    try:
        done = Execution.objects.filter(parent_id=parent_id, status=Execution.DONE)
        wait_for(done.exists, timeout=90, what="the execution done")
    except BaseException:
        story = OrderEvent.objects.filter(parent_id=parent_id).exclude(kind__in=("ROUTED", "CHILD_ROUTED", "CHILD_NEW", "FILL"))
        print("\n".join(f"{e.kind} {e.status_after} {e.reason[:160]}" for e in story))  # noqa: T201 - the story of a failure
        raise
    assert re.search(r"ems\.execution_sweep\[[^]]+\] succeeded in [^:]+: \{[^}]*'resumed': 1", processes.log("worker"))
    resumed = ExecutionTick.objects.get(execution=execution, tick_no=killed["tick_no"])
    assert resumed.trigger == "schedule"
    assert resumed.ran_at > died_at
    assert resumed.due_at == execution.next_tick_at

    # and the parent is filled exactly, by fills that add up, with every child done
    parent = ParentOrder.objects.get(pk=parent_id)
    fills = list(Fill.objects.filter(parent=parent))
    assert parent.status == "FILLED"
    assert parent.qty == parent.filled_qty == sum(f.qty for f in fills) == Decimal(1500)
    children = list(ChildOrder.objects.filter(parent=parent).select_related("decision"))
    assert all(c.status in TERMINAL for c in children)
    assert sum(c.filled_qty for c in children) == Decimal(1500)
    # and each tick is on record once, numbered without a gap, the one that died included
    ticks = list(ExecutionTick.objects.filter(execution=execution).order_by("tick_no"))
    assert [t.tick_no for t in ticks] == list(range(len(ticks)))
    # and each slice was placed once: every child comes from a decision of a tick on record, each decision's
    # children are what it routed (no more than it was asked), and each tick placed what it recorded sending
    placed: dict[int, Decimal] = defaultdict(Decimal)
    by_decision: dict[int, Decimal] = defaultdict(Decimal)
    for child in children:
        assert child.decision is not None
        match = re.match(r"tick (\d+) \(", child.decision.trigger)
        assert match, child.decision.trigger
        placed[int(match[1])] += child.qty
        by_decision[child.decision.pk] += child.qty
    assert placed == {t.tick_no: t.sent_qty for t in ticks if t.sent_qty}
    for child in children:
        assert child.decision is not None
        assert by_decision[child.decision.pk] == child.decision.routed_qty <= child.decision.qty
    # and the gateway was sent exactly these children (a resend repeats a cl_ord_id; the gateway drops it)
    assert set(_gateway_new_orders()) == {c.cl_ord_id for c in children}
    kinds = list(OrderEvent.objects.filter(parent=parent).values_list("kind", flat=True))
    assert kinds[-1] == "EXECUTION_DONE"
    assert kinds.count("EXECUTION_DONE") == 1


def test_the_same_tick_run_twice_at_once_places_its_slice_once(
    transactional_db: Any, demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a TWAP of 1,000 ACME in ten 1-minute slices starting in a second: tick 0 pending, nothing placed yet
    redis_client().flushdb()  # no order or task left on it by an earlier test
    market_set()
    start = timezone.now() + timedelta(seconds=1)
    response = api_client_for("pm1").post(
        "/api/orders/",
        {
            "portfolio": "GROWTH",
            "instrument": "ACME",
            "side": "BUY",
            "qty": "1000",
            "ord_type": "LIMIT",
            "limit_px": "101.60",
            "strategy": "TWAP",
            "start_at": start.isoformat(),
            "end_at": (start + timedelta(minutes=10)).isoformat(),
            "strategy_params": {"slice_seconds": 60, "size_jitter": "0", "time_jitter": "0"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    parent_id = response.json()["id"]
    algos.execution_start(parent_id=parent_id)  # what the queued ems.execution_start does; no worker runs here
    assert Execution.objects.get(parent_id=parent_id).tick_no == 0
    assert not ChildOrder.objects.filter(parent_id=parent_id).exists()
    # and a tick that, its work done, holds its transaction open until the other delivery waits on the parent's lock
    holding, release = threading.Event(), threading.Event()
    real_tick = algos._tick

    def tick_and_hold(parent: ParentOrder, execution: Execution, *, trigger: str, now: datetime) -> None:
        real_tick(parent, execution, trigger=trigger, now=now)
        holding.set()
        assert release.wait(timeout=30)

    monkeypatch.setattr(algos, "_tick", tick_and_hold)
    wait_for(lambda: timezone.now() > start, what="the start")
    market_set()  # the market as the gateway would have it now
    ran: dict[str, bool] = {}
    second_asking = threading.Event()
    second_pid: list[int] = []

    def asking(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        second_asking.set()  # its transaction's first statement: BEGIN IMMEDIATE (SQLite), SELECT ... FOR UPDATE
        return execute(sql, params, many, context)

    def deliver(name: str) -> None:
        try:
            connection.ensure_connection()
            if name == "second" and connection.vendor == "postgresql":
                second_pid.append(connection.connection.info.backend_pid)
            with connection.execute_wrapper(asking) if name == "second" else contextlib.nullcontext():
                ran[name] = algos.execution_tick(parent_id=parent_id, tick_no=0, trigger="schedule")
        finally:
            connection.close()

    # when tick 0 is delivered twice at once: the first holds the parent's row, the second arrives meanwhile
    first = threading.Thread(target=deliver, args=("first",))
    first.start()
    assert holding.wait(timeout=30)
    second = threading.Thread(target=deliver, args=("second",))
    second.start()
    assert second_asking.wait(timeout=30)
    if connection.vendor == "postgresql":  # SQLite shows no waiter: its BEGIN IMMEDIATE is a C call away from here
        wait_for(lambda: _blocked(second_pid[0]), timeout=30, what="the second delivery waiting on the lock")
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)

    # then the first ran the tick and the second, let in after the commit, did nothing
    assert ran == {"first": True, "second": False}
    children = list(ChildOrder.objects.filter(parent_id=parent_id).select_related("decision"))
    assert sum(c.qty for c in children) == Decimal(100)
    assert all(c.decision is not None and c.decision.trigger.startswith("tick 0 (schedule)") for c in children)
    assert list(ExecutionTick.objects.filter(execution__parent_id=parent_id).values_list("tick_no", flat=True)) == [0]
    assert Execution.objects.get(parent_id=parent_id).tick_no == 1
    # and each child went to the gateway once
    assert sorted(_gateway_new_orders()) == sorted(c.cl_ord_id for c in children)
    redis_client().flushdb()  # the start and next-tick tasks queued for a worker that never ran


def _blocked(backend_pid: int) -> bool:
    """Whether the PostgreSQL backend ``backend_pid`` waits on a lock another holds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT cardinality(pg_blocking_pids(%s))", [backend_pid])
        return bool(cursor.fetchone()[0])
