"""Consolidating venue books: NBBO, composite depth, locked and crossed markets."""

from decimal import Decimal

import pytest

from venues.composite import BookView, consolidate

D = Decimal
TS = "2025-01-02T14:30:00+00:00"


def book(
    venue: str, bids: list[tuple[str, str, int]], asks: list[tuple[str, str, int]], *, state: str = "OPEN", ts: str = TS
) -> BookView:
    return BookView(
        venue=venue,
        symbol="GLOBX",
        bids=tuple((D(px), D(qty), orders) for px, qty, orders in bids),
        asks=tuple((D(px), D(qty), orders) for px, qty, orders in asks),
        state=state,
        ts=ts,
    )


def test_nbbo_is_the_best_price_across_venues_with_the_size_and_venues_at_the_touch() -> None:
    # given three venues, two of them at the best bid and one alone at the best ask
    books = [
        book("XALP", [("10.01", "300", 2), ("10.00", "500", 3)], [("10.04", "200", 1)]),
        book("XBET", [("10.01", "100", 1)], [("10.03", "400", 2), ("10.04", "100", 1)]),
        book("XGAM", [("9.99", "900", 4)], [("10.05", "50", 1)]),
    ]

    # when
    view = consolidate(books)

    # then
    assert (view.bid_px, view.bid_qty, view.bid_venues) == (D("10.01"), D("400"), ("XALP", "XBET"))
    assert (view.ask_px, view.ask_qty, view.ask_venues) == (D("10.03"), D("400"), ("XBET",))
    assert view.mid == D("10.02")
    assert view.spread == D("0.02")
    assert not view.locked
    assert not view.crossed


def test_composite_depth_sums_each_price_and_keeps_each_venues_share() -> None:
    # given two venues quoting some of the same prices
    books = [
        book("XBET", [("10.00", "100", 1), ("9.99", "50", 1)], [("10.02", "70", 2)]),
        book("XALP", [("10.00", "300", 2), ("9.98", "10", 1)], [("10.02", "30", 1), ("10.03", "5", 1)]),
    ]

    # when
    view = consolidate(books)

    # then bids run from the highest price, asks from the lowest, venues listed by code
    assert [(level.px, level.qty, level.orders, dict(level.venues)) for level in view.bids] == [
        (D("10.00"), D("400"), 3, {"XALP": D("300"), "XBET": D("100")}),
        (D("9.99"), D("50"), 1, {"XBET": D("50")}),
        (D("9.98"), D("10"), 1, {"XALP": D("10")}),
    ]
    assert [(level.px, level.qty, level.orders, dict(level.venues)) for level in view.asks] == [
        (D("10.02"), D("100"), 3, {"XALP": D("30"), "XBET": D("70")}),
        (D("10.03"), D("5"), 1, {"XALP": D("5")}),
    ]
    assert list(view.bids[0].venues) == ["XALP", "XBET"]


def test_halted_and_closed_venues_are_left_out_of_nbbo_and_depth() -> None:
    # given the best prices on a halted venue and a closed one
    books = [
        book("XALP", [("10.00", "100", 1)], [("10.05", "100", 1)]),
        book("XBET", [("10.04", "500", 1)], [("10.01", "500", 1)], state="HALTED"),
        book("XGAM", [("10.03", "700", 1)], [("10.02", "700", 1)], state="CLOSED", ts="2025-01-02T14:31:00+00:00"),
    ]

    # when
    view = consolidate(books)

    # then only the open venue counts, and its quotes are not crossed by the others'
    assert (view.bid_px, view.bid_venues, view.ask_px, view.ask_venues) == (D("10.00"), ("XALP",), D("10.05"), ("XALP",))
    assert [level.px for level in view.bids] == [D("10.00")]
    assert [level.px for level in view.asks] == [D("10.05")]
    assert not view.crossed
    # and the view is as new as the newest book it was given
    assert view.ts == "2025-01-02T14:31:00+00:00"


def test_equal_best_bid_and_ask_on_different_venues_is_locked() -> None:
    # given
    books = [book("XALP", [("10.02", "100", 1)], []), book("XBET", [], [("10.02", "200", 1)])]

    # when
    view = consolidate(books)

    # then
    assert view.locked
    assert not view.crossed
    assert view.spread == D("0")
    assert view.mid == D("10.02")


def test_bid_above_ask_on_different_venues_is_crossed() -> None:
    # given
    books = [book("XALP", [("10.03", "100", 1)], [("10.06", "1", 1)]), book("XBET", [("9.90", "1", 1)], [("10.01", "200", 1)])]

    # when
    view = consolidate(books)

    # then
    assert view.crossed
    assert not view.locked
    assert view.spread == D("-0.02")


def test_a_missing_side_has_no_price_no_mid_and_no_flags() -> None:
    # given bids only
    books = [book("XALP", [("10.00", "100", 1)], [])]

    # when
    view = consolidate(books)

    # then
    assert (view.ask_px, view.ask_qty, view.ask_venues, view.asks) == (None, D("0"), (), ())
    assert view.bid_px == D("10.00")
    assert view.mid is None
    assert view.spread is None
    assert not view.locked
    assert not view.crossed


def test_no_books_give_an_empty_view() -> None:
    # when
    view = consolidate([])

    # then
    assert (view.bid_px, view.ask_px, view.bids, view.asks, view.mid, view.ts) == (None, None, (), (), None, "")


def test_depth_stops_at_the_levels_asked_for_and_skips_empty_levels() -> None:
    # given twelve bid prices, one of them with nothing displayed
    bids = [(str(D("10.00") - D("0.01") * i), "0" if i == 1 else "10", 1) for i in range(12)]
    books = [book("XALP", bids, [])]

    # when
    view = consolidate(books, levels=3)

    # then
    assert [level.px for level in view.bids] == [D("10.00"), D("9.98"), D("9.97")]


def test_levels_below_one_are_refused() -> None:
    # when / then
    with pytest.raises(ValueError, match="invalid `levels`, was 0"):
        consolidate([], levels=0)


def test_composite_imports_no_django_and_no_redis() -> None:
    # given a fresh interpreter without Django settings
    import os
    import subprocess
    import sys
    from pathlib import Path

    probe = "import sys, venues.composite; print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'redis')))"
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}

    # when
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
