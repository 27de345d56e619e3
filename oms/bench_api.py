"""The REST API's order accept, every pre-trade check on, next to a trivial endpoint: ``make bench``'s ``api`` section.

``python -m ems.bench --only api [--quick] [--clients C] [--requests N]`` (the
runner and the live system it runs on are ``ems.bench`` and ``ems.bench_live``;
this module is the OMS's part, and imports nothing of ``ems``).

**What it measures.** The real web server (Daphne serving ``config.asgi``, one
process, as the Procfile runs it) on PostgreSQL, loaded by C clients at once
(default 4; ``--quick`` 2), each a thread with one keep-alive HTTP connection
and a PM's token, half pm1 (portfolio GROWTH), half pm2 (VALUE):

- *order accept*: N limit buys in all (default 300; ``--quick`` 60) posted
  to ``/api/orders/``, each with its own ``cl_ord_id``: the serializer, the
  order checks, the pre-trade risk checks under the portfolio's row lock, the
  order and its events stored, and on commit the execution's start queued and
  the blotter told;
- *trivial endpoint* (the baseline): ``GET /api/portfolios/`` (token auth, the
  PM's one portfolio), the same C clients and N requests: what any
  authenticated API call costs on this server.

For each: answers per second over the phase's wall time (from the first
request sent to the last answer read), latency p50/p99/max (ms) of every
request as its client saw it, every answer counted by status; the server's
CPU a request; the ratio of the two. No test asserts these figures.

**Every check on.** On both portfolios' limit rows (``seed_demo``'s), every
field set (order qty and notional, price collar, credit, position, daily
notional, throttle, duplicate window), loose enough that every bench order
passes, and the firm's throttle (50 orders a second) loosened to the bench's
(the strictest scope wins). Orders round-robin over the portfolios and the
demo's equities; each differs from every other of its portfolio and
instrument in quantity or limit, so the duplicate check runs and passes. No
gateway runs during this section, so the reference price is ``ref_px``.

**Accept, not trading.** No Celery worker runs: accepted orders stay NEW. After
the run, the tasks the server queued (the Celery messages whose ``origin`` is
the server's process: the ``execution_start`` of each order, on commit) are
counted and deleted; any other message is counted apart and left alone; the
orders are then cancelled in the database (``orders_retire``) so the sections
after this one, with workers running, do not start them.

**Checked after the run.** Orders stored == 201 answers (the same
``cl_ord_id``s) and every stored order has a ``RISK_CHECK`` event in which
every check ran and passed; if not, the section says what did not add up and
the runner exits 1.
"""

import http.client
import json
import math
import os
import resource
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from oms.bench_measure import busy_share, load_average, machine_cpu, percentile, process_cpu_seconds, process_threads, where

CLIENTS: Final = 4
REQUESTS: Final = 300
QUICK_CLIENTS: Final = 2
QUICK_REQUESTS: Final = 60
ORDERS_PATH: Final = "/api/orders/"
TRIVIAL_PATH: Final = "/api/portfolios/"
PMS: Final = (("pm1", "GROWTH"), ("pm2", "VALUE"))  # (user, the portfolio they own), from seed_demo
WARMUP_GETS: Final = 2  # a client, untimed
# Co-prime steps: the k-th order of a portfolio in an instrument has qty (1 + k mod 89) lots and a limit (k mod 43)
# ticks under the reference, so no two of the first 89 x 43 are identical and the duplicate check passes them all.
QTY_STEPS: Final = 89
PX_STEPS: Final = 43
D = Decimal
# Every field set, loose enough for every bench order: 2,000 buys of at most 89 lots stay far inside each.
BENCH_LIMITS: Final[dict[str, Any]] = {
    "max_order_qty": D(1_000_000),
    "max_order_notional": D(100_000_000),
    "collar_bps": D(500),  # the deepest bench limit is 42 ticks under: 2.3% on INITK (18.75)
    "credit_limit": D(10_000_000_000),
    "max_position_qty": D(100_000_000),
    "daily_notional": D(10_000_000_000),
    "max_orders": 100_000,
    "per_seconds": 60,
    "duplicate_seconds": 60,
}
REQUEST_TIMEOUT_S: Final = 60.0
SAMPLE_S: Final = 0.05
CELERY_QUEUE: Final = "celery"
START_TASK: Final = "ems.execution_start"  # the task the OMS queues on commit (oms.ports.execution.start)
BODY_KEPT: Final = 300  # characters of an unexpected answer's body kept in the report


