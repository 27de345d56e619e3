"""A simulated dark pool: no displayed book, crosses priced off the lit NBBO.

Pure core. Each order is pegged to the NBBO (MID by default; NEAR is the bid
for a buy and the ask for a sell, FAR the other way round) and capped by its
limit, if any. A buy and a sell cross when the buy's pegged price reaches the
sell's; they trade at the midpoint when both accept it, otherwise at the
resting order's pegged price. Rules a pool's users rely on:

- no cross while the lit market is locked or crossed, or one side is missing;
- each order's ``min_qty`` is the smallest execution it accepts (a remainder
  smaller than that must fill whole);
- time priority among resting orders; IOC orders never rest;
- nothing is displayed: ``depth`` does not exist here.

The pool re-checks its resting orders whenever the market tells it the NBBO has
moved (``set_nbbo``).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import count

from trading.enums import ExecType, Liquidity, OrdType, Peg, Side, TimeInForce
from trading.messages import CancelRequest, NewOrder, ReplaceRequest
from trading.numbers import ZERO
from trading.states import OrdStatus
from venues.sim.clients import CLIENT, ClientOrders, Message, RejectCode, order_check
from venues.sim.lit import Listing, Print, VenueSpec
from venues.sim.params import SessionState
from venues.sim.ticks import Grid

TWO = Decimal(2)


@dataclass(slots=True)
class DarkOrder:
    order_id: int
    side: Side
    qty: Decimal
    limit_px: Decimal | None = None
    peg: Peg = Peg.MID
    min_qty: Decimal = ZERO
    tif: TimeInForce = TimeInForce.DAY
    owner: str = ""
    leaves: Decimal = field(init=False)
    live: bool = True

    def __post_init__(self) -> None:
        self.leaves = self.qty

    def pegged_px(self, bid: Decimal, ask: Decimal) -> Decimal:
        """Return the best price this order accepts against the NBBO ``bid``/``ask``."""
        buy = self.side is Side.BUY
        if self.peg is Peg.MID:
            px = (bid + ask) / TWO
        elif (self.peg is Peg.NEAR) == buy:
            px = bid
        else:
            px = ask
        if self.limit_px is not None:
            px = min(px, self.limit_px) if buy else max(px, self.limit_px)
        return px

    def smallest_fill(self) -> Decimal:
        return min(self.min_qty, self.leaves) if self.min_qty else ZERO


@dataclass(slots=True)
class _Pool:
    listing: Listing
    grid: Grid
    resting: list[DarkOrder] = field(default_factory=list)  # time priority
    bid: Decimal | None = None
    ask: Decimal | None = None

    def can_cross(self) -> bool:
        return self.bid is not None and self.ask is not None and self.bid < self.ask


class DarkPool:
    def __init__(self, spec: VenueSpec, *, clock: Callable[[], datetime], session: str) -> None:
        self.spec = spec
        self.code = spec.code
        self.state = SessionState.OPEN
        self.pools: dict[str, _Pool] = {}
        self.clients = ClientOrders(spec.code, session=session, clock=clock)
        self.prints: list[Print] = []
        self._ids = count(1)
        # told of each client fill (symbol, side, shares): the market moves fair value for the clients' flow
        self.fill_listener: Callable[[str, Side, Decimal], None] | None = None

    def list_instrument(self, listing: Listing) -> None:
        if listing.symbol not in self.pools:
            self.pools[listing.symbol] = _Pool(listing, Grid(self.spec.tick_table, tick=listing.tick_size, lot=listing.lot_size))

    def next_id(self) -> int:
        return next(self._ids)

    def set_state(self, state: SessionState) -> None:
        self.state = state

    def resting(self, symbol: str) -> list[DarkOrder]:
        """Return the live resting orders (for tests and the operator; never published)."""
        return [order for order in self.pools[symbol].resting if order.live]

    # --- the lit market -------------------------------------------------

    def set_nbbo(self, symbol: str, bid: Decimal | None, ask: Decimal | None) -> list[Message]:
        """Take the lit NBBO for ``symbol``; cross resting orders that now meet; return our reports."""
        pool = self.pools.get(symbol)
        if pool is None or (pool.bid == bid and pool.ask == ask):
            return []
        pool.bid, pool.ask = bid, ask
        reports: list[Message] = []
        if not pool.can_cross() or self.state is not SessionState.OPEN:
            return reports
        for order in list(pool.resting):
            if order.live:
                reports += self._match(pool, order, incoming=False)
        pool.resting = [order for order in pool.resting if order.live]
        return reports

    # --- client requests ----------------------------------------------

    def submit(self, msg: NewOrder) -> list[Message]:
        if self.clients.knows(msg.cl_ord_id):
            return [self.clients.reject_new(msg, RejectCode.DUPLICATE_CL_ORD_ID, f"duplicate `cl_ord_id` {msg.cl_ord_id!r}")]
        rejected = self._check_new(msg)
        if rejected is not None:
            return [self.clients.reject_new(msg, *rejected)]
        order = DarkOrder(
            self.next_id(),
            msg.side,
            msg.qty,
            limit_px=msg.limit_px if msg.ord_type is OrdType.LIMIT else None,
            peg=msg.peg or Peg.MID,
            min_qty=msg.min_qty,
            # FOK: an IOC that goes ahead only when its whole size can cross now.
            tif=TimeInForce.IOC if msg.tif is TimeInForce.FOK else msg.tif,
            owner=CLIENT,
        )
        client = self.clients.open(msg, order.order_id)
        self.clients.by_book_id[order.order_id] = client
        reports: list[Message] = [self.clients.report(client, ExecType.NEW, OrdStatus.NEW)]
        pool = self.pools[msg.symbol]
        if msg.tif is TimeInForce.FOK and self._crossable(pool, order) < order.qty:
            order.live = False
            text = "fill-or-kill: not enough to cross"
            return [*reports, self.clients.end(client, ExecType.CANCELED, text=text, reason="FOK_UNFILLED")]
        return reports + self._enter(pool, order)

    def cancel(self, req: CancelRequest) -> list[Message]:
        client = self.clients.get(req.orig_cl_ord_id)
        if client is None or client.done or client.cl_ord_id != req.orig_cl_ord_id:
            code = RejectCode.UNKNOWN_ORDER if client is None else RejectCode.TOO_LATE
            return [
                self.clients.cancel_reject(
                    cl_ord_id=req.cl_ord_id,
                    orig_cl_ord_id=req.orig_cl_ord_id,
                    code=code,
                    text=f"order {req.orig_cl_ord_id!r} is not working",
                )
            ]
        self.agent_cancel(client.msg.symbol, client.book_id)
        self.clients.rename(client, req.cl_ord_id)
        return [self.clients.end(client, ExecType.CANCELED, text="cancelled on request", orig=req.orig_cl_ord_id)]

    def replace(self, req: ReplaceRequest) -> list[Message]:
        return [
            self.clients.cancel_reject(
                cl_ord_id=req.cl_ord_id,
                orig_cl_ord_id=req.orig_cl_ord_id,
                code=RejectCode.UNSUPPORTED,
                text=f"{self.code} does not replace orders: cancel and send a new one",
            )
        ]

    def _check_new(self, msg: NewOrder) -> tuple[RejectCode, str] | None:
        pool = self.pools.get(msg.symbol)
        if pool is None:
            return RejectCode.UNKNOWN_SYMBOL, f"unknown symbol {msg.symbol!r}"
        problem = order_check(msg, pool.grid, venue=self.code, state=self.state, sizes=("min_qty",))
        if problem is not None:
            return problem
        if msg.post_only or msg.display_qty:
            return RejectCode.UNSUPPORTED, "a dark pool displays nothing: no post-only or iceberg orders"
        return None

    # --- the background market ----------------------------------------

    def agent_add(self, symbol: str, order: DarkOrder) -> list[Message]:
        """Enter a background order (id from ``next_id``); return our reports it caused."""
        if self.state is not SessionState.OPEN:
            order.live = False
            return []
        return self._enter(self.pools[symbol], order)

    def agent_cancel(self, symbol: str, order_id: int) -> None:
        pool = self.pools[symbol]
        for order in pool.resting:
            if order.order_id == order_id and order.live:
                order.live = False
                pool.resting.remove(order)
                return

    def expire(self, tifs: tuple[TimeInForce, ...] = (TimeInForce.DAY,)) -> list[Message]:
        reports: list[Message] = []
        for pool in self.pools.values():
            for order in pool.resting:
                if order.live and order.tif in tifs:
                    order.live = False
                    client = self.clients.by_book_id.get(order.order_id)
                    if client is not None:
                        reports.append(self.clients.end(client, ExecType.EXPIRED, text="end of the trading day"))
            pool.resting = [order for order in pool.resting if order.live]
        return reports

    # --- internals ----------------------------------------------------

    def _enter(self, pool: _Pool, order: DarkOrder) -> list[Message]:
        reports = self._match(pool, order) if pool.can_cross() else []
        pool.resting = [resting for resting in pool.resting if resting.live]
        if order.live and order.leaves > 0:
            if order.tif is TimeInForce.IOC:
                order.live = False
                client = self.clients.by_book_id.get(order.order_id)
                if client is not None:
                    text = (
                        "no cross at or above the minimum size"
                        if not client.cum_qty
                        else "immediate-or-cancel: remainder cancelled"
                    )
                    reports.append(self.clients.end(client, ExecType.CANCELED, text=text, reason="IOC_REMAINDER"))
            else:
                pool.resting.append(order)
        return reports

    def _crossable(self, pool: _Pool, order: DarkOrder) -> Decimal:
        """Return how much of ``order`` could cross now against the resting orders."""
        if not pool.can_cross():
            return ZERO
        assert pool.bid is not None
        assert pool.ask is not None
        mine = order.pegged_px(pool.bid, pool.ask)
        total = ZERO
        for resting in pool.resting:
            if not resting.live or resting.side is order.side:
                continue
            theirs = resting.pegged_px(pool.bid, pool.ask)
            buy_px, sell_px = (mine, theirs) if order.side is Side.BUY else (theirs, mine)
            qty = min(order.qty - total, resting.leaves)
            if buy_px >= sell_px and qty >= resting.smallest_fill():
                total += qty
        return total

    def _match(self, pool: _Pool, order: DarkOrder, *, incoming: bool = True) -> list[Message]:
        """Cross ``order`` against the opposite resting orders, oldest first.

        ``incoming``: ``order`` just arrived and takes; otherwise it is the older of
        two resting orders that a new NBBO lets cross, so it is the maker.
        """
        assert pool.bid is not None
        assert pool.ask is not None
        bid, ask = pool.bid, pool.ask
        mid = (bid + ask) / TWO
        reports: list[Message] = []
        mine = order.pegged_px(bid, ask)
        for resting in pool.resting:
            if order.leaves == 0:
                break
            if resting is order or not resting.live or resting.side is order.side:
                continue
            theirs = resting.pegged_px(bid, ask)
            buy_px, sell_px = (mine, theirs) if order.side is Side.BUY else (theirs, mine)
            if buy_px < sell_px:
                continue
            qty = min(order.leaves, resting.leaves)
            if qty < order.smallest_fill() or qty < resting.smallest_fill():
                continue
            maker_px = theirs if incoming else mine
            px = mid if buy_px >= mid >= sell_px else maker_px
            order.leaves -= qty
            resting.leaves -= qty
            for done in (order, resting):
                if done.leaves == 0:
                    done.live = False
            self.prints.append(Print(self.code, pool.listing.symbol, px, qty, None))
            taker, maker = (order, resting) if incoming else (resting, order)
            reports += self._fill(pool, taker, qty, px, Liquidity.REMOVED)
            reports += self._fill(pool, maker, qty, px, Liquidity.ADDED)
        return reports

    def _fill(self, pool: _Pool, order: DarkOrder, qty: Decimal, px: Decimal, liquidity: Liquidity) -> list[Message]:
        client = self.clients.by_book_id.get(order.order_id)
        if client is None:
            return []
        if self.fill_listener is not None:
            self.fill_listener(pool.listing.symbol, order.side, qty)
        fee_rate = self.spec.maker_fee if liquidity is Liquidity.ADDED else self.spec.taker_fee
        return [self.clients.fill(client, qty=qty, px=px, fee_rate=fee_rate, liquidity=liquidity)]
