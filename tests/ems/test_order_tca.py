"""The order's detail carries its transaction cost analysis: shortfall against the decision price and its parts."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client

from config.redis import redis_client
from ems import algos
from ems.markouts import markouts_record
from ems.models import Execution
from oms.models import Fill, ParentOrder
from oms.services import parent_order_fill
from tests.conftest import api_client_for
from tests.ems.market import LIT, market_set
from tests.ems.test_reports import submit
from trading.enums import Side
from venues.marketdata import TradePrint, market_publish

pytestmark = pytest.mark.django_db


def test_the_detail_shows_the_shortfall_decomposed_against_the_decision_price(demo: None) -> None:
    # given a market at 101.48 / 101.50, an order of 300 accepted there (decision = mid 101.49) and started
    market_set()
    order = submit(qty="300")
    algos.execution_start(parent_id=order.pk)
    assert ParentOrder.objects.get(pk=order.pk).decision_px == Decimal("101.49")
    assert Execution.objects.get(parent_id=order.pk).arrival_mid == Decimal("101.49")

    # when 200 fill at 101.50 with a 0.60 fee, and the market is unchanged
    parent = ParentOrder.objects.locked().get(pk=order.pk)
    parent_order_fill(
        parent=parent, child_cl_ord_id="C1", venue="XALP", exec_id="E1", qty=Decimal(200), px=Decimal("101.50"),
        fee=Decimal("0.60"), liquidity="REMOVED", executed_at=datetime.now(UTC), actor="test",
    )  # fmt: skip
    tca = api_client_for("pm1").get(f"/api/orders/{order.pk}/").json()["tca"]

    # then: impact 200 x 0.01 = 2.00, fees 0.60, no delay, nothing missed on the rest; in bps of 300 x 101.49
    assert {Decimal(tca[key]) for key in ("decision_px", "arrival_mid", "end_mid")} == {Decimal("101.49")}
    assert tca["end_mid_source"] == "NBBO"
    parts = [Decimal(tca[key]) for key in ("impact_bps", "fees_bps", "delay_bps", "opportunity_bps")]
    # 2.60 / 30,447 = 0.854 bps in all: impact 0.657 and fees 0.197, apportioned so they add up to the rounded total
    assert parts == [Decimal("0.65"), Decimal("0.20"), 0, 0]
    assert Decimal(tca["shortfall_bps"]) == Decimal("0.85")
    assert (Decimal(tca["avg_px"]), Decimal(tca["filled_qty"])) == (Decimal("101.50"), 200)


def test_an_order_not_yet_started_has_no_tca(demo: None) -> None:
    # given / when an order whose execution has not started
    order = submit(qty="300")
    # then its detail says so
    assert api_client_for("pm1").get(f"/api/orders/{order.pk}/").json()["tca"] is None


# --- the full analysis: GET /api/orders/<id>/tca/ ---------------------------------------------------------------------

D = Decimal
NONE_BY_HORIZON = {"1": None, "5": None, "30": None, "60": None}


def tape(*trades: tuple[str, str], at: datetime | None = None) -> None:
    """Publish ACME trades (qty, px) at ``at`` (default now), as the gateway would."""
    ts = (at or datetime.now(UTC)).isoformat()
    prints = [TradePrint(venue="XALP", symbol="ACME", px=D(px), qty=D(qty), aggressor=Side.BUY, ts=ts) for qty, px in trades]
    market_publish(redis_client(), "ACME", [], prints)


def started(qty: str = "300") -> ParentOrder:
    """An order of ``qty`` accepted and started at 101.48 / 101.50 (decision = arrival = 101.49), on a tape with one
    trade at 101.47 a second before it and none since."""
    redis_client().delete("md:volume:ACME")  # the tape is ours alone
    market_set()
    tape(("100", "101.47"), at=datetime.now(UTC) - timedelta(seconds=1))
    order = submit(qty=qty)
    algos.execution_start(parent_id=order.pk)
    return order


def fill(order: ParentOrder, exec_id: str, qty: str, px: str, fee: str, liquidity: str, mid: str | None) -> Fill:
    parent = ParentOrder.objects.locked().get(pk=order.pk)
    booked = parent_order_fill(
        parent=parent, child_cl_ord_id="C1", venue="XALP", exec_id=exec_id, qty=D(qty), px=D(px), fee=D(fee),
        liquidity=liquidity, executed_at=datetime.now(UTC), actor="test", mid_px=None if mid is None else D(mid),
    )  # fmt: skip
    assert booked is not None
    return booked


def test_the_tca_endpoint_decomposes_the_shortfall_and_measures_every_fill(demo: None) -> None:
    # given a buy of 300 arrived at 101.49; the market then prints 200 @ 101.50 and 800 @ 101.52
    order = started()
    tape(("200", "101.50"), ("800", "101.52"))
    # and it fills 200 @ 101.50 taking (mid 101.49, fee 0.60), then 100 @ 101.49 resting (mid 101.51, rebate 0.20)
    taken = fill(order, "E1", "200", "101.50", "0.60", "REMOVED", mid="101.49")
    rested = fill(order, "E2", "100", "101.49", "-0.20", "ADDED", mid="101.51")
    # and the mid is 101.53 when the 1 s markouts of both, and the 60 s one of the first, are taken
    market_set(bids={v: [("101.52", 500)] for v in LIT}, asks={v: [("101.54", 500)] for v in LIT})
    markouts_record([(taken.pk, 1), (taken.pk, 60), (rested.pk, 1)])

    # when pm1 asks for the order's analysis
    response = api_client_for("pm1").get(f"/api/orders/{order.pk}/tca/")

    # then the header
    assert response.status_code == 200
    body = response.json()
    assert (body["order"], body["symbol"], body["side"], body["status"]) == (order.pk, "ACME", "BUY", "FILLED")
    assert (D(body["qty"]), D(body["filled_qty"]), D(body["avg_px"])) == (300, 300, D("101.49666667"))
    assert body["horizons_s"] == [1, 5, 30, 60]
    tca = body["tca"]
    # the shortfall on 300 x 101.49 = $30,447: impact 200 x 0.01 - 100 x 0.02 = $0, timing 100 x 0.02 = $2,
    # fees $0.40: 2.40 / 30,447 = 0.788 bps, apportioned (0.657 -> 0.66, 0.131 -> 0.13)
    parts = {key: D(tca[key]) for key in ("delay_bps", "impact_bps", "timing_bps", "opportunity_bps", "fees_bps")}
    assert parts == {"delay_bps": 0, "impact_bps": 0, "timing_bps": D("0.66"), "opportunity_bps": 0, "fees_bps": D("0.13")}
    assert D(tca["shortfall_bps"]) == D("0.79") == sum(parts.values())
    # against the arrival mid: (101.49666667 - 101.49) / 101.49 = 0.66 bps; the arrival price is the last trade before
    assert (D(tca["arrival_slippage_bps"]), D(tca["arrival_px"]), D(tca["arrival_mid"])) == (
        D("0.66"), D("101.47"), D("101.49")
    )  # fmt: skip
    # the interval's VWAP: (200 x 101.50 + 800 x 101.52) / 1,000 = 101.516; we bought 1.90 bps under it
    assert (D(tca["interval_vwap"]), D(tca["interval_volume"])) == (D("101.516"), 1000)
    assert D(tca["interval_vwap_slippage_bps"]) == D("-1.90")
    assert D(tca["participation"]) == D("0.3")
    assert {key: None if v is None else D(v) for key, v in tca["liquidity"].items()} == {
        "added_qty": 100, "removed_qty": 200, "other_qty": 0,
        "added_share": D("0.3333"), "removed_share": D("0.6667"), "other_share": 0,
    }  # fmt: skip
    # effective spreads 1.97 (200) and -3.94 (100) weigh to 0; realized at 1 s: -5.91 (200) and -7.88 (100)
    assert D(tca["effective_spread_bps"]) == 0
    assert tca["realized_spread_bps"] == {"1": "-6.57", "5": None, "30": None, "60": "-5.91"}
    assert {h: D(v) for h, v in tca["markouts_bps"].items()} == {"1": D("3.28"), "60": D("2.96")}
    # and one row per fill, in time order, with its mid, spreads and markouts by horizon (null: not measured)
    rows = body["fills"]
    assert [(r["id"], r["venue"], D(r["qty"]), D(r["px"]), D(r["fee"]), r["liquidity"]) for r in rows] == [
        (taken.pk, "XALP", 200, D("101.50"), D("0.60"), "REMOVED"),
        (rested.pk, "XALP", 100, D("101.49"), D("-0.20"), "ADDED"),
    ]
    assert [(D(r["mid_px"]), D(r["effective_spread_bps"])) for r in rows] == [(D("101.49"), D("1.97")), (D("101.51"), D("-3.94"))]
    assert rows[0]["markouts_bps"] == {"1": "2.9557", "5": None, "30": None, "60": "2.9557"}
    assert rows[0]["realized_spread_bps"] == {"1": "-5.91", "5": None, "30": None, "60": "-5.91"}
    assert rows[1]["markouts_bps"] == {**NONE_BY_HORIZON, "1": "3.9413"}
    assert rows[1]["realized_spread_bps"] == {**NONE_BY_HORIZON, "1": "-7.88"}
    # and the order detail's tca carries the same figures
    assert api_client_for("pm1").get(f"/api/orders/{order.pk}/").json()["tca"] == tca


def test_a_fill_without_a_mid_keeps_its_cost_in_impact_and_has_no_spread(demo: None) -> None:
    # given a buy of 300 arrived at 101.49, filled 100 @ 101.52 by a dealer (no liquidity flag) with no mid recorded
    order = started()
    fill(order, "E1", "100", "101.52", "0", "", mid=None)

    # when
    body = api_client_for("pm1").get(f"/api/orders/{order.pk}/tca/").json()

    # then all of 100 x 0.03 = $3 on $30,447 (0.99 bps) is impact, none timing; no effective spread
    tca = body["tca"]
    assert (D(tca["impact_bps"]), D(tca["timing_bps"]), D(tca["shortfall_bps"])) == (D("0.99"), 0, D("0.99"))
    assert tca["effective_spread_bps"] is None
    assert tca["realized_spread_bps"] == NONE_BY_HORIZON
    assert (D(tca["liquidity"]["other_qty"]), D(tca["liquidity"]["other_share"])) == (100, 1)
    # no trade since the start: no interval VWAP, and no slippage against it
    assert (tca["interval_vwap"], tca["interval_volume"], tca["interval_vwap_slippage_bps"]) == (None, None, None)
    [row] = body["fills"]
    assert (row["mid_px"], row["effective_spread_bps"], row["liquidity"]) == (None, None, "")
    assert row["markouts_bps"] == row["realized_spread_bps"] == NONE_BY_HORIZON


def test_an_order_without_fills_has_figures_but_no_fill_rows(demo: None) -> None:
    # given a started order, nothing filled, the market printing 50 @ 101.50 since
    order = started()
    tape(("50", "101.50"))

    # when
    body = api_client_for("pm1").get(f"/api/orders/{order.pk}/tca/").json()

    # then no fill, nothing measured against the fills, and the interval's market so far
    assert body["fills"] == []
    assert body["avg_px"] is None
    tca = body["tca"]
    assert (tca["avg_px"], tca["arrival_slippage_bps"], tca["interval_vwap_slippage_bps"]) == (None, None, None)
    assert (D(tca["interval_vwap"]), D(tca["interval_volume"])) == (D("101.50"), 50)
    assert tca["liquidity"] == {
        "added_qty": "0", "removed_qty": "0", "other_qty": "0", "added_share": None, "removed_share": None, "other_share": None,
    }  # fmt: skip
    assert (tca["effective_spread_bps"], tca["realized_spread_bps"], tca["markouts_bps"]) == (None, NONE_BY_HORIZON, {})
    assert D(tca["timing_bps"]) == 0


def test_an_order_not_started_has_a_header_and_no_analysis(demo: None) -> None:
    # given an order whose execution has not started
    order = submit(qty="300")

    # when
    response = api_client_for("pm1").get(f"/api/orders/{order.pk}/tca/")

    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["order"], body["strategy"], body["tca"], body["fills"]) == (order.pk, None, None, [])


def test_another_pms_order_and_an_unknown_one_read_as_missing(demo: None) -> None:
    # given pm1's order
    order = started()

    # when pm2, and pm1 for an id that does not exist, ask for its analysis, and for the page
    other = api_client_for("pm2").get(f"/api/orders/{order.pk}/tca/")
    unknown = api_client_for("pm1").get(f"/api/orders/{order.pk + 1000}/tca/")
    pm2_page = Client()
    pm2_page.force_login(User.objects.get(username="pm2"))

    # then 404 with the API's one error body, and nothing of the order; the page 404s too
    for response in (other, unknown):
        assert response.status_code == 404
        assert response.json()["error"]["status"] == 404
        assert "fills" not in response.json()
    assert pm2_page.get(f"/orders/{order.pk}/tca/").status_code == 404
    assert api_client_for("trader1").get(f"/api/orders/{order.pk}/tca/").status_code == 200
