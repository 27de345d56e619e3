"""The algos' shell: ticks that run once, parent cancel and amend through the children, bad parameters refused."""

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ems import algos, services
from ems.models import ChildOrder, Execution, ExecutionTick
from oms.models import OrderEvent, ParentOrder
from oms.services import OrderRejected, OrderStateError, parent_order_amend, parent_order_cancel
from tests.conftest import api_client_for
from tests.ems.market import market_set
from tests.ems.test_reports import make_working_child, report, submit
from trading.enums import ExecType
from trading.messages import ExecutionReport

pytestmark = pytest.mark.django_db


def acked_child() -> ChildOrder:
    child = make_working_child()
    services.report_apply(report=report(child, 1, ExecType.NEW))
    child.refresh_from_db()
    return child


def cancel_report(child: ChildOrder, seq: int) -> ExecutionReport:
    base = report(child, seq, ExecType.CANCELED, cum=str(child.filled_qty))
    return dataclasses.replace(base, cl_ord_id=f"{child.cl_ord_id}~C", orig_cl_ord_id=child.cl_ord_id)


def test_a_parent_cancel_pulls_the_working_child_back_then_cancels_the_parent(demo: None) -> None:
    # given a parent with one acknowledged child working
    child = acked_child()
    parent_id = child.parent_id

    # when the PM cancels the parent and the EMS acts on it
    parent_order_cancel(parent_id=parent_id, actor="pm1")
    algos.execution_cancel(parent_id=parent_id, actor="pm1")

    # then the child is pending cancel, the parent too, and the algo has stopped
    child.refresh_from_db()
    assert child.status == "PENDING_CANCEL"
    assert ParentOrder.objects.get(pk=parent_id).status == "PENDING_CANCEL"
    assert Execution.objects.get(parent_id=parent_id).status == Execution.STOPPED

    # when the venue confirms the cancel (its report names our cancel request, and the order it acted on)
    services.report_apply(report=cancel_report(child, 2))

    # then the child and the parent are cancelled, each step on the log
    child.refresh_from_db()
    parent = ParentOrder.objects.get(pk=parent_id)
    assert (child.status, parent.status, parent.filled_qty) == ("CANCELED", "CANCELED", Decimal(0))
    kinds = list(OrderEvent.objects.filter(parent_id=parent_id).values_list("kind", flat=True))
    assert kinds[-5:] == ["CANCEL_REQUEST", "EXECUTION_STOPPED", "CHILD_CANCEL_REQUEST", "CHILD_CANCELED", "CANCEL"]


def test_a_fill_racing_the_cancel_is_booked_and_the_parent_ends_filled(demo: None) -> None:
    # given a cancel on its way for the parent's only child
    child = acked_child()
    parent_order_cancel(parent_id=child.parent_id, actor="pm1")
    algos.execution_cancel(parent_id=child.parent_id, actor="pm1")

    # when the venue fills the child before the cancel arrives
    services.report_apply(report=report(child, 2, ExecType.TRADE, qty="300", px="101.50", cum="300"))

    # then the fill is booked, the child and the parent are filled: consistent, nothing lost
    child.refresh_from_db()
    parent = ParentOrder.objects.get(pk=child.parent_id)
    assert (child.status, child.filled_qty) == ("FILLED", Decimal(300))
    assert (parent.status, parent.filled_qty) == ("FILLED", Decimal(300))


def test_a_cancel_of_a_done_order_is_refused(demo: None) -> None:
    # given a filled parent
    child = acked_child()
    services.report_apply(report=report(child, 2, ExecType.TRADE, qty="300", px="101.50", cum="300"))
    # when / then
    with pytest.raises(OrderStateError, match="is filled: nothing to cancel"):
        parent_order_cancel(parent_id=child.parent_id, actor="pm1")