class SetupFailed(Exception):
    """A step before the measurement failed; the message says which."""


# --- pure: the orders, the figures, the table ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Listing:
    """What an order needs of an instrument."""

    symbol: str
    tick: Decimal
    lot: Decimal
    ref_px: Decimal


def order_plan(count: int, *, portfolios: Sequence[str], listings: Sequence[Listing]) -> list[dict[str, str]]:
    """Return ``count`` order bodies: limit buys round-robin over ``portfolios``, then over ``listings`` within each.

    The k-th order of a portfolio in an instrument buys (1 + k mod 89) lots
    at (k mod 43) ticks under the reference price (floored to the tick), so
    none repeats another within 89 x 43 of them (``ValueError`` past that);
    ``cl_ord_id`` is ``bench-<n>``.
    """
    if not portfolios or not listings:
        raise ValueError("no portfolios or no instruments to trade: was the demo seeded?")
    per_pair = math.ceil(math.ceil(count / len(portfolios)) / len(listings))
    if per_pair > QTY_STEPS * PX_STEPS:
        raise ValueError(f"invalid `count`, was {count}: at most {QTY_STEPS * PX_STEPS} orders a portfolio and instrument")
    bodies = []
    for n in range(count):
        portfolio = portfolios[n % len(portfolios)]
        nth_of_portfolio = n // len(portfolios)
        listing = listings[nth_of_portfolio % len(listings)]
        k = nth_of_portfolio // len(listings)
        limit_px = (listing.ref_px // listing.tick - k % PX_STEPS) * listing.tick
        if limit_px <= 0:
            raise ValueError(f"invalid `ref_px` of {listing.symbol}, was {listing.ref_px}: too low for {PX_STEPS} ticks under")
        bodies.append(
            {
                "cl_ord_id": f"bench-{n + 1}",
                "portfolio": portfolio,
                "instrument": listing.symbol,
                "side": "BUY",
                "ord_type": "LIMIT",
                "qty": format(listing.lot * (1 + k % QTY_STEPS), "f"),
                "limit_px": format(limit_px, "f"),
                "tif": "DAY",
            }
        )
    return bodies


def shares(items: Sequence[Any], *, owners: Sequence[str], clients: int, owner_of: Any) -> list[list[Any]]:
    """Split ``items`` among ``clients``: client c serves ``owners[c % len(owners)]`` and gets a round-robin turn of its items.

    ``owner_of(item)`` names the item's owner; every owner needs a client.
    """
    if clients < len(owners):
        raise ValueError(f"invalid `clients`, was {clients}: fewer than the {len(owners)} owners")
    serving = {owner: [c for c in range(clients) if c % len(owners) == i] for i, owner in enumerate(owners)}
    out: list[list[Any]] = [[] for _ in range(clients)]
    turn: Counter[str] = Counter()
    for item in items:
        owner = owner_of(item)
        out[serving[owner][turn[owner] % len(serving[owner])]].append(item)
        turn[owner] += 1
    return out


@dataclass(frozen=True, slots=True)
class Answer:
    """One request as its client saw it: the status ("201", or "error: <exception>"), the latency, the order's id."""

    status: str
    latency_ns: int
    cl_ord_id: str = ""
    body: str = ""  # kept for an unexpected status only


def phase_figures(answers: Sequence[Answer], *, wall_s: float, expected: str) -> dict[str, Any]:
    """Count, answers of the ``expected`` status a second of ``wall_s``, latency mean/p50/p99/max in ms (every answer)."""
    statuses = Counter(answer.status for answer in answers)
    latencies = [answer.latency_ns for answer in answers]

    def ms(ns: float) -> float:
        return round(ns / 1e6, 2)

    return {
        "count": len(answers),
        "ok": statuses[expected],
        "ops_per_s": round(statuses[expected] / wall_s, 1) if wall_s > 0 else 0.0,
        "mean_ms": ms(sum(latencies) / len(latencies)) if latencies else None,
        "p50_ms": ms(percentile(latencies, 50)) if latencies else None,
        "p99_ms": ms(percentile(latencies, 99)) if latencies else None,
        "max_ms": ms(max(latencies)) if latencies else None,
        "wall_s": round(wall_s, 3),
        "expected_status": expected,
        "statuses": dict(sorted(statuses.items())),
        "unexpected": [{"status": a.status, "body": a.body} for a in answers if a.status != expected][:5],
    }


def ratio(accept: Mapping[str, Any], trivial: Mapping[str, Any]) -> dict[str, float | None]:
    """How the order accept compares with the trivial endpoint: its share of the throughput, its multiple of the latency."""

    def divide(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    return {
        "throughput": divide(accept["ops_per_s"], trivial["ops_per_s"]),
        "p50": divide(accept["p50_ms"], trivial["p50_ms"]),
        "p99": divide(accept["p99_ms"], trivial["p99_ms"]),
    }


def risk_audit(
    orders: Iterable[tuple[int, str]], risk_events: Iterable[tuple[int, Any]], *, expected_checks: Iterable[str]
) -> dict[str, Any]:
    """Check every stored order's ``RISK_CHECK`` events: every expected check ran and passed.

    ``orders`` are (id, cl_ord_id); ``risk_events`` (order id, event data with
    ``outcomes``). Return the orders stored, how many passed the audit, and up
    to ten ids of each kind that did not: no event, a failed outcome, a check
    missing.
    """
    expected = set(expected_checks)
    outcomes: dict[int, list[dict[str, Any]]] = {}
    for parent_id, data in risk_events:
        outcomes.setdefault(parent_id, []).extend((data or {}).get("outcomes") or [])
    ids = [pk for pk, _ in orders]
    unchecked = [pk for pk in ids if pk not in outcomes]
    failed = [pk for pk in ids if any(not o.get("passed") for o in outcomes.get(pk, []))]
    incomplete = [pk for pk in ids if pk in outcomes and not expected <= {o.get("check") for o in outcomes[pk]}]
    bad = set(unchecked) | set(failed) | set(incomplete)
    return {
        "orders_stored": len(ids),
        "risk_checked_all_passed": len(ids) - len(bad),
        "checks_expected": sorted(expected),
        "without_risk_check": unchecked[:10],
        "with_a_failed_check": failed[:10],
        "with_a_check_missing": incomplete[:10],
    }


def session_figures(samples: Sequence[Sequence[tuple[str, str]]]) -> dict[str, Any]:
    """From samples of (state, wait event type) of every session: the mean number running, waiting for a lock, idle in a
    transaction, and the most open at once."""
    counts: Counter[str] = Counter()
    for sample in samples:
        for state, wait in sample:
            if state == "active" and wait == "Lock":
                counts["lock_wait"] += 1
            elif state == "active":
                counts["running"] += 1
            elif state.startswith("idle in transaction"):
                counts["idle_in_transaction"] += 1
    n = len(samples)
    return {
        "samples": n,
        **{kind: round(counts[kind] / n, 2) if n else 0.0 for kind in ("running", "lock_wait", "idle_in_transaction")},
        "open_max": max((len(sample) for sample in samples), default=0),
    }


def table(report: Mapping[str, Any]) -> str:
    """The setup in words, then one aligned row per endpoint, then the ratio and the checks (as ``venues.sim.bench``)."""
    result = report["results"]["api"]
    lines = [f"api {key}: {value}" for key, value in result["setup"].items()]
    columns = ("count", "ok", "ops_per_s", "mean_ms", "p50_ms", "p99_ms", "max_ms", "server_cpu_ms", "other")
    header = ["benchmark", "row", *columns]

    def cell(value: object) -> str:
        if value is None:
            return "-"
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, float):
            return f"{value:,.1f}" if value >= 100 else f"{value:,.2f}"
        return str(value)

    body = []
    for label, row in result["rows"].items():
        other = ", ".join(f"{n} x {status}" for status, n in row["statuses"].items() if status != row["expected_status"])
        body.append(["api", label, *(cell(row.get(c)) for c in columns[:-1]), other or "none"])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines.append("")
    for line in [header, *body]:
        lines.append("  ".join(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i]) for i, c in enumerate(line)).rstrip())
    r, v = report["ratio"], report["verified"]
    lines.append("")
    lines.append(
        f"order accept vs {TRIVIAL_PATH}: {cell(r['throughput'])} x the throughput, {cell(r['p50'])} x the p50, "
        f"{cell(r['p99'])} x the p99"
    )
    for label, row in result["rows"].items():
        if (db := row.get("db_sessions")) is not None:
            lines.append(
                f"database sessions during {label}: on average {db['running']:.2f} running a statement, {db['lock_wait']:.2f} "
                f"waiting for a lock, {db['idle_in_transaction']:.2f} idle in a transaction; up to {db['open_max']} open"
            )
    lines.append(
        f"verified: {'yes' if v['ok'] else 'NO'}: {v['orders_stored']:,} orders stored, {v['answered_201']:,} answered 201 "
        f"({v['warmup_orders']} in the warm-up); {v['risk_checked_all_passed']:,} with every one of "
        f"{len(v['checks_expected'])} risk checks run and passed; {v['queued_starts']:,} execution starts queued"
        + ("" if v["queued_starts"] == v["orders_stored"] else " (not one an order: did something else empty or read the queue?)")
    )
    return "\n".join(lines)


