"""Applying venue reports: exactly once, in order, child -> parent -> position -> cash."""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from config.redis import redis_client
from ems import algos, services
from ems.models import ChildOrder, Execution
from oms.models import Fill, Instrument, OrderEvent, ParentOrder, Portfolio, Position
from oms.services import OrderTerms, parent_order_submit
from tests.ems.market import LIT, market_set
from trading.enums import ExecType, Liquidity, OrdType, Side, TimeInForce, Urgency
from trading.messages import ExecutionReport
from trading.states import OrdStatus


def submit(*, symbol: str = "ACME", side: Side = Side.BUY, ord_type: OrdType = OrdType.LIMIT, qty: str = "300",
           limit_px: str | None = "101.60") -> ParentOrder:  # fmt: skip
    """Submit a parent order for pm1's GROWTH portfolio through the OMS service."""
    order, _ = parent_order_submit(
        user=User.objects.get(username="pm1"),
        terms=OrderTerms(
            portfolio=Portfolio.objects.get(code="GROWTH"),
            instrument=Instrument.objects.get(symbol=symbol),
            side=side,
            ord_type=ord_type,
            qty=Decimal(qty),
            limit_px=None if limit_px is None else Decimal(limit_px),
            tif=TimeInForce.DAY,
            urgency=Urgency.MEDIUM,
        ),
    )
    return order


def make_working_child(qty: str = "300") -> ChildOrder:
    """Reach a routed, unacknowledged child through the services, as the system would."""
    market_set()
    order = submit(qty=qty)
    algos.execution_start(parent_id=order.pk)
    return ChildOrder.objects.get(parent=order)


def report(
    child: ChildOrder, seq: int, exec_type: ExecType, *, qty: str = "0", px: str = "0", cum: str = "0", text: str = ""
) -> ExecutionReport:
    last_qty, cum_qty = Decimal(qty), Decimal(cum)
    done = exec_type in (ExecType.CANCELED, ExecType.REJECTED) or cum_qty == child.qty
    status = {
        ExecType.NEW: OrdStatus.NEW,
        ExecType.CANCELED: OrdStatus.CANCELED,
        ExecType.REJECTED: OrdStatus.REJECTED,
    }.get(exec_type, OrdStatus.FILLED if cum_qty == child.qty else OrdStatus.PARTIALLY_FILLED)
    return ExecutionReport(
        venue=child.venue.code,
        cl_ord_id=child.cl_ord_id,
        venue_order_id="V1",
        exec_id=f"E{seq}",
        seq=seq,
        exec_type=exec_type,
        ord_status=status,
        symbol="ACME",
        side=Side.BUY,
        last_qty=last_qty,
        last_px=Decimal(px),
        cum_qty=cum_qty,
        leaves_qty=Decimal(0) if done else child.qty - cum_qty,
        avg_px=Decimal(px),
        fee=last_qty * Decimal("0.003"),
        liquidity=Liquidity.REMOVED if exec_type is ExecType.TRADE else None,
        text=text,
        transact_time="2026-11-21T14:30:00+00:00",
    )


def test_execution_start_is_idempotent(demo: None) -> None:
    # given an order whose execution has started
    child = make_working_child()

    # when the start task is delivered again
    algos.execution_start(parent_id=child.parent_id)

    # then there is still one execution, one child and one routing event
    assert Execution.objects.filter(parent_id=child.parent_id).count() == 1
    assert ChildOrder.objects.filter(parent_id=child.parent_id).count() == 1
    assert OrderEvent.objects.filter(parent_id=child.parent_id, kind="CHILD_ROUTED").count() == 1
    assert child.qty == Decimal("300")
    assert child.status == OrdStatus.PENDING_NEW


