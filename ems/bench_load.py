"""``python -m ems.bench_load``: do 1,000 executions working at once on two workers keep their schedule?

``python -m ems.bench_load [--executions N] [--workers W] [--concurrency C] [--minutes M]
[--slice-seconds S] [--lead-seconds L] [--grace-seconds G] [--json PATH]``

**What it measures.** A scheduled tick is due at its slice boundary
(``Execution.next_tick_at``) and records when it ran: ``ExecutionTick.ran_at``
is read once the tick holds the parent's row lock, so ``lateness_ms`` (ran less
due) is everything between the schedule and the decision: the worker's ETA
timer, the wait for a free pool process behind other ticks and report batches,
and the wait for the parent's row lock. N TWAP orders (default 1,000) all start
working at the same instant and run M minutes (default 5) in S-second slices
(default 60, the TWAP's own default), without size or time jitter: every slice boundary is a burst of N
ticks due at once, the worst case for the workers. Over every tick with the
``schedule`` trigger (the first, at the common start, included) it reports
lateness p50/p95/p99/max, and per slice period, to tell a burst drained within
the slice from a backlog that grows; ticks handled per second (every tick,
whatever its trigger); the share of executions that finished; the
duplicate-slice check; what the database sessions were doing (sampled each
second from ``pg_stat_activity``: running a statement, waiting for a lock, idle
in a transaction while the worker's Python works, idle); the CPU each process
used and how busy the whole machine was (the figures depend on what else runs
there); and the tasks still queued at the end. No test asserts these figures.

**How.** The whole system runs for real, as the Procfile runs it, on a
PostgreSQL database and a Redis database of its own (``BENCH_DATABASE_URL``,
default ``postgres://postgres@127.0.0.1:5432/oms_bench``, dropped and created
again; ``BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/14``, emptied):
``migrate``, ``seed_demo`` and ``analytics_refresh`` (so beat's analytics task
finds nothing to do mid-run), then the gateway (the simulated venues in real
time, at the settings' own publish and control periods), W Celery workers of C
pool processes each (default 2 x 4), and beat (its sweep resumes stalled
executions, as in production). Orders go in through the OMS service layer in
this process (``parent_order_submit``: the checks, events and on-commit start
the REST API runs, without the HTTP), a few submitters at once, with a common
``start_at`` L seconds ahead (default: enough for the submits) and ``end_at`` M
minutes after it, so how long submitting takes does not shape the load. They
buy one to three lots a slice, round-robin over the demo's equities and its two
portfolios, with a limit 2% through the far touch, so they fill. The run waits
until every execution has ended or the window plus G seconds of grace (default
60) has passed, measures, and stops every process it started, on an error or
Ctrl-C too. Logs go to ``var/bench/load-*.log``.

Without PostgreSQL or Redis it prints one line saying why it skipped and exits 0.

**Duplicate slices.** ``ChildOrder.slice_no`` numbers a parent's children,
not the algo's slices, so it cannot show a slice sent twice. What can: each
tick's routing decisions carry ``tick N (...)`` in their trigger, and the tick
records the quantity it sent (``ExecutionTick.sent_qty``). A slice was sent
twice if the children of tick N's decisions carry more than tick N recorded,
or name a tick with no record. (A redelivered tick task is refused by
``Execution.tick_no`` and the unique (execution, tick_no) constraint; a nudge
that re-plans a slice is a tick of its own and sends only what is due less what
works, by design.)
"""

import argparse
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, NoReturn
from urllib.parse import urlsplit

ROOT: Final = Path(__file__).resolve().parent.parent
LOG_DIR: Final = ROOT / "var" / "bench"
DEFAULT_JSON: Final = Path("var/bench/lateness.json")
DEFAULT_DATABASE_URL: Final = "postgres://postgres@127.0.0.1:5432/oms_bench"
DEFAULT_REDIS_URL: Final = "redis://127.0.0.1:6379/14"
# Four pool processes a worker: a tick spends much of its time waiting on PostgreSQL and Redis
# round trips and on row locks rather than on the CPU, so a worker overlaps a few per core; two
# workers make eight database connections, well within PostgreSQL's default hundred.
DEFAULT_CONCURRENCY: Final = 4
LIMIT_THROUGH: Final = Decimal("0.02")  # the limit, this share through the far touch: the orders fill
SUBMITTERS: Final = 4  # threads submitting: a submit waits on the database more than it computes
SUBMIT_TRIES: Final = 20
LEAD_BASE_S: Final = 15.0  # the default lead: this, plus LEAD_PER_ORDER_S a submit
LEAD_PER_ORDER_S: Final = 0.06
READY_TIMEOUT_S: Final = 120.0
STOP_TIMEOUT_S: Final = 20.0
POLL_S: Final = 1.0
PROGRESS_S: Final = 15.0
CELERY_QUEUE: Final = "celery"  # the default queue: every task goes there
_TICK_TRIGGER: Final = re.compile(r"^tick (\d+) \(")
_NOT_DROPPED: Final = frozenset({"postgres", "template0", "template1"})


