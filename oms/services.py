"""The OMS's writes. Each is one transaction; each state change appends an event."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from oms import ports
from oms.core.positions import cash_after_fill, position_after_fill
from oms.core.validation import FieldError, order_check
from oms.models import Fill, Instrument, OrderEvent, ParentOrder, Portfolio, Position
from trading.enums import OrdType, Side, TimeInForce, Urgency
from trading.numbers import avg_px
from trading.states import OrdEvent, OrdStatus, fill_event, next_status


class OrderRejected(Exception):
    """The order breaks a rule; nothing was stored. Carries one error per field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors


class OrderConflict(Exception):
    """A retry reused a client order id with different terms."""


class Overfill(Exception):
    """A fill would take a parent past its quantity; it was not booked."""


@dataclass(frozen=True, slots=True)
class OrderTerms:
    portfolio: Portfolio
    instrument: Instrument
    side: Side
    ord_type: OrdType
    qty: Decimal
    limit_px: Decimal | None
    tif: TimeInForce
    urgency: Urgency

    def matches(self, order: ParentOrder) -> bool:
        return (
            order.portfolio_id == self.portfolio.pk
            and order.instrument_id == self.instrument.pk
            and order.side == self.side
            and order.ord_type == self.ord_type
            and order.qty == self.qty
            and order.limit_px == self.limit_px
            and order.tif == self.tif
            and order.urgency == self.urgency
        )


