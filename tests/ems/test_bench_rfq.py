"""The RFQ section's arithmetic and table (the run itself is ``make bench``)."""

from ems.bench_rfq import summary, table


def test_summary_gives_percentiles_in_ms_and_says_when_nothing_was_measured() -> None:
    figures = summary([float(v) for v in range(1, 101)])
    assert (figures["n"], figures["p50_ms"], figures["max_ms"]) == (100, 50.0, 100.0)
    assert figures["p99_ms"] >= figures["p50_ms"]
    assert summary([]) == {"n": 0}


def test_the_table_names_both_figures_and_an_empty_one() -> None:
    figures = {"request_to_all_dealers_notified": summary([3.0, 5.0]), "quote_to_ladder": summary([])}
    figures |= {"redis_stream_round_trip": summary([0.4]), "channel_layer_to_consumer": summary([])}
    text = table({"figures": figures})
    assert "request to all dealers notified" in text
    assert "baseline: Redis stream round trip" in text
    assert "quote to ladder" in text
    assert "baseline: channel layer to consumer" in text
    assert text.count("(nothing measured)") == 2
