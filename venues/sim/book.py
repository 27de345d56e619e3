"""A central limit order book with price-time priority.

Pure core: no I/O, no clock. ``submit`` matches an incoming order against the
opposite side, best price first and oldest first within a price, then rests
what is left of a DAY/GTC limit order; IOC and market remainders are dropped
(the caller reports them as cancelled).
"""

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from sortedcontainers import SortedDict

from trading.enums import OrdType, Side, TimeInForce
from trading.numbers import ZERO


def crosses(side: Side, *, limit_px: Decimal, px: Decimal) -> bool:
    """Return whether an order to ``side`` at ``limit_px`` would trade at ``px``."""
    return px <= limit_px if side is Side.BUY else px >= limit_px


@dataclass(slots=True)
class BookOrder:
    order_id: int
    owner: str
    side: Side
    ord_type: OrdType
    qty: Decimal
    limit_px: Decimal | None
    tif: TimeInForce
    leaves_qty: Decimal = field(init=False)

    def __post_init__(self) -> None:
        self.leaves_qty = self.qty


@dataclass(frozen=True, slots=True)
class Trade:
    aggressor: BookOrder
    passive: BookOrder
    px: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True)
class Level:
    px: Decimal
    qty: Decimal
    orders: int


class OrderBook:
    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        # Bids sort highest first, asks lowest first: index 0 is always the touch.
        self._bids: SortedDict = SortedDict(lambda px: -px)
        self._asks: SortedDict = SortedDict()
        self._index: dict[int, BookOrder] = {}

    def _side(self, side: Side) -> SortedDict:
        return self._bids if side is Side.BUY else self._asks

    def best(self, side: Side) -> Level | None:
        """Return the touch on ``side`` (BUY: best bid, SELL: best ask), or None if empty."""
        levels = self._side(side)
        if not levels:
            return None
        px, queue = levels.peekitem(0)
        return Level(px, sum((o.leaves_qty for o in queue), ZERO), len(queue))

    def depth(self, side: Side, levels: int) -> list[Level]:
        """Return up to ``levels`` aggregated price levels of ``side``, touch first."""
        book = self._side(side)
        return [Level(px, sum((o.leaves_qty for o in queue), ZERO), len(queue)) for px, queue in book.items()[:levels]]

    def get(self, order_id: int) -> BookOrder | None:
        return self._index.get(order_id)

    def resting(self) -> Iterator[BookOrder]:
        for book in (self._bids, self._asks):
            for queue in book.values():
                yield from queue

    def submit(self, order: BookOrder) -> list[Trade]:
        """Match ``order``, rest any DAY/GTC limit remainder, return the trades in order."""
        if order.qty <= 0:
            raise ValueError(f"invalid `qty`, was {order.qty}")
        if order.ord_type is OrdType.LIMIT and order.limit_px is None:
            raise ValueError("a limit order needs `limit_px`")
        trades = self._match(order)
        if order.leaves_qty > 0 and order.ord_type is OrdType.LIMIT and order.tif in (TimeInForce.DAY, TimeInForce.GTC):
            assert order.limit_px is not None
            self._side(order.side).setdefault(order.limit_px, deque()).append(order)
            self._index[order.order_id] = order
        return trades

    def cancel(self, order_id: int) -> BookOrder | None:
        """Remove a resting order; return it, or None if it is not resting."""
        order = self._index.pop(order_id, None)
        if order is None:
            return None
        assert order.limit_px is not None
        book = self._side(order.side)
        queue = book[order.limit_px]
        queue.remove(order)
        if not queue:
            del book[order.limit_px]
        return order

    @staticmethod
    def _crosses(order: BookOrder, level_px: Decimal) -> bool:
        if order.ord_type is OrdType.MARKET:
            return True
        assert order.limit_px is not None
        return crosses(order.side, limit_px=order.limit_px, px=level_px)

    def _match(self, order: BookOrder) -> list[Trade]:
        opposite = self._side(order.side.opposite)
        trades: list[Trade] = []
        while order.leaves_qty > 0 and opposite:
            px, queue = opposite.peekitem(0)
            if not self._crosses(order, px):
                break
            while order.leaves_qty > 0 and queue:
                passive = queue[0]
                qty = min(order.leaves_qty, passive.leaves_qty)
                order.leaves_qty -= qty
                passive.leaves_qty -= qty
                trades.append(Trade(aggressor=order, passive=passive, px=px, qty=qty))
                if passive.leaves_qty == 0:
                    queue.popleft()
                    del self._index[passive.order_id]
            if not queue:
                del opposite[px]
        return trades