def order_event_append(
    *,
    parent: ParentOrder,
    kind: str,
    actor: str,
    reason: str = "",
    child_cl_ord_id: str = "",
    status_before: str = "",
    status_after: str = "",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    return OrderEvent.objects.create(
        parent=parent,
        kind=kind,
        actor=actor,
        reason=reason,
        child_cl_ord_id=child_cl_ord_id,
        status_before=status_before,
        status_after=status_after,
        data={key: str(value) if isinstance(value, Decimal) else value for key, value in (data or {}).items()},
    )


def parent_order_submit(*, user: Any, terms: OrderTerms, cl_ord_id: str = "") -> tuple[ParentOrder, bool]:
    """Validate and store a new parent order, then start its execution once committed.

    Return ``(order, created)``. A retry with the same ``cl_ord_id`` and terms
    returns the first order and creates nothing; different terms raise
    ``OrderConflict``. A bad order raises ``OrderRejected`` and stores nothing.
    """
    if cl_ord_id:
        existing = _order_by_cl_ord_id(user, cl_ord_id)
        if existing is not None:
            return _retried(existing, terms, cl_ord_id), False
    errors = order_check(
        qty=terms.qty,
        ord_type=terms.ord_type,
        limit_px=terms.limit_px,
        tick_size=terms.instrument.tick_size,
        lot_size=terms.instrument.lot_size,
    )
    if not terms.instrument.active:
        errors.append(FieldError("instrument", "inactive", f"instrument {terms.instrument.symbol} is not tradable"))
    if errors:
        raise OrderRejected(errors)
    try:
        order = _parent_order_create(user=user, terms=terms, cl_ord_id=cl_ord_id)
    except IntegrityError:
        existing = _order_by_cl_ord_id(user, cl_ord_id) if cl_ord_id else None
        if existing is None:
            raise
        return _retried(existing, terms, cl_ord_id), False  # a concurrent retry won the race
    return order, True


def _retried(order: ParentOrder, terms: OrderTerms, cl_ord_id: str) -> ParentOrder:
    if not terms.matches(order):
        raise OrderConflict(f"`cl_ord_id` {cl_ord_id!r} was already used for a different order (#{order.pk})")
    return order


def _order_by_cl_ord_id(user: Any, cl_ord_id: str) -> ParentOrder | None:
    return ParentOrder.objects.filter(created_by=user, cl_ord_id=cl_ord_id).first()


@transaction.atomic
def _parent_order_create(*, user: Any, terms: OrderTerms, cl_ord_id: str) -> ParentOrder:
    order = ParentOrder.objects.create(
        cl_ord_id=cl_ord_id,
        portfolio=terms.portfolio,
        instrument=terms.instrument,
        side=terms.side,
        ord_type=terms.ord_type,
        qty=terms.qty,
        limit_px=terms.limit_px,
        tif=terms.tif,
        urgency=terms.urgency,
        status=OrdStatus.PENDING_NEW,
        created_by=user,
    )
    order_event_append(
        parent=order,
        kind="SUBMITTED",
        actor=user.get_username(),
        status_after=OrdStatus.PENDING_NEW,
        data={"side": terms.side, "qty": terms.qty, "ord_type": terms.ord_type, "limit_px": terms.limit_px, "tif": terms.tif},
    )
    parent_order_transition(parent=order, event=OrdEvent.ACCEPT, actor=user.get_username(), reason="passed order checks")
    order_id = order.pk
    transaction.on_commit(lambda: ports.execution.start(order_id))
    return order


def parent_order_transition(*, parent: ParentOrder, event: OrdEvent, actor: str, reason: str = "") -> None:
    """Move ``parent`` through the state machine and log it; the caller holds its row lock."""
    before = OrdStatus(parent.status)
    parent.status = next_status(before, event, has_fills=parent.filled_qty > 0)
    parent.save(update_fields=["status", "updated_at"])
    order_event_append(
        parent=parent, kind=event.value, actor=actor, reason=reason, status_before=before, status_after=parent.status
    )
    parent_id = parent.pk
    transaction.on_commit(lambda: ports.execution.publish(parent_id))


@transaction.atomic
def parent_order_fill(
    *,
    parent_id: int,
    child_cl_ord_id: str,
    venue: str,
    exec_id: str,
    qty: Decimal,
    px: Decimal,
    fee: Decimal,
    liquidity: str,
    executed_at: datetime,
    actor: str,
) -> Fill | None:
    """Book one venue fill exactly once: the fill, the parent, the position and the cash.

    Return the new ``Fill``, or None when this (venue, exec_id) was booked before.
    Locks, in this order: parent, position, portfolio. Raise ``Overfill`` rather
    than book more than the parent's quantity.
    """
    parent = ParentOrder.objects.select_for_update().select_related("instrument").get(pk=parent_id)
    if Fill.objects.filter(venue=venue, exec_id=exec_id).exists():
        return None
    if parent.filled_qty + qty > parent.qty:
        raise Overfill(f"fill {venue}:{exec_id} of {qty} would take order #{parent.pk} past its qty {parent.qty}")
    side = Side(parent.side)
    fill = Fill.objects.create(
        parent=parent,
        child_cl_ord_id=child_cl_ord_id,
        venue=venue,
        exec_id=exec_id,
        side=side,
        qty=qty,
        px=px,
        fee=fee,
        liquidity=liquidity,
        executed_at=executed_at,
    )
    before = OrdStatus(parent.status)
    parent.filled_qty += qty
    parent.filled_notional += qty * px
    parent.avg_px = avg_px(qty=parent.filled_qty, notional=parent.filled_notional)
    parent.fees += fee
    parent.status = next_status(before, fill_event(leaves_qty_after=parent.qty - parent.filled_qty), has_fills=True)
    parent.save(update_fields=["filled_qty", "filled_notional", "avg_px", "fees", "status", "updated_at"])
    order_event_append(
        parent=parent,
        kind="FILL",
        actor=actor,
        child_cl_ord_id=child_cl_ord_id,
        status_before=before,
        status_after=parent.status,
        data={"venue": venue, "exec_id": exec_id, "qty": qty, "px": px, "fee": fee, "liquidity": liquidity},
    )
    _position_book(parent=parent, side=side, qty=qty, px=px, fee=fee)
    return fill  # the EMS publishes the fill with the order, once the report is applied


def _position_book(*, parent: ParentOrder, side: Side, qty: Decimal, px: Decimal, fee: Decimal) -> None:
    instrument = parent.instrument
    position, _ = Position.objects.select_for_update().get_or_create(portfolio_id=parent.portfolio_id, instrument=instrument)
    state = position_after_fill(
        position.state,
        side=side,
        qty=qty,
        px=px,
        multiplier=instrument.multiplier,
    )
    position.qty, position.cost_basis, position.realized_pnl = state.qty, state.cost, state.realized_pnl
    position.fees += fee
    position.save()
    portfolio = Portfolio.objects.select_for_update().get(pk=parent.portfolio_id)
    portfolio.cash = cash_after_fill(portfolio.cash, side=side, qty=qty, px=px, multiplier=instrument.multiplier, fee=fee)
    portfolio.save(update_fields=["cash"])
