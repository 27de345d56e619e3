"""Best execution's pure aggregation (ems.core.bestex): venue analysis, dealer scorecards, the RTS 28 table."""

import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ems.core.bestex import (
    ChildIn,
    FillIn,
    VenueInfo,
    business_days,
    dealer_scorecards,
    rts28,
    shares_pct,
    venue_analysis,
)
from ems.core.rfq import DealerOutcome
from trading.enums import Side

D = Decimal
VENUES = {
    "XALP": VenueInfo("XALP", "Alpha", "LIT"),
    "XBET": VenueInfo("XBET", "Beta", "LIT"),
    "DKAL": VenueInfo("DKAL", "Dark Alpha", "DARK"),
    "DLR-NB": VenueInfo("DLR-NB", "North Bank", "RFQ_DEALER"),
}


def fill(seq: int, venue: str, qty: str, px: str, *, order: str = "", cls: str = "EQUITY", side: Side = Side.BUY,
         liquidity: str = "REMOVED", mid: str | None = None, directed: bool = False, markouts: dict[int, str] | None = None,
         multiplier: str = "1") -> FillIn:  # fmt: skip
    return FillIn(
        seq=seq,
        venue=venue,
        asset_class=cls,
        order_key=order or f"C{seq}",
        side=side,
        qty=D(qty),
        px=D(px),
        multiplier=D(multiplier),
        liquidity=liquidity,
        mid_px=None if mid is None else D(mid),
        directed=directed,
        markouts={h: D(b) for h, b in (markouts or {}).items()},
    )


# --- shares ------------------------------------------------------------------------------


@given(st.lists(st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False), min_size=1, max_size=12))
def test_shares_add_up_to_exactly_100_unless_all_are_zero(parts: list[Decimal]) -> None:
    # when
    shares = shares_pct(parts)

    # then each share is on the 0.01 grid, within a step of the exact share, and they add up to 100.00
    assert len(shares) == len(parts)
    total = sum(parts, D(0))
    if not total:
        assert shares == [D("0.00")] * len(parts)
        return
    assert sum(shares, D(0)) == D("100.00")
    for part, share in zip(parts, shares, strict=True):
        assert share == share.quantize(D("0.01"))
        assert abs(share - part * 100 / total) < D("0.01")


def test_shares_break_ties_to_the_earlier_part() -> None:
    assert shares_pct([D(1), D(1), D(1)]) == [D("33.34"), D("33.33"), D("33.33")]
    assert shares_pct([D(0), D(5)]) == [D("0.00"), D("100.00")]


def test_a_negative_part_is_refused() -> None:
    with pytest.raises(ValueError, match=r"parts\[1\]"):
        shares_pct([D(1), D(-1)])


def test_business_days_count_weekdays_in_the_half_open_period() -> None:
    # 2026-01-05 is a Monday
    assert business_days(date(2026, 1, 5), date(2026, 1, 12)) == 5
    assert business_days(date(2026, 1, 10), date(2026, 1, 12)) == 0  # a weekend
    assert business_days(date(2026, 1, 1), date(2026, 4, 1)) == 64
    assert business_days(date(2026, 1, 5), date(2026, 1, 5)) == 0


# --- venue analysis ------------------------------------------------------------------------


def test_venue_analysis_computes_each_figure_exactly() -> None:
    # given two lit fills and a dark one, with children, a reject and acks
    fills = [
        fill(1, "XALP", "100", "101.50", mid="101.49", liquidity="REMOVED", markouts={1: "2", 5: "-1"}),
        fill(2, "XALP", "300", "101.48", mid="101.49", liquidity="ADDED", side=Side.BUY, markouts={1: "4"}),
        fill(3, "DKAL", "200", "101.49", mid="101.49", liquidity="REMOVED", order="D1"),
    ]
    children = [
        ChildIn("XALP", D(200), D(100), False, 1_500),
        ChildIn("XALP", D(300), D(300), False, 2_500),
        ChildIn("XALP", D(100), D(0), True, None),
        ChildIn("DKAL", D(400), D(200), False, 900),
    ]

    # when
    rows = venue_analysis(fills, children, VENUES)

    # then lit first, dark next, each figure as defined
    assert [r.code for r in rows] == ["XALP", "DKAL"]
    lit, dark = rows
    assert lit.notional == D("40594.00")  # 10150 + 30444
    assert dark.notional == D("20298.00")
    assert (lit.volume_share_pct, dark.volume_share_pct) == (D("66.67"), D("33.33"))
    assert (lit.fills, lit.orders_executed, lit.filled_qty) == (2, 2, D(400))
    assert (lit.children, lit.children_qty, lit.children_filled_qty) == (3, D(600), D(400))
    assert lit.fill_rate_pct == D("66.67")
    assert (lit.rejects, lit.reject_rate_pct) == (1, D("33.33"))
    assert (lit.passive_pct, lit.aggressive_pct) == (D("75.00"), D("25.00"))  # 30444 / 40594 = 74.997...
    # effective spread: fill 1 +1.97 bps (2 * 0.01 / 101.49), fill 2 -1.97; weighted by notional
    expected = (D("10150") * D("1.97") + D("30444") * D("-1.97")) / D("40594")
    assert lit.effective_spread_bps == expected.quantize(D("0.01"))
    assert lit.spread_fills == 2
    # markouts: 1 s on both fills (weighted), 5 s on the first only, none later
    assert lit.markout_bps[1] == ((D("10150") * 2 + D("30444") * 4) / D("40594")).quantize(D("0.01"))
    assert (lit.markout_bps[5], lit.markout_fills[5]) == (D("-1.00"), 1)
    assert (lit.markout_bps[30], lit.markout_fills[30]) == (None, 0)
    assert (lit.acks, lit.latency_ms_mean, lit.latency_ms_median) == (2, D("2.00"), D("2.00"))
    assert (dark.kind, dark.fill_rate_pct, dark.effective_spread_bps) == ("DARK", D("50.00"), D("0.00"))


