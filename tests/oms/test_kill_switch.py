"""The kill switch: engaging cancels what works in its scope and refuses new orders there; release needs risk; audited."""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from ems import algos, services
from ems.models import ChildOrder
from ems.placement import place
from oms.kill_switch import KillSwitchDenied, kill_switch_engage, kill_switch_release
from oms.models import Instrument, KillScope, KillSwitch, KillSwitchEvent, ParentOrder, Portfolio
from oms.services import parent_order_amend
from tests.conftest import api_client_for
from tests.ems.market import market_set
from tests.ems.test_algos import acked_child, cancel_report
from tests.ems.test_reports import submit

pytestmark = pytest.mark.django_db
ORDER = {"portfolio": "GROWTH", "instrument": "ACME", "side": "BUY", "qty": "100", "ord_type": "LIMIT", "limit_px": "101.50"}


def user(name: str) -> Any:
    return User.objects.get(username=name)


def _engage_cancels(switch: KillSwitch) -> list[int]:
    """Run what the engage asked the EMS for, as the worker would: each cancelled order's children pulled back."""
    cancelled: list[int] = switch.events.get(action="ENGAGED").data["orders_cancelled"]
    for order_id in cancelled:
        algos.execution_cancel(parent_id=order_id, actor="risk1")
    return cancelled


def test_a_portfolio_switch_cancels_its_working_children_refuses_new_orders_and_is_audited(demo: None) -> None:
    # given a GROWTH order with an acknowledged child working, and a VALUE order
    child = acked_child()
    theirs = submit(symbol="GLOBX", limit_px="44.20")
    ParentOrder.objects.filter(pk=theirs.pk).update(portfolio=Portfolio.objects.get(code="VALUE"))

    # when risk engages the switch on GROWTH, and the EMS acts on it
    response = api_client_for("risk1").post(
        "/api/kill-switches/", {"scope": "PORTFOLIO", "portfolio": "GROWTH", "reason": "NAV breach"}, format="json"
    )
    assert response.status_code == 201, response.content
    switch = KillSwitch.objects.get(pk=response.json()["id"])
    assert _engage_cancels(switch) == [child.parent_id]

    # then the child's cancel is on its way and the parent waits for it; the VALUE order works on
    child.refresh_from_db()
    assert child.status == "PENDING_CANCEL"
    assert ParentOrder.objects.get(pk=child.parent_id).status == "PENDING_CANCEL"
    assert ParentOrder.objects.get(pk=theirs.pk).status == "NEW"
    services.report_apply(report=cancel_report(child, 2))
    assert ParentOrder.objects.get(pk=child.parent_id).status == "CANCELED"

    # and a new GROWTH order is refused naming the switch, with nothing stored
    count = ParentOrder.objects.count()
    refused = api_client_for("pm1").post("/api/orders/", ORDER, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["details"][0]["code"] == "KILL_SWITCH"
    assert "portfolio GROWTH: NAV breach" in refused.json()["error"]["message"]
    assert ParentOrder.objects.count() == count

    # and the audit trail says who engaged it, why and what it cancelled
    event = KillSwitchEvent.objects.get(switch=switch)
    assert (event.action, event.actor, event.reason) == ("ENGAGED", "risk1", "NAV breach")


def test_only_risk_releases_a_switch_and_orders_flow_again(demo: None) -> None:
    # given a firm-wide switch engaged by a trader
    switch = kill_switch_engage(user=user("trader1"), scope=KillScope.FIRM, reason="fat finger")
    assert api_client_for("pm1").post("/api/orders/", ORDER, format="json").status_code == 400

    # when the trader, then risk, release it
    denied = api_client_for("trader1").post(f"/api/kill-switches/{switch.pk}/release/", {"reason": "ok"}, format="json")
    released = api_client_for("risk1").post(f"/api/kill-switches/{switch.pk}/release/", {"reason": "checked"}, format="json")

    # then the trader is refused and changed nothing; risk's release is audited and orders are taken again
    assert denied.status_code == 403
    assert (released.status_code, released.json()["engaged"], released.json()["released_by"]) == (200, False, "risk1")
    assert list(switch.events.values_list("action", "actor", "reason")) == [
        ("ENGAGED", "trader1", "fat finger"),
        ("RELEASED", "risk1", "checked"),
    ]
    assert api_client_for("pm1").post("/api/orders/", ORDER, format="json").status_code == 201


def test_a_pm_can_neither_engage_nor_release(demo: None) -> None:
    # given / when a PM tries to engage
    response = api_client_for("pm1").post("/api/kill-switches/", {"scope": "FIRM", "reason": "panic"}, format="json")
    # then it is refused and nothing is engaged
    assert response.status_code == 403
    assert not KillSwitch.objects.exists()
    with pytest.raises(KillSwitchDenied):
        kill_switch_engage(user=user("pm1"), scope=KillScope.FIRM, reason="panic")
    switch = kill_switch_engage(user=user("risk1"), scope=KillScope.FIRM, reason="test")
    with pytest.raises(KillSwitchDenied):
        kill_switch_release(user=user("pm1"), switch_id=switch.pk, reason="")
    assert KillSwitch.objects.get(pk=switch.pk).engaged


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"scope": "PORTFOLIO"}, "needs `portfolio`"),
        ({"scope": "FIRM", "instrument": "ACME"}, "takes no target"),
        ({"scope": "VENUE", "venue": "XALP", "portfolio": "GROWTH"}, "`portfolio`"),
    ],
)
def test_a_switch_whose_target_does_not_fit_its_scope_is_refused(demo: None, body: dict[str, str], words: str) -> None:
    # given / when
    response = api_client_for("risk1").post("/api/kill-switches/", {**body, "reason": "x"}, format="json")
    # then
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]
    assert not KillSwitch.objects.exists()


