"""The blotter's order detail panel: the page carries it, and the order API gives it every field static/blotter.js reads."""

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ems import algos, services
from ems.models import Execution
from oms.models import ParentOrder
from tests.conftest import api_client_for
from tests.ems.market import market_set
from tests.ems.test_algos import twap
from tests.ems.test_reports import report, submit
from trading.enums import ExecType, Side

pytestmark = pytest.mark.django_db

ASKS = {"XALP": [("101.50", 500)], "XBET": [("101.55", 500)], "XGAM": [("101.60", 500)]}
DEMO_VENUES = {"XALP", "XBET", "XGAM", "DKAL", "DKSG"}


def routed_order() -> ParentOrder:
    """Route a HIGH-urgency buy of 1200 at 101.55 through the services: XGAM halted; XALP and XBET swept, 200 posted."""
    market_set(asks=ASKS, states={"XGAM": "HALTED"})
    order = submit(side=Side.BUY, qty="1200", limit_px="101.55")
    order.urgency = "HIGH"
    order.save()
    algos.execution_start(parent_id=order.pk)
    return order


def test_the_blotter_page_carries_the_detail_panel_and_its_script(demo: None) -> None:
    # given
    client = Client()
    client.force_login(User.objects.get(username="trader1"))

    # when
    response = client.get("/")

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert '<aside id="order-detail"' in html
    for element_id in ("detail-title", "detail-status", "detail-close", "detail-error", "detail-body"):
        assert f'id="{element_id}"' in html
    assert '<script src="/static/blotter.js"></script>' in html
    assert '<script src="/static/format.js"></script>' in html
    # the grid's columns, in the order static/blotter.js fills them
    head = html[html.index('<table class="grid" id="orders"') :]
    head = head[: head.index("</thead>")]
    columns = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<th[^>]*>(.*?)</th>", head)]
    assert columns == [
        "Expand", "#", "Time", "Portfolio", "Symbol", "Side", "Qty", "Type", "Limit", "Strategy", "Status", "Filled",
        "Progress", "Avg px", "Slip bps",
    ]  # fmt: skip
    # every column but the expander sorts
    assert len(re.findall(r"<th data-sort=", head)) == len(columns) - 1


