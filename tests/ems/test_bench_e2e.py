"""The end-to-end section's arithmetic: submit to first fill, fill to browser and their baselines (no run here)."""

from ems.bench_e2e import figures

MS = 1_000_000  # ns
T0 = 1_790_000_000 * 1_000_000_000  # an instant, in epoch ns (2026-09-21T14:13:20+00:00)


def _fill(fill_id: int, parent: int, executed_ms: int) -> dict:
    seconds, ms = divmod(executed_ms, 1000)
    return {
        "type": "fill",
        "fill": {"id": fill_id, "parent": parent, "executed_at": f"2026-09-21T14:13:{20 + seconds:02d}.{ms:03d}000Z"},
    }


def test_figures_time_each_order_to_its_first_fill_and_each_fill_from_its_execution() -> None:
    # given two orders sent at T0 and T0 + 100 ms, and what the socket heard
    sent = {7: T0, 8: T0 + 100 * MS}
    heard = [
        (T0 + 5 * MS, {"type": "hello"}),
        (T0 + 40 * MS, _fill(1, 7, executed_ms=30)),  # order 7's first fill: 40 ms after its POST, 10 ms after execution
        (T0 + 41 * MS, _fill(1, 7, executed_ms=30)),  # the same fill again (the desk group and the portfolio's): counted once
        (T0 + 60 * MS, _fill(2, 7, executed_ms=45)),  # its second: not a first fill, 15 ms to the browser
        (T0 + 70 * MS, {"type": "bench.probe", "sent_ns": T0 + 68 * MS}),  # the baseline: 2 ms
        (T0 + 200 * MS, _fill(3, 8, executed_ms=180)),  # order 8: 100 ms after its POST, 20 ms
        (T0 + 210 * MS, _fill(4, 99, executed_ms=200)),  # another order's fill: not ours
    ]
    # when
    result = figures(sent=sent, accepted_ms=[12.0, 14.0], heard=heard)
    # then
    assert result["orders"] == 2
    assert result["orders_without_a_fill"] == 0
    assert result["submit_to_first_fill"] == {"n": 2, "p50_ms": 40.0, "p99_ms": 100.0, "max_ms": 100.0}
    assert result["fill_to_browser"] == {"n": 3, "p50_ms": 15.0, "p99_ms": 20.0, "max_ms": 20.0}
    assert result["rest_accept"] == {"n": 2, "p50_ms": 12.0, "p99_ms": 14.0, "max_ms": 14.0}
    assert result["channel_layer_to_browser"] == {"n": 1, "p50_ms": 2.0, "p99_ms": 2.0, "max_ms": 2.0}


def test_an_order_never_filled_is_counted_and_nothing_heard_is_nothing_measured() -> None:
    result = figures(sent={1: T0}, accepted_ms=[], heard=[])
    assert result["orders_without_a_fill"] == 1
    assert result["submit_to_first_fill"] == result["fill_to_browser"] == result["channel_layer_to_browser"] == {"n": 0}
