"""A simulated lit exchange: one order book per listed instrument, fees, a session, FIX reports.

Pure core. Client orders arrive as wire messages (``NewOrder``,
``CancelRequest``, ``ReplaceRequest``) and every call returns the reports it
caused, in order. The background market trades here too, through ``agent_*``
with integer prices and lots; when its orders fill ours, those calls return our
reports. Every trade is also printed to ``prints`` for the tape.

A request is checked before it touches a book: a reject (with a ``RejectCode``)
changes nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import count

from trading.enums import ExecType, Liquidity, OrdType, Side, TimeInForce
from trading.messages import CancelRequest, ExecutionReport, NewOrder, ReplaceRequest
from trading.numbers import ZERO
from trading.states import OrdStatus
from venues.sim.book import Fill, Order, OrderBook, Outcome
from venues.sim.clients import CLIENT, ClientOrder, ClientOrders, Message, RejectCode, order_check
from venues.sim.params import SessionState
from venues.sim.ticks import REG_NMS, Grid, TickTable


@dataclass(frozen=True, slots=True)
class Listing:
    """What a venue needs to know of an instrument."""

    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    ref_px: Decimal


@dataclass(frozen=True, slots=True)
class VenueSpec:
    code: str
    maker_fee: Decimal = ZERO  # per share; negative is a rebate
    taker_fee: Decimal = ZERO  # per share
    latency_ns: int = 0  # from our send to the venue's acknowledgement
    tick_table: TickTable = REG_NMS
    weight: Decimal = Decimal(1)  # the venue's share of the background market's liquidity, relative


@dataclass(frozen=True, slots=True)
class Print:
    """A trade on the tape."""

    venue: str
    symbol: str
    px: Decimal
    qty: Decimal
    aggressor: Side | None  # None: the venue does not say (a dark cross)


@dataclass(slots=True)
class Market:
    listing: Listing
    grid: Grid
    book: OrderBook = field(default_factory=OrderBook)


class LitVenue:
    def __init__(self, spec: VenueSpec, *, clock: Callable[[], datetime], session: str) -> None:
        self.spec = spec
        self.code = spec.code
        self.state = SessionState.OPEN
        self.markets: dict[str, Market] = {}
        self.clients = ClientOrders(spec.code, session=session, clock=clock)
        self.prints: list[Print] = []
        # Told of every fill, ours or not: the simulator's market makers and impact model listen.
        self.fill_listener: Callable[[LitVenue, str, Fill], None] | None = None
        self._ids = count(1)

    def list_instrument(self, listing: Listing) -> Market:
        """Start trading ``listing`` here; return its market (the existing one when already listed)."""
        market = self.markets.get(listing.symbol)
        if market is None:
            grid = Grid(self.spec.tick_table, tick=listing.tick_size, lot=listing.lot_size)
            market = self.markets[listing.symbol] = Market(listing, grid, OrderBook(listing.symbol))
        return market

    def next_id(self) -> int:
        return next(self._ids)

    @property
    def is_open(self) -> bool:
        return self.state is SessionState.OPEN

    # --- client requests ----------------------------------------------

    def submit(self, msg: NewOrder) -> list[Message]:
        """Accept or reject ``msg`` and match it; return every report it causes."""
        if self.clients.knows(msg.cl_ord_id):
            return [self.clients.reject_new(msg, RejectCode.DUPLICATE_CL_ORD_ID, f"duplicate `cl_ord_id` {msg.cl_ord_id!r}")]
        rejected = self._check_new(msg)
        if rejected is not None:
            return [self.clients.reject_new(msg, *rejected)]
        market = self.markets[msg.symbol]
        grid = market.grid
        book_id = self.next_id()
        client = self.clients.open(msg, book_id)
        order = Order(
            book_id,
            msg.side,
            None if msg.ord_type is OrdType.MARKET or msg.limit_px is None else grid.px_int(msg.limit_px),
            grid.qty_int(msg.qty),
            owner=CLIENT,
            tif=TimeInForce.IOC if msg.ord_type is OrdType.MARKET and msg.tif is not TimeInForce.FOK else msg.tif,
            peak=grid.qty_int(msg.display_qty) if msg.display_qty else 0,
            min_qty=grid.qty_int(msg.min_qty) if msg.min_qty else 0,
            post_only=msg.post_only,
            stp=msg.stp,
        )
        client.book_qty = order.qty
        self.clients.by_book_id[book_id] = client
        reports: list[Message] = [self.clients.report(client, ExecType.NEW, OrdStatus.NEW)]
        reports += self._outcome(market, order, market.book.add(order))
        return reports

    def cancel(self, req: CancelRequest) -> list[Message]:
        client = self.clients.get(req.orig_cl_ord_id)
        refused = self._check_amend(req.cl_ord_id, req.orig_cl_ord_id, client)
        if refused is not None:
            return [refused]
        assert client is not None
        self.markets[client.msg.symbol].book.cancel(client.book_id)
        self.clients.rename(client, req.cl_ord_id)
        return [self.clients.end(client, ExecType.CANCELED, text="cancelled on request", orig=req.orig_cl_ord_id)]

    def replace(self, req: ReplaceRequest) -> list[Message]:
        """Change a working order's total qty and limit price; a new price or more size loses priority."""
        client = self.clients.get(req.orig_cl_ord_id)
        refused = self._check_amend(req.cl_ord_id, req.orig_cl_ord_id, client) or self._check_tradable(
            req.cl_ord_id, req.orig_cl_ord_id
        )
        if refused is not None:
            return [refused]
        assert client is not None
        market = self.markets[client.msg.symbol]
        grid = market.grid

        def refuse(code: RejectCode, text: str) -> list[Message]:
            return [self._cancel_reject(req.cl_ord_id, req.orig_cl_ord_id, code, text)]

        if (req.limit_px is None) != (client.limit_px is None):
            return refuse(RejectCode.UNSUPPORTED, "a replace cannot change the order type")
        if not grid.on_lot(req.qty):
            return refuse(
                RejectCode.NOT_LOT_MULTIPLE, f"invalid `qty`, was {req.qty}: not a positive multiple of the lot {grid.lot}"
            )
        if req.qty <= client.cum_qty:
            return refuse(RejectCode.INVALID_QTY, f"invalid `qty`, was {req.qty}: at or below the filled {client.cum_qty}")
        if req.limit_px is not None and not grid.on_tick(req.limit_px):
            return refuse(
                RejectCode.OFF_TICK, f"invalid `limit_px`, was {req.limit_px}: not on the tick {grid.tick_at(req.limit_px)}"
            )
        book_order = market.book.get(client.book_id)
        assert book_order is not None  # a working client order is in its book
        # The book counts from the order's last entry; FIX counts from the first.
        book_total = grid.qty_int(req.qty - client.cum_qty) + book_order.filled
        new_px = book_order.px if req.limit_px is None else grid.px_int(req.limit_px)
        assert new_px is not None
        replaced = market.book.replace(client.book_id, qty=book_total, px=new_px)
        assert replaced is not None
        order, outcome = replaced
        old = client.cl_ord_id
        self.clients.rename(client, req.cl_ord_id)
        client.qty = req.qty
        client.limit_px = req.limit_px
        client.book_qty = order.qty
        reports: list[Message] = [
            self.clients.report(client, ExecType.REPLACED, self.clients.status(client), text="replaced", orig=old)
        ]
        reports += self._outcome(market, order, outcome)
        return reports

    def _check_new(self, msg: NewOrder) -> tuple[RejectCode, str] | None:
        market = self.markets.get(msg.symbol)
        if market is None:
            return RejectCode.UNKNOWN_SYMBOL, f"unknown symbol {msg.symbol!r}"
        problem = order_check(msg, market.grid, venue=self.code, state=self.state, sizes=("min_qty", "display_qty"))
        if problem is not None:
            return problem
        if msg.ord_type is OrdType.MARKET and (msg.post_only or msg.display_qty):
            return RejectCode.UNSUPPORTED, "a market order cannot be post-only or an iceberg"
        if msg.peg is not None:
            return RejectCode.UNSUPPORTED, "pegged orders are for dark pools"
        return None

    def _check_amend(self, cl_ord_id: str, orig_cl_ord_id: str, client: ClientOrder | None) -> Message | None:
        if client is None:
            return self._cancel_reject(cl_ord_id, orig_cl_ord_id, RejectCode.UNKNOWN_ORDER, f"unknown order {orig_cl_ord_id!r}")
        if client.done or client.cl_ord_id != orig_cl_ord_id:
            text = f"order {orig_cl_ord_id!r} is no longer working"
            return self._cancel_reject(cl_ord_id, orig_cl_ord_id, RejectCode.TOO_LATE, text)
        if self.clients.knows(cl_ord_id):
            text = f"duplicate `cl_ord_id` {cl_ord_id!r}"
            return self._cancel_reject(cl_ord_id, orig_cl_ord_id, RejectCode.DUPLICATE_CL_ORD_ID, text)
        if self.state is SessionState.CLOSED:
            return self._cancel_reject(cl_ord_id, orig_cl_ord_id, RejectCode.VENUE_CLOSED, f"{self.code} is closed")
        return None

    def _check_tradable(self, cl_ord_id: str, orig_cl_ord_id: str) -> Message | None:
        """A replace may trade, so it needs an open venue; a cancel does not."""
        if not self.is_open:
            text = f"{self.code} is {self.state.lower()}"
            return self._cancel_reject(cl_ord_id, orig_cl_ord_id, RejectCode.VENUE_CLOSED, text)
        return None

    def _cancel_reject(self, cl_ord_id: str, orig_cl_ord_id: str, code: RejectCode, text: str) -> Message:
        return self.clients.cancel_reject(cl_ord_id=cl_ord_id, orig_cl_ord_id=orig_cl_ord_id, code=code, text=text)

    # --- the background market ----------------------------------------

    def agent_add(self, symbol: str, order: Order) -> tuple[Outcome, list[Message]]:
        """Enter a background order (ids from ``next_id``); return what it did and our reports it caused."""
        market = self.markets[symbol]
        if not self.is_open:
            order.live = False
            return Outcome([], [order], []), []
        outcome = market.book.add(order)
        return outcome, self._outcome(market, order, outcome)

    def agent_cancel(self, symbol: str, order_id: int) -> None:
        self.markets[symbol].book.cancel(order_id)

    # --- sessions -----------------------------------------------------

    def set_state(self, state: SessionState) -> None:
        """Open, halt or close the venue; halted and closed books keep their orders but do not trade."""
        self.state = state

    def expire(self, tifs: tuple[TimeInForce, ...] = (TimeInForce.DAY,)) -> list[Message]:
        """End the trading day: take out every order with one of ``tifs``; report ours EXPIRED."""
        reports: list[Message] = []
        for market in self.markets.values():
            for order in market.book.clear(tifs):
                client = self.clients.by_book_id.get(order.order_id)
                if client is not None:
                    reports.append(self.clients.end(client, ExecType.EXPIRED, text="end of the trading day"))
        return reports

    # --- market data --------------------------------------------------

    def depth(self, symbol: str, side: Side, levels: int = 10) -> list[tuple[Decimal, Decimal, int]]:
        market = self.markets[symbol]
        grid = market.grid
        return [(grid.px(px), grid.qty(qty), n) for px, qty, n in market.book.depth(side, levels)]

    # --- internals ----------------------------------------------------

    def _outcome(self, market: Market, order: Order, outcome: Outcome) -> list[Message]:
        reports: list[Message] = []
        clients = self.clients.by_book_id
        grid = market.grid
        # Shrunk orders first, so the fills that follow report against the smaller quantity.
        for shrunk in outcome.restated:
            client = clients.get(shrunk.order_id)
            if client is not None and shrunk.qty < client.book_qty:
                client.qty -= grid.qty(client.book_qty - shrunk.qty)
                client.book_qty = shrunk.qty
                status = self.clients.status(client)
                text = "self-trade prevention: decremented"
                reports.append(self.clients.report(client, ExecType.RESTATED, status, text=text))
        listener = self.fill_listener
        for fill in outcome.fills:
            self.prints.append(Print(self.code, market.listing.symbol, grid.px(fill.px), grid.qty(fill.qty), fill.aggressor.side))
            if listener is not None:
                listener(self, market.listing.symbol, fill)
            if clients:
                reports += self._fill_reports(market, fill)
        for gone in outcome.cancelled:
            client = clients.get(gone.order_id)
            if client is not None:
                reason = gone.reason or ""
                reports.append(self.clients.end(client, ExecType.CANCELED, text=_CANCEL_TEXT.get(reason, reason), reason=reason))
        return reports

    def _fill_reports(self, market: Market, fill: Fill) -> list[ExecutionReport]:
        reports = []
        grid = market.grid
        for book_order, liquidity in ((fill.aggressor, Liquidity.REMOVED), (fill.passive, Liquidity.ADDED)):
            client = self.clients.by_book_id.get(book_order.order_id)
            if client is not None:
                fee_rate = self.spec.maker_fee if liquidity is Liquidity.ADDED else self.spec.taker_fee
                reports.append(
                    self.clients.fill(client, qty=grid.qty(fill.qty), px=grid.px(fill.px), fee_rate=fee_rate, liquidity=liquidity)
                )
        return reports


_CANCEL_TEXT = {
    "IOC_REMAINDER": "immediate-or-cancel: remainder cancelled",
    "FOK_UNFILLED": "fill-or-kill: not enough liquidity",
    "MIN_QTY_UNAVAILABLE": "minimum quantity not available",
    "POST_ONLY_WOULD_TAKE": "post-only order would take liquidity",
    "NO_LIQUIDITY": "market order: no more liquidity",
    "SELF_TRADE": "self-trade prevention",
}