def test_the_order_detail_gives_the_panel_its_header_decisions_children_fills_and_events(demo: None) -> None:
    # given
    order = routed_order()

    # when
    response = api_client_for("trader1").get(f"/api/orders/{order.pk}/")

    # then the header
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert body["id"] == order.pk
    assert (body["side"], body["qty"], body["instrument"], body["ord_type"], body["limit_px"]) == (
        "BUY", "1200.0000", "ACME", "LIMIT", "101.55000000",
    )  # fmt: skip
    assert (body["tif"], body["urgency"], body["status"]) == ("DAY", "HIGH", "NEW")
    assert (body["filled_qty"], body["avg_px"], body["leaves_qty"]) == ("0.0000", "0.00000000", "1200.0000")
    assert isinstance(body["updated_at"], str)  # the grid keeps the newer of a reload and a live update
    strategy = [e for e in body["events"] if e["kind"] == "STRATEGY_SELECTED"]
    assert len(strategy) == 1
    assert strategy[0]["data"] == {"strategy": "IMMEDIATE", "rule": "default", "params": {}}
    assert strategy[0]["reason"].startswith("IMMEDIATE: no liquidity profile known: the router works it now (urgency high")

    # the routing decision
    (decision,) = body["routing_decisions"]
    assert decision["seq"] == 1
    assert decision["trigger"] == "start"
    assert isinstance(decision["created_at"], str)
    assert decision["actions"] == ["SWEEP", "POST"]
    assert decision["rfq"] is False
    assert (decision["qty"], decision["routed_qty"], decision["unrouted_qty"]) == ("1200.0000", "1200.0000", "0.0000")
    assert decision["limit_px"] == "101.55000000"
    assert decision["urgency"] == "HIGH"
    assert decision["reasons"]
    assert all(isinstance(reason, str) and reason for reason in decision["reasons"])
    assert decision["excluded"] == {"XGAM": "session halted"}
    assert isinstance(decision["decision_us"], int)

    # what the router saw: the five demo venues; the excluded one has no score
    inputs = decision["inputs"]
    assert inputs["tif"] == "DAY"
    assert (inputs["dark_tried"], inputs["allow_rfq"]) == (False, True)
    venues = {v["venue"]: v for v in inputs["venues"]}
    assert set(venues) == DEMO_VENUES
    xalp = venues["XALP"]
    assert (xalp["kind"], xalp["state"], xalp["maker_fee"], xalp["taker_fee"]) == ("LIT", "OPEN", "-0.002", "0.003")
    assert isinstance(xalp["age_ms"], int)
    assert (xalp["bid"], xalp["ask"]) == (["101.48", "500"], ["101.50", "500"])
    assert set(xalp["score"]) == {"fill_rate", "markout_bps", "reject_rate", "latency_ms", "value"}
    assert all(isinstance(part, str) for part in xalp["score"].values())
    assert (venues["XGAM"]["state"], venues["XGAM"]["score"]) == ("HALTED", None)
    assert (venues["DKAL"]["kind"], venues["DKAL"]["bid"], venues["DKAL"]["ask"]) == ("DARK", [None, None], [None, None])

    # the orders it chose
    # (decimal strings as the router computed them: "500" or "500.00", so compared as Decimals)
    chosen = [(o["venue"], o["action"], Decimal(o["qty"]), Decimal(o["limit_px"]), o["tif"]) for o in decision["orders"]]
    # (the rest is posted on the open lit venue with the best expected fill: the scores draw at random (exploration))
    sweeps = sorted(c for c in chosen if c[1] == "SWEEP")
    (post,) = [c for c in chosen if c[1] == "POST"]
    assert sweeps == [
        ("XALP", "SWEEP", Decimal(500), Decimal("101.50"), "IOC"),
        ("XBET", "SWEEP", Decimal(500), Decimal("101.55"), "IOC"),
    ]
    assert post[0] in {"XALP", "XBET"}
    assert post[1:] == ("POST", Decimal(200), Decimal("101.55"), "DAY")
    for chosen_order in decision["orders"]:
        assert {"display_qty", "min_qty", "delay_us", "reason", "peg", "post_only"} <= set(chosen_order)
        assert isinstance(chosen_order["delay_us"], int)
        assert chosen_order["reason"]

    # the children, tied to the decision both ways
    children = body["children"]
    assert sorted(decision["children"]) == sorted(c["cl_ord_id"] for c in children)
    assert sorted((c["venue"], c["action"], c["decision_seq"], c["qty"], c["tif"]) for c in children) == sorted(
        [
            (post[0], "POST", 1, "200.0000", "DAY"),
            ("XALP", "SWEEP", 1, "500.0000", "IOC"),
            ("XBET", "SWEEP", 1, "500.0000", "IOC"),
        ]
    )
    for child in children:
        assert {"limit_px", "display_qty", "min_qty", "status", "filled_qty", "avg_px", "text", "route_reason"} <= set(child)
        assert child["status"] == "PENDING_NEW"

    # fills and the event log, oldest first (the panel shows the newest last)
    assert body["fills"] == []
    kinds = [e["kind"] for e in body["events"]]
    assert kinds[:5] == ["SUBMITTED", "RISK_CHECK", "ACCEPT", "STRATEGY_SELECTED", "ROUTED"]
    assert kinds.count("CHILD_ROUTED") == 3
    assert [e["id"] for e in body["events"]] == sorted(e["id"] for e in body["events"])
    for event in body["events"]:
        assert {"created_at", "kind", "actor", "reason", "child_cl_ord_id", "status_before", "status_after"} <= set(event)


def test_a_child_fill_shows_in_the_detail_with_the_order_filled_and_averaged(demo: None) -> None:
    # given the XALP sweep filled in full
    order = routed_order()
    sweep = order.children.get(venue__code="XALP", action="SWEEP")
    services.report_apply(report=report(sweep, 1, ExecType.NEW))
    services.report_apply(report=report(sweep, 2, ExecType.TRADE, qty="500", px="101.50", cum="500"))

    # when
    body = api_client_for("trader1").get(f"/api/orders/{order.pk}/").json()

    # then
    assert (body["status"], body["filled_qty"], body["avg_px"]) == ("PARTIALLY_FILLED", "500.0000", "101.50000000")
    (fill,) = body["fills"]
    assert (fill["child_cl_ord_id"], fill["venue"], fill["qty"], fill["px"], fill["liquidity"]) == (
        sweep.cl_ord_id, "XALP", "500.0000", "101.50000000", "REMOVED",
    )  # fmt: skip
    assert fill["exec_id"] == "E2"
    child = next(c for c in body["children"] if c["cl_ord_id"] == sweep.cl_ord_id)
    assert (child["status"], child["filled_qty"], child["avg_px"]) == ("FILLED", "500.0000", "101.50000000")
    assert Decimal(fill["fee"]) == Decimal("1.5")


def test_a_pm_who_does_not_own_the_portfolio_gets_404_for_its_order_detail(demo: None) -> None:
    # given an order in pm1's GROWTH portfolio
    order = routed_order()

    # when pm2 asks for it
    response = api_client_for("pm2").get(f"/api/orders/{order.pk}/")

    # then it does not exist for pm2, and the body says nothing of it
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404
    assert "routing_decisions" not in response.json()
    assert api_client_for("pm1").get(f"/api/orders/{order.pk}/").status_code == 200