def test_a_venue_with_children_but_no_fill_has_a_row_and_a_dealer_has_no_fill_rate() -> None:
    # given a rejected child at XBET and a dealer fill
    rows = venue_analysis(
        [fill(1, "DLR-NB", "10", "5", liquidity="", cls="OPTION", multiplier="100")],
        [ChildIn("XBET", D(100), D(0), True, None)],
        VENUES,
    )

    # then
    by = {r.code: r for r in rows}
    assert [r.code for r in rows] == ["XBET", "DLR-NB"]
    assert (by["XBET"].notional, by["XBET"].volume_share_pct, by["XBET"].reject_rate_pct) == (D(0), D("0.00"), D("100.00"))
    assert (by["XBET"].passive_pct, by["XBET"].latency_ms_mean) == (None, None)
    assert by["DLR-NB"].notional == D(5000)
    assert (by["DLR-NB"].fill_rate_pct, by["DLR-NB"].passive_pct, by["DLR-NB"].aggressive_pct) == (None, D("0.00"), D("0.00"))


def test_empty_period_gives_no_rows() -> None:
    assert venue_analysis([], [], VENUES) == ()
    assert rts28([], VENUES, days=64) == ()
    assert dealer_scorecards([], {}) == ()


@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(VENUES)),
            st.integers(min_value=1, max_value=10_000),
            st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2),
            st.sampled_from(["ADDED", "REMOVED", ""]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_venue_volume_shares_add_up_to_100(raw: list[tuple[str, int, Decimal, str]]) -> None:
    fills = [fill(i, v, str(q), str(px), liquidity=liq) for i, (v, q, px, liq) in enumerate(raw)]
    rows = venue_analysis(fills, [], VENUES)
    assert sum((r.volume_share_pct for r in rows), D(0)) == D("100.00")
    assert sum((r.notional for r in rows), D(0)) == sum((f.notional for f in fills), D(0))  # exact: nothing lost
    for r in rows:
        assert r.passive_pct is not None
        assert r.aggressive_pct is not None
        assert r.passive_pct + r.aggressive_pct <= D("100.00")


# --- RTS 28 --------------------------------------------------------------------------------


def test_rts28_ranks_the_top_five_per_class_with_each_percentage() -> None:
    # given equity fills at six venues (one order with two fills) and an option class of its own
    venues = {**VENUES, **{c: VenueInfo(c, c.title(), "LIT") for c in ("XGAM", "XDEL", "XEPS")}}
    fills = [
        fill(1, "XALP", "100", "10", order="A", liquidity="REMOVED"),
        fill(2, "XALP", "100", "10", order="A", liquidity="ADDED"),  # same order: its first fill decides
        fill(3, "XALP", "100", "10", order="B", liquidity="ADDED"),
        fill(4, "XBET", "200", "10", liquidity="ADDED"),
        fill(5, "DKAL", "100", "10"),
        fill(6, "XGAM", "100", "10"),  # ties DKAL on notional and orders: by code
        fill(7, "XDEL", "50", "10"),
        fill(8, "XEPS", "10", "10"),  # sixth: not shown, still counted in the shares
        fill(9, "DLR-NB", "1", "2", cls="OPTION", multiplier="100", liquidity="", directed=True, order="H1"),
        fill(10, "DLR-NB", "1", "2", cls="OPTION", multiplier="100", liquidity="", order="H2"),
    ]

    # when
    tables = rts28(fills, venues, days=3)

    # then
    assert [t.asset_class for t in tables] == ["EQUITY", "OPTION"]
    equity, option = tables
    assert (equity.notional, equity.orders, equity.trades) == (D(7600), 7, 8)
    assert [v.code for v in equity.venues] == ["XALP", "XBET", "DKAL", "XGAM", "XDEL"]
    assert [v.rank for v in equity.venues] == [1, 2, 3, 4, 5]
    alp = equity.venues[0]
    assert (alp.notional, alp.orders, alp.trades) == (D(3000), 2, 3)
    assert (alp.volume_pct, alp.orders_pct) == (D("39.47"), D("28.57"))  # 3000/7600; 2/7 (the others' remainders are larger)
    assert (alp.passive_pct, alp.aggressive_pct, alp.directed_pct) == (D("50.00"), D("50.00"), D("0.00"))
    assert alp.below_one_trade_per_day is False  # 3 trades in 3 days
    assert equity.venues[1].below_one_trade_per_day is True
    assert [v.volume_pct for v in equity.venues] == [D("39.47"), D("26.32"), D("13.16"), D("13.16"), D("6.58")]
    (dealer,) = option.venues
    assert (dealer.notional, dealer.orders, dealer.volume_pct, dealer.orders_pct) == (D(400), 2, D("100.00"), D("100.00"))
    assert (dealer.passive_pct, dealer.aggressive_pct, dealer.directed_pct) == (D("0.00"), D("0.00"), D("50.00"))


def test_rts28_is_the_same_whatever_the_order_of_the_fills() -> None:
    fills = [fill(i, v, "100", "10") for i, v in enumerate(["XBET", "XALP", "DKAL", "XALP", "XBET"])]
    assert rts28(fills, VENUES, days=5) == rts28(list(reversed(fills)), VENUES, days=5)
    assert [v.code for v in rts28(fills, VENUES, days=5)[0].venues] == ["XALP", "XBET", "DKAL"]  # ties: by code


def test_rts28_packages_and_unknown_classes_keep_their_place() -> None:
    fills = [fill(1, "DLR-NB", "1", "-0.50", cls="PACKAGE", liquidity=""), fill(2, "XALP", "1", "1", cls="FUTURE")]
    tables = rts28(fills, VENUES, days=0)
    assert [t.asset_class for t in tables] == ["PACKAGE", "FUTURE"]
    assert tables[0].notional == D("0.50")  # a credit's size counts
    assert tables[0].venues[0].below_one_trade_per_day is False  # no business day: no flag


@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(VENUES)),
            st.sampled_from(["EQUITY", "OPTION", "PACKAGE"]),
            st.integers(min_value=1, max_value=1_000),
            st.integers(min_value=0, max_value=5),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_rts28_class_shares_add_up_when_every_venue_is_shown(raw: list[tuple[str, str, int, int]]) -> None:
    # with at most four venues, the top five show them all: every class's shares add up to 100.00
    fills = [fill(i, v, str(q), "3.33", cls=c, order=f"O{o}") for i, (v, c, q, o) in enumerate(raw)]
    for table in rts28(fills, VENUES, days=10):
        assert sum((v.volume_pct for v in table.venues), D(0)) == D("100.00")
        assert sum((v.orders_pct for v in table.venues), D(0)) == D("100.00")
        assert sum(v.orders for v in table.venues) == table.orders
        assert [v.notional for v in table.venues] == sorted((v.notional for v in table.venues), reverse=True)


