"""The best-execution reports' API: venue analysis, dealer scorecards, the RTS 28 table; JSON and CSV; scope; bad input.

Orders, children, fills and markouts are made through the real services: the
OMS submit, the EMS start (the router places the child), the venue's execution
reports, the RFQ workflow's quotes, hit and last look, and the markout recorder.
"""

import csv
import io
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from config.redis import redis_client
from ems import algos, rfqs, services
from ems.markouts import DUE_KEY, markouts_record
from ems.models import ChildOrder, FillMarkout, Rfq
from oms.models import Fill, Instrument, ParentOrder, Portfolio
from oms.services import OrderTerms, parent_order_submit
from tests.conftest import api_client_for
from tests.ems.market import market_set
from tests.ems.test_rfqs import apply, last_look, option, order_for, quote, sent_of, started
from trading.enums import ExecType, Liquidity, OrdType, Side, TimeInForce, Urgency
from trading.messages import ExecutionReport
from trading.states import OrdStatus

D = Decimal


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Iterator[Callable[[Callable[[], Any]], Any]]:
    """Run ``action`` and then its on-commit work, as a real commit would; clear what that left in Redis afterwards."""

    def run(action: Callable[[], Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    yield run
    redis_client().delete(settings.GATEWAY_ORDER_STREAM, DUE_KEY)


def period() -> str:
    today = timezone.localdate()
    return f"start={today.isoformat()}&end={(today + timedelta(days=1)).isoformat()}"


def lit_child(*, user: str, portfolio: str, qty: str) -> ChildOrder:
    """Submit a limit buy of ACME and start it: the router places one child at a lit venue."""
    order, _ = parent_order_submit(
        user=User.objects.get(username=user),
        terms=OrderTerms(
            portfolio=Portfolio.objects.get(code=portfolio),
            instrument=Instrument.objects.get(symbol="ACME"),
            side=Side.BUY,
            ord_type=OrdType.LIMIT,
            qty=D(qty),
            limit_px=D("101.60"),
            tif=TimeInForce.DAY,
            urgency=Urgency.MEDIUM,
        ),
    )
    algos.execution_start(parent_id=order.pk)
    return ChildOrder.objects.get(parent=order)


def venue_says(child: ChildOrder, *fills: str, reject: bool = False) -> None:
    """The venue acknowledges (or rejects) ``child`` and fills it in ``fills`` ("qty@px"), now."""
    cum = D(0)
    reports = []
    seq = 1
    now = timezone.now().isoformat()

    def report(exec_type: ExecType, status: OrdStatus, qty: D, px: D, text: str = "") -> ExecutionReport:
        return ExecutionReport(
            venue=child.venue.code, cl_ord_id=child.cl_ord_id, venue_order_id="V1", exec_id=f"E{child.pk}-{seq}", seq=seq,
            exec_type=exec_type, ord_status=status, symbol="ACME", side=Side.BUY, last_qty=qty, last_px=px, cum_qty=cum,
            leaves_qty=D(0) if status in (OrdStatus.FILLED, OrdStatus.REJECTED) else child.qty - cum, avg_px=px,
            fee=qty * D("0.003"), liquidity=Liquidity.REMOVED if exec_type is ExecType.TRADE else None, text=text,
            transact_time=now,
        )  # fmt: skip

    if reject:
        services.reports_apply(reports=[report(ExecType.REJECTED, OrdStatus.REJECTED, D(0), D(0), "no")])
        return
    reports.append(report(ExecType.NEW, OrdStatus.NEW, D(0), D(0)))
    for text in fills:
        seq += 1
        qty, px = (D(x) for x in text.split("@"))
        cum += qty
        status = OrdStatus.FILLED if cum == child.qty else OrdStatus.PARTIALLY_FILLED
        reports.append(report(ExecType.TRADE, status, qty, px))
    services.reports_apply(reports=reports)


@pytest.fixture
def lit_desk(demo: None) -> dict[str, ChildOrder]:
    """pm1 (GROWTH): 300 filled 100 + 200 at 101.50 and a child rejected; pm2 (VALUE): 100 filled at 101.50."""
    market_set()  # every lit venue 101.48 / 101.50: the mid is 101.49
    own = lit_child(user="pm1", portfolio="GROWTH", qty="300")
    venue_says(own, "100@101.50", "200@101.50")
    rejected = lit_child(user="pm1", portfolio="GROWTH", qty="50")
    venue_says(rejected, reject=True)
    other = lit_child(user="pm2", portfolio="VALUE", qty="100")
    venue_says(other, "100@101.50")
    markouts_record([(f.pk, h) for f in Fill.objects.all() for h in (1, 5)])  # the mid is still 101.49
    return {"own": own, "rejected": rejected, "other": other}


def get(user: str, url: str, **headers: Any) -> Any:
    return api_client_for(user).get(url, **headers)


# --- venue analysis --------------------------------------------------------------------------------


def test_the_venue_report_gives_each_figure_exactly_and_a_pm_only_their_portfolios(lit_desk: dict[str, ChildOrder]) -> None:
    # given pm1's fills and rejected child at one venue (the router chose the same venue for both orders)
    own, rejected = lit_desk["own"], lit_desk["rejected"]
    assert own.venue_id == rejected.venue_id
    venue = own.venue.code

    # when pm1 reads the venue report for today
    response = get("pm1", f"/api/reports/venues/?{period()}")

    # then one lit venue: pm2's fill is not there
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["period"]["asset_class"] is None
    (row,) = data["venues"]
    assert (row["code"], row["kind"], row["fills"], row["orders_executed"]) == (venue, "LIT", 2, 1)
    assert (row["filled_qty"], row["notional"], row["volume_share_pct"]) == ("300", "30450", "100.00")
    assert (row["children"], row["children_qty"], row["children_filled_qty"]) == (2, "350", "300")
    assert (row["fill_rate_pct"], row["rejects"], row["reject_rate_pct"]) == ("85.71", 1, "50.00")
    assert (row["passive_pct"], row["aggressive_pct"]) == ("0.00", "100.00")
    # 2 * (101.50 - 101.49) / 101.49 = 1.9706 bps on each fill
    assert (row["effective_spread_bps"], row["spread_fills"]) == ("1.97", 2)
    # the markout recorded (s * (101.49 - 101.50) / 101.50, -0.9852 bps) at 1 and 5 s, nothing later
    stored = set(FillMarkout.objects.filter(fill__parent_id=own.parent_id).values_list("bps", flat=True))
    assert stored == {D("-0.9852")}
    assert row["markouts"] == [
        {"horizon_s": 1, "bps": "-0.99", "fills": 2},
        {"horizon_s": 5, "bps": "-0.99", "fills": 2},
        {"horizon_s": 30, "bps": None, "fills": 0},
        {"horizon_s": 60, "bps": None, "fills": 0},
    ]

    # and the desk sees both portfolios: pm2's 100 more at the venue of its child
    desk = get("trader1", f"/api/reports/venues/?{period()}").json()["venues"]
    assert sum(D(r["notional"]) for r in desk) == D("40600")
    assert sum(r["fills"] for r in desk) == 3
    assert sum(D(r["volume_share_pct"]) for r in desk) == D("100.00")
    assert get("pm2", f"/api/reports/venues/?{period()}").json()["venues"][0]["notional"] == "10150"


def test_the_venue_report_as_csv_is_a_download_that_matches_the_json(lit_desk: dict[str, ChildOrder]) -> None:
    # when the desk asks for CSV, by the format parameter and by the Accept header
    by_param = get("trader1", f"/api/reports/venues/?{period()}&format=csv")
    by_accept = get("trader1", f"/api/reports/venues/?{period()}", HTTP_ACCEPT="text/csv")
    data = get("trader1", f"/api/reports/venues/?{period()}").json()

    # then both are the same attachment, one row per venue, the same figures as the JSON
    today = timezone.localdate()
    for response in (by_param, by_accept):
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"] == (
            f'attachment; filename="venues-{today.isoformat()}-{(today + timedelta(days=1)).isoformat()}.csv"'
        )
    assert by_param.content == by_accept.content
    rows = list(csv.DictReader(io.StringIO(by_param.content.decode())))
    assert [r["code"] for r in rows] == [v["code"] for v in data["venues"]]
    for r, v in zip(rows, data["venues"], strict=True):
        assert (r["notional"], r["volume_share_pct"], r["effective_spread_bps"]) == (
            v["notional"], v["volume_share_pct"], v["effective_spread_bps"]
        )  # fmt: skip
        assert r["markout_1s_bps"] == v["markouts"][0]["bps"]
        assert r["markout_30s_bps"] == ""  # none: an empty cell


def test_a_class_filter_keeps_only_that_class(lit_desk: dict[str, ChildOrder]) -> None:
    assert get("trader1", f"/api/reports/venues/?{period()}&asset_class=OPTION").json()["venues"] == []
    assert len(get("trader1", f"/api/reports/venues/?{period()}&asset_class=EQUITY").json()["venues"]) >= 1


# --- RTS 28 and dealers, through the RFQ workflow ------------------------------------------------


def rfq_traded(commit: Callable[..., Any], order: ParentOrder, offers: dict[str, str], winner: str) -> Rfq:
    """Start ``order``'s request, have ``offers`` quoted, lift ``winner``'s and let its dealer accept."""
    rfq = started(commit, order)
    apply(commit, *(quote(rfq, dealer, offer=px) for dealer, px in offers.items()))
    commit(lambda: rfqs.rfq_hit(rfq_id=rfq.pk, quote_id=f"{winner}-{rfq.pk}-None-{offers[winner]}", actor="trader1"))
    (hit,) = [h for h in sent_of("AJ") if h["quote_req_id"] == rfq.quote_req_id]
    apply(commit, last_look(hit))
    rfq.refresh_from_db()
    assert rfq.state == "FILLED"
    return rfq


def test_best_execution_and_dealer_reports_from_rfqs_with_directed_dealers(
    lit_desk: dict[str, ChildOrder], commit: Callable[..., Any]
) -> None:
    # given pm1's lit fills, a call bought by RFQ from the dealers the ranking chose (NB won), and a put bought from
    # dealers the PM named (directed; KF won)
    chosen = rfq_traded(commit, order_for(option()), {"DLR-NB": "4.95", "DLR-KF": "5.10", "DLR-HM": "5.00"}, "DLR-NB")
    named = ["DLR-NB", "DLR-KF", "DLR-HM"]
    directed = rfq_traded(
        commit,
        order_for(option("P"), strategy="RFQ", params={"dealers": named}),
        {"DLR-KF": "3.00", "DLR-NB": "3.20"},
        "DLR-KF",
    )
    assert directed.dealers == named
    fills = {f.venue: f for f in Fill.objects.filter(parent__rfqs__in=[chosen, directed])}
    markouts_record([(fills["DLR-NB"].pk, 30)])

    # when pm1 reads the best-execution report for options
    response = get("pm1", f"/api/reports/best-execution/?{period()}&asset_class=OPTION")

    # then one class, two dealers: 50 x 4.95 x 100 = 24,750 and 50 x 3.00 x 100 = 15,000
    assert response.status_code == 200, response.content
    (table,) = response.json()["classes"]
    assert (table["asset_class"], table["notional"], table["orders"], table["trades"]) == ("OPTION", "39750", 2, 2)
    rows = [(v["rank"], v["code"], v["kind"], v["volume_pct"], v["orders_pct"]) for v in table["venues"]]
    assert rows == [(1, "DLR-NB", "RFQ_DEALER", "62.26", "50.00"), (2, "DLR-KF", "RFQ_DEALER", "37.74", "50.00")]
    nb, kf = table["venues"]
    assert (nb["passive_pct"], nb["aggressive_pct"], nb["directed_pct"]) == ("0.00", "0.00", "0.00")
    assert (kf["passive_pct"], kf["aggressive_pct"], kf["directed_pct"]) == ("0.00", "0.00", "100.00")
    days = table["business_days"]
    assert nb["below_one_trade_per_day"] is (days > 1)

    # and the equity table has the lit venue, all aggressive, none directed
    equity = get("pm1", f"/api/reports/best-execution/?{period()}").json()["classes"][0]
    assert equity["asset_class"] == "EQUITY"
    assert [(v["volume_pct"], v["aggressive_pct"], v["directed_pct"]) for v in equity["venues"]] == [("100.00", "100.00", "0.00")]

    # and the CSV has one row per (class, rank, venue), as the JSON
    csv_response = get("pm1", f"/api/reports/best-execution/?{period()}&format=csv")
    assert csv_response["Content-Disposition"].startswith('attachment; filename="best-execution-')
    lines = list(csv.DictReader(io.StringIO(csv_response.content.decode())))
    assert [(r["asset_class"], r["rank"], r["venue_code"], r["volume_pct"], r["directed_pct"]) for r in lines] == [
        ("EQUITY", "1", lit_desk["own"].venue.code, "100.00", "0.00"),
        ("OPTION", "1", "DLR-NB", "62.26", "0.00"),
        ("OPTION", "2", "DLR-KF", "37.74", "100.00"),
    ]

    # and the dealer scorecards cover both requests: quotes, wins, covers, distance to the fill's mid, the markout
    dealers = {d["code"]: d for d in get("pm1", f"/api/reports/dealers/?{period()}").json()["dealers"]}
    assert set(dealers) == set(chosen.dealers) | set(named)
    assert (dealers["DLR-NB"]["requests"], dealers["DLR-NB"]["responses"], dealers["DLR-NB"]["wins"]) == (2, 2, 1)
    assert (dealers["DLR-NB"]["win_ratio_pct"], dealers["DLR-NB"]["response_rate_pct"]) == ("50.00", "100.00")
    assert (dealers["DLR-KF"]["wins"], dealers["DLR-KF"]["covers"]) == (1, 1)
    # KF lost the call 5.10 against 4.95: 303.03 bps behind; HM at 5.00: 101.01; NB lost the put 3.20 against 3.00
    assert dealers["DLR-KF"]["avg_cover_bps"] == "303.03"
    assert (dealers["DLR-HM"]["avg_cover_bps"], dealers["DLR-NB"]["avg_cover_bps"]) == ("101.01", "666.67")
    assert (dealers["DLR-HM"]["wins"], dealers["DLR-HM"]["win_ratio_pct"]) == (0, "0.00")
    mid = fills["DLR-NB"].mid_px
    assert mid is not None
    nb_call = ((D("4.95") - mid) / mid * 10_000).quantize(D("0.01"))
    assert dealers["DLR-NB"]["distances"] == 2
    bps = FillMarkout.objects.get(fill=fills["DLR-NB"], horizon_s=30).bps
    assert (dealers["DLR-NB"]["markouts"], dealers["DLR-NB"]["avg_markout_bps"]) == (1, str(bps.quantize(D("0.01"))))
    assert dealers["DLR-HM"]["distances"] == 1  # the put's HM did not quote
    assert D(dealers["DLR-HM"]["avg_distance_bps"]) == ((D("5.00") - mid) / mid * 10_000).quantize(D("0.01"))
    assert nb_call < D(dealers["DLR-HM"]["avg_distance_bps"])

    # and pm2 sees none of it
    assert get("pm2", f"/api/reports/dealers/?{period()}").json()["dealers"] == []
    assert get("pm2", f"/api/reports/best-execution/?{period()}&asset_class=OPTION").json()["classes"] == []


# --- defaults and bad input ------------------------------------------------------------------------


def test_the_period_defaults_to_the_quarter_to_date(demo: None) -> None:
    today = timezone.localdate()
    first = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    data = get("risk1", "/api/reports/best-execution/").json()
    assert data["period"]["start"] == first.isoformat()
    assert data["period"]["end"] == (today + timedelta(days=1)).isoformat()
    assert data["classes"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-13-01", "start"),
        ("start=yesterday", "start"),
        ("end=2026-1-5", "end"),
        ("start=2026-03-01&end=2026-02-01", "end"),
        ("start=2026-03-01&end=2026-03-01", "end"),
        ("start=2024-01-01&end=2026-01-01", "end"),
        ("asset_class=BOND", "asset_class"),
    ],
)
@pytest.mark.parametrize("report", ["venues", "dealers", "best-execution"])
def test_bad_input_is_a_400_in_the_one_error_body(demo: None, query: str, field: str, report: str) -> None:
    # when, even asking for CSV
    response = get("trader1", f"/api/reports/{report}/?{query}&format=csv")

    # then a JSON error naming the field
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (400, "invalid")
    assert field in error["fields"]
    assert "invalid" in error["fields"][field][0]