def test_the_order_rows_carry_the_strategy_first_chosen_and_the_one_working_now(demo: None) -> None:
    # given a TWAP that has switched to IMMEDIATE a minute before its end, far behind, and an order not started
    switched = twap()
    algos.execution_start(parent_id=switched.pk)
    end_at = Execution.objects.get(parent=switched).end_at
    assert end_at is not None
    algos.execution_tick(parent_id=switched.pk, tick_no=None, now=end_at - timedelta(seconds=60))
    steady = twap()
    algos.execution_start(parent_id=steady.pk)
    waiting = submit()

    # when the blotter loads the list, and the open order's detail
    rows = {o["id"]: o for o in api_client_for("trader1").get("/api/orders/").json()["results"]}
    detail = api_client_for("trader1").get(f"/api/orders/{switched.pk}/").json()

    # then each row says how it is worked: first choice and now, blank while none is chosen
    assert (rows[switched.pk]["execution_base_strategy"], rows[switched.pk]["execution_strategy"]) == ("TWAP", "IMMEDIATE")
    assert (rows[steady.pk]["execution_base_strategy"], rows[steady.pk]["execution_strategy"]) == ("TWAP", "TWAP")
    assert (rows[waiting.pk]["execution_base_strategy"], rows[waiting.pk]["execution_strategy"]) == ("", "")
    assert rows[waiting.pk]["strategy"] == ""  # what the PM asked for: nothing, the EMS chooses
    # the execution's own clock, so a switch (which leaves the order untouched) makes the newer snapshot
    execution = Execution.objects.get(parent=switched)
    assert rows[switched.pk]["execution_updated_at"] == execution.updated_at.isoformat().replace("+00:00", "Z")
    assert rows[waiting.pk]["execution_updated_at"] is None
    # and the detail's Algo section agrees with the row
    assert (detail["execution"]["base_strategy"], detail["execution"]["strategy"]) == ("TWAP", "IMMEDIATE")
    assert (detail["execution_base_strategy"], detail["execution_strategy"]) == ("TWAP", "IMMEDIATE")


def test_the_order_list_reads_the_executions_in_one_query_however_many_rows(demo: None) -> None:
    # given two started orders
    for _ in range(2):
        algos.execution_start(parent_id=twap().pk)
    client = api_client_for("trader1")
    with CaptureQueriesContext(connection) as two:
        assert len(client.get("/api/orders/").json()["results"]) == 2

    # when three more rows are listed
    for _ in range(3):
        algos.execution_start(parent_id=twap().pk)
    with CaptureQueriesContext(connection) as five:
        assert len(client.get("/api/orders/").json()["results"]) == 5

    # then the list costs the same queries, one of them for all the executions
    assert len(five.captured_queries) == len(two.captured_queries)
    assert sum('"ems_execution"' in q["sql"] for q in five.captured_queries) == 1


def test_a_row_carries_its_schedule_and_its_arrival_slippage_so_far(demo: None) -> None:
    # given the routed buy half swept at 101.50 and a TWAP ticked once (its schedule set), nothing filled
    order = routed_order()
    sweep = order.children.get(venue__code="XALP", action="SWEEP")
    services.report_apply(report=report(sweep, 1, ExecType.NEW))
    services.report_apply(report=report(sweep, 2, ExecType.TRADE, qty="500", px="101.50", cum="500"))
    scheduled = twap()
    algos.execution_start(parent_id=scheduled.pk)
    algos.execution_tick(parent_id=scheduled.pk, tick_no=None, now=Execution.objects.get(parent=scheduled).start_at)

    # when the blotter lists them
    rows = {o["id"]: o for o in api_client_for("trader1").get("/api/orders/").json()["results"]}

    # then the filled order's slippage is its average against the arrival mid, signed as a cost for a buy
    arrival = Execution.objects.get(parent=order).arrival_mid
    assert arrival is not None
    assert Decimal(rows[order.pk]["arrival_mid"]) == arrival
    expected = (Decimal("101.50") - arrival) / arrival * 10_000
    assert Decimal(rows[order.pk]["slippage_bps"]) == expected.quantize(Decimal("0.01"))
    # and the TWAP's row says where its schedule stood at the tick; nothing filled, so no slippage yet
    tick = Execution.objects.get(parent=scheduled).ticks.exclude(target_qty=None).order_by("-tick_no").first()
    assert tick is not None
    assert Decimal(rows[scheduled.pk]["schedule_qty"]) == tick.target_qty
    assert rows[scheduled.pk]["slippage_bps"] is None
