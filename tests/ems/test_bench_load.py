"""The lateness section's pure helpers and its configuration (no run here: ``python -m ems.bench --only lateness`` does that)."""

from decimal import Decimal

import pytest

from ems.bench_load import (
    LoadConfig,
    by_slice,
    lateness_summary,
    order_plan,
    session_shares,
    slices_sent_twice,
    table,
    tick_of,
)
from oms.bench_measure import busy_share, percentile, summary_ms


def test_percentile_is_the_nearest_rank_of_the_unsorted_values():
    # given 1..100 shuffled
    values = [(i * 37) % 100 + 1 for i in range(100)]
    # then each percentile is an observed value, by nearest rank
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7, 3, 5], 50) == 5
    assert percentile([7, 3, 5], 99) == 7
    assert percentile([42], 1) == 42


def test_percentile_refuses_no_values_and_a_percent_out_of_range():
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="invalid `pct`, was 0"):
        percentile([1, 2], 0)
    with pytest.raises(ValueError, match="invalid `pct`, was 101"):
        percentile([1, 2], 101)


def test_lateness_summary_of_nothing_has_no_figures():
    assert lateness_summary([]) == {"count": 0, "mean_ms": None, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}


def test_lateness_summary():
    assert lateness_summary([30, 10, 20, 40]) == {
        "count": 4,
        "mean_ms": 25.0,
        "p50_ms": 20,
        "p95_ms": 40,
        "p99_ms": 40,
        "max_ms": 40,
    }


def test_by_slice_groups_ticks_by_the_slice_period_they_were_due_in():
    # given ticks due 0.5 s, 9.9 s, 10 s and 25 s after the start, in 10 s slices
    rows = [(0.5, 100), (9.9, 300), (10.0, 50), (25.0, 7)]
    # when
    periods = by_slice(rows, slice_seconds=10)
    # then one row per period, in order, each summarizing its own ticks
    assert [(p["from_s"], p["count"], p["max_ms"]) for p in periods] == [(0, 2, 300), (10, 1, 50), (20, 1, 7)]


def test_tick_of_reads_the_tick_number_an_algos_routing_decision_names():
    assert tick_of("tick 3 (schedule): TWAP slice") == 3
    assert tick_of("tick 12 (42-3-ab at XALP canceled with 5 unfilled (venue closed)): catch up") == 12
    assert tick_of("start") is None  # an IMMEDIATE order's own decision
    assert tick_of("the RFQ workflow is not available yet: route the block to the lit and dark markets") is None
    assert tick_of("a tick 3 (schedule)") is None


def test_slices_sent_twice_finds_children_beyond_what_their_tick_sent():
    # given parent 1's ticks 0 and 1 sent 10 and 5; parent 2's tick 0 has no record
    sent = {(1, 0): Decimal(10), (1, 1): Decimal(5)}
    children = [
        (1, "tick 0 (start): TWAP slice", Decimal(4)),
        (1, "tick 0 (start): TWAP slice", Decimal(6)),  # tick 0's two children: 10, as it sent
        (1, "tick 1 (schedule): TWAP slice", Decimal(6)),  # one more than tick 1 sent
        (2, "tick 0 (schedule): TWAP slice", Decimal(1)),  # a tick never recorded
        (1, None, Decimal(3)),  # no decision
        (1, "start", Decimal(2)),  # an IMMEDIATE order's
    ]
    # when
    twice, untagged = slices_sent_twice(sent, children)
    # then
    assert twice == [
        {"parent": 1, "tick": 1, "sent": "5", "children_qty": "6"},
        {"parent": 2, "tick": 0, "sent": "None", "children_qty": "1"},
    ]
    assert untagged == 2


def test_slices_sent_once_each_are_not_reported():
    sent = {(1, 0): Decimal(10), (1, 1): Decimal(0)}
    twice, untagged = slices_sent_twice(sent, [(1, "tick 0 (start): TWAP slice", Decimal(10))])
    assert (twice, untagged) == ([], 0)


def test_order_plan_goes_round_robin_over_portfolios_and_symbols_with_one_to_three_lots():
    plan = order_plan(7, symbols=["ACME", "GLOBX", "INITK"], portfolios=["GROWTH", "VALUE"])
    assert plan == [
        ("GROWTH", "ACME", 1),
        ("VALUE", "GLOBX", 2),
        ("GROWTH", "INITK", 3),
        ("VALUE", "ACME", 1),
        ("GROWTH", "GLOBX", 2),
        ("VALUE", "INITK", 3),
        ("GROWTH", "ACME", 1),
    ]


def test_order_plan_needs_something_to_trade():
    with pytest.raises(ValueError, match="was the demo seeded"):
        order_plan(3, symbols=[], portfolios=["GROWTH"])