def test_an_amend_waits_for_the_children_then_applies_and_restarts_the_schedule(demo: None) -> None:
    # given a parent with a child working
    child = acked_child()
    parent_id = child.parent_id

    # when the PM raises the quantity to 500
    parent_order_amend(parent_id=parent_id, actor="pm1", changes={"qty": Decimal(500)})
    algos.execution_amend(parent_id=parent_id, actor="pm1")

    # then the parent waits, its child being pulled back, the quantity not yet changed
    parent = ParentOrder.objects.get(pk=parent_id)
    assert (parent.status, parent.qty) == ("PENDING_REPLACE", Decimal(300))

    # when the venue confirms the child's cancel
    child.refresh_from_db()
    services.report_apply(report=cancel_report(child, 2))

    # then the amend applies, and the execution's new segment covers what is left
    parent = ParentOrder.objects.get(pk=parent_id)
    assert (parent.status, parent.qty) == ("NEW", Decimal(500))
    assert OrderEvent.objects.filter(parent_id=parent_id, kind="REPLACED").get().data == {"qty": "500"}
    execution = Execution.objects.get(parent_id=parent_id)
    assert (execution.status, execution.segment_filled_qty) == (Execution.RUNNING, Decimal(0))


def test_an_amend_below_the_filled_quantity_is_refused_and_changes_nothing(demo: None) -> None:
    # given 200 of 300 filled
    child = acked_child()
    services.report_apply(report=report(child, 2, ExecType.TRADE, qty="200", px="101.50", cum="200"))
    events = OrderEvent.objects.filter(parent_id=child.parent_id).count()
    # when / then
    with pytest.raises(OrderRejected, match="invalid `qty`, was 200: 200 is already filled"):
        parent_order_amend(parent_id=child.parent_id, actor="pm1", changes={"qty": Decimal(200)})
    parent = ParentOrder.objects.get(pk=child.parent_id)
    assert (parent.status, parent.qty) == ("PARTIALLY_FILLED", Decimal(300))
    assert OrderEvent.objects.filter(parent_id=child.parent_id).count() == events


def twap(qty: str = "1000") -> ParentOrder:
    market_set()
    order = submit(qty=qty)
    order.strategy = "TWAP"
    order.strategy_params = {"slice_seconds": 60, "size_jitter": "0", "time_jitter": "0"}
    order.end_at = timezone.now() + timedelta(minutes=10)
    order.save()
    return order


def test_a_duplicated_tick_sends_no_second_slice(demo: None) -> None:
    # given a TWAP of 1,000 over ten 1-minute slices, its first tick run at the start
    order = twap()
    algos.execution_start(parent_id=order.pk)
    first = list(ChildOrder.objects.filter(parent=order).values_list("cl_ord_id", flat=True))
    assert sum(ChildOrder.objects.filter(parent=order).values_list("qty", flat=True)) == Decimal(100)

    # when tick 0 is delivered again (a redelivery, or a duplicate from the sweep)
    ran = algos.execution_tick(parent_id=order.pk, tick_no=0)

    # then it does nothing: no second child for the slice, one tick on record
    assert ran is False
    assert list(ChildOrder.objects.filter(parent=order).values_list("cl_ord_id", flat=True)) == first
    assert list(ExecutionTick.objects.filter(execution__parent=order).values_list("tick_no", flat=True)) == [0]
    assert Execution.objects.get(parent=order).tick_no == 1


def test_a_stalled_execution_is_resumed_by_the_sweep(demo: None) -> None:
    # given a running TWAP whose next tick is long overdue (its worker died mid-tick)
    order = twap()
    algos.execution_start(parent_id=order.pk)
    Execution.objects.filter(parent=order).update(next_tick_at=timezone.now() - timedelta(minutes=5))
    # when the sweep runs
    result = services.execution_sweep()
    # then it asks again for the pending tick
    assert result["resumed"] == 1


