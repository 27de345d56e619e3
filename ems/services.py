"""The EMS's writes: start executions, send child orders, apply venue reports."""

import logging
import uuid
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.redis import redis_client
from ems.core.strategies import direct_slices, strategy_choose
from ems.models import ChildOrder, Execution
from ems.publish import blotter_publish_fill, blotter_publish_order
from oms.models import ParentOrder
from oms.services import order_event_append, parent_order_fill
from router.core import NoVenue, VenueQuote, route_whole
from trading.enums import ExecType, OrdType, Side, TimeInForce, VenueKind
from trading.messages import ExecutionReport, NewOrder
from trading.numbers import ZERO, avg_px
from trading.states import TERMINAL, IllegalTransition, OrdEvent, OrdStatus, fill_event, next_status
from venues.marketdata import top_read
from venues.models import Venue

log = logging.getLogger(__name__)

ACTOR = "system:ems"


class ReportOutOfOrder(Exception):
    """A report arrived before an earlier one of the same order; retry it later."""


@transaction.atomic
def execution_start(*, parent_id: int) -> Execution | None:
    """Choose the strategy and create and send the first children. Idempotent.

    A redelivered call finds the execution and its children already there and
    creates nothing new; a child not yet sent is sent again.
    """
    parent = ParentOrder.objects.select_for_update().select_related("instrument").get(pk=parent_id)
    if OrdStatus(parent.status).is_terminal or parent.status == OrdStatus.PENDING_NEW:
        return None
    ord_type = OrdType(parent.ord_type)
    execution = Execution.objects.filter(parent=parent).first()
    if execution is None:
        choice = strategy_choose(ord_type=ord_type)
        execution = Execution.objects.create(parent=parent, strategy=choice.name, params=choice.params, rationale=choice.rationale)
        order_event_append(
            parent=parent, kind="STRATEGY_SELECTED", actor=ACTOR, reason=choice.rationale, data={"strategy": choice.name}
        )
    existing = set(parent.children.values_list("slice_no", flat=True))
    for piece in direct_slices(
        leaves_qty=parent.leaves_qty, ord_type=ord_type, limit_px=parent.limit_px, tif=TimeInForce(parent.tif)
    ):
        if piece.slice_no in existing:
            continue
        try:
            venue, reason = _route(side=Side(parent.side), symbol=parent.instrument.symbol)
        except NoVenue as exc:
            _execution_end(execution, status=Execution.STOPPED, reason=f"cannot route: {exc}")
            break
        child = ChildOrder.objects.create(
            parent=parent,
            slice_no=piece.slice_no,
            cl_ord_id=f"{parent.pk}-{piece.slice_no}-{uuid.uuid4().hex[:8]}",
            venue=venue,
            side=parent.side,
            ord_type=piece.ord_type,
            qty=piece.qty,
            limit_px=piece.limit_px,
            tif=piece.tif,
            route_reason=reason,
        )
        order_event_append(
            parent=parent,
            kind="CHILD_ROUTED",
            actor=ACTOR,
            child_cl_ord_id=child.cl_ord_id,
            reason=reason,
            data={"venue": venue.code, "qty": piece.qty, "ord_type": piece.ord_type, "limit_px": piece.limit_px, "tif": piece.tif},
        )
        transaction.on_commit(partial(child_order_send, child_id=child.pk))  # bound now, not at loop end
    parent_id_ = parent.pk
    transaction.on_commit(lambda: blotter_publish_order(parent_id=parent_id_))
    return execution


