"""Our orders at a simulated venue: their FIX state and the execution reports that tell it.

Lit venues and dark pools share this. Only client orders get reports: the
background market's orders are anonymous liquidity. Each order's reports carry
``seq`` from 1 without gaps, so the EMS applies them exactly once and in order;
the invariant ``qty == cum_qty + leaves_qty`` holds on every report of a
working order (terminal reports have no leaves).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from itertools import count

from trading.enums import ExecType, Liquidity, OrdType
from trading.messages import CancelReject, ExecutionReport, NewOrder
from trading.numbers import ZERO, avg_px, quantize_money
from trading.states import OrdStatus
from venues.sim.params import SessionState
from venues.sim.ticks import Grid

CLIENT = "client"

Message = ExecutionReport | CancelReject


class RejectCode(StrEnum):
    """Why a venue refused an order, a cancel or a replace (FIX OrdRejReason / CxlRejReason in spirit)."""

    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    OFF_TICK = "OFF_TICK"
    INVALID_QTY = "INVALID_QTY"
    NOT_LOT_MULTIPLE = "NOT_LOT_MULTIPLE"
    INVALID_PRICE = "INVALID_PRICE"
    VENUE_CLOSED = "VENUE_CLOSED"
    DUPLICATE_CL_ORD_ID = "DUPLICATE_CL_ORD_ID"
    UNKNOWN_ORDER = "UNKNOWN_ORDER"
    TOO_LATE = "TOO_LATE"
    UNSUPPORTED = "UNSUPPORTED"


def order_check(
    msg: NewOrder, grid: Grid, *, venue: str, state: SessionState, sizes: tuple[str, ...]
) -> tuple[RejectCode, str] | None:
    """Return why a venue in ``state`` refuses ``msg`` on its own terms, or None.

    The checks every venue makes: open, size on the lot, the optional ``sizes``
    (``min_qty``, ``display_qty``) lot multiples up to the qty, a limit on the tick.
    """
    if state is not SessionState.OPEN:
        return RejectCode.VENUE_CLOSED, f"{venue} is {state.lower()}"
    if msg.qty <= 0:
        return RejectCode.INVALID_QTY, f"invalid `qty`, was {msg.qty}: must be positive"
    if not grid.on_lot(msg.qty):
        return RejectCode.NOT_LOT_MULTIPLE, f"invalid `qty`, was {msg.qty}: not a multiple of the lot {grid.lot}"
    for name in sizes:
        value = getattr(msg, name)
        if value and (not grid.on_lot(value) or value > msg.qty):
            return RejectCode.INVALID_QTY, f"invalid `{name}`, was {value}: a lot multiple up to the qty {msg.qty}"
    if msg.ord_type is OrdType.LIMIT:
        if msg.limit_px is None or msg.limit_px <= 0:
            return RejectCode.INVALID_PRICE, f"invalid `limit_px`, was {msg.limit_px}: a limit order needs a positive price"
        if not grid.on_tick(msg.limit_px):
            return RejectCode.OFF_TICK, f"invalid `limit_px`, was {msg.limit_px}: not on the tick {grid.tick_at(msg.limit_px)}"
    return None


@dataclass(slots=True)
class ClientOrder:
    msg: NewOrder
    cl_ord_id: str  # the current one: a replace gives the order a new one
    venue_order_id: str
    book_id: int
    qty: Decimal  # current total; a replace or a self-trade decrement changes it
    limit_px: Decimal | None
    book_qty: int = 0  # the book order's qty in lots, as last reported (self-trade decrements lower it)
    seq: int = 0
    cum_qty: Decimal = ZERO
    notional: Decimal = ZERO
    done: bool = False

    @property
    def leaves_qty(self) -> Decimal:
        return ZERO if self.done else self.qty - self.cum_qty


class ClientOrders:
    """The venue's register of our orders, by ``cl_ord_id`` (every one ever used) and by book id."""

    def __init__(self, venue: str, *, session: str, clock: Callable[[], datetime]) -> None:
        self.venue = venue
        self._session = session
        self._clock = clock
        self._by_cl_ord_id: dict[str, ClientOrder] = {}
        self.by_book_id: dict[int, ClientOrder] = {}
        self._exec_ids = count(1)

    def knows(self, cl_ord_id: str) -> bool:
        return cl_ord_id in self._by_cl_ord_id

    def get(self, cl_ord_id: str) -> ClientOrder | None:
        return self._by_cl_ord_id.get(cl_ord_id)

    def open(self, msg: NewOrder, book_id: int) -> ClientOrder:
        order = ClientOrder(msg, msg.cl_ord_id, f"{self.venue}-{self._session}-O{book_id}", book_id, msg.qty, msg.limit_px)
        self._by_cl_ord_id[msg.cl_ord_id] = order
        return order

    def rename(self, order: ClientOrder, cl_ord_id: str) -> None:
        self._by_cl_ord_id[cl_ord_id] = order
        order.cl_ord_id = cl_ord_id

    def working(self) -> list[ClientOrder]:
        return [order for order in self.by_book_id.values() if not order.done]

    # --- reports ------------------------------------------------------

    def fill(self, order: ClientOrder, *, qty: Decimal, px: Decimal, fee_rate: Decimal, liquidity: Liquidity) -> ExecutionReport:
        order.cum_qty += qty
        order.notional += qty * px
        done = order.cum_qty == order.qty
        if done:
            self._finish(order)
        return self.report(
            order,
            ExecType.TRADE,
            OrdStatus.FILLED if done else OrdStatus.PARTIALLY_FILLED,
            last_qty=qty,
            last_px=px,
            fee=quantize_money(qty * fee_rate),
            liquidity=liquidity,
        )

    def end(self, order: ClientOrder, exec_type: ExecType, *, text: str, reason: str = "", orig: str = "") -> ExecutionReport:
        """Report the order's end without a fill: CANCELED, EXPIRED or REJECTED."""
        self._finish(order)
        status = {
            ExecType.CANCELED: OrdStatus.CANCELED,
            ExecType.EXPIRED: OrdStatus.EXPIRED,
            ExecType.REJECTED: OrdStatus.REJECTED,
        }[exec_type]
        return self.report(order, exec_type, status, text=text, reason=reason, orig=orig)

    def status(self, order: ClientOrder) -> OrdStatus:
        return OrdStatus.PARTIALLY_FILLED if order.cum_qty else OrdStatus.NEW

    def report(
        self,
        order: ClientOrder,
        exec_type: ExecType,
        ord_status: OrdStatus,
        *,
        last_qty: Decimal = ZERO,
        last_px: Decimal = ZERO,
        fee: Decimal = ZERO,
        liquidity: Liquidity | None = None,
        text: str = "",
        reason: str = "",
        orig: str = "",
    ) -> ExecutionReport:
        order.seq += 1
        return ExecutionReport(
            venue=self.venue,
            cl_ord_id=order.cl_ord_id,
            venue_order_id=order.venue_order_id,
            exec_id=f"{self.venue}-{self._session}-E{next(self._exec_ids)}",
            seq=order.seq,
            exec_type=exec_type,
            ord_status=ord_status,
            symbol=order.msg.symbol,
            side=order.msg.side,
            last_qty=last_qty,
            last_px=last_px,
            cum_qty=order.cum_qty,
            leaves_qty=order.leaves_qty,
            avg_px=avg_px(qty=order.cum_qty, notional=order.notional),
            fee=fee,
            liquidity=liquidity,
            text=text,
            transact_time=self._clock().isoformat(),
            orig_cl_ord_id=orig,
            reason=reason,
        )

    def reject_new(self, msg: NewOrder, code: RejectCode, text: str) -> ExecutionReport:
        """Reject an order that never reached a book; a duplicate id does not disturb the original."""
        order = ClientOrder(msg, msg.cl_ord_id, "", 0, msg.qty, msg.limit_px)
        if not self.knows(msg.cl_ord_id):
            self._by_cl_ord_id[msg.cl_ord_id] = order
        return self.end(order, ExecType.REJECTED, text=text, reason=code)

    def cancel_reject(self, *, cl_ord_id: str, orig_cl_ord_id: str, code: RejectCode, text: str) -> CancelReject:
        return CancelReject(
            venue=self.venue,
            cl_ord_id=cl_ord_id,
            orig_cl_ord_id=orig_cl_ord_id,
            reason=code,
            text=text,
            transact_time=self._clock().isoformat(),
        )

    def _finish(self, order: ClientOrder) -> None:
        order.done = True
        self.by_book_id.pop(order.book_id, None)