def test_the_api_refuses_bad_algo_parameters_with_the_field_and_stores_nothing(demo: None) -> None:
    # given a PM
    client = api_client_for("pm1")
    before = ParentOrder.objects.count()
    # when the slices would be smaller than a lot (100 shares of ACME in 6,000 slices of 1 s over 100 minutes)
    end_at = (timezone.now() + timedelta(minutes=100)).isoformat()
    body = {"portfolio": "GROWTH", "instrument": "ACME", "side": "BUY", "qty": "100", "limit_px": "101.00",
            "strategy": "twap", "strategy_params": {"slice_seconds": 1}, "end_at": end_at}  # fmt: skip
    response = client.post("/api/orders/", body, format="json")
    # then 400 names the parameter and says what to do; nothing is stored
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["strategy_params.slice_seconds"][0]
    assert message.startswith("100 over 6000 slices is 0.02 a slice, below the lot 1: use at most 100 slices")
    assert ParentOrder.objects.count() == before


def test_the_api_refuses_an_unknown_strategy_and_an_unknown_parameter(demo: None) -> None:
    client = api_client_for("pm1")
    base = {"portfolio": "GROWTH", "instrument": "ACME", "side": "BUY", "qty": "100", "limit_px": "101.00"}
    # when / then
    unknown = client.post("/api/orders/", {**base, "strategy": "MAGIC"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fields"]["strategy"][0].startswith("unknown strategy 'MAGIC'; one of IMMEDIATE, TWAP")
    bad = client.post("/api/orders/", {**base, "strategy": "POV", "strategy_params": {"speed": 3}}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"]["strategy_params.speed"][0].startswith("not a parameter of POV")


def test_the_order_detail_shows_the_execution_with_its_rationale_schedule_and_ticks(demo: None) -> None:
    # given a running TWAP
    order = twap()
    algos.execution_start(parent_id=order.pk)
    # when
    detail = api_client_for("pm1").get(f"/api/orders/{order.pk}/").json()
    # then
    execution = detail["execution"]
    assert (execution["strategy"], execution["base_strategy"], execution["rule"]) == ("TWAP", "TWAP", "explicit")
    assert execution["rationale"].startswith("TWAP chosen by the PM (urgency medium")
    assert execution["schedule"][-1] == "1"
    assert len(execution["schedule"]) == 10
    assert [t["tick_no"] for t in execution["ticks"]] == [0]
    assert execution["ticks"][0]["sent_qty"] == "100.0000"


def test_a_slice_pings_the_dark_once_then_its_nudges_go_lit(demo: None) -> None:
    # given a TWAP slice routed at MEDIUM urgency that went to the dark pools as IOC pings
    order = twap(qty="20000")
    ParentOrder.objects.filter(pk=order.pk).update(urgency="HIGH")  # slices at MEDIUM: dark pings when big enough
    algos.execution_start(parent_id=order.pk)
    pings = list(ChildOrder.objects.filter(parent=order, action="DARK_PING"))
    assert pings, "the first slice pings the pools"
    # when every ping comes back unfilled and nudges the algo
    for child in pings:
        services.report_apply(report=report(child, 1, ExecType.CANCELED))
    algos.execution_work(parent_id=order.pk, trigger="pings unfilled")
    # then the nudged tick routes the slice to the lit books, not to the pools again
    later = ChildOrder.objects.filter(parent=order).exclude(pk__in=[c.pk for c in pings])
    assert later.exists()
    assert not later.filter(action="DARK_PING").exists()


def test_an_algo_switched_to_immediate_goes_on_when_a_child_fills_and_nothing_else_works(demo: None) -> None:
    # given a TWAP that has switched to IMMEDIATE to finish, its one child working
    order = twap()
    algos.execution_start(parent_id=order.pk)
    Execution.objects.filter(parent=order).update(strategy="IMMEDIATE")
    (child,) = ChildOrder.objects.filter(parent=order)
    services.report_apply(report=report(child, 1, ExecType.NEW))
    # when that child fills completely, the parent still short
    services.report_apply(report=report(child, 2, ExecType.TRADE, qty="100", px="101.50", cum="100"))
    # then the execution keeps running (its next tick takes liquidity for the rest); only IMMEDIATE from the start stops
    assert ParentOrder.objects.get(pk=order.pk).leaves_qty == Decimal(900)
    assert Execution.objects.get(parent=order).status == Execution.RUNNING
