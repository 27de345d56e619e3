"""The benchmark harness runs and reports every figure (the figures themselves are not asserted)."""

import json

from venues.sim import bench


def test_quick_bench_reports_every_benchmark_and_writes_json(tmp_path, capsys):
    # given
    out = tmp_path / "bench.json"
    # when
    bench.main(["--quick", "--json", str(out)])
    # then
    results = json.loads(out.read_text())["results"]
    assert results["matching"]["ops"] == 20_000
    assert results["matching"]["ops_per_s"] > 0
    assert results["simulator"]["trades"] > 0
    assert "matching.ops_per_s" in capsys.readouterr().out


def test_mixed_stream_is_seeded_and_mixed():
    # given / when
    ops = bench.mixed_stream(5000, seed=3)
    # then
    assert ops == bench.mixed_stream(5000, seed=3)
    kinds = {op[0] for op in ops}
    assert kinds == {"add", "cancel"}
    assert any(op[3] is None for op in ops)  # market orders
