"""The RFQ overhead benchmark's arithmetic and table (the run itself is `make bench`)."""

from ems.bench_rfq import parse_args, summary, table


def test_summary_gives_percentiles_in_ms_and_says_when_nothing_was_measured() -> None:
    figures = summary([float(v) for v in range(1, 101)])
    assert (figures["n"], figures["p50_ms"], figures["max_ms"]) == (100, 50.0, 100.0)
    assert figures["p99_ms"] >= figures["p50_ms"]
    assert summary([]) == {"n": 0}


def test_the_table_names_both_figures_and_an_empty_one() -> None:
    report = {"figures": {"request_to_all_dealers_notified": summary([3.0, 5.0]), "quote_to_ladder": summary([])}}
    text = table(report)
    assert "request to all dealers notified" in text
    assert "quote to ladder" in text
    assert "(nothing measured)" in text


def test_arguments_are_checked(capsys: object) -> None:
    config, requests, interval = parse_args(["--requests", "7", "--interval-ms", "50"])
    assert (requests, interval, config.executions) == (7, 50, 7)