# --- dealers -----------------------------------------------------------------------------


def test_dealer_scorecards_are_the_rfq_scorecards_over_the_outcomes_given() -> None:
    # given two requests: NB quoted both and won one, KF quoted once and rejected a last look
    outcomes = [
        DealerOutcome("DLR-NB", True, True, D("1.50"), None, D("-2.00"), True, False),
        DealerOutcome("DLR-KF", True, False, D("3.00"), None, None, True, True),
        DealerOutcome("DLR-NB", True, False, D("2.50"), D("0.75"), None, False, False),
        DealerOutcome("DLR-KF", False),
    ]

    # when
    rows = dealer_scorecards(outcomes, {"DLR-NB": "North Bank"})

    # then by code, each figure over these requests only
    kf, nb = rows
    assert (kf.code, kf.name, kf.requests, kf.responses, kf.response_rate_pct) == ("DLR-KF", "DLR-KF", 2, 1, D("50.00"))
    assert (kf.wins, kf.win_ratio_pct, kf.last_looks, kf.last_look_rejects, kf.last_look_reject_pct) == (
        0, D("0.00"), 1, 1, D("100.00")
    )  # fmt: skip
    assert (kf.avg_distance_bps, kf.avg_cover_bps, kf.avg_markout_bps) == (D("3.00"), None, None)
    assert (nb.name, nb.requests, nb.response_rate_pct, nb.wins, nb.win_ratio_pct) == ("North Bank", 2, D("100.00"), 1, D("50.00"))
    assert (nb.avg_distance_bps, nb.distances, nb.avg_cover_bps, nb.covers) == (D("2.00"), 2, D("0.75"), 1)
    assert (nb.avg_markout_bps, nb.markouts, nb.last_look_reject_pct) == (D("-2.00"), 1, D("0.00"))


def test_the_module_is_pure() -> None:
    # a fresh interpreter imports it without loading any Django module
    probe = "import sys, ems.core.bestex; print(sorted(m for m in sys.modules if m.startswith('django')))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