def test_reports_apply_once_whatever_is_redelivered(demo: None) -> None:
    # given a working child and the venue's reports for two fills
    child = make_working_child()
    reports = [
        report(child, 1, ExecType.NEW),
        report(child, 2, ExecType.TRADE, qty="100", px="101.51", cum="100"),
        report(child, 3, ExecType.TRADE, qty="200", px="101.52", cum="300"),
    ]
    position_before = Position.objects.get(portfolio__code="GROWTH", instrument__symbol="ACME").qty

    # when they are applied, and then every one of them is delivered again
    services.reports_apply(reports=reports)
    services.reports_apply(reports=reports)
    services.reports_apply(reports=reports[1:2])

    # then each fill was booked exactly once
    parent = ParentOrder.objects.get(pk=child.parent_id)
    assert Fill.objects.filter(parent=parent).count() == 2
    assert (parent.status, parent.filled_qty, parent.avg_px) == ("FILLED", Decimal("300"), Decimal("101.51666667"))
    assert parent.fees == Decimal("0.9")
    child.refresh_from_db()
    assert (child.status, child.filled_qty, child.report_seq) == ("FILLED", Decimal("300"), 3)
    position = Position.objects.get(portfolio__code="GROWTH", instrument__symbol="ACME")
    assert position.qty == position_before + 300
    assert OrderEvent.objects.filter(parent=parent, kind="FILL").count() == 2


def test_a_fill_keeps_the_mid_it_was_booked_at_and_none_without_a_market(demo: None) -> None:
    # given a working child in a market quoted 101.48 / 101.50 (mid 101.49)
    child = make_working_child()
    services.reports_apply(reports=[report(child, 1, ExecType.NEW)])

    # when a fill is booked, the market moves to 101.60 / 101.62, and a second fill is booked
    services.reports_apply(reports=[report(child, 2, ExecType.TRADE, qty="100", px="101.50", cum="100")])
    market_set(asks={venue: [("101.62", 500)] for venue in LIT}, bids={venue: [("101.60", 500)] for venue in LIT})
    services.reports_apply(reports=[report(child, 3, ExecType.TRADE, qty="100", px="101.62", cum="200")])
    # and the market data is lost before a third
    redis_client().delete("md:nbbo:ACME")
    services.reports_apply(reports=[report(child, 4, ExecType.TRADE, qty="100", px="101.62", cum="300")])

    # then each fill kept the mid of its moment, and the one without a market keeps none rather than a guess
    assert list(Fill.objects.filter(parent_id=child.parent_id).order_by("id").values_list("mid_px", flat=True)) == [
        Decimal("101.49"),
        Decimal("101.61"),
        None,
    ]


def test_a_report_ahead_of_its_predecessor_waits(demo: None) -> None:
    # given a child whose ack has not arrived
    child = make_working_child()

    # when its first fill arrives before the ack
    with pytest.raises(services.ReportOutOfOrder):
        services.reports_apply(reports=[report(child, 2, ExecType.TRADE, qty="100", px="101.51", cum="100")])

    # then nothing was booked; once the ack arrives, the fill applies
    assert Fill.objects.count() == 0
    services.reports_apply(
        reports=[report(child, 1, ExecType.NEW), report(child, 2, ExecType.TRADE, qty="100", px="101.51", cum="100")]
    )
    child.refresh_from_db()
    assert (child.status, child.filled_qty) == ("PARTIALLY_FILLED", Decimal("100"))
    assert Fill.objects.count() == 1


def test_a_rejected_child_is_routed_again_around_the_venue_that_rejected_it(demo: None) -> None:
    # given a routed child
    child = make_working_child()
    first_venue = child.venue.code

    # when the venue rejects it, and the worker places the rest again
    services.reports_apply(reports=[report(child, 1, ExecType.REJECTED, text="venue closed")])
    algos.execution_work(parent_id=child.parent_id, trigger="test")

    # then the child is rejected with the reason, the execution goes on at another venue for the same quantity
    child.refresh_from_db()
    assert (child.status, child.text) == ("REJECTED", "venue closed")
    assert Execution.objects.get(parent_id=child.parent_id).status == Execution.RUNNING
    again = ChildOrder.objects.filter(parent_id=child.parent_id).exclude(pk=child.pk).get()
    assert again.venue.code != first_venue
    assert again.qty == Decimal("300")
    decision = again.decision
    assert decision is not None
    assert decision.excluded[first_venue] == f"avoided: rejected {child.cl_ord_id}: venue closed"
    parent = ParentOrder.objects.get(pk=child.parent_id)
    assert (parent.status, parent.leaves_qty) == ("NEW", Decimal("300"))


