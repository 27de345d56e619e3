"""The REST API benchmark: its pure parts and skip path, and on PostgreSQL one run in its smallest configuration whose
report adds up and matches what it stored. Its figures are never asserted (``make bench`` reports them)."""

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from psycopg import sql

from oms.bench_api import (
    PX_STEPS,
    QTY_STEPS,
    Answer,
    Listing,
    order_plan,
    phase_figures,
    queued_by,
    ratio,
    risk_audit,
    session_figures,
    shares,
    table,
)

ROOT = Path(__file__).resolve().parent.parent.parent
D = Decimal
ACME = Listing("ACME", D("0.01"), D(1), D("101.50"))
INITK = Listing("INITK", D("0.01"), D(100), D("18.75"))
CHECKS = [
    "CREDIT_LIMIT", "DAILY_NOTIONAL", "DUPLICATE", "KILL_SWITCH", "MAX_NOTIONAL", "MAX_QTY", "POSITION_LIMIT", "PRICE_COLLAR",
    "RESTRICTED", "THROTTLE",
]  # fmt: skip


def test_order_plan_goes_round_robin_over_portfolios_then_instruments():
    # when
    bodies = order_plan(6, portfolios=["GROWTH", "VALUE"], listings=[ACME, INITK])
    # then
    assert [(b["portfolio"], b["instrument"], b["qty"], b["limit_px"]) for b in bodies] == [
        ("GROWTH", "ACME", "1", "101.50"),
        ("VALUE", "ACME", "1", "101.50"),
        ("GROWTH", "INITK", "100", "18.75"),
        ("VALUE", "INITK", "100", "18.75"),
        ("GROWTH", "ACME", "2", "101.49"),
        ("VALUE", "ACME", "2", "101.49"),
    ]
    assert bodies[0] == {
        "cl_ord_id": "bench-1",
        "portfolio": "GROWTH",
        "instrument": "ACME",
        "side": "BUY",
        "ord_type": "LIMIT",
        "qty": "1",
        "limit_px": "101.50",
        "tif": "DAY",
    }


def test_order_plan_never_repeats_an_order_so_the_duplicate_check_passes_them_all():
    # when: as many orders as one portfolio and instrument can take, and one more portfolio
    bodies = order_plan(2 * QTY_STEPS * PX_STEPS, portfolios=["GROWTH", "VALUE"], listings=[INITK])
    # then: no two alike, each on the lot and the tick, within 2.3% under the reference (the bench's collar is 5%)
    assert len({(b["portfolio"], b["instrument"], b["side"], b["qty"], b["limit_px"]) for b in bodies}) == len(bodies)
    assert len({b["cl_ord_id"] for b in bodies}) == len(bodies)
    assert all(D(b["qty"]) % INITK.lot == 0 and D(b["limit_px"]) % INITK.tick == 0 for b in bodies)
    assert min(D(b["limit_px"]) for b in bodies) == D("18.33")


def test_order_plan_refuses_more_orders_than_it_can_keep_apart():
    with pytest.raises(ValueError, match="invalid `count`"):
        order_plan(QTY_STEPS * PX_STEPS + 1, portfolios=["GROWTH"], listings=[ACME])
    with pytest.raises(ValueError, match="was the demo seeded"):
        order_plan(1, portfolios=["GROWTH"], listings=[])


def test_shares_give_each_client_its_pms_items_in_turn():
    # given: items owned by pm1 and pm2
    items = [("pm1", 1), ("pm2", 2), ("pm1", 3), ("pm2", 4), ("pm1", 5)]
    # when
    split = shares(items, owners=["pm1", "pm2"], clients=4, owner_of=lambda item: item[0])
    # then: clients 0 and 2 serve pm1, 1 and 3 pm2
    assert split == [[("pm1", 1), ("pm1", 5)], [("pm2", 2)], [("pm1", 3)], [("pm2", 4)]]
    with pytest.raises(ValueError, match="invalid `clients`"):
        shares(items, owners=["pm1", "pm2"], clients=1, owner_of=lambda item: item[0])


