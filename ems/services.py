"""The EMS's writes: start executions, send child orders, apply venue reports."""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.redis import redis_client
from ems.algos import (
    cancels_resend,
    execution_finish,
    execution_nudge,
    execution_start,
    executions_resume,
    parent_settle,
)
from ems.core.algos import Strategy
from ems.markouts import markouts_schedule
from ems.models import ChildOrder, Execution
from ems.publish import blotter_publish_fill, blotter_publish_order
from ems.rfqs import composite_mid, rfqs_overdue
from oms.models import ParentOrder
from oms.services import order_event_append, parent_order_fill
from router.services import venue_ack_record, venue_order_finished
from trading.enums import ExecType, OrdType, Peg, Side, TimeInForce
from trading.messages import ExecutionReport, NewOrder
from trading.numbers import ZERO, avg_px
from trading.states import TERMINAL, IllegalTransition, OrdEvent, OrdStatus, fill_event, next_status

log = logging.getLogger(__name__)

ACTOR = "system:ems"


class ReportOutOfOrder(Exception):
    """A report arrived before an earlier one of the same order; retry it later."""


def child_order_send(*, child_id: int) -> None:
    """Put a child on the gateway's order stream (at least once: the gateway drops repeats)."""
    child = ChildOrder.objects.select_related("venue", "parent__instrument").get(pk=child_id)
    if child.status != OrdStatus.PENDING_NEW:
        return
    message = NewOrder(
        cl_ord_id=child.cl_ord_id,
        venue=child.venue.code,
        symbol=child.parent.instrument.symbol,
        side=Side(child.side),
        ord_type=OrdType(child.ord_type),
        qty=child.qty,
        limit_px=child.limit_px,
        tif=TimeInForce(child.tif),
        post_only=child.post_only,
        min_qty=child.min_qty,
        display_qty=child.display_qty,
        peg=Peg(child.peg) if child.peg else None,
        delay_us=child.delay_us,
    )
    redis_client().xadd(settings.GATEWAY_ORDER_STREAM, message.to_wire())  # type: ignore[arg-type]
    ChildOrder.objects.filter(pk=child_id).update(sent_at=timezone.now())


def reports_apply(*, reports: list[ExecutionReport]) -> None:
    """Apply a batch of venue reports in order, each in its own transaction."""
    for report in reports:
        report_apply(report=report)


@transaction.atomic
def report_apply(*, report: ExecutionReport) -> bool:
    """Apply one venue report exactly once and in order: child, then parent, position and cash.

    Return False for a report seen before (or for an unknown order). Raise
    ``ReportOutOfOrder`` when an earlier report of the same order is missing.
    Locks the parent first, as a tick does (the other order deadlocked the two), then the child, then (through the
    OMS) position and portfolio.
    """
    found = ChildOrder.objects.filter(cl_ord_id=report.cl_ord_id).values_list("pk", "parent_id").first()
    if found is None and report.orig_cl_ord_id:  # the report of our cancel request names the order it acted on
        found = ChildOrder.objects.filter(cl_ord_id=report.orig_cl_ord_id).values_list("pk", "parent_id").first()
    if found is None:
        log.warning("report for an unknown order %s: %s", report.cl_ord_id, report)
        return False
    parent = ParentOrder.objects.locked().get(pk=found[1])
    child = ChildOrder.objects.select_for_update(of=("self",)).select_related("venue").get(pk=found[0])
    if report.seq <= child.report_seq:
        return False
    if report.seq > child.report_seq + 1:
        raise ReportOutOfOrder(f"{report.cl_ord_id}: report {report.seq} before {child.report_seq + 1}")
    child.report_seq = report.seq
    acked = False
    before = OrdStatus(child.status)
    fill = None
    if report.exec_type is ExecType.TRADE:
        child.filled_qty += report.last_qty
        child.filled_notional += report.last_qty * report.last_px
        child.avg_px = avg_px(qty=child.filled_qty, notional=child.filled_notional)
        child.status = _next(child, fill_event(leaves_qty_after=child.qty - child.filled_qty))
        fill = parent_order_fill(
            parent=parent,
            child_cl_ord_id=child.cl_ord_id,
            venue=report.venue,
            exec_id=report.exec_id,
            qty=report.last_qty,
            px=report.last_px,
            fee=report.fee,
            liquidity=report.liquidity or "",
            executed_at=datetime.fromisoformat(report.transact_time),
            actor=f"venue:{report.venue}",
            mid_px=composite_mid(parent.instrument)[0],
        )
    else:
        if report.exec_type is ExecType.RESTATED:  # the venue shrank it (self-trade prevention): same status
            child.qty = report.cum_qty + report.leaves_qty
        else:
            child.status = _next(child, _EVENTS[report.exec_type])
        if report.exec_type is ExecType.NEW and child.acked_at is None:
            child.acked_at = timezone.now()
            acked = True
        if report.venue_order_id:
            child.venue_order_id = report.venue_order_id
        child.text = report.text
        order_event_append(
            parent=parent,
            kind=f"CHILD_{report.exec_type.value}",
            actor=f"venue:{report.venue}",
            child_cl_ord_id=child.cl_ord_id,
            status_before=before,
            status_after=child.status,
            reason=report.text,
            data={"exec_id": report.exec_id, "venue_order_id": report.venue_order_id},
        )
    child.save()
    done = OrdStatus(child.status).is_terminal
    if done:
        _execution_after_child_done(child, parent)
    # Venue statistics last: their rows are locked after the child and parent rows, in every transaction.
    _venue_learn(child, acked=acked, done=done)
    parent_id = child.parent_id
    if fill is not None:
        fill_id = fill.pk
        transaction.on_commit(lambda: blotter_publish_fill(fill_id=fill_id))
        transaction.on_commit(lambda: markouts_schedule(fill_id=fill_id))
    else:
        transaction.on_commit(lambda: blotter_publish_order(parent_id=parent_id))
    return True


