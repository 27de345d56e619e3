"""The router's benchmarks run in the simulator's harness and report their figures (the figures are not asserted)."""

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

from router import bench as router_bench
from router.core.market import RouterParams
from router.core.policy import route
from trading.enums import VenueKind
from venues.sim import bench
from venues.sim.bench import BenchConfig

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LATENCY_KEYS = {"count", "mean_us", "p50_us", "p99_us", "p999_us", "max_us"}
COST_KEYS = {"count", "router_bps", "primary_bps", "saving_bps", "router_filled", "primary_filled", "router_rounds"}


def test_the_router_benchmarks_are_registered_after_the_simulators() -> None:
    # given / when router.bench is imported (above)
    # then
    names = list(bench.BENCHMARKS)  # ems.bench, if a test imported it, registers algo_quality after these
    assert names[names.index("simulator") + 1 :][:2] == ["routing", "sweep_cost"]
    assert {"matching", "simulator"} <= set(bench.BENCHMARKS)


def test_routing_reports_latency_overall_and_by_urgency() -> None:
    # given a tiny run
    config = BenchConfig(quick=True, size=60, seed=5)
    # when
    figures = bench.run(config, ["routing"])["routing"]
    # then
    assert set(figures) == {"setup", "rows"}
    assert figures["setup"]["decisions"] == 60
    assert figures["setup"]["scenarios"] == 60
    assert list(figures["rows"]) == ["all", "LOW", "MEDIUM", "HIGH", "baseline"]
    assert set(figures["rows"]["all"]) == LATENCY_KEYS | {"ops_per_s"}
    assert figures["rows"]["all"]["count"] == 60
    assert sum(figures["rows"][u]["count"] for u in ("LOW", "MEDIUM", "HIGH")) == 60
    assert all(set(figures["rows"][u]) == LATENCY_KEYS for u in ("LOW", "MEDIUM", "HIGH"))
    assert figures["rows"]["all"]["ops_per_s"] > 0
    assert figures["rows"]["baseline"]["count"] == 60  # the simplest decision, over the same scenarios
    assert figures["setup"]["goal"].startswith("p99 < 200 us: ")


def test_sweep_cost_reports_router_and_primary_costs_for_each_size() -> None:
    # given a tiny run: the order a minute after the open, two seeds
    config = BenchConfig(quick=True, size=60, seed=5)
    # when
    figures = bench.run(config, ["sweep_cost"])["sweep_cost"]
    # then
    assert set(figures) == {"setup", "rows"}
    assert figures["setup"]["seeds"] == "5, 6"
    assert list(figures["rows"]) == ["2,000 shares", "10,000 shares", "40,000 shares"]
    for row in figures["rows"].values():
        assert set(row) == COST_KEYS
        assert row["count"] == 2
        assert row["saving_bps"] == row["primary_bps"] - row["router_bps"]
        assert 0 < row["router_filled"] <= 1
        assert 0 < row["primary_filled"] <= 1
        assert row["router_rounds"] >= 1


def test_routing_scenarios_are_seeded_and_have_the_stated_shape() -> None:
    # given / when
    first = [router_bench.routing_scenario(random.Random(9)) for _ in range(2)]
    # then
    assert first[0] == first[1]
    req, venues, stats = first[0]
    lit = [v for v in venues if v.kind is VenueKind.LIT]
    assert [v.code for v in lit] == ["PRIM", "SEC1", "SEC2", "SEC3", "SEC4"]
    assert all(len(v.bids) == len(v.asks) == 10 for v in lit)
    assert max(v.bids[0][0] for v in lit) < min(v.asks[0][0] for v in lit)  # never crossed
    assert [v.code for v in venues if v.kind is VenueKind.DARK] == ["DRK1", "DRK2"]
    assert set(stats) == {v.code for v in venues}
    plan = route(req, venues, stats=stats, params=RouterParams(), rng=random.Random(1))
    assert plan.routed_qty + plan.unrouted_qty == req.qty


def test_python_m_router_bench_offers_every_benchmark_and_writes_json(tmp_path: Path) -> None:
    # given
    out = tmp_path / "bench.json"
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    # when
    result = subprocess.run(
        [sys.executable, "-m", "router.bench", "--quick", "--no-pin", "--only", "routing", "--json", str(out)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    helped = subprocess.run(
        [sys.executable, "-m", "router.bench", "--help"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # then
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert list(report["results"]) == ["routing"]
    assert report["results"]["routing"]["setup"]["decisions"] == 2000
    assert re.search(r"^routing +all +2,000 ", result.stdout, re.MULTILINE), result.stdout
    assert helped.returncode == 0, helped.stderr
    assert "usage: python -m router.bench" in helped.stdout
    assert "{matching,routing,simulator,sweep_cost}" in helped.stdout