def test_phase_figures_count_every_answer_by_status_and_time_every_one():
    # given: 98 accepted, one refused, one lost connection
    answers = [Answer("201", ms * 1_000_000, f"bench-{ms}") for ms in range(1, 99)]
    answers += [Answer("400", 200_000_000, "bench-99", '{"error": "x"}'), Answer("error: TimeoutError", 300_000_000, "bench-100")]
    # when
    figures = phase_figures(answers, wall_s=2.0, expected="201")
    # then
    assert (figures["count"], figures["ok"], figures["ops_per_s"]) == (100, 98, 49.0)
    assert figures["statuses"] == {"201": 98, "400": 1, "error: TimeoutError": 1}
    assert (figures["p50_ms"], figures["p99_ms"], figures["max_ms"]) == (50.0, 200.0, 300.0)
    assert figures["unexpected"] == [{"status": "400", "body": '{"error": "x"}'}, {"status": "error: TimeoutError", "body": ""}]


def test_ratio_compares_the_order_accept_with_the_trivial_endpoint():
    accept = {"ops_per_s": 20.0, "p50_ms": 90.0, "p99_ms": 300.0}
    trivial = {"ops_per_s": 80.0, "p50_ms": 30.0, "p99_ms": 0.0}
    assert ratio(accept, trivial) == {"throughput": 0.25, "p50": 3.0, "p99": None}


def test_risk_audit_names_the_orders_not_checked_failed_or_missing_a_check():
    # given
    passed = {"outcomes": [{"check": check, "passed": True} for check in CHECKS]}
    failed = {"outcomes": [{"check": check, "passed": check != "THROTTLE"} for check in CHECKS]}
    partial = {"outcomes": [{"check": "KILL_SWITCH", "passed": True}]}
    orders = [(1, "bench-1"), (2, "bench-2"), (3, "bench-3"), (4, "bench-4")]
    # when
    audit = risk_audit(orders, [(1, passed), (3, failed), (4, partial)], expected_checks=CHECKS)
    # then
    assert audit["orders_stored"] == 4
    assert audit["risk_checked_all_passed"] == 1
    assert (audit["without_risk_check"], audit["with_a_failed_check"], audit["with_a_check_missing"]) == ([2], [3], [4])


def test_queued_by_tells_the_servers_messages_from_the_rest():
    # given: two messages the server (pid 4242) sent, one another process sent, one unreadable
    def message(task: str, origin: str) -> str:
        return json.dumps({"body": "", "headers": {"task": task, "origin": origin, "id": "x"}})

    raws = [
        message("ems.execution_start", "gen4242@host"),
        message("ems.execution_cancel", "gen42421@host"),
        message("ems.execution_start", "gen4242@host"),
        "not json",
    ]
    # when
    ours, raw_ours, others = queued_by(raws, pid=4242)
    # then
    assert ours == {"ems.execution_start": 2}
    assert raw_ours == [raws[0], raws[2]]
    assert others == 2


def test_session_figures_average_what_the_sessions_were_doing():
    samples = [[("active", "Lock"), ("active", ""), ("idle", "Client")], [("idle in transaction", "Client")], []]
    figures = session_figures(samples)
    assert figures == {"samples": 3, "running": 0.33, "lock_wait": 0.33, "idle_in_transaction": 0.33, "open_max": 3}


def test_the_table_shows_both_endpoints_the_ratio_and_the_checks():
    # given
    accept = phase_figures([Answer("201", 80_000_000), Answer("409", 90_000_000)], wall_s=1.0, expected="201")
    trivial = phase_figures([Answer("200", 20_000_000)] * 2, wall_s=0.5, expected="200")
    rows = {"order accept": accept, "GET /api/portfolios/": trivial}
    verified = {"ok": True, "orders_stored": 3, "answered_201": 3, "warmup_orders": 2, "risk_checked_all_passed": 3}
    verified |= {"checks_expected": CHECKS, "queued_starts": 3}
    report = {
        "results": {"api": {"setup": {"server": "1 Daphne process"}, "rows": rows}},
        "ratio": ratio(accept, trivial),
        "verified": verified,
    }
    # when
    text = table(report)
    # then
    assert "api server: 1 Daphne process" in text
    assert "order accept" in text
    assert "1 x 409" in text
    assert "GET /api/portfolios/" in text
    assert "0.25 x the throughput" in text
    assert "verified: yes: 3 orders stored, 3 answered 201 (2 in the warm-up); 3 with every one of 10 risk checks" in text


