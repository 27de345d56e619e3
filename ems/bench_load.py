"""Executions working at once on two workers: do they keep their schedule? ``make bench``'s ``lateness`` section.

``python -m ems.bench --only lateness [--executions N] [--minutes M] [--slice-seconds S]
[--lead-seconds L] [--grace-seconds G] [--workers W] [--concurrency C]`` (the
runner is ``ems.bench``; the live system, ``ems.bench_live``).

**What it measures.** A scheduled tick is due at its slice boundary
(``Execution.next_tick_at``) and records when it ran: ``ExecutionTick.ran_at``
is read once the tick holds the parent's row lock, so ``lateness_ms`` (ran less
due) is everything between the schedule and the decision: the worker's ETA
timer, the wait for a free pool process behind other ticks and report batches,
and the wait for the parent's row lock. N TWAP orders (default 300; quick 40)
all start working at the same instant and run M minutes (default 1.5; quick 0.5) in
S-second slices (default 60, the TWAP's own default; quick 15), without size or time
jitter: every slice boundary is a burst of N ticks due at once, the worst case
for the workers. Over every tick with the ``schedule`` trigger (the first, at
the common start, included) it reports lateness p50/p95/p99/max, and per slice
period, to tell a burst drained within the slice from a backlog that grows;
ticks handled per second (every tick, whatever its trigger); the share of
executions that finished; the duplicate-slice check; what the database
sessions were doing (sampled each second from ``pg_stat_activity``: running a
statement, waiting for a lock, idle in a transaction while the worker's Python
works, idle); the CPU each process used and how busy the whole machine was (the
figures depend on what else runs there); and the tasks still queued at the end.
No test asserts these figures.

**Baseline.** On the same workers, just before the orders are submitted (the
workers idle), ``NOOP_BURST`` no-op tasks (``ems.bench_tasks``) all due at one
instant: their ETA lateness is what Celery's timer and dispatch cost without
any work. ``NOOP_IN_BURST`` more are due at each slice boundary with the
ticks, in the JSON: a task with no work waiting behind the burst.

**How.** On the live system (``ems.bench_live``: the gateway, W workers of C
pool processes, default 2 x 4, and beat). Orders go in through the OMS service
layer in this process (``parent_order_submit``: the checks, events and
on-commit start the REST API runs, without the HTTP), a few submitters at
once, with a common ``start_at`` L seconds ahead (default: enough for the
submits) and ``end_at`` M minutes after it, so how long submitting takes does
not shape the load. They buy one to three lots a slice, round-robin over the
demo's equities and its two portfolios, with a limit 2% through the far touch,
so they fill; their ``cl_ord_id`` is ``load-<n>``, and every figure is read of
those orders only (the other sections' orders share the database). The run
waits until every execution has ended or the window plus G seconds of grace
(default 30) has passed, stops the workers and beat, and measures.

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

import json
import math
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from oms.bench_measure import busy_share, load_average, machine_cpu, percentile

if TYPE_CHECKING:
    from ems.bench_live import LiveSystem

LIMIT_THROUGH: Final = Decimal("0.02")  # the limit, this share through the far touch: the orders fill
SUBMITTERS: Final = 4  # threads submitting: a submit waits on the database more than it computes
SUBMIT_TRIES: Final = 20
LEAD_BASE_S: Final = 10.0  # the default lead: this, plus LEAD_PER_ORDER_S a submit
LEAD_PER_ORDER_S: Final = 0.06
POLL_S: Final = 1.0
PROGRESS_S: Final = 15.0
CELERY_QUEUE: Final = "celery"  # the default queue: every task goes there
CL_ORD_PREFIX: Final = "load-"
NOOP_BURST: Final = 100  # no-op tasks due at one instant on the idle workers: the baseline
NOOP_IN_BURST: Final = 20  # and this many due with the ticks at each slice boundary
NOOP_LEAD_S: Final = 3.0
_TICK_TRIGGER: Final = re.compile(r"^tick (\d+) \(")


EXECUTIONS: Final = 300
MINUTES: Final = 1.5


@dataclass(frozen=True, slots=True)
class LoadConfig:
    executions: int = EXECUTIONS
    minutes: float = MINUTES
    slice_seconds: int = 60
    lead_seconds: float | None = None  # None: LEAD_BASE_S + LEAD_PER_ORDER_S an order
    grace_seconds: int = 30
    workers: int = 2
    concurrency: int = 4

    def __post_init__(self) -> None:
        if self.executions < 1:
            raise ValueError(f"invalid `executions`, was {self.executions}: at least 1")
        if not 1 <= self.slice_seconds <= 3600:
            raise ValueError(f"invalid `slice_seconds`, was {self.slice_seconds}: from 1 to 3600")
        if self.minutes * 60 < self.slice_seconds:
            raise ValueError(
                f"invalid `minutes`: the window ({self.minutes:g} min) is shorter than one slice ({self.slice_seconds} s)"
            )
        if self.grace_seconds < 0:
            raise ValueError(f"invalid `grace_seconds`, was {self.grace_seconds}: must not be negative")

    @property
    def slices(self) -> int:
        """Slices in the window (the last may be short): each order buys whole lots in every one."""
        return math.ceil(self.minutes * 60 / self.slice_seconds)

    @property
    def lead(self) -> float:
        return self.lead_seconds if self.lead_seconds is not None else LEAD_BASE_S + LEAD_PER_ORDER_S * self.executions


# --- pure figures -------------------------------------------------------------------------------


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


# --- the run (Django set up in this process) ------------------------------------------------------


def symbols_traded() -> list[str]:
    from oms.models import Instrument
    from trading.enums import AssetClass

    return sorted(Instrument.objects.filter(active=True, asset_class=AssetClass.EQUITY).values_list("symbol", flat=True))


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
                        parent_order_submit(
                            user=portfolio.owner, terms=terms, cl_ord_id=f"{CL_ORD_PREFIX}{n}", allow_duplicate=True
                        )
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


def wait_done(
    config: LoadConfig, live: "LiveSystem", *, start_at: datetime, deadline: datetime
) -> tuple[str, Counter[tuple[str, str]]]:
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
        ours = Execution.objects.filter(parent__cl_ord_id__startswith=CL_ORD_PREFIX)
        total = ours.count()
        running = ours.filter(status=Execution.RUNNING).count()
        if total >= config.executions and running == 0:
            return "every execution ended", sessions
        if exited := live.fleet.exited():
            return f"stopped early: {', '.join(f'{name} exited {code}' for name, code in exited.items())}", sessions
        if now > deadline:
            return f"window and {config.grace_seconds} s grace passed, {running + config.executions - total} not ended", sessions
        if time.monotonic() >= next_progress:
            ticks = ExecutionTick.objects.filter(execution__parent__cl_ord_id__startswith=CL_ORD_PREFIX).count()
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

    ticks = ExecutionTick.objects.filter(execution__parent__cl_ord_id__startswith=CL_ORD_PREFIX)
    parents = ParentOrder.objects.filter(cl_ord_id__startswith=CL_ORD_PREFIX)
    children = ChildOrder.objects.filter(parent__cl_ord_id__startswith=CL_ORD_PREFIX)
    scheduled = list(ticks.filter(trigger="schedule").values_list("due_at", "lateness_ms"))
    span = ticks.aggregate(first=Min("ran_at"), last=Max("ran_at"))
    total_ticks = ticks.count()
    seconds = (span["last"] - span["first"]).total_seconds() if span["first"] and span["last"] else 0.0
    triggers = Counter(t if t in ("schedule", "start", "amend") else "event" for t in ticks.values_list("trigger", flat=True))
    statuses = Counter(Execution.objects.filter(parent__in=parents).values_list("status", flat=True))
    executions = sum(statuses.values())
    sent = {(p, n): qty for p, n, qty in ticks.values_list("execution__parent_id", "tick_no", "sent_qty")}
    twice, untagged = slices_sent_twice(sent, children.values_list("parent_id", "decision__trigger", "qty"))
    return {
        "executions": {
            "total": executions,
            "done": statuses[Execution.DONE],
            "stopped": statuses[Execution.STOPPED],
            "running": statuses[Execution.RUNNING],
            "done_share": statuses[Execution.DONE] / executions if executions else 0.0,
        },
        "late_submits": parents.filter(created_at__gt=start_at).count(),
        "parents_filled": parents.filter(status=OrdStatus.FILLED).count(),
        "lateness": lateness_summary([ms for _, ms in scheduled]),
        "lateness_by_slice": by_slice(
            (((due - start_at).total_seconds(), ms) for due, ms in scheduled), slice_seconds=config.slice_seconds
        ),
        "ticks": {"total": total_ticks, "by_trigger": dict(triggers), "per_s": round(total_ticks / seconds, 1) if seconds else 0.0},
        "children": children.count(),
        "fills": Fill.objects.filter(parent__in=parents).count(),
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


# --- the baseline: a no-op task's ETA lateness on the same workers ----------------------------------


def noop_send(label: str, *, due_at: datetime, count: int) -> None:
    """Queue ``count`` no-op tasks (``ems.bench_tasks``) due at ``due_at``; each records its lateness under ``label``."""
    from ems.bench_tasks import noop_late

    for _ in range(count):
        noop_late.apply_async(args=(due_at.timestamp(), label), eta=due_at)


def noop_lateness(label: str) -> list[float]:
    """The lateness (ms) of every no-op task of ``label`` that ran."""
    from config.redis import redis_client
    from ems.bench_tasks import NOOP_KEY

    return [float(ms) for ms in redis_client().lrange(NOOP_KEY.format(label=label), 0, -1)]


def noop_baseline(*, wait_s: float = 20.0) -> list[float]:
    """``NOOP_BURST`` no-op tasks due at one instant ``NOOP_LEAD_S`` ahead on the idle workers; wait for them to run."""
    from django.utils import timezone

    due = timezone.now() + timedelta(seconds=NOOP_LEAD_S)
    noop_send("idle", due_at=due, count=NOOP_BURST)
    deadline = time.monotonic() + NOOP_LEAD_S + wait_s
    while len(late := noop_lateness("idle")) < NOOP_BURST and time.monotonic() < deadline:
        time.sleep(0.2)
    return late


# --- the section --------------------------------------------------------------------------------


def run(live: "LiveSystem", config: LoadConfig) -> dict[str, Any]:
    """Run the section on ``live`` (prepared): start what it needs, load, measure; stop the workers and beat at the end."""
    from django.utils import timezone

    began = time.monotonic()
    load_before = load_average()
    live.start("gateway", "workers", "beat")
    ready = time.monotonic()
    idle = noop_baseline()
    start_at = timezone.now() + timedelta(seconds=config.lead)
    for n in range(config.slices):
        noop_send("burst", due_at=start_at + timedelta(seconds=n * config.slice_seconds), count=NOOP_IN_BURST)
    submit_retries = submit(config, start_at=start_at)
    submitted = time.monotonic()
    deadline = start_at + timedelta(seconds=config.minutes * 60 + config.grace_seconds)
    machine_before, fleet_before = machine_cpu(), live.fleet.cpu_seconds()
    ended, sessions = wait_done(config, live, start_at=start_at, deadline=deadline)
    waited = time.monotonic()
    machine_after, fleet_after = machine_cpu(), live.fleet.cpu_seconds()
    exited = live.fleet.exited()
    in_burst = noop_lateness("burst")
    live.stop("workers", "beat")
    figures = measure(config, start_at=start_at)
    figures["queued_at_end"] = queue_backlog(live.config.redis_url)
    figures["database_sessions"] = session_shares(sessions)
    figures["noop_idle"] = lateness_summary([round(ms) for ms in idle])
    figures["noop_in_burst"] = lateness_summary([round(ms) for ms in in_burst])
    figures["cpu"] = {
        "over_s": round(waited - submitted, 1),
        "processes_s": {name: round(used - fleet_before.get(name, 0.0), 1) for name, used in fleet_after.items()},
        "machine_busy": busy_share(machine_before, machine_after),
    }
    return {
        "config": {**asdict(config), "lead_seconds": config.lead, "slices": config.slices},
        "machine": {"cores": os.cpu_count(), "load_before": load_before, "load_after": load_average()},
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
