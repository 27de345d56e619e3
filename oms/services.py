"""The OMS's writes. Each is one transaction; each state change appends an event."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from django.db import IntegrityError, transaction
from django.utils import timezone

from oms import ports
from oms.core.allocation import AllocationBy, AllocationTarget, allocate_fill, allocation_check, split_fee
from oms.core.positions import LegTerms, cash_after_fill, package_leg_fills, position_after_fill
from oms.core.risk import CheckOutcome, OrderIntent, RiskCode, order_notional
from oms.core.validation import FieldError, order_check
from oms.models import Account, Allocation, Fill, FillAllocation, FillLeg, Instrument, OrderEvent, ParentOrder, Portfolio, Position
from oms.risk import RiskTerms, order_risk_check, outcomes_json, reference_px
from oms.selectors import instruments_covering, kill_switch_covering
from trading.enums import OrdType, Side, TimeInForce, Urgency
from trading.numbers import ZERO, avg_px, plain
from trading.states import OrdEvent, OrdStatus, fill_event, next_status

logger = logging.getLogger(__name__)

# The order field a pre-trade failure points at, for the API's ``fields``; the rest are about the order as a whole.
RISK_FIELDS: Final = {
    RiskCode.RESTRICTED: "instrument",
    RiskCode.MAX_QTY: "qty",
    RiskCode.MAX_NOTIONAL: "qty",
    RiskCode.POSITION_LIMIT: "qty",
    RiskCode.PRICE_COLLAR: "limit_px",
    RiskCode.NO_REFERENCE_PRICE: "ord_type",
}


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
    strategy: str = ""  # blank: the selection matrix chooses
    strategy_params: dict[str, Any] = field(default_factory=dict)
    start_at: datetime | None = None
    end_at: datetime | None = None
    allocate_by: str = ""  # QTY | RATIO for a block order split among accounts; blank: all to the portfolio
    allocations: tuple[tuple[Account, Decimal], ...] = ()  # (account, target qty or ratio), in the PM's order

    def matches(self, order: ParentOrder) -> bool:
        given = [(account.pk, weight) for account, weight in self.allocations]
        stored = list(order.allocations.order_by("position").values_list("account_id", "weight"))
        return (
            order.allocate_by == self.allocate_by
            and given == stored
            and order.portfolio_id == self.portfolio.pk
            and order.instrument_id == self.instrument.pk
            and order.side == self.side
            and order.ord_type == self.ord_type
            and order.qty == self.qty
            and order.limit_px == self.limit_px
            and order.tif == self.tif
            and order.urgency == self.urgency
            and order.strategy == self.strategy
            and order.start_at == self.start_at
            and order.end_at == self.end_at
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


def parent_order_submit(
    *, user: Any, terms: OrderTerms, cl_ord_id: str = "", allow_duplicate: bool = False
) -> tuple[ParentOrder, bool]:
    """Validate, risk-check and store a new parent order, then start its execution once committed.

    Return ``(order, created)``. A retry with the same ``cl_ord_id`` and terms
    returns the first order and creates nothing; different terms raise
    ``OrderConflict``. A bad order, or one a pre-trade check refuses, raises
    ``OrderRejected`` and stores nothing; an accepted one logs every check's
    outcome (``RISK_CHECK``). ``allow_duplicate`` lets through an order
    identical to a recent one (the duplicate check). The checks are
    ``parent_order_check``'s: the order's own terms first, then the pre-trade
    risk checks under the portfolio's row lock (a malformed order never takes it).
    """
    if cl_ord_id:
        existing = _order_by_cl_ord_id(user, cl_ord_id)
        if existing is not None:
            return _retried(existing, terms, cl_ord_id), False
    errors = _terms_check(user=user, terms=terms)
    if errors:
        raise OrderRejected(errors)
    try:
        order = _parent_order_create(user=user, terms=terms, cl_ord_id=cl_ord_id, allow_duplicate=allow_duplicate)
    except IntegrityError:
        existing = _order_by_cl_ord_id(user, cl_ord_id) if cl_ord_id else None
        if existing is None:
            raise
        return _retried(existing, terms, cl_ord_id), False  # a concurrent retry won the race
    return order, True


@dataclass(frozen=True, slots=True)
class OrderCheck:
    """What ``parent_order_check`` found: the errors a submit would refuse with, and every pre-trade check's outcome.

    ``outcomes`` is empty when the order's own terms are wrong (tick, lot, strategy, ...): like a submit, the
    pre-trade checks then do not run. ``notional`` is the order's at its limit, or at ``reference_px`` for a
    MARKET order (None when neither is known or the size is not positive).
    """

    errors: list[FieldError]
    outcomes: list[CheckOutcome]
    reference_px: Decimal | None
    notional: Decimal | None

    @property
    def ok(self) -> bool:
        return not self.errors


def parent_order_check(*, user: Any, terms: OrderTerms, allow_duplicate: bool = False) -> OrderCheck:
    """Run every check a submit of ``terms`` runs (tick and lot, instrument active, allocations, the strategy's
    parameters, then the pre-trade risk checks against the reference price); store nothing.

    A submit runs the same two parts, the risk part under the portfolio's row lock, so two orders of one
    portfolio are checked one after the other; this check (the ticket's) takes no lock: what it reads may
    change before the order is sent.
    """
    errors = _terms_check(user=user, terms=terms)
    if errors:
        ref_px = reference_px(terms.instrument)
        return OrderCheck(errors=errors, outcomes=[], reference_px=ref_px, notional=_order_notional(terms, ref_px))
    return _risk_check(user=user, terms=terms, allow_duplicate=allow_duplicate)


def _risk_check(*, user: Any, terms: OrderTerms, allow_duplicate: bool) -> OrderCheck:
    """The pre-trade risk checks of terms already checked on their own, against the reference price now."""
    decision_px = reference_px(terms.instrument)
    outcomes = order_risk_check(
        terms=RiskTerms(terms.portfolio, terms.instrument, terms.side, terms.ord_type, terms.qty, terms.limit_px),
        trader=user,
        now=timezone.now(),
        ref_px=decision_px,
        allow_duplicate=allow_duplicate,
    )
    notional = _order_notional(terms, decision_px)
    return OrderCheck(errors=_risk_errors(outcomes), outcomes=outcomes, reference_px=decision_px, notional=notional)


def _terms_check(*, user: Any, terms: OrderTerms) -> list[FieldError]:
    """The order's own terms: size and price on the lot and tick, instrument active, allocations, strategy."""
    errors = order_check(
        qty=terms.qty,
        ord_type=terms.ord_type,
        limit_px=terms.limit_px,
        tick_size=terms.instrument.tick_size,
        lot_size=terms.instrument.lot_size,
    )
    if not terms.instrument.active:
        errors.append(FieldError("instrument", "inactive", f"instrument {terms.instrument.symbol} is not tradable"))
    errors += _allocations_check(terms)
    if not errors:
        draft = _draft(user=user, terms=terms, cl_ord_id="")
        errors += [FieldError(name, "invalid", reason) for name, reason in ports.execution.strategy_check(draft)]
    return errors


def _order_notional(terms: OrderTerms, ref_px: Decimal | None) -> Decimal | None:
    if terms.qty <= 0 or (terms.ord_type is OrdType.LIMIT and terms.limit_px is None):
        return None  # no order risk could price
    intent = OrderIntent(
        side=terms.side,
        ord_type=terms.ord_type,
        qty=terms.qty,
        limit_px=terms.limit_px if terms.ord_type is OrdType.LIMIT else None,
        ref_px=ref_px,
        multiplier=terms.instrument.multiplier,
        currency=terms.instrument.currency,
    )
    return order_notional(intent)


def _allocations_check(terms: OrderTerms) -> list[FieldError]:
    if not terms.allocations:
        return [FieldError("allocate_by", "no_allocations", "`allocate_by` needs `allocations`")] if terms.allocate_by else []
    if terms.allocate_by not in ("QTY", "RATIO"):
        return [FieldError("allocate_by", "required", "a block order's `allocations` need `allocate_by`: QTY or RATIO")]
    if terms.instrument.is_package:
        return [FieldError("allocations", "package", "a package order cannot be allocated: send one per account")]
    targets = [AllocationTarget(account.code, weight) for account, weight in terms.allocations]
    problems = allocation_check(targets, order_qty=terms.qty, lot=terms.instrument.lot_size, by=_BY[terms.allocate_by])
    return [FieldError("allocations", "invalid", problem) for problem in problems]


_BY: Final[dict[str, AllocationBy]] = {"QTY": "qty", "RATIO": "ratio"}


def _retried(order: ParentOrder, terms: OrderTerms, cl_ord_id: str) -> ParentOrder:
    if not terms.matches(order):
        raise OrderConflict(f"`cl_ord_id` {cl_ord_id!r} was already used for a different order (#{order.pk})")
    return order


def _order_by_cl_ord_id(user: Any, cl_ord_id: str) -> ParentOrder | None:
    return ParentOrder.objects.filter(created_by=user, cl_ord_id=cl_ord_id).first()


def _draft(*, user: Any, terms: OrderTerms, cl_ord_id: str) -> ParentOrder:
    """The order as it would be stored (unsaved)."""
    return ParentOrder(
        cl_ord_id=cl_ord_id,
        portfolio=terms.portfolio,
        instrument=terms.instrument,
        side=terms.side,
        ord_type=terms.ord_type,
        qty=terms.qty,
        limit_px=terms.limit_px,
        tif=terms.tif,
        urgency=terms.urgency,
        strategy=terms.strategy,
        strategy_params=terms.strategy_params,
        start_at=terms.start_at,
        end_at=terms.end_at,
        allocate_by=terms.allocate_by,
        status=OrdStatus.PENDING_NEW,
        created_by=user,
    )


@transaction.atomic
def _parent_order_create(*, user: Any, terms: OrderTerms, cl_ord_id: str, allow_duplicate: bool) -> ParentOrder:
    Portfolio.objects.select_for_update().get(pk=terms.portfolio.pk)  # orders of a portfolio are checked one at a time
    check = _risk_check(user=user, terms=terms, allow_duplicate=allow_duplicate)
    if not check.ok:
        _risk_refusal_log(check.outcomes)
        raise OrderRejected(check.errors)
    outcomes = check.outcomes
    order = _draft(user=user, terms=terms, cl_ord_id=cl_ord_id)
    order.decision_px = check.reference_px
    order.save()
    Allocation.objects.bulk_create(
        Allocation(parent=order, account=account, position=n, weight=weight)
        for n, (account, weight) in enumerate(terms.allocations, start=1)
    )
    order_event_append(
        parent=order,
        kind="SUBMITTED",
        actor=user.get_username(),
        status_after=OrdStatus.PENDING_NEW,
        data={
            "side": terms.side,
            "qty": terms.qty,
            "ord_type": terms.ord_type,
            "limit_px": terms.limit_px,
            "tif": terms.tif,
            "urgency": terms.urgency,
            "strategy": terms.strategy or "auto",
            "strategy_params": terms.strategy_params,
            "start_at": terms.start_at.isoformat() if terms.start_at else None,
            "end_at": terms.end_at.isoformat() if terms.end_at else None,
            **(
                {"allocate_by": terms.allocate_by, "allocations": [[a.code, format(w, "f")] for a, w in terms.allocations]}
                if terms.allocations
                else {}
            ),
        },
    )
    order_event_append(
        parent=order,
        kind="RISK_CHECK",
        actor="system:risk",
        reason=f"passed {len(outcomes)} pre-trade checks" if outcomes else "no pre-trade limit applies",
        data={"outcomes": outcomes_json(outcomes)},
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
    parent: ParentOrder,
    child_cl_ord_id: str,
    venue: str,
    exec_id: str,
    qty: Decimal,
    px: Decimal,
    fee: Decimal,
    liquidity: str,
    executed_at: datetime,
    actor: str,
    leg_px: Sequence[Decimal] = (),
    mid_px: Decimal | None = None,
) -> Fill | None:
    """Book one venue fill exactly once: the fill, the parent, the position and the cash.

    Return the new ``Fill``, or None when this (venue, exec_id) was booked before.
    ``parent`` comes locked by the caller (``ParentOrder.objects.locked()``) and
    is updated in place; this locks position, then portfolio. Raise ``Overfill``
    rather than book more than the parent's quantity.

    A package's fill (``parent.instrument.is_package``) books to each leg's
    position at ``leg_px``, which must make ``px`` exactly (``ValueError``
    otherwise, and nothing is booked); the package itself holds no position.
    ``mid_px`` is the market's mid as the fill is booked (TCA's benchmark for
    its effective spread), None when unknown.
    """
    if Fill.objects.filter(venue=venue, exec_id=exec_id).exists():
        return None
    if parent.filled_qty + qty > parent.qty:
        raise Overfill(f"fill {venue}:{exec_id} of {qty} would take order #{parent.pk} past its qty {parent.qty}")
    side = Side(parent.side)
    instrument = parent.instrument
    legs = list(instrument.legs.select_related("instrument")) if instrument.is_package else []
    leg_fills = (
        package_leg_fills(
            [LegTerms(Side(leg.side), leg.ratio, leg.instrument.multiplier) for leg in legs],
            side=side,
            qty=qty,
            px=px,
            multiplier=instrument.multiplier,
            leg_px=leg_px,
        )
        if legs
        else ()
    )
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
        mid_px=mid_px,
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
    if not legs:
        for portfolio_id, share, share_fee in _allocated(parent, fill):
            _position_book(portfolio_id=portfolio_id, instrument=instrument, side=side, qty=share, px=px, fee=share_fee)
    for number, (leg, booked) in enumerate(zip(legs, leg_fills, strict=True), start=1):
        FillLeg.objects.create(fill=fill, leg_no=number, instrument=leg.instrument, side=booked.side, qty=booked.qty, px=booked.px)
        _position_book(
            portfolio_id=parent.portfolio_id,
            instrument=leg.instrument,
            side=booked.side,
            qty=booked.qty,
            px=booked.px,
            fee=fee if number == 1 else ZERO,
        )
    return fill  # the EMS publishes the fill with the order, once the report is applied


def _allocated(parent: ParentOrder, fill: Fill) -> list[tuple[int, Decimal, Decimal]]:
    """Split a fill among the block's accounts (``oms.core.allocation``): (portfolio id, qty, fee) for each share.

    An order with no allocations books whole to its portfolio. Locks the allocations (under the parent's lock).
    """
    rows = list(parent.allocations.select_for_update().select_related("account").order_by("position"))
    if not rows:
        return [(parent.portfolio_id, fill.qty, fill.fee)]
    shares = allocate_fill(
        [AllocationTarget(row.account.code, row.weight) for row in rows],
        allocated={row.account.code: row.allocated_qty for row in rows},
        fill_qty=fill.qty,
        lot=parent.instrument.lot_size,
    )
    fees = split_fee(shares, fee=fill.fee)
    booked = []
    for row in rows:
        share = shares[row.account.code]
        if not share:
            continue
        FillAllocation.objects.create(fill=fill, account=row.account, qty=share, fee=fees[row.account.code])
        row.allocated_qty += share
        row.save(update_fields=["allocated_qty"])
        booked.append((row.account.portfolio_id, share, fees[row.account.code]))
    return booked


def _position_book(*, portfolio_id: int, instrument: Instrument, side: Side, qty: Decimal, px: Decimal, fee: Decimal) -> None:
    position, _ = Position.objects.select_for_update().get_or_create(portfolio_id=portfolio_id, instrument=instrument)
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
    portfolio = Portfolio.objects.select_for_update().get(pk=portfolio_id)
    portfolio.cash = cash_after_fill(portfolio.cash, side=side, qty=qty, px=px, multiplier=instrument.multiplier, fee=fee)
    portfolio.save(update_fields=["cash"])


# --- cancel and amend ---------------------------------------------------------------------------


class OrderStateError(Exception):
    """The order's state does not allow the request now (409)."""


_AMENDABLE = ("qty", "limit_px", "urgency", "end_at")


@transaction.atomic
def parent_order_cancel(*, parent_id: int, actor: str, reason: str = "") -> ParentOrder:
    """Ask for the parent's cancel: PENDING_CANCEL now; the EMS cancels the children and finishes it. Idempotent.

    Raise ``OrderStateError`` for an order already done or with an amend in progress.
    """
    parent = ParentOrder.objects.locked().get(pk=parent_id)
    status = OrdStatus(parent.status)
    if status is OrdStatus.PENDING_CANCEL:
        return parent
    if status.is_terminal:
        raise OrderStateError(f"order #{parent.pk} is {status.lower()}: nothing to cancel")
    if status is OrdStatus.PENDING_REPLACE:
        raise OrderStateError(f"order #{parent.pk} has an amend in progress: cancel once it is done")
    parent_order_transition(parent=parent, event=OrdEvent.CANCEL_REQUEST, actor=actor, reason=reason or "cancel requested")
    transaction.on_commit(lambda: ports.execution.cancel(parent_id, actor))
    return parent


def parent_order_cancel_finish(*, parent: ParentOrder) -> None:
    """Cancel ``parent`` now that none of its children works; the caller holds its row lock."""
    parent_order_transition(
        parent=parent, event=OrdEvent.CANCEL, actor="system:oms", reason=f"cancelled with {parent.filled_qty} filled"
    )


@transaction.atomic
def parent_order_amend(*, parent_id: int, actor: str, changes: dict[str, Any]) -> ParentOrder:
    """Ask to change the parent's qty, limit, urgency or end time; the EMS pulls the children back, then it applies.

    Check the changes against the order (lot, tick, already filled, end in the
    future); raise ``OrderRejected`` (nothing changed) or ``OrderStateError``.
    """
    parent = ParentOrder.objects.locked().get(pk=parent_id)
    status = OrdStatus(parent.status)
    if status.is_terminal or status in (OrdStatus.PENDING_CANCEL, OrdStatus.PENDING_REPLACE, OrdStatus.PENDING_NEW):
        raise OrderStateError(f"order #{parent.pk} is {status.lower()}: it cannot be amended now")
    errors = _amend_check(parent, changes)
    if not errors and ("qty" in changes or "limit_px" in changes):
        errors = _amend_risk_check(parent, changes)
    if errors:
        raise OrderRejected(errors)
    before = OrdStatus(parent.status)
    parent.status = next_status(before, OrdEvent.REPLACE_REQUEST, has_fills=parent.filled_qty > 0)
    parent.save(update_fields=["status", "updated_at"])
    order_event_append(
        parent=parent,
        kind="REPLACE_REQUEST",
        actor=actor,
        status_before=before,
        status_after=parent.status,
        reason="amend requested",
        data={k: _wire(v) for k, v in changes.items()},
    )
    transaction.on_commit(lambda: ports.execution.amend(parent_id, actor))
    return parent


def _risk_errors(outcomes: list[CheckOutcome]) -> list[FieldError]:
    failures = [outcome for outcome in outcomes if not outcome.passed]
    return [FieldError(RISK_FIELDS.get(f.check, "non_field_errors"), f.check.value, f.message) for f in failures]


def _risk_refusal_log(outcomes: list[CheckOutcome]) -> None:
    """Log a refusal by pre-trade risk (a submit's or an amend's; not a ticket's check, asked at every keystroke)."""
    failures = [outcome for outcome in outcomes if not outcome.passed]
    if failures:
        logger.info("refused by pre-trade risk: %s", "; ".join(f"{f.check}: {f.message}" for f in failures))


def _amend_risk_check(parent: ParentOrder, changes: dict[str, Any]) -> list[FieldError]:
    """The pre-trade checks on the amended terms (a bigger size or a new limit must pass them like a new order)."""
    portfolio = Portfolio.objects.select_for_update().get(pk=parent.portfolio_id)
    terms = RiskTerms(
        portfolio,
        parent.instrument,
        Side(parent.side),
        OrdType(parent.ord_type),
        changes.get("qty", parent.qty),
        changes.get("limit_px", parent.limit_px),
    )
    outcomes = order_risk_check(
        terms=terms, trader=parent.created_by, now=timezone.now(), ref_px=reference_px(parent.instrument), replacing=parent
    )
    _risk_refusal_log(outcomes)
    return _risk_errors(outcomes)


def _wire(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return format(plain(value), "f") if isinstance(value, Decimal) else value


def _amend_check(parent: ParentOrder, changes: dict[str, Any]) -> list[FieldError]:
    unknown = sorted(set(changes) - set(_AMENDABLE))
    if unknown:
        return [FieldError(unknown[0], "not_amendable", f"`{unknown[0]}` cannot be amended (amendable: {', '.join(_AMENDABLE)})")]
    if not changes:
        return [FieldError("non_field_errors", "empty", "nothing to amend: give qty, limit_px, urgency or end_at")]
    qty = changes.get("qty", parent.qty)
    limit_px = changes.get("limit_px", parent.limit_px)
    errors = order_check(
        qty=qty,
        ord_type=OrdType(parent.ord_type),
        limit_px=limit_px,
        tick_size=parent.instrument.tick_size,
        lot_size=parent.instrument.lot_size,
    )
    if "qty" in changes and parent.allocate_by == "QTY":
        errors.append(
            FieldError("qty", "allocated", "a block allocated by quantity keeps its qty: cancel it and send the new split")
        )
    if "qty" in changes and not errors and qty <= parent.filled_qty:
        errors.append(FieldError("qty", "below_filled", f"invalid `qty`, was {qty}: {plain(parent.filled_qty)} is already filled"))
    end_at = changes.get("end_at")
    if end_at is not None and end_at <= timezone.now():
        errors.append(FieldError("end_at", "past", f"invalid `end_at`, was {end_at.isoformat()}: must be in the future"))
    return errors


def parent_order_amend_finish(*, parent: ParentOrder) -> dict[str, Any] | None:
    """Apply the pending amend now that no child works; return the changes, or None when fills made it void.

    The caller holds the parent's row lock.
    """
    covered = instruments_covering(parent.instrument)
    kill = kill_switch_covering(portfolio=parent.portfolio, instrument_ids=covered, trader=parent.created_by)
    if kill is not None:  # engaged while the amend pulled the children back: cancel, as it cancelled the rest
        parent_order_transition(
            parent=parent, event=OrdEvent.CANCEL, actor="system:risk", reason=f"kill switch {kill.target_label}: {kill.reason}"
        )
        return None
    request = parent.events.filter(kind="REPLACE_REQUEST").order_by("-id").first()
    changes: dict[str, Any] = dict(request.data) if request else {}
    if "qty" in changes and Decimal(changes["qty"]) <= parent.filled_qty:
        parent_order_transition(
            parent=parent,
            event=OrdEvent.REPLACE_REJECT,
            actor="system:oms",
            reason=f"amend refused: {parent.filled_qty} filled meanwhile, not below the new qty {changes['qty']}",
        )
        return None
    if "qty" in changes:
        parent.qty = Decimal(changes["qty"])
    if "limit_px" in changes:
        parent.limit_px = Decimal(changes["limit_px"])
    if "urgency" in changes:
        parent.urgency = Urgency(changes["urgency"])
    if "end_at" in changes:
        parent.end_at = datetime.fromisoformat(changes["end_at"])
    before = OrdStatus(parent.status)
    parent.status = next_status(before, OrdEvent.REPLACE, has_fills=parent.filled_qty > 0)
    parent.save()
    order_event_append(
        parent=parent,
        kind="REPLACED",
        actor="system:oms",
        status_before=before,
        status_after=parent.status,
        reason="amend applied: " + ", ".join(f"{k} {v}" for k, v in changes.items()),
        data=changes,
    )
    parent_id = parent.pk
    transaction.on_commit(lambda: ports.execution.publish(parent_id))
    return changes