# --- the database ---------------------------------------------------------------------------------


def _conninfo(database_url: str, *, dbname: str | None = None) -> tuple[str, str]:
    """The conninfo of the benchmark database (or ``dbname`` on its server), and the benchmark database's name."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(database_url)
    name = str(params.get("dbname") or "")
    return make_conninfo("", **{**params, "dbname": dbname or name}), name


def db_sessions_opened(database_url: str) -> int:
    """Sessions ever opened on the benchmark database (``pg_stat_database.sessions``; a session's count may lag until it
    ends); this reading's own included."""
    import psycopg

    conninfo, name = _conninfo(database_url)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [name]).fetchone()
    return int(row[0]) if row else 0


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True, slots=True)
class WebServer:
    """The web server under load (started by the live harness, ``ems.bench_live``): its port on the loopback and its pid."""

    port: int
    pid: int


# --- the load -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str
    token: str
    body: bytes | None = None
    cl_ord_id: str = ""


def _headers(token: str, *, has_body: bool) -> dict[str, str]:
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    if has_body:
        headers["Content-Type"] = "application/json"
    return headers


def request_once(port: int, method: str, path: str, *, token: str, body: bytes | None = None) -> tuple[int, bytes]:
    """One request on a connection of its own (start-up and warm-up); return the status and the body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request(method, path, body=body, headers=_headers(token, has_body=body is not None))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _client(port: int, calls: Sequence[Call], *, start: threading.Barrier, expected: str) -> list[Answer]:
    """Send ``calls`` one after the other on one keep-alive connection, from when every client is ready.

    A request that fails on the connection is answered ``error: <exception>``
    and the next one opens a new connection (``http.client`` does); none is sent again.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.connect()
    except OSError:
        conn.close()  # the first request connects again and records the failure
    answers = []
    clock = time.perf_counter_ns
    start.wait()
    try:
        for call in calls:
            headers = _headers(call.token, has_body=call.body is not None)
            started = clock()
            try:
                conn.request(call.method, call.path, body=call.body, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                status, raw = f"error: {type(exc).__name__}", str(exc).encode()
            elapsed = clock() - started
            body = "" if status == expected else raw[:BODY_KEPT].decode(errors="replace")
            answers.append(Answer(status, elapsed, call.cl_ord_id, body))
    finally:
        conn.close()
    return answers


class _Sampler(threading.Thread):
    """Every ``SAMPLE_S`` while a phase runs: every other session's (state, wait event type) on the benchmark database,
    and the server's thread count."""

    def __init__(self, database_url: str, server_pid: int) -> None:
        super().__init__(name="bench-sampler", daemon=True)
        self.conninfo, _ = _conninfo(database_url)
        self.server_pid = server_pid
        self.samples: list[list[tuple[str, str]]] = []
        self.threads_max = 0
        self.stop = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
            self.ready.set()
            while not self.stop.wait(SAMPLE_S):
                rows = conn.execute(
                    "SELECT coalesce(state, ''), coalesce(wait_event_type, '') FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                ).fetchall()
                self.samples.append([(str(state), str(wait)) for state, wait in rows])
                self.threads_max = max(self.threads_max, process_threads(self.server_pid) or 0)


def phase_run(server: WebServer, *, database_url: str, per_client: Sequence[Sequence[Call]], expected: str) -> dict[str, Any]:
    """Run every client's calls at once; return the figures, the answers' order ids by status, and what the server and
    the database did meanwhile."""
    start = threading.Barrier(len(per_client) + 1, timeout=30)
    sampler = _Sampler(database_url, server.pid)
    sampler.start()
    sampler.ready.wait(timeout=10)
    server_cpu, own_cpu, machine = process_cpu_seconds(server.pid), own_cpu_seconds(), machine_cpu()
    with ThreadPoolExecutor(max_workers=len(per_client), thread_name_prefix="bench-client") as pool:
        futures = [pool.submit(_client, server.port, calls, start=start, expected=expected) for calls in per_client]
        start.wait()
        began = time.perf_counter()
        answers = [answer for future in futures for answer in future.result()]
        wall_s = time.perf_counter() - began
    server_after = process_cpu_seconds(server.pid)
    sampler.stop.set()
    sampler.join(timeout=10)
    figures = phase_figures(answers, wall_s=wall_s, expected=expected)
    used = server_after - server_cpu if server_cpu is not None and server_after is not None else None
    figures["server_cpu_s"] = None if used is None else round(used, 2)
    figures["server_cpu_ms"] = None if used is None or not answers else round(used * 1000 / len(answers), 1)  # a request
    figures["clients_cpu_s"] = round(own_cpu_seconds() - own_cpu, 2)
    figures["machine_busy"] = busy_share(machine, machine_cpu())
    figures["server_threads_max"] = sampler.threads_max
    figures["db_sessions"] = session_figures(sampler.samples)
    figures["cl_ord_ids_201"] = sorted(a.cl_ord_id for a in answers if a.status == "201" and a.cl_ord_id)
    return figures


# --- the run (Django set up in this process, on the benchmark's database) -----------------------


def limits_apply() -> dict[str, dict[str, str | None]]:
    """Set every limit field on the bench portfolios' rows and loosen the firm's throttle to theirs; return the limits in
    force (the strictest of every scope) for each portfolio and instrument, each field set."""
    from oms.models import Instrument, Portfolio, RiskLimit
    from oms.risk import limits_for
    from trading.enums import AssetClass

    codes = [code for _, code in PMS]
    updated = RiskLimit.objects.filter(portfolio__code__in=codes, instrument=None, asset_class="").update(**BENCH_LIMITS)
    if updated != len(codes):
        raise SetupFailed(f"expected one limit row for each of {codes} from seed_demo, found {updated}")
    # The firm's 50 orders a second is stricter than the bench's, and the strictest scope's throttle applies.
    RiskLimit.objects.filter(portfolio=None, instrument=None, asset_class="").update(
        max_orders=BENCH_LIMITS["max_orders"], per_seconds=BENCH_LIMITS["per_seconds"]
    )
    in_force: dict[str, dict[str, str | None]] = {}
    for portfolio in Portfolio.objects.filter(code__in=codes):
        for instrument in Instrument.objects.filter(active=True, asset_class=AssetClass.EQUITY):
            limits = limits_for(portfolio=portfolio, instrument=instrument)
            fields = {name: None if getattr(limits, name) is None else str(getattr(limits, name)) for name in BENCH_LIMITS}
            if None in fields.values():
                raise SetupFailed(f"a limit is not in force for {portfolio.code} / {instrument.symbol}: {fields}")
            in_force[f"{portfolio.code} / {instrument.symbol}"] = fields
    return in_force


def listings() -> list[Listing]:
    from oms.models import Instrument
    from trading.enums import AssetClass

    equities = Instrument.objects.filter(active=True, asset_class=AssetClass.EQUITY, structure="").order_by("symbol")
    return [Listing(i.symbol, i.tick_size, i.lot_size, i.ref_px) for i in equities]


def reference_source(symbols: Sequence[str]) -> str:
    """Where the risk checks' reference price comes from for ``symbols``: the live mark (Redis), or ``ref_px``."""
    from oms import ports
    from oms.models import Instrument

    ids = dict(Instrument.objects.filter(symbol__in=symbols).values_list("pk", "symbol"))
    marked = sorted(ids[pk] for pk in ports.execution.marks(list(ids)))
    if not marked:
        return "each instrument's ref_px (no live mark in the bench's Redis: no gateway runs)"
    return f"the live mark from Redis for {', '.join(marked)}; ref_px for the others"


def tokens() -> dict[str, str]:
    from rest_framework.authtoken.models import Token

    found = dict(Token.objects.filter(user__username__in=[pm for pm, _ in PMS]).values_list("user__username", "key"))
    if len(found) != len(PMS):
        raise SetupFailed(f"seed_demo made no token for {sorted({pm for pm, _ in PMS} - set(found))}")
    return found


def verify(*, answered_201: set[str]) -> dict[str, Any]:
    """Read back what the run stored: orders == 201 answers, each risk-checked with every check passed."""
    from oms.core.risk import RiskCode
    from oms.models import OrderEvent, ParentOrder

    orders = list(ParentOrder.objects.values_list("pk", "cl_ord_id"))
    stored = {cl_ord_id for _, cl_ord_id in orders}
    events = OrderEvent.objects.filter(kind="RISK_CHECK").values_list("parent_id", "data")
    # NO_REFERENCE_PRICE is only ever a failure (a notional or collar that cannot be priced): every other check runs.
    audit = risk_audit(orders, events, expected_checks=[code.value for code in RiskCode if code is not RiskCode.NO_REFERENCE_PRICE])
    return {
        **audit,
        "answered_201": len(answered_201),
        "answered_201_not_stored": sorted(answered_201 - stored)[:10],
        "stored_not_answered_201": sorted(stored - answered_201)[:10],
    }


def queued_by(raws: Iterable[str], *, pid: int) -> tuple[dict[str, int], list[str], int]:
    """Sort raw Celery messages into those process ``pid`` sent (Celery's ``origin`` header: ``gen<pid>@<host>``) and the
    rest; return our tasks counted by name, our raw messages, and how many others there were."""
    ours: Counter[str] = Counter()
    raw_ours: list[str] = []
    others = 0
    for raw in raws:
        try:
            headers = json.loads(raw)["headers"]
            origin, task = str(headers["origin"]), str(headers["task"])
        except (ValueError, KeyError, TypeError):
            others += 1
            continue
        if origin.startswith(f"gen{pid}@"):
            ours[task] += 1
            raw_ours.append(raw)
        else:
            others += 1
    return dict(ours.most_common()), raw_ours, others


def queue_drain(redis_url: str, *, pid: int) -> tuple[dict[str, int], int]:
    """Count the tasks process ``pid`` left on the Celery queue, by name, and delete them (nothing will run them); return
    them and how many other messages were there (left alone: a Redis database shared by mistake stays whole)."""
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    ours, raws, others = queued_by([str(raw) for raw in client.lrange(CELERY_QUEUE, 0, -1)], pid=pid)
    with client.pipeline(transaction=False) as pipe:
        for raw in raws:
            pipe.lrem(CELERY_QUEUE, 1, raw)
        pipe.execute()
    return ours, others


def measure(server: WebServer, *, database_url: str, redis_url: str, clients: int, requests: int) -> dict[str, Any]:
    """Load, measure and verify on the running ``server`` (Django set up here on the same database, no worker running).

    Return the section's report; ``verified.ok`` says whether the run added up.
    """
    if clients < len(PMS):
        raise ValueError(f"invalid `clients`, was {clients}: at least {len(PMS)} (one a PM)")
    if requests < clients:
        raise ValueError(f"invalid `requests`, was {requests}: at least one a client ({clients})")
    began = time.monotonic()
    load_before = load_average()
    in_force = limits_apply()
    traded = listings()
    reference = reference_source([listing.symbol for listing in traded])
    keys = tokens()
    owner = {code: pm for pm, code in PMS}
    bodies = order_plan(requests, portfolios=[code for _, code in PMS], listings=traded)
    order_calls = [
        Call("POST", ORDERS_PATH, keys[owner[body["portfolio"]]], json.dumps(body).encode(), body["cl_ord_id"]) for body in bodies
    ]
    pms = [pm for pm, _ in PMS]
    token_owner = {key: pm for pm, key in keys.items()}
    orders_per_client = shares(order_calls, owners=pms, clients=clients, owner_of=lambda call: token_owner[call.token])
    gets_per_client = [
        [Call("GET", TRIVIAL_PATH, keys[pms[c % len(pms)]])] * len(calls) for c, calls in enumerate(orders_per_client)
    ]
    from django.conf import settings
    from django.db import connection

    connection.close()  # this process's session is not one the server opened
    sessions_before = db_sessions_opened(database_url)
    warmup_201 = _warm_up(server, keys=keys, per_client=clients, listing=traded[0])
    ready = time.monotonic()
    trivial = phase_run(server, database_url=database_url, per_client=gets_per_client, expected="200")
    accept = phase_run(server, database_url=database_url, per_client=orders_per_client, expected="201")
    measured = time.monotonic()
    # Less the readings' own sessions: this one, the one before and each phase's sampler.
    sessions_opened = db_sessions_opened(database_url) - sessions_before - 1 - 2
    queued, queued_by_others = queue_drain(redis_url, pid=server.pid)
    answered = set(accept.pop("cl_ord_ids_201")) | set(warmup_201)
    trivial.pop("cl_ord_ids_201")
    verified = verify(answered_201=answered)
    verified["warmup_orders"] = len(warmup_201)
    verified["queued_starts"] = queued.get(START_TASK, 0)
    verified["ok"] = (
        verified["orders_stored"] == verified["answered_201"]
        and not verified["answered_201_not_stored"]
        and not verified["stored_not_answered_201"]
        and verified["risk_checked_all_passed"] == verified["orders_stored"]
    )
    load_after = load_average()
    requests_sent = trivial["count"] + accept["count"] + clients * WARMUP_GETS + len(PMS)
    setup = {
        "server": f"1 Daphne process serving config.asgi on 127.0.0.1:{server.port} (one event loop; Django runs each "
        f"request's view in a thread of its own: up to {max(trivial['server_threads_max'], accept['server_threads_max'])} "
        "threads seen)",
        "database": f"PostgreSQL at {where(database_url)}, migrated and seeded (seed_demo) afresh; "
        f"CONN_MAX_AGE {settings.DATABASES['default'].get('CONN_MAX_AGE')}; "
        f"{sessions_opened:,} database sessions opened by the server for {requests_sent:,} requests",
        "limits": f"GROWTH and VALUE rows: every check set ({_limits_text()}); the firm's throttle loosened to the same",
        "reference price": reference,
        "executions": f"no Celery worker runs: orders stay NEW; {verified['queued_starts']:,} queued execution starts counted "
        f"and deleted afterwards from the bench's Redis {where(redis_url)}"
        + (f" ({queued_by_others:,} messages it did not send left alone: is the database shared?)" if queued_by_others else ""),
        "load": f"{clients} clients (threads, one keep-alive http.client connection each), half with pm1's token "
        f"(GROWTH), half with pm2's (VALUE): first {requests:,} GET {TRIVIAL_PATH} (token auth, the PM's one "
        f"portfolio), then {requests:,} limit buys, each with its own cl_ord_id, over {len(traded)} equities; "
        f"before both, untimed, {WARMUP_GETS} GETs a client and one order a PM",
        "machine": f"{os.cpu_count()} cores shared with whatever else runs (and this process's clients): load average "
        f"{load_before[0] if load_before else '-'} before, {load_after[0] if load_after else '-'} after; "
        f"busy {_share(trivial['machine_busy'])} during the GETs, {_share(accept['machine_busy'])} during the orders",
    }
    return {
        "config": {
            "clients": clients,
            "requests": requests,
            "database": where(database_url),
            "redis": where(redis_url),
            "server_processes": 1,
            "server_pid": server.pid,
            "trivial_endpoint": f"GET {TRIVIAL_PATH}",
        },
        "results": {"api": {"setup": setup, "rows": {"order accept": accept, f"GET {TRIVIAL_PATH}": trivial}}},
        "ratio": ratio(accept, trivial),
        "verified": verified,
        "limits_in_force": in_force,
        "db_sessions_opened": sessions_opened,
        "requests_sent": requests_sent,
        "queued_at_end": queued,
        "queued_by_others": queued_by_others,
        "timings": {
            "warmup_s": round(ready - began, 1),
            "measure_s": round(measured - ready, 1),
            "total_s": round(time.monotonic() - began, 1),
        },
    }


def orders_retire() -> int:
    """Cancel the bench's orders (still NEW, never started) in the database, so the execution sweep, once workers run for
    the next live sections, does not start them; return how many."""
    from oms.models import ParentOrder
    from trading.states import OrdStatus

    return ParentOrder.objects.filter(status=OrdStatus.NEW).update(status=OrdStatus.CANCELED)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _limits_text() -> str:
    return ", ".join(
        f"{name} {value:,}" if not isinstance(value, str) else f"{name} {value}" for name, value in BENCH_LIMITS.items()
    )


def _warm_up(server: WebServer, *, keys: Mapping[str, str], per_client: int, listing: Listing) -> list[str]:
    """Untimed: a few GETs, then one order a PM (their first order path: imports, Redis connections); return the orders'
    ``cl_ord_id``s answered 201."""
    pms = [pm for pm, _ in PMS]
    for c in range(per_client * WARMUP_GETS):
        request_once(server.port, "GET", TRIVIAL_PATH, token=keys[pms[c % len(pms)]])
    accepted = []
    for pm, code in PMS:
        body = {
            "cl_ord_id": f"warmup-{pm}",
            "portfolio": code,
            "instrument": listing.symbol,
            "side": "BUY",
            "ord_type": "LIMIT",
            "qty": format(listing.lot * (QTY_STEPS + 1), "f"),  # a size no bench order has: never a duplicate
            "limit_px": format(listing.ref_px // listing.tick * listing.tick, "f"),
        }
        status, raw = request_once(server.port, "POST", ORDERS_PATH, token=keys[pm], body=json.dumps(body).encode())
        if status != 201:
            raise SetupFailed(f"the warm-up order for {code} was answered {status}: {raw[:BODY_KEPT].decode(errors='replace')}")
        accepted.append(body["cl_ord_id"])
    return accepted
