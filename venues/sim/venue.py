"""A simulated lit venue: order books per symbol, a market maker's ladder, FIX-style reports.

Pure core: the caller passes the clock and a session token (so execution ids
stay unique across gateway restarts) and forwards the reports it returns.
Orders whose owner is ``CLIENT`` are ours and get execution reports; the
market maker's orders provide the liquidity and get none.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import count

from trading.enums import ExecType, Liquidity, OrdType, Side, TimeInForce
from trading.messages import ExecutionReport, NewOrder
from trading.numbers import ZERO, avg_px, floor_to, is_multiple, quantize_money
from trading.states import OrdStatus
from venues.sim.book import BookOrder, Level, OrderBook, Trade, crosses

CLIENT = "client"
MARKET_MAKER = "mm"


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
    maker_fee: Decimal  # per share; negative is a rebate
    taker_fee: Decimal  # per share
    depth_scale: Decimal = Decimal(1)  # the market maker's size, as a multiple of the template
    levels: int = 10
    shares_per_level: Decimal = Decimal(500)  # times depth_scale, floored to the lot, at least one lot


@dataclass(slots=True)
class _ClientOrder:
    msg: NewOrder
    book_order: BookOrder
    venue_order_id: str
    seq: int = 0
    cum_qty: Decimal = ZERO
    notional: Decimal = ZERO
    done: bool = False


@dataclass(slots=True)
class _Market:
    listing: Listing
    book: OrderBook
    # The market maker's resting order at each ladder price.
    ladder: dict[tuple[Side, Decimal], BookOrder] = field(default_factory=dict)


class DuplicateOrder(ValueError):
    pass


class SimVenue:
    def __init__(self, spec: VenueSpec, listings: list[Listing], *, clock: Callable[[], datetime], session: str) -> None:
        self.spec = spec
        self._clock = clock
        self._session = session
        self._markets = {listing.symbol: _Market(listing, OrderBook(listing.symbol)) for listing in listings}
        self._clients: dict[str, _ClientOrder] = {}
        self._by_book_id: dict[int, _ClientOrder] = {}
        self._ids = count(1)
        self._exec_ids = count(1)

    @property
    def code(self) -> str:
        return self.spec.code

    def list_instrument(self, listing: Listing) -> None:
        """Start trading ``listing`` here (no-op when it is already listed)."""
        self._markets.setdefault(listing.symbol, _Market(listing, OrderBook(listing.symbol)))

    def symbols(self) -> list[str]:
        return list(self._markets)

    def depth(self, symbol: str, side: Side, levels: int = 10) -> list[Level]:
        return self._markets[symbol].book.depth(side, levels)

    # --- client orders -------------------------------------------------

    def submit(self, msg: NewOrder) -> list[ExecutionReport]:
        """Accept or reject ``msg``, match it, and return every report it causes.

        Raise ``DuplicateOrder`` for a ``cl_ord_id`` already seen: a redelivered
        message must not trade twice.
        """
        if msg.cl_ord_id in self._clients:
            raise DuplicateOrder(msg.cl_ord_id)
        book_order = BookOrder(next(self._ids), CLIENT, msg.side, msg.ord_type, msg.qty, msg.limit_px, msg.tif)
        client = _ClientOrder(msg, book_order, f"{self.code}-{self._session}-O{book_order.order_id}")
        self._clients[msg.cl_ord_id] = client
        reason = self._reject_reason(msg)
        if reason:
            client.done = True
            return [self._report(client, ExecType.REJECTED, OrdStatus.REJECTED, text=reason)]
        market = self._markets[msg.symbol]
        if msg.tif is TimeInForce.FOK and self._available(market.book, msg) < msg.qty:
            client.done = True
            return [
                self._report(client, ExecType.NEW, OrdStatus.NEW),
                self._report(client, ExecType.CANCELED, OrdStatus.CANCELED, text="FOK: not enough liquidity"),
            ]
        reports = [self._report(client, ExecType.NEW, OrdStatus.NEW)]
        self._by_book_id[book_order.order_id] = client
        reports += self._trade_reports(market.book.submit(book_order))
        if book_order.leaves_qty > 0 and market.book.get(book_order.order_id) is None:
            client.done = True
            text = "market order: no more liquidity" if msg.ord_type is OrdType.MARKET else f"{msg.tif}: remainder cancelled"
            reports.append(self._report(client, ExecType.CANCELED, OrdStatus.CANCELED, text=text))
        return reports

    def cancel(self, cl_ord_id: str) -> list[ExecutionReport]:
        client = self._clients.get(cl_ord_id)
        if client is None or client.done:
            return []
        self._markets[client.msg.symbol].book.cancel(client.book_order.order_id)
        client.done = True
        return [self._report(client, ExecType.CANCELED, OrdStatus.CANCELED, text="cancelled on request")]

    def _reject_reason(self, msg: NewOrder) -> str:
        market = self._markets.get(msg.symbol)
        if market is None:
            return f"unknown symbol {msg.symbol!r}"
        listing = market.listing
        if msg.qty <= 0:
            return f"invalid qty {msg.qty}: must be positive"
        if not is_multiple(msg.qty, listing.lot_size):
            return f"invalid qty {msg.qty}: not a multiple of the lot {listing.lot_size}"
        if msg.ord_type is OrdType.LIMIT:
            if msg.limit_px is None or msg.limit_px <= 0:
                return f"invalid limit_px {msg.limit_px}: a limit order needs a positive price"
            if not is_multiple(msg.limit_px, listing.tick_size):
                return f"invalid limit_px {msg.limit_px}: not on the tick {listing.tick_size}"
        return ""

    @staticmethod
    def _available(book: OrderBook, msg: NewOrder) -> Decimal:
        total = ZERO
        for level in book.depth(msg.side.opposite, 1_000_000):
            if (
                msg.ord_type is OrdType.LIMIT
                and msg.limit_px is not None
                and not crosses(msg.side, limit_px=msg.limit_px, px=level.px)
            ):
                break
            total += level.qty
        return total

    # --- the market maker ------------------------------------------------

    def refresh(self, symbol: str) -> list[ExecutionReport]:
        """Top the market maker's ladder back up around the reference price.

        A refilled order joins the back of its price's queue. The market maker
        never quotes at or through the other side's best, so a refill does not
        trade; the reports returned are those of any client order that did.
        """
        market = self._markets[symbol]
        listing = market.listing
        size = max(listing.lot_size, floor_to(self.spec.shares_per_level * self.spec.depth_scale, listing.lot_size))
        reports: list[ExecutionReport] = []
        for side, direction in ((Side.BUY, -1), (Side.SELL, 1)):
            far = market.book.best(side.opposite)
            for level in range(1, self.spec.levels + 1):
                px = listing.ref_px + direction * level * listing.tick_size
                if px <= 0 or (far is not None and crosses(side, limit_px=px, px=far.px)):
                    continue
                resting = market.ladder.get((side, px))
                if resting is not None and market.book.get(resting.order_id) is not None:
                    continue
                order = BookOrder(next(self._ids), MARKET_MAKER, side, OrdType.LIMIT, size, px, TimeInForce.DAY)
                reports += self._trade_reports(market.book.submit(order))
                market.ladder[(side, px)] = order
        return reports

    # --- reports ---------------------------------------------------------

    def _trade_reports(self, trades: list[Trade]) -> list[ExecutionReport]:
        reports = []
        for trade in trades:
            for book_order, liquidity in ((trade.aggressor, Liquidity.REMOVED), (trade.passive, Liquidity.ADDED)):
                client = self._by_book_id.get(book_order.order_id)
                if client is None:
                    continue
                client.cum_qty += trade.qty
                client.notional += trade.qty * trade.px
                done = client.cum_qty == client.msg.qty
                client.done = done
                fee_rate = self.spec.maker_fee if liquidity is Liquidity.ADDED else self.spec.taker_fee
                reports.append(
                    self._report(
                        client,
                        ExecType.TRADE,
                        OrdStatus.FILLED if done else OrdStatus.PARTIALLY_FILLED,
                        last_qty=trade.qty,
                        last_px=trade.px,
                        fee=quantize_money(trade.qty * fee_rate),
                        liquidity=liquidity,
                    )
                )
        return reports

    def _report(
        self,
        client: _ClientOrder,
        exec_type: ExecType,
        ord_status: OrdStatus,
        *,
        last_qty: Decimal = ZERO,
        last_px: Decimal = ZERO,
        fee: Decimal = ZERO,
        liquidity: Liquidity | None = None,
        text: str = "",
    ) -> ExecutionReport:
        client.seq += 1
        # From this report's own cum_qty: the book has matched further by the time reports are built.
        leaves = ZERO if ord_status.is_terminal else client.msg.qty - client.cum_qty
        return ExecutionReport(
            venue=self.code,
            cl_ord_id=client.msg.cl_ord_id,
            venue_order_id=client.venue_order_id,
            exec_id=f"{self.code}-{self._session}-E{next(self._exec_ids)}",
            seq=client.seq,
            exec_type=exec_type,
            ord_status=ord_status,
            symbol=client.msg.symbol,
            side=client.msg.side,
            last_qty=last_qty,
            last_px=last_px,
            cum_qty=client.cum_qty,
            leaves_qty=leaves,
            avg_px=avg_px(qty=client.cum_qty, notional=client.notional),
            fee=fee,
            liquidity=liquidity,
            text=text,
            transact_time=self._clock().isoformat(),
        )
