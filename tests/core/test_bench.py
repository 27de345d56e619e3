"""The benchmark harness runs and reports every figure (the figures themselves are not asserted)."""

import json

from venues.sim import bench
from venues.sim.bench import BenchConfig, StreamMix


def test_quick_run_reports_every_benchmark_and_counts_every_op():
    # given tiny sizes
    config = BenchConfig(quick=True, size=300, seed=5)
    # when
    results = bench.run(config, ["matching", "simulator"])
    # then each benchmark reports its setup and rows (others register more: router.bench, ems.bench)
    assert list(bench.BENCHMARKS)[:2] == ["matching", "simulator"]
    assert list(results) == ["matching", "simulator"]
    for figures in results.values():
        assert set(figures) == {"setup", "rows"}
        assert figures["rows"]
    matching = results["matching"]
    assert matching["setup"]["ops"] == matching["setup"]["stream_ops"] == 300
    assert matching["setup"]["replay_matches_stream"] is True
    assert list(matching["rows"]) == ["all", "add", "cancel", "take", "baseline"]
    assert matching["rows"]["all"]["count"] == 300
    assert sum(matching["rows"][op]["count"] for op in ("add", "cancel", "take")) == 300
    assert set(matching["rows"]["all"]) == {"ops_per_s", "count", "mean_us", "p50_us", "p99_us", "p999_us", "max_us"}
    assert matching["rows"]["all"]["ops_per_s"] > 0
    assert results["simulator"]["setup"]["simulated_s"] == 300
    assert results["simulator"]["rows"]["market"]["count"] > 0
    assert matching["rows"]["baseline"]["count"] == 300  # as many trivial operations
    assert set(matching["rows"]["baseline"]) == set(matching["rows"]["all"])
    assert results["simulator"]["rows"]["baseline"]["ops_per_s"] > 0


def test_command_prints_one_table_and_writes_json(tmp_path, capsys):
    # given
    out = tmp_path / "bench" / "matching.json"
    # when
    bench.main(["--quick", "--no-pin", "--only", "matching", "--json", str(out)])
    # then
    report = json.loads(out.read_text())
    assert report["quick"] is True
    assert list(report["results"]) == ["matching"]
    assert report["results"]["matching"]["setup"]["ops"] == 20_000
    printed = capsys.readouterr().out
    assert "benchmark  row" in printed
    assert "matching   all" in printed
    assert "matching realized:" in printed


def test_matching_stream_is_seeded_mixed_and_cancels_only_live_orders():
    # given / when
    stream = bench.matching_stream(3000, seed=3, mix=StreamMix())
    # then
    again = bench.matching_stream(3000, seed=3, mix=StreamMix())
    assert stream.ops == again.ops
    assert stream.warmup == again.warmup
    assert {op[0] for op in stream.ops} == {bench.ADD, bench.CANCEL, bench.TAKE}
    assert any(op[0] == bench.TAKE and op[3] is None for op in stream.ops)  # market orders
    assert sum(stream.counts) == len(stream.ops) == 3000
    _elapsed, ops, fills, misses = bench._replay(stream)
    assert (ops, fills, misses) == (3000, stream.fills, 0)