class SetupFailed(Exception):
    """A step before the measurement failed; the message says which and where its log is."""


# --- the command line ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadConfig:
    executions: int
    workers: int
    concurrency: int
    minutes: float
    slice_seconds: int
    lead_seconds: float
    grace_seconds: int
    json_path: Path
    database_url: str
    redis_url: str

    @property
    def slices(self) -> int:
        """Slices in the window (the last may be short): each order buys whole lots in every one."""
        return math.ceil(self.minutes * 60 / self.slice_seconds)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, was {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, was {text}")
    return value


def parse_args(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> LoadConfig:
    """Read the command line (and the ``BENCH_*`` URLs from ``environ``); exit 2 naming the argument and the reason."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="python -m ems.bench_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=_positive_int, default=1000, help="parent orders working at once (default 1000)")
    parser.add_argument("--workers", type=_positive_int, default=2, help="Celery worker processes (default 2)")
    parser.add_argument(
        "--concurrency",
        type=_positive_int,
        default=DEFAULT_CONCURRENCY,
        help=f"pool processes a worker (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument("--minutes", type=_positive_float, default=5.0, help="each TWAP's window (default 5)")
    parser.add_argument("--slice-seconds", type=_positive_int, default=60, help="the TWAP's slice (default 60)")
    parser.add_argument(
        "--lead-seconds",
        type=_positive_float,
        default=None,
        help=f"the common start, this far after submitting begins (default {LEAD_BASE_S:g} s + {LEAD_PER_ORDER_S:g} s an order)",
    )
    parser.add_argument("--grace-seconds", type=int, default=60, help="how long to wait past the window (default 60)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the results (default {DEFAULT_JSON})")
    args = parser.parse_args(argv)
    if args.slice_seconds > 3600:
        parser.error(f"argument --slice-seconds: at most 3600, was {args.slice_seconds}")
    if args.minutes * 60 < args.slice_seconds:
        parser.error(f"argument --minutes: the window ({args.minutes:g} min) is shorter than one slice ({args.slice_seconds} s)")
    if args.grace_seconds < 0:
        parser.error(f"argument --grace-seconds: must not be negative, was {args.grace_seconds}")
    database_url = environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL
    if urlsplit(database_url).scheme not in ("postgres", "postgresql", "pgsql"):
        parser.error(f"BENCH_DATABASE_URL must be PostgreSQL (SQLite cannot take two writing workers), was {database_url}")
    lead = args.lead_seconds if args.lead_seconds is not None else LEAD_BASE_S + LEAD_PER_ORDER_S * args.executions
    return LoadConfig(
        executions=args.executions,
        workers=args.workers,
        concurrency=args.concurrency,
        minutes=args.minutes,
        slice_seconds=args.slice_seconds,
        lead_seconds=lead,
        grace_seconds=args.grace_seconds,
        json_path=args.json,
        database_url=database_url,
        redis_url=environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL,
    )


# --- pure figures -------------------------------------------------------------------------------


def percentile(values: Sequence[int], pct: float) -> int:
    """Return the ``pct`` percentile (0 < pct <= 100) by nearest rank: a value that was observed, never interpolated."""
    if not values:
        raise ValueError("no values")
    if not 0 < pct <= 100:
        raise ValueError(f"invalid `pct`, was {pct}")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def lateness_summary(values: Sequence[int]) -> dict[str, Any]:
    """Count, mean and p50/p95/p99/max in ms; None for each figure when there is nothing to summarize."""
    if not values:
        return {"count": 0, "mean_ms": None, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "count": len(values),
        "mean_ms": round(sum(values) / len(values), 1),
        "p50_ms": percentile(values, 50),
        "p95_ms": percentile(values, 95),
        "p99_ms": percentile(values, 99),
        "max_ms": max(values),
    }


def by_slice(rows: Iterable[tuple[float, int]], *, slice_seconds: int) -> list[dict[str, Any]]:
    """Summarize (seconds from the start to the due time, lateness ms) per slice period: a burst drained, or a backlog?"""
    groups: dict[int, list[int]] = {}
    for due_s, lateness_ms in rows:
        groups.setdefault(math.floor(due_s / slice_seconds), []).append(lateness_ms)
    return [{"from_s": period * slice_seconds, **lateness_summary(late)} for period, late in sorted(groups.items())]


def tick_of(trigger: str) -> int | None:
    """The tick number a routing decision's trigger names (``tick 3 (schedule): ...``), or None (not an algo's slice)."""
    match = _TICK_TRIGGER.match(trigger)
    return int(match.group(1)) if match else None


def slices_sent_twice(
    sent: Mapping[tuple[int, int], Decimal], children: Iterable[tuple[int, str | None, Decimal]]
) -> tuple[list[dict[str, Any]], int]:
    """Return the slices whose children carry more than their tick sent, and how many children name no tick.

    ``sent`` maps (parent id, tick number) to the tick's ``sent_qty``;
    ``children`` are (parent id, their decision's trigger, qty).
    """
    placed: dict[tuple[int, int], Decimal] = {}
    untagged = 0
    for parent_id, trigger, qty in children:
        tick = tick_of(trigger or "")
        if tick is None:
            untagged += 1
            continue
        placed[parent_id, tick] = placed.get((parent_id, tick), Decimal(0)) + qty
    twice = [
        {"parent": parent_id, "tick": tick, "sent": str(sent.get((parent_id, tick))), "children_qty": str(qty)}
        for (parent_id, tick), qty in sorted(placed.items())
        if (parent_id, tick) not in sent or qty > sent[parent_id, tick]
    ]
    return twice, untagged


def order_plan(executions: int, *, symbols: Sequence[str], portfolios: Sequence[str]) -> list[tuple[str, str, int]]:
    """(portfolio, symbol, lots a slice) for each order: round-robin over both lists, one to three lots a slice."""
    if not symbols or not portfolios:
        raise ValueError("no instruments or no portfolios to trade: was the demo seeded?")
    return [(portfolios[i % len(portfolios)], symbols[i % len(symbols)], 1 + i % 3) for i in range(executions)]


def session_shares(samples: Mapping[tuple[str, str], int]) -> dict[str, Any]:
    """Where the sampled (state, wait event) sessions were: in a statement, waiting for a lock, idle in a transaction, idle.

    ``idle in transaction`` is time a worker's Python spends between
    statements with its transaction (and its row locks) open.
    """
    total = sum(samples.values())
    kinds: Counter[str] = Counter()
    locks: Counter[str] = Counter()
    for (state, wait), n in samples.items():
        if state == "active" and wait.startswith("Lock:"):
            kinds["lock_wait"] += n
            locks[wait] += n
        elif state == "active":
            kinds["statement"] += n
        elif state.startswith("idle in transaction"):
            kinds["idle_in_transaction"] += n
        else:
            kinds["idle"] += n
    shares = {
        kind: round(kinds[kind] / total, 3) if total else 0.0 for kind in ("statement", "lock_wait", "idle_in_transaction", "idle")
    }
    return {"samples": total, **shares, "lock_waits": dict(locks.most_common(5))}


def table(report: Mapping[str, Any]) -> str:
    """The headline figures as a two-column table."""
    f, t, c = report["figures"], report["timings"], report["config"]
    late, ex, db = f["lateness"], f["executions"], f["database_sessions"]

    def ms(value: int | None) -> str:
        return "-" if value is None else f"{value:,} ms"

    worst = max(f["lateness_by_slice"], key=lambda row: row["p99_ms"], default=None)
    rows = [
        (
            "executions",
            f"{ex['total']:,} on {c['workers']} workers x {c['concurrency']}, {c['slices']} slices of {c['slice_seconds']} s",
        ),
        ("finished (DONE)", f"{ex['done']:,} ({ex['done_share']:.1%}); stopped {ex['stopped']}, still running {ex['running']}"),
        ("parents filled", f"{f['parents_filled']:,}"),
        ("scheduled ticks", f"{late['count']:,} (all ticks {f['ticks']['total']:,})"),
        ("lateness p50 / p95", f"{ms(late['p50_ms'])} / {ms(late['p95_ms'])}"),
        ("lateness p99 / max", f"{ms(late['p99_ms'])} / {ms(late['max_ms'])}"),
        ("worst slice p99", "-" if worst is None else f"{ms(worst['p99_ms'])} (due {worst['from_s']} s after the start)"),
        ("ticks handled", f"{f['ticks']['per_s']:.1f} /s"),
        ("children / fills", f"{f['children']:,} / {f['fills']:,}"),
        ("slices sent twice", f"{f['duplicates']['count']} ({f['duplicates']['untagged_children']} children name no tick)"),
        (
            "database sessions",
            f"statement {db['statement']:.0%}, lock wait {db['lock_wait']:.0%}, "
            f"idle in transaction {db['idle_in_transaction']:.0%}, idle {db['idle']:.0%}",
        ),
        ("queued at the end", ", ".join(f"{n:,} {name}" for name, n in f["queued_at_end"].items()) or "nothing"),
        ("CPU while ticking", _cpu_cell(f["cpu"], cores=report["machine"]["cores"])),
        (
            "submits",
            f"{t['submit_s']:.0f} s; {report['submit_retries']} retried after a deadlock, {f['late_submits']} after the start",
        ),
        ("run", f"{t['total_s']:.0f} s, setup {t['setup_s']:.0f} s; {report['ended']}"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _cpu_cell(cpu: Mapping[str, Any], *, cores: int | None) -> str:
    used = cpu["processes_s"]
    if not used:
        return "-"
    workers = sum(seconds for name, seconds in used.items() if name.startswith("worker"))
    parts = [f"workers {workers:.0f} s", *(f"{name} {used[name]:.0f} s" for name in ("gateway", "beat") if name in used)]
    busy = "" if cpu["machine_busy"] is None else f"; machine {cpu['machine_busy']:.0%} busy ({cores} cores, every process)"
    return f"{', '.join(parts)} in {cpu['over_s']:.0f} s{busy}"


# --- the environment: PostgreSQL, Redis, processes -----------------------------------------------


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or ''}{parts.path}"


def _admin_conninfo(database_url: str) -> tuple[str, str]:
    """The conninfo of the server's ``postgres`` database, and the benchmark database's name."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(database_url)
    return make_conninfo("", **{**params, "dbname": "postgres"}), str(params.get("dbname") or "")


def unreachable(config: LoadConfig) -> str | None:
    """Why the benchmark cannot run here (PostgreSQL or Redis not answering), or None."""
    import psycopg
    import redis

    admin, _ = _admin_conninfo(config.database_url)
    try:
        psycopg.connect(admin, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {_where(config.database_url)} is not reachable ({str(exc).strip().splitlines()[0]})"
    try:
        redis.Redis.from_url(config.redis_url, socket_connect_timeout=3, socket_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis at {_where(config.redis_url)} is not reachable ({exc})"
    return None


def database_recreate(database_url: str) -> None:
    """Drop the benchmark database (closing its sessions) and create it empty."""
    import psycopg
    from psycopg import sql

    admin, name = _admin_conninfo(database_url)
    if not name or name in _NOT_DROPPED:
        raise SetupFailed(f"BENCH_DATABASE_URL must name a database of its own to drop and create, was {name!r}")
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def process_env(config: LoadConfig) -> dict[str, str]:
    """The environment of every process of the run: production settings on the benchmark's database and Redis."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=config.database_url,
        REDIS_URL=config.redis_url,
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-only-not-secret",
        DEBUG="false",  # DEBUG keeps every query in memory
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(args: list[str], *, env: Mapping[str, str], log: Path) -> None:
    """Run ``manage.py <args>`` to the end, its output appended to ``log``; raise ``SetupFailed`` if it fails."""
    with log.open("ab") as out:
        out.write(f"\n$ manage.py {' '.join(args)}\n".encode())
        out.flush()
        command = [sys.executable, "manage.py", *args]
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    if done.returncode != 0:
        raise SetupFailed(f"manage.py {args[0]} failed (exit {done.returncode}); see {log}")


def analytics_refresh(*, env: Mapping[str, str], log: Path) -> None:
    """Store every instrument's analytics as beat's task would (one simulated day), in two halves at once.

    Done before the run, so beat's ``venues.analytics_refresh`` finds nothing
    missing and spends no worker time on it mid-measurement.
    """
    from oms.models import Instrument

    symbols = sorted(Instrument.objects.filter(active=True).values_list("symbol", flat=True))
    with log.open("ab") as out:
        out.write(b"\n$ manage.py analytics_refresh --days 1 (two halves at once)\n")
        out.flush()
        procs = [
            subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
                [sys.executable, "manage.py", "analytics_refresh", "--days", "1", "--symbols", ",".join(half)],
                cwd=ROOT,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            for half in (symbols[0::2], symbols[1::2])
            if half
        ]
        codes = [proc.wait() for proc in procs]
    if any(codes):
        raise SetupFailed(f"manage.py analytics_refresh failed (exits {codes}); see {log}")


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time of ``pid``, of the children it has reaped and of those still running (a worker's pool); None off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = [int(child) for task in Path(f"/proc/{pid}/task").iterdir() for child in (task / "children").read_text().split()]
    except (OSError, IndexError, ValueError):
        return None
    own = sum(int(ticks) for ticks in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime, stime, cutime, cstime
    return own + sum(process_cpu_seconds(child) or 0.0 for child in children)


def machine_cpu() -> tuple[int, int] | None:
    """The machine's busy and total CPU time so far, in clock ticks (every process, not only ours); None off Linux."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, IndexError, ValueError):
        return None
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle, iowait
    return sum(ticks) - idle, sum(ticks)


def busy_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of the machine's CPU that was busy between two ``machine_cpu`` readings."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round((after[0] - before[0]) / (after[1] - before[1]), 3)


class Fleet:
    """The processes this run started, stopped together.

    Each runs in its own session: Ctrl-C reaches only the benchmark, which
    stops them in order, and one that does not stop is killed with its pool
    (its process group), by its id.
    """

    def __init__(self, *, env: Mapping[str, str], log_dir: Path) -> None:
        self._env = dict(env)
        self._log_dir = log_dir
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[Any] = []

    def start(self, name: str, args: list[str]) -> None:
        log = (self._log_dir / f"load-{name}.log").open("wb")
        self._logs.append(log)
        self._procs[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            [sys.executable, *args], cwd=ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each process and its pool have used so far (Linux's /proc; empty elsewhere)."""
        used = {name: process_cpu_seconds(proc.pid) for name, proc in self._procs.items()}
        return {name: round(seconds, 1) for name, seconds in used.items() if seconds is not None}

    def exited(self) -> dict[str, int]:
        """The processes that have ended, with their exit codes: none should before ``stop``."""
        return {name: code for name, proc in self._procs.items() if (code := proc.poll()) is not None}

    def stop(self) -> None:
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs.values():
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for log in self._logs:
            log.close()


def fleet_start(fleet: Fleet, config: LoadConfig) -> None:
    """The gateway, the workers and beat, as the Procfile runs them.

    Workers are named ``bench<i>@host`` so two on one host do not clash. The
    app is given as ``--app=config``: a ``pkill -f "celery -A config worker"``
    aimed at a test run's leftover workers does not take the benchmark's down.
    """
    fleet.start("gateway", ["manage.py", "rungateway"])
    worker = ["-m", "celery", "--app=config", "worker", "--loglevel=INFO", f"--concurrency={config.concurrency}"]
    for i in range(1, config.workers + 1):
        fleet.start(f"worker-{i}", [*worker, "-n", f"bench{i}@%h"])
    schedule = LOG_DIR / "celerybeat-schedule"
    for stale in LOG_DIR.glob("celerybeat-schedule*"):
        stale.unlink()
    fleet.start("beat", ["-m", "celery", "--app=config", "beat", "--loglevel=INFO", f"--schedule={schedule}"])


# --- the run (Django set up in this process) ------------------------------------------------------


def _django_setup(config: LoadConfig) -> None:
    os.environ.update(process_env(config))
    import django

    django.setup()


def symbols_traded() -> list[str]:
    from oms.models import Instrument
    from trading.enums import AssetClass

    return sorted(Instrument.objects.filter(active=True, asset_class=AssetClass.EQUITY).values_list("symbol", flat=True))


def wait_ready(config: LoadConfig, fleet: Fleet, symbols: Sequence[str]) -> None:
    """Wait until every worker answers a ping and the gateway has published every symbol's NBBO."""
    from config.celery import app
    from config.redis import redis_client
    from venues.marketdata import nbbo_read

    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if exited := fleet.exited():
            raise SetupFailed(f"processes ended during start-up: {exited}; see {LOG_DIR}/load-*.log")
        workers = [name for reply in app.control.ping(timeout=1.0) or [] for name in reply if name.startswith("bench")]
        quoted = [symbol for symbol in symbols if nbbo_read(redis_client(), symbol) is not None]
        if len(workers) >= config.workers and len(quoted) == len(symbols):
            return
        if time.monotonic() > deadline:
            raise SetupFailed(
                f"not ready after {READY_TIMEOUT_S:.0f} s: {len(workers)} of {config.workers} workers answer, "
                f"{len(quoted)} of {len(symbols)} symbols quoted; see {LOG_DIR}/load-*.log"
            )
        time.sleep(0.5)


def _limit(symbol: str, *, ref_px: Decimal, tick: Decimal) -> Decimal:
    """A buy limit ``LIMIT_THROUGH`` above the far touch (the reference price before the first quote), on the tick."""
    from config.redis import redis_client
    from trading.numbers import round_to
    from venues.marketdata import nbbo_read

    nbbo = nbbo_read(redis_client(), symbol)
    far = nbbo.ask_px if nbbo is not None and nbbo.ask_px is not None else ref_px
    return round_to(far * (1 + LIMIT_THROUGH), tick)


def submit(config: LoadConfig, *, start_at: datetime) -> int:
    """Submit ``config.executions`` TWAP buy orders working from ``start_at`` through the OMS service layer.

    ``SUBMITTERS`` threads at once. A submit the database broke out of a
    deadlock (``OperationalError``: nothing was stored) is sent again with the
    same terms and ``cl_ord_id``, as a PM's script would; return how many were.
    """
    from django.db import OperationalError, connection

    from oms.models import Instrument, Portfolio
    from oms.services import OrderTerms, parent_order_submit
    from trading.enums import AssetClass, OrdType, Side, TimeInForce, Urgency

    instruments = {i.symbol: i for i in Instrument.objects.filter(active=True, asset_class=AssetClass.EQUITY)}
    portfolios = {p.code: p for p in Portfolio.objects.select_related("owner")}
    plan = list(enumerate(order_plan(config.executions, symbols=sorted(instruments), portfolios=sorted(portfolios)), start=1))
    limits = {s: _limit(s, ref_px=i.ref_px, tick=i.tick_size) for s, i in instruments.items()}
    end_at = start_at + timedelta(seconds=config.minutes * 60)
    params = {"slice_seconds": config.slice_seconds, "size_jitter": "0", "time_jitter": "0"}

    stop = threading.Event()

    def submit_share(share: list[tuple[int, tuple[str, str, int]]]) -> int:
        retries = 0
        try:
            for n, (code, symbol, lots) in share:
                if stop.is_set():
                    break
                instrument, portfolio = instruments[symbol], portfolios[code]
                terms = OrderTerms(
                    portfolio=portfolio,
                    instrument=instrument,
                    side=Side.BUY,
                    ord_type=OrdType.LIMIT,
                    qty=instrument.lot_size * config.slices * lots,
                    limit_px=limits[symbol],
                    tif=TimeInForce.DAY,
                    urgency=Urgency.MEDIUM,
                    strategy="TWAP",
                    strategy_params=params,
                    start_at=start_at,
                    end_at=end_at,
                )
                for attempt in range(1, SUBMIT_TRIES + 1):
                    try:
                        # The plan repeats its terms every few orders, on purpose: the demo's duplicate window (VALUE's 5 s)
                        # would refuse them, as it would a PM's unless sent with allow_duplicate.
                        parent_order_submit(user=portfolio.owner, terms=terms, cl_ord_id=f"bench-{n}", allow_duplicate=True)
                        break
                    except OperationalError:
                        if attempt == SUBMIT_TRIES:
                            raise
                        retries += 1
                        time.sleep(0.01 * attempt)
        finally:
            connection.close()  # this thread's own
        return retries

    with ThreadPoolExecutor(max_workers=SUBMITTERS) as pool:
        try:
            return sum(pool.map(submit_share, [plan[i::SUBMITTERS] for i in range(SUBMITTERS)]))
        except BaseException:  # Ctrl-C or a failed submit: the other submitters stop after their current order
            stop.set()
            raise


def sessions_sample() -> list[tuple[str, str]]:
    """What every other client session on the benchmark database is doing now: (state, wait event)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(state, ''), coalesce(wait_event_type || ':' || wait_event, '') FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return [(str(state), str(wait)) for state, wait in cursor.fetchall()]


def wait_done(config: LoadConfig, fleet: Fleet, *, start_at: datetime, deadline: datetime) -> tuple[str, Counter[tuple[str, str]]]:
    """Poll until every execution has ended, the deadline passes or a process dies; say which, with the sessions sampled.

    Sessions are sampled from the common start on: before it nothing ticks.
    """
    from django.utils import timezone

    from ems.models import Execution, ExecutionTick

    sessions: Counter[tuple[str, str]] = Counter()
    next_progress = time.monotonic() + PROGRESS_S
    while True:
        now = timezone.now()
        if now >= start_at:
            sessions.update(sessions_sample())
        total = Execution.objects.count()
        running = Execution.objects.filter(status=Execution.RUNNING).count()
        if total >= config.executions and running == 0:
            return "every execution ended", sessions
        if exited := fleet.exited():
            return f"stopped early: {', '.join(f'{name} exited {code}' for name, code in exited.items())}", sessions
        if now > deadline:
            return f"window and {config.grace_seconds} s grace passed, {running + config.executions - total} not ended", sessions
        if time.monotonic() >= next_progress:
            ticks = ExecutionTick.objects.count()
            at = (now - start_at).total_seconds()
            sys.stdout.write(f"  {at:+5.0f} s from the start: {total:,} started, {running:,} running, {ticks:,} ticks\n")
            sys.stdout.flush()
            next_progress = time.monotonic() + PROGRESS_S
        time.sleep(POLL_S)


def measure(config: LoadConfig, *, start_at: datetime) -> dict[str, Any]:
    """Read the run's figures from the database."""
    from django.db.models import Max, Min

    from ems.models import ChildOrder, Execution, ExecutionTick
    from oms.models import Fill, ParentOrder
    from trading.states import OrdStatus

    scheduled = list(ExecutionTick.objects.filter(trigger="schedule").values_list("due_at", "lateness_ms"))
    span = ExecutionTick.objects.aggregate(first=Min("ran_at"), last=Max("ran_at"))
    total_ticks = ExecutionTick.objects.count()
    seconds = (span["last"] - span["first"]).total_seconds() if span["first"] and span["last"] else 0.0
    triggers = Counter(
        t if t in ("schedule", "start", "amend") else "event" for t in ExecutionTick.objects.values_list("trigger", flat=True)
    )
    statuses = Counter(Execution.objects.values_list("status", flat=True))
    executions = sum(statuses.values())
    sent = {(p, n): qty for p, n, qty in ExecutionTick.objects.values_list("execution__parent_id", "tick_no", "sent_qty")}
    twice, untagged = slices_sent_twice(sent, ChildOrder.objects.values_list("parent_id", "decision__trigger", "qty"))
    return {
        "executions": {
            "total": executions,
            "done": statuses[Execution.DONE],
            "stopped": statuses[Execution.STOPPED],
            "running": statuses[Execution.RUNNING],
            "done_share": statuses[Execution.DONE] / executions if executions else 0.0,
        },
        "late_submits": ParentOrder.objects.filter(created_at__gt=start_at).count(),
        "parents_filled": ParentOrder.objects.filter(status=OrdStatus.FILLED).count(),
        "lateness": lateness_summary([ms for _, ms in scheduled]),
        "lateness_by_slice": by_slice(
            (((due - start_at).total_seconds(), ms) for due, ms in scheduled), slice_seconds=config.slice_seconds
        ),
        "ticks": {"total": total_ticks, "by_trigger": dict(triggers), "per_s": round(total_ticks / seconds, 1) if seconds else 0.0},
        "children": ChildOrder.objects.count(),
        "fills": Fill.objects.count(),
        "duplicates": {"count": len(twice), "slices": twice[:20], "untagged_children": untagged},
    }


def queue_backlog(redis_url: str) -> dict[str, int]:
    """Count the tasks left on the Celery queue by name, then empty the benchmark's Redis.

    Read once the workers have stopped, so it includes the ETA ticks they held
    (one per execution still running): work the run did not get to.
    """
    import redis

    client = redis.Redis.from_url(redis_url)
    names: Counter[str] = Counter()
    for raw in client.lrange(CELERY_QUEUE, 0, -1):
        try:
            names[str(json.loads(raw)["headers"]["task"])] += 1
        except (ValueError, KeyError, TypeError):
            names["unreadable"] += 1
    client.flushdb()
    return dict(names.most_common())


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []


def system_prepare(config: LoadConfig, *, log: Path) -> dict[str, str]:
    """An empty database and Redis of the run's own, migrated and seeded, and Django set up here; return the env."""
    env = process_env(config)
    database_recreate(config.database_url)
    import redis

    redis.Redis.from_url(config.redis_url).flushdb()
    manage(["migrate", "--noinput"], env=env, log=log)
    manage(["seed_demo"], env=env, log=log)
    _django_setup(config)
    return env


def run(config: LoadConfig) -> dict[str, Any]:
    """Set up, run and measure; every process started is stopped before this returns or raises."""
    began = time.monotonic()
    load_before = _load()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    setup_log = LOG_DIR / "load-setup.log"
    setup_log.write_bytes(b"")
    env = system_prepare(config, log=setup_log)
    analytics_refresh(env=env, log=setup_log)
    from django.utils import timezone

    fleet = Fleet(env=env, log_dir=LOG_DIR)
    try:
        fleet_start(fleet, config)
        wait_ready(config, fleet, symbols_traded())
        ready = time.monotonic()
        start_at = timezone.now() + timedelta(seconds=config.lead_seconds)
        submit_retries = submit(config, start_at=start_at)
        submitted = time.monotonic()
        deadline = start_at + timedelta(seconds=config.minutes * 60 + config.grace_seconds)
        machine_before, fleet_before = machine_cpu(), fleet.cpu_seconds()
        ended, sessions = wait_done(config, fleet, start_at=start_at, deadline=deadline)
        waited = time.monotonic()
        machine_after, fleet_after = machine_cpu(), fleet.cpu_seconds()
        exited = fleet.exited()
    finally:
        fleet.stop()
    figures = measure(config, start_at=start_at)
    figures["queued_at_end"] = queue_backlog(config.redis_url)
    figures["database_sessions"] = session_shares(sessions)
    figures["cpu"] = {
        "over_s": round(waited - submitted, 1),
        "processes_s": {name: round(used - fleet_before.get(name, 0.0), 1) for name, used in fleet_after.items()},
        "machine_busy": busy_share(machine_before, machine_after),
    }
    return {
        "config": {**asdict(config), "json_path": str(config.json_path), "slices": config.slices},
        "machine": {
            "python": platform.python_version(),
            "cores": os.cpu_count(),
            "load_before": load_before,
            "load_after": _load(),
        },
        "start_at": start_at.isoformat(),
        "ended": ended,
        "exited_early": exited,
        "submit_retries": submit_retries,
        "timings": {
            "setup_s": round(ready - began, 1),
            "submit_s": round(submitted - ready, 1),
            "run_s": round(waited - submitted, 1),
            "total_s": round(time.monotonic() - began, 1),
        },
        "figures": figures,
    }


def _terminate(signum: int, frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)  # unwinds through run()'s finally: the fleet is stopped


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    why = unreachable(config)
    if why is not None:
        sys.stdout.write(f"bench_load skipped: {why}\n")
        return 0
    signal.signal(signal.SIGTERM, _terminate)
    sys.stdout.write(
        f"bench_load: {config.executions:,} TWAPs over {config.minutes:g} min in {config.slice_seconds} s slices, "
        f"{config.workers} workers x {config.concurrency}, starting {config.lead_seconds:g} s after the submits begin; "
        f"logs in {LOG_DIR}\n"
    )
    sys.stdout.flush()
    try:
        report = run(config)
    except SetupFailed as exc:
        sys.stderr.write(f"bench_load failed: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("bench_load interrupted; every process it started was stopped\n")
        return 130
    sys.stdout.write(table(report) + "\n")
    config.json_path.parent.mkdir(parents=True, exist_ok=True)
    config.json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    sys.stdout.write(f"\nwrote {config.json_path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