def _route(*, side: Side, symbol: str) -> tuple[Venue, str]:
    tops = {top.venue: top for top in top_read(redis_client(), symbol)}
    # A venue the market data shows halted or closed is not a place to send an order.
    venues = {
        v.code: v
        for v in Venue.objects.filter(kind=VenueKind.LIT, active=True)
        if v.code not in tops or tops[v.code].state == "OPEN"
    }
    quotes = []
    for code, venue in venues.items():
        top = tops.get(code)
        px = None if top is None else (top.ask_px if side is Side.BUY else top.bid_px)
        qty = ZERO if top is None else (top.ask_qty if side is Side.BUY else top.bid_qty)
        quotes.append(VenueQuote(venue=code, taker_fee=venue.taker_fee, px=px, qty=qty))
    route = route_whole(side=side, venues=quotes)
    return venues[route.venue], route.reason


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
    Locks the child row first, then (through the OMS) parent, position, portfolio.
    """
    child = ChildOrder.objects.select_for_update().filter(cl_ord_id=report.cl_ord_id).first()
    if child is None:
        log.warning("report for an unknown order %s: %s", report.cl_ord_id, report)
        return False
    if report.seq <= child.report_seq:
        return False
    if report.seq > child.report_seq + 1:
        raise ReportOutOfOrder(f"{report.cl_ord_id}: report {report.seq} before {child.report_seq + 1}")
    child.report_seq = report.seq
    before = OrdStatus(child.status)
    fill = None
    if report.exec_type is ExecType.TRADE:
        child.filled_qty += report.last_qty
        child.filled_notional += report.last_qty * report.last_px
        child.avg_px = avg_px(qty=child.filled_qty, notional=child.filled_notional)
        child.status = _next(child, fill_event(leaves_qty_after=child.qty - child.filled_qty))
        fill = parent_order_fill(
            parent_id=child.parent_id,
            child_cl_ord_id=child.cl_ord_id,
            venue=report.venue,
            exec_id=report.exec_id,
            qty=report.last_qty,
            px=report.last_px,
            fee=report.fee,
            liquidity=report.liquidity or "",
            executed_at=datetime.fromisoformat(report.transact_time),
            actor=f"venue:{report.venue}",
        )
    else:
        if report.exec_type is ExecType.RESTATED:  # the venue shrank it (self-trade prevention): same status
            child.qty = report.cum_qty + report.leaves_qty
        else:
            child.status = _next(child, _EVENTS[report.exec_type])
        if report.venue_order_id:
            child.venue_order_id = report.venue_order_id
        child.text = report.text
        order_event_append(
            parent=child.parent,
            kind=f"CHILD_{report.exec_type.value}",
            actor=f"venue:{report.venue}",
            child_cl_ord_id=child.cl_ord_id,
            status_before=before,
            status_after=child.status,
            reason=report.text,
            data={"exec_id": report.exec_id, "venue_order_id": report.venue_order_id},
        )
    child.save()
    if OrdStatus(child.status).is_terminal:
        _execution_after_child_done(child)
    parent_id = child.parent_id
    if fill is not None:
        fill_id = fill.pk
        transaction.on_commit(lambda: blotter_publish_fill(fill_id=fill_id))
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


def _execution_after_child_done(child: ChildOrder) -> None:
    """Close the execution when nothing works any more: done if filled, stopped if not."""
    parent = ParentOrder.objects.get(pk=child.parent_id)
    if parent.children.exclude(status__in=TERMINAL).exists():
        return
    execution = Execution.objects.filter(parent=parent).first()
    if execution is None or execution.status != Execution.RUNNING:
        return
    if parent.status == OrdStatus.FILLED:
        _execution_end(execution, status=Execution.DONE, reason="filled")
    else:
        reason = f"no child working and {parent.leaves_qty} left: {child.text or child.status}"
        _execution_end(execution, status=Execution.STOPPED, reason=reason)


def _execution_end(execution: Execution, *, status: str, reason: str) -> None:
    """End ``execution`` as DONE or STOPPED and log it as ``EXECUTION_<status>``."""
    execution.status = status
    execution.save(update_fields=["status", "updated_at"])
    order_event_append(parent=execution.parent, kind=f"EXECUTION_{status}", actor=ACTOR, reason=reason)


def execution_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Repair what a lost message left undone: start forgotten executions, resend silent children."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.CHILD_RESEND_SECONDS)
    # Listed before anything starts: a child this sweep creates is sent on commit, not resent.
    silent = list(ChildOrder.objects.filter(status=OrdStatus.PENDING_NEW, created_at__lt=stale).values_list("pk", flat=True))
    forgotten = list(
        ParentOrder.objects.filter(status=OrdStatus.NEW, execution__isnull=True, created_at__lt=stale).values_list("pk", flat=True)
    )
    for parent_id in forgotten:
        execution_start(parent_id=parent_id)
    for child_id in silent:
        child_order_send(child_id=child_id)
    return {"started": len(forgotten), "resent": len(silent)}