def test_session_shares_sorts_samples_into_statement_lock_wait_idle_in_transaction_and_idle():
    samples = {
        ("active", ""): 2,
        ("active", "IO:DataFileRead"): 1,
        ("active", "Lock:transactionid"): 3,
        ("active", "Lock:tuple"): 1,
        ("idle in transaction", "Client:ClientRead"): 2,
        ("idle", "Client:ClientRead"): 1,
    }
    assert session_shares(samples) == {
        "samples": 10,
        "statement": 0.3,
        "lock_wait": 0.4,
        "idle_in_transaction": 0.2,
        "idle": 0.1,
        "lock_waits": {"Lock:transactionid": 3, "Lock:tuple": 1},
    }
    assert session_shares({})["samples"] == 0


def test_busy_share_is_the_busy_part_of_the_cpu_time_between_two_readings():
    assert busy_share((100, 1000), (400, 1600)) == 0.5
    assert busy_share(None, (400, 1600)) is None  # not Linux
    assert busy_share((100, 1000), (100, 1000)) is None  # no time passed


def test_load_config_defaults_and_what_follows_from_them():
    config = LoadConfig()
    assert (config.executions, config.workers, config.concurrency) == (300, 2, 4)
    assert (config.minutes, config.slice_seconds, config.slices, config.grace_seconds) == (1.5, 60, 2, 30)
    assert config.lead == 28.0  # 10 s + 60 ms an order
    assert LoadConfig(minutes=1, slice_seconds=7, lead_seconds=5).slices == 9  # 60 / 7: the last slice is short
    assert LoadConfig(lead_seconds=5).lead == 5


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"executions": 0}, "invalid `executions`, was 0"),
        ({"minutes": 0.1}, "the window (0.1 min) is shorter than one slice (60 s)"),
        ({"slice_seconds": 3601, "minutes": 100}, "from 1 to 3600"),
        ({"grace_seconds": -1}, "must not be negative"),
    ],
)
def test_load_config_refuses_what_cannot_run_naming_the_reason(fields, reason):
    with pytest.raises(ValueError, match="invalid") as error:
        LoadConfig(**fields)
    assert reason in str(error.value)


def test_summary_ms_gives_nearest_rank_percentiles_and_says_when_nothing_was_measured():
    figures = summary_ms([float(v) for v in range(100, 0, -1)])
    assert figures == {"n": 100, "p50_ms": 50.0, "p99_ms": 99.0, "max_ms": 100.0}
    assert summary_ms([]) == {"n": 0}


def _report(**lateness):
    empty = {"count": 0, "mean_ms": None, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "config": {"workers": 2, "concurrency": 4, "slices": 18, "slice_seconds": 10},
        "ended": "every execution ended",
        "submit_retries": 1,
        "timings": {"setup_s": 80.0, "submit_s": 12.0, "run_s": 200.0, "total_s": 300.0},
        "figures": {
            "executions": {"total": 1000, "done": 990, "stopped": 4, "running": 6, "done_share": 0.99},
            "late_submits": 0,
            "parents_filled": 990,
            "lateness": {**empty, **lateness},
            "lateness_by_slice": [{"from_s": 0, **empty, **lateness}] if lateness else [],
            "ticks": {"total": 20000, "by_trigger": {}, "per_s": 95.5},
            "children": 25000,
            "fills": 30000,
            "duplicates": {"count": 0, "slices": [], "untagged_children": 0},
            "queued_at_end": {"ems.execution_tick": 1200, "ems.reports_apply": 30},
            "database_sessions": session_shares({("active", ""): 1, ("idle", "Client:ClientRead"): 3}),
            "cpu": {
                "over_s": 240.0,
                "processes_s": {"gateway": 30.0, "worker-1": 100.4, "worker-2": 90.0, "beat": 1.0},
                "machine_busy": 0.5,
            },
        },
        "machine": {"cores": 2},
    }


def test_table_shows_the_headline_figures():
    text = table(_report(count=18000, p50_ms=120, p95_ms=900, p99_ms=2500, max_ms=4100))
    lines = dict(line.split("  ", 1) for line in text.splitlines())
    assert lines["finished (DONE)"].strip() == "990 (99.0%); stopped 4, still running 6"
    assert lines["lateness p50 / p95"].strip() == "120 ms / 900 ms"
    assert lines["lateness p99 / max"].strip() == "2,500 ms / 4,100 ms"
    assert lines["worst slice p99"].strip() == "2,500 ms (due 0 s after the start)"
    assert lines["ticks handled"].strip() == "95.5 /s"
    assert lines["database sessions"].strip() == "statement 25%, lock wait 0%, idle in transaction 0%, idle 75%"
    assert (
        lines["CPU while ticking"].strip()
        == "workers 190 s, gateway 30 s, beat 1 s in 240 s; machine 50% busy (2 cores, every process)"
    )


def test_table_without_scheduled_ticks_shows_dashes():
    lines = dict(line.split("  ", 1) for line in table(_report()).splitlines())
    assert lines["lateness p99 / max"].strip() == "- / -"
    assert lines["worst slice p99"].strip() == "-"