_EVENTS = {
    ExecType.NEW: OrdEvent.ACCEPT,
    ExecType.CANCELED: OrdEvent.CANCEL,
    ExecType.REJECTED: OrdEvent.REJECT,
    ExecType.EXPIRED: OrdEvent.EXPIRE,
    ExecType.REPLACED: OrdEvent.REPLACE,
}


def _next(child: ChildOrder, event: OrdEvent) -> OrdStatus:
    try:
        return next_status(OrdStatus(child.status), event, has_fills=child.filled_qty > 0)
    except IllegalTransition:
        log.error("child %s: %s in status %s", child.cl_ord_id, event, child.status)
        raise


def _venue_learn(child: ChildOrder, *, acked: bool, done: bool) -> None:
    """Teach the router what this report showed about the venue: its latency (our send to its ack), a finished order."""
    if acked and child.sent_at is not None and child.acked_at is not None:
        ms = Decimal((child.acked_at - child.sent_at).total_seconds() * 1000).quantize(Decimal("0.001"))
        venue_ack_record(venue=child.venue, ms=max(ms, ZERO))
    if done:
        rejected = child.status == OrdStatus.REJECTED
        venue_order_finished(venue=child.venue, qty=child.qty, filled_qty=child.filled_qty, rejected=rejected)


# A child that ends with quantity unfilled for one of these reasons makes the algo look again at once.
_REPLAN_AFTER = (OrdStatus.CANCELED, OrdStatus.REJECTED)


def _execution_after_child_done(child: ChildOrder, parent: ParentOrder) -> None:
    """After a child ends: settle the parent's pending cancel or amend, close a filled execution, or re-plan.

    An IOC leftover, a cancel or a venue's reject runs the algo's pending tick
    now (on commit), and so does the last child filling while the parent is
    short; an IMMEDIATE execution (from the start: an algo switched to
    IMMEDIATE ticks every slice) left short with nothing working for another
    reason (an expiry at the venue's close) stops. ``parent`` is the child's,
    locked by the caller (``report_apply`` takes it before the child's) and current.
    """
    if parent.status in (OrdStatus.PENDING_CANCEL, OrdStatus.PENDING_REPLACE):
        parent_settle(parent)
        return
    execution = Execution.objects.filter(parent=parent).first()
    if execution is None or execution.status != Execution.RUNNING:
        return
    working = parent.children.exclude(status__in=TERMINAL).exists()
    if parent.status == OrdStatus.FILLED:
        if not working:
            execution_finish(execution, status=Execution.DONE, reason="filled")
        return
    unfilled = child.qty - child.filled_qty
    if child.status in _REPLAN_AFTER and unfilled > 0:
        trigger = f"{child.cl_ord_id} at {child.venue.code} {child.status.lower()} with {unfilled} unfilled"
        if child.text:
            trigger += f": {child.text}"
        execution_nudge(parent.pk, trigger=trigger)
        return
    if not working and execution.strategy == execution.base_strategy == Strategy.IMMEDIATE:  # an algo ticks on
        if child.status == OrdStatus.FILLED:
            # Its sibling's unfilled rest asked for a re-plan that has not placed yet (a race seen under load): a
            # filled child is no reason to stop; ask again (the first re-plan to run wins, the other does nothing).
            execution_nudge(parent.pk, trigger=f"{child.cl_ord_id} filled with {parent.leaves_qty} left and nothing working")
            return
        reason = f"no child working and {parent.leaves_qty} left: {child.text or child.status}"
        execution_finish(execution, status=Execution.STOPPED, reason=reason)


def execution_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Repair what a lost message left undone: start forgotten executions, resume stalled ones, resend silent orders."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.CHILD_RESEND_SECONDS)
    # Listed before anything starts: a child this sweep creates is sent on commit, not resent.
    # sent (or created, if never sent) before the stale mark: each is sent again at most once a resend period
    unheard = Q(sent_at__lt=stale) | Q(sent_at__isnull=True, created_at__lt=stale)
    silent = list(ChildOrder.objects.filter(unheard, status=OrdStatus.PENDING_NEW).values_list("pk", flat=True))
    forgotten = list(
        ParentOrder.objects.filter(status=OrdStatus.NEW, execution__isnull=True, created_at__lt=stale).values_list("pk", flat=True)
    )
    for parent_id in forgotten:
        execution_start(parent_id=parent_id)
    for child_id in silent:
        child_order_send(child_id=child_id)
    resumed = executions_resume(now=now, stalled_after_s=settings.CHILD_RESEND_SECONDS)
    cancels = cancels_resend(now=now, after_s=settings.CHILD_RESEND_SECONDS)
    woken = rfqs_overdue(now=now, late_s=settings.CHILD_RESEND_SECONDS)
    return {"started": len(forgotten), "resent": len(silent), "resumed": resumed, "cancels_resent": cancels, "rfqs_woken": woken}