def test_an_instrument_switch_covers_the_stocks_options_and_spares_other_stocks(demo: None) -> None:
    # given a switch on ACME
    kill_switch_engage(
        user=user("risk1"), scope=KillScope.INSTRUMENT, instrument=Instrument.objects.get(symbol="ACME"), reason="news"
    )
    option = Instrument.objects.filter(underlying__symbol="ACME", structure="").first()
    assert option is not None
    client = api_client_for("pm1")
    # when orders come for ACME, an ACME option and GLOBX
    stock = client.post("/api/orders/", ORDER, format="json")
    derivative = client.post("/api/orders/", {**ORDER, "instrument": option.symbol, "qty": "1", "limit_px": "1.00"}, format="json")
    other = client.post("/api/orders/", {**ORDER, "instrument": "GLOBX", "limit_px": "44.20"}, format="json")
    # then the first two are refused, GLOBX is taken
    assert [r.status_code for r in (stock, derivative, other)] == [400, 400, 201]


def test_a_trader_switch_blocks_that_traders_orders_only(demo: None) -> None:
    # given a switch on trader1
    kill_switch_engage(user=user("risk1"), scope=KillScope.TRADER, trader=user("trader1"), reason="training")
    # when trader1, then pm1, send an order
    blocked = api_client_for("trader1").post("/api/orders/", ORDER, format="json")
    allowed = api_client_for("pm1").post("/api/orders/", ORDER, format="json")
    # then
    assert (blocked.status_code, allowed.status_code) == (400, 201)


def test_a_venue_switch_cancels_the_children_there_and_the_router_avoids_the_venue(demo: None) -> None:
    # given a child working at a lit venue
    child = acked_child()
    venue = child.venue.code

    # when risk halts that venue and the EMS acts on it
    switch = kill_switch_engage(user=user("risk1"), scope=KillScope.VENUE, venue=venue, reason="venue outage")
    assert algos.venue_halt(venue=venue, actor="risk1") == 1

    # then the child is being cancelled, the parent goes on, and no new child is routed there
    child.refresh_from_db()
    assert child.status == "PENDING_CANCEL"
    parent = ParentOrder.objects.get(pk=child.parent_id)
    assert parent.status == "NEW"
    assert switch.events.get().data["orders_cancelled"] == []
    market_set()
    placement = place(parent=parent, working=Decimal(0), analytics=None, trigger="test", now=parent.created_at, slice=None)
    assert placement.children
    assert venue not in {c.venue.code for c in placement.children}
    assert not ChildOrder.objects.filter(venue__code=venue).exclude(pk=child.pk).exists()


def test_a_switch_engaged_during_an_amend_cancels_the_order_instead(demo: None) -> None:
    # given an amend in progress: its child is being pulled back
    child = acked_child()
    parent_order_amend(parent_id=child.parent_id, actor="pm1", changes={"qty": Decimal(500)})
    algos.execution_amend(parent_id=child.parent_id, actor="pm1")

    # when a firm switch is engaged meanwhile (the order cannot be cancelled mid-amend) and the venue confirms the cancel
    switch = kill_switch_engage(user=user("risk1"), scope=KillScope.FIRM, reason="halt")
    services.report_apply(report=cancel_report(child, 2))

    # then the amend is not applied: the order ends cancelled with the switch's reason
    parent = ParentOrder.objects.get(pk=child.parent_id)
    assert (parent.status, parent.qty) == ("CANCELED", Decimal(300))
    assert parent.events.filter(kind="CANCEL", reason__contains="halt").exists()
    assert switch.events.get().data["orders_cancelled"] == []