_DB = settings.DATABASES["default"]
_ON_POSTGRESQL = _DB["ENGINE"] == "django.db.backends.postgresql"


@pytest.mark.skipif(not _ON_POSTGRESQL, reason="the benchmark runs on PostgreSQL only (DATABASE_URL is not PostgreSQL)")
def test_the_smallest_run_adds_up_and_every_order_it_accepted_was_stored_risk_checked(tmp_path):
    # given: a database of its own on the tests' server, and the tests' own Redis (which the tests empty anyway)
    name = f"{_DB['NAME']}_bench_api"
    auth = _DB["USER"] + (f":{_DB['PASSWORD']}" if _DB["PASSWORD"] else "")
    server = f"postgres://{auth}@{_DB['HOST'] or '127.0.0.1'}:{_DB['PORT'] or 5432}"
    report_path = tmp_path / "api.json"
    env = {"BENCH_DATABASE_URL": f"{server}/{name}", "BENCH_REDIS_URL": settings.REDIS_URL}
    try:
        # when
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "ems.bench",
                "--quick",
                "--only",
                "api",
                "--clients",
                "2",
                "--requests",
                "100",
                "--json",
                str(report_path),
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        # then: it ran, printed its table and wrote its report
        assert done.returncode == 0, done.stdout + done.stderr
        assert "skipped" not in done.stdout
        assert "POST /api/orders/, every risk check" in done.stdout
        report = json.loads(report_path.read_text())["results"]["api"]
        assert report["config"]["clients"] == 2
        assert report["config"]["requests"] == 100
        rows = report["results"]["api"]["rows"]
        assert set(rows) == {"order accept", "GET /api/portfolios/"}
        for row, expected in ((rows["order accept"], "201"), (rows["GET /api/portfolios/"], "200")):
            assert row["count"] == 100
            assert sum(row["statuses"].values()) == row["count"]
            assert row["statuses"] == {expected: 100}  # every bench order passes every check
            assert row["ok"] == row["statuses"][expected]
            assert row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
            assert row["ops_per_s"] == pytest.approx(row["ok"] / row["wall_s"], rel=0.01)  # wall_s is rounded to the ms
        assert set(report["ratio"]) == {"throughput", "p50", "p99"}
        verified = report["verified"]
        assert verified["ok"] is True
        assert verified["answered_201"] == rows["order accept"]["ok"] + verified["warmup_orders"] == 102
        assert verified["orders_stored"] == verified["risk_checked_all_passed"] == 102
        assert verified["checks_expected"] == CHECKS
        # one start an order, unless another process emptied or read the tests' Redis meanwhile (not the bench's doing)
        assert set(report["queued_at_end"]) <= {"ems.execution_start"}  # all the server queued: a start an order
        assert report["queued_at_end"].get("ems.execution_start", 0) == verified["queued_starts"] <= 102
        assert all(None not in limits.values() for limits in report["limits_in_force"].values())
        # and what it stored, read back here: one order a 201, each with every check run and passed
        with psycopg.connect(f"{server}/{name}") as conn:
            stored = conn.execute("SELECT count(*) FROM oms_parentorder").fetchone()
            audits = conn.execute(
                "SELECT p.id, e.data FROM oms_parentorder p"
                " LEFT JOIN oms_orderevent e ON e.parent_id = p.id AND e.kind = 'RISK_CHECK'"
            ).fetchall()
            statuses = conn.execute("SELECT status, count(*) FROM oms_parentorder GROUP BY status").fetchall()
        assert stored == (102,)
        assert len(audits) == 102
        for _order, data in audits:
            outcomes = data["outcomes"]
            assert sorted(o["check"] for o in outcomes) == CHECKS
            assert all(o["passed"] for o in outcomes)
        assert statuses == [("CANCELED", 102)]  # accepted, never worked (no Celery worker ran), then retired
        assert report["retired_orders"] == 102
        # the starts the server queued were deleted (anything else on the queue is not the bench's)
        left = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True).lrange("celery", 0, -1)
        assert queued_by(left, pid=report["config"]["server_pid"])[0] == {}
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