def test_an_execution_stops_when_every_venue_rejects(demo: None) -> None:
    # given a routed child
    child = make_working_child()

    # when every venue rejects in turn: each reject is routed around, to the next venue
    for _ in range(10):
        for working in ChildOrder.objects.filter(parent_id=child.parent_id, status="PENDING_NEW"):
            services.reports_apply(reports=[report(working, 1, ExecType.REJECTED, text="venue closed")])
        algos.execution_work(parent_id=child.parent_id, trigger="test")

    # then nothing is left to route to: the execution stops and says why; the parent keeps its leaves
    execution = Execution.objects.get(parent_id=child.parent_id)
    assert execution.status == Execution.STOPPED
    parent = ParentOrder.objects.get(pk=child.parent_id)
    assert (parent.status, parent.leaves_qty) == ("NEW", Decimal("300"))
    venues = list(ChildOrder.objects.filter(parent=parent).values_list("venue__code", flat=True))
    # each lit venue once, then one dark ping to one pool (300 is too small to split above the dark minimum)
    assert sorted(v for v in venues if v.startswith("X")) == ["XALP", "XBET", "XGAM"]
    assert len([v for v in venues if v.startswith("D")]) == 1
    stopped = OrderEvent.objects.get(parent=parent, kind="EXECUTION_STOPPED")
    assert "avoided" not in stopped.reason  # the reason is the router's, not a list of exclusions
    assert stopped.reason.startswith("cannot route 300:")


def test_a_fill_past_the_parent_quantity_is_refused(demo: None) -> None:
    # given a child of 300 that has filled 300
    child = make_working_child()
    services.reports_apply(
        reports=[report(child, 1, ExecType.NEW), report(child, 2, ExecType.TRADE, qty="300", px="101.51", cum="300")]
    )

    # when a rogue report claims one more share
    with pytest.raises(Exception, match="illegal order transition"):
        services.reports_apply(reports=[report(child, 3, ExecType.TRADE, qty="1", px="101.51", cum="301")])

    # then nothing more was booked
    assert ParentOrder.objects.get(pk=child.parent_id).filled_qty == Decimal("300")
    assert Fill.objects.count() == 1


def test_sweep_resends_a_silent_child_and_starts_a_forgotten_execution(demo: None, django_capture_on_commit_callbacks: Any) -> None:
    # given a child never acknowledged and an accepted parent never started, both older than the resend delay
    from datetime import timedelta

    from django.utils import timezone

    child = make_working_child()
    market_set("GLOBX")
    forgotten = submit(symbol="GLOBX", side=Side.SELL, ord_type=OrdType.MARKET, qty="50", limit_px=None)
    later = timezone.now() + timedelta(minutes=5)

    # when the sweep runs
    with django_capture_on_commit_callbacks(execute=True):
        result = services.execution_sweep(now=later)

    # then the child is sent again and the forgotten parent gets its execution and child
    assert result == {"started": 1, "resent": 1, "resumed": 0, "cancels_resent": 0, "rfqs_woken": 0}
    child.refresh_from_db()
    assert child.sent_at is not None
    assert ChildOrder.objects.filter(parent=forgotten).count() == 1


def test_no_active_lit_venue_stops_the_execution_with_the_reason(demo: None) -> None:
    # given every lit venue switched off in admin
    from venues.models import Venue

    Venue.objects.filter(kind="LIT").update(active=False)

    # when an order starts
    child_count_before = ChildOrder.objects.count()
    order = submit(ord_type=OrdType.MARKET, qty="10", limit_px=None)
    algos.execution_start(parent_id=order.pk)

    # then no child is sent and the execution says why it stopped
    assert ChildOrder.objects.count() == child_count_before
    assert Execution.objects.get(parent=order).status == Execution.STOPPED
    assert "no lit venue can take an order now" in OrderEvent.objects.get(parent=order, kind="EXECUTION_STOPPED").reason
