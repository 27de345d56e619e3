"""``python -m ems.bench``: one table, one row set a section with its baseline, one JSON document (figures not asserted)."""

import json
from pathlib import Path

import pytest

from ems import bench as runner
from venues.sim import bench
from venues.sim.bench import BenchConfig

TINY = {"matching": 300, "simulator": 30, "routing": 60, "sweep_cost": 60, "algo_quality": 60}


def test_every_pure_section_gives_table_rows_with_a_baseline_filled() -> None:
    # given every pure section, tiny
    results = {name: bench.run(BenchConfig(quick=True, size=size, seed=5), [name])[name] for name, size in TINY.items()}
    # when
    rows = {name: runner.headline(name, figures) for name, figures in results.items()}
    text = runner.table([row for section in rows.values() for row in section], walls=dict.fromkeys(TINY, 1.0), total_s=5.0)
    # then each section has its rows, each with a baseline and its figure (the algo grid's summary row aside)
    assert list(rows) == list(runner.PURE_SECTIONS)
    for name, section in rows.items():
        assert section, name
        graded = [row for row in section if not row["what"].startswith("goal")]
        assert graded, section
        assert all(row["baseline"] and row["baseline_figure"] not in ("", "-") for row in graded), section
    assert {row["baseline"] for row in rows["algo_quality"][:-1]} == {"immediate / TWAP"}
    lines = text.splitlines()
    assert lines[0].split() == ["section", "what", "figure", "baseline", "baseline", "figure", "wall", "s"]
    assert len(lines) == 2 + sum(len(section) for section in rows.values()) + 1  # header, rule, rows, total
    assert lines[-1].split() == ["total", "5.0"]
    assert [line.split()[0] for line in lines[2:-1]].count("matching") == len(rows["matching"])
    first_rows = [line for line in lines[2:-1] if line.endswith("1.0")]
    assert len(first_rows) == len(TINY)  # the wall time once a section, on its first row


def test_the_command_prints_one_table_and_writes_one_json_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given
    out = tmp_path / "bench" / "bench.json"
    # when
    code = runner.main(["--quick", "--no-pin", "--only", "matching", "--json", str(out)])
    # then
    assert code == 0
    report = json.loads(out.read_text())
    assert report["quick"] is True
    assert report["sections"] == ["matching"]
    assert set(report["wall_s"]) == {"matching", "total"}
    assert [row["section"] for row in report["rows"]] == ["matching", "matching"]
    assert set(report["rows"][0]) == {"section", "what", "figure", "baseline", "baseline_figure"}
    assert report["results"]["matching"]["setup"]["ops"] == 20_000
    printed = capsys.readouterr().out
    assert "section  " in printed
    assert "dict + heap loop" in printed
    assert printed.count("\ntotal ") == 1


def test_without_postgresql_the_live_sections_say_why_they_skipped_and_the_run_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given nothing listening where the benchmark's PostgreSQL should be
    monkeypatch.setenv("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:1/oms_bench")
    out = tmp_path / "bench.json"
    # when
    code = runner.main(["--quick", "--only", "api", "lateness", "--json", str(out)])
    # then one line says why, each live section has a skipped row, and the run succeeds
    printed = capsys.readouterr().out
    assert code == 0
    said = [line for line in printed.splitlines() if "skipped" in line and line.startswith("[bench]")]
    assert said == [said[0]]
    assert said[0].startswith("[bench] live sections skipped: PostgreSQL at 127.0.0.1:1/oms_bench is not reachable (")
    report = json.loads(out.read_text())
    assert [row["section"] for row in report["rows"]] == ["api", "lateness"]
    assert all(row["what"].startswith("skipped: PostgreSQL") for row in report["rows"])


def test_parse_args_sizes_every_section_full_and_quick_and_reads_the_bench_urls() -> None:
    full = runner.parse_args([], environ={})
    assert full.only == runner.SECTIONS
    assert (full.clients, full.requests, full.orders, full.rfq_requests) == (4, 300, 100, 40)
    assert (full.load.executions, full.load.minutes, full.load.slice_seconds, full.load.grace_seconds) == (300, 1.5, 60, 30)
    assert full.load.lead == 10.0 + 0.06 * 300
    assert (full.seeds, full.full_grid) == (4, False)
    assert full.live.database_url == "postgres://postgres@127.0.0.1:5432/oms_bench"
    assert full.live.redis_url == "redis://127.0.0.1:6379/14"
    assert (full.live.workers, full.live.concurrency) == (2, 4)
    environ = {"BENCH_DATABASE_URL": "postgresql://bench@db:5433/x", "BENCH_REDIS_URL": "redis://cache:6380/3"}
    quick = runner.parse_args(["--quick", "--only", "lateness", "api", "--executions", "7"], environ=environ)
    assert quick.only == ("api", "lateness")  # always in the runner's order
    assert (quick.clients, quick.requests, quick.orders, quick.rfq_requests) == (2, 60, 10, 8)
    assert (quick.load.executions, quick.load.minutes, quick.load.slice_seconds, quick.load.slices) == (7, 0.5, 15, 2)
    assert (quick.live.database_url, quick.live.redis_url) == ("postgresql://bench@db:5433/x", "redis://cache:6380/3")


@pytest.mark.parametrize(
    ("argv", "environ", "reason"),
    [
        (["--executions", "0"], {}, "invalid `executions`, was 0"),
        (["--minutes", "0.1"], {}, "the window (0.1 min) is shorter than one slice (60 s)"),
        (["--slice-seconds", "3601", "--minutes", "100"], {}, "from 1 to 3600"),
        (["--grace-seconds", "-1"], {}, "must not be negative"),
        (["--clients", "1"], {}, "at least 2 clients"),
        (["--clients", "4", "--requests", "3"], {}, "one request a client"),
        (["--only", "nothing"], {}, "invalid choice: 'nothing'"),
        ([], {"BENCH_DATABASE_URL": "sqlite:///var/bench.sqlite3"}, "must be PostgreSQL"),
    ],
)
def test_parse_args_refuses_what_cannot_run_naming_the_reason(
    argv: list[str], environ: dict[str, str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        runner.parse_args(argv, environ=environ)
    assert exit_.value.code == 2
    assert reason in capsys.readouterr().err
