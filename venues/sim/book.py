"""The matching engine: one instrument's central limit order book.

Pure core, and the hot path of every simulation, so it works in integers:
prices in ticks of the venue's price unit and quantities in units of the lot
(the venue layer converts to and from ``Decimal`` at its edge).

Rules, in the words of an exchange rule book:

- Price-time priority: the best price first, the oldest order first at a price.
- A market order (``px is None``) takes what there is and never rests.
- IOC takes what it can now and cancels the rest; FOK trades in full at once or
  not at all; DAY and GTC rest what is left.
- Minimum quantity applies on entry: unless at least ``min_qty`` can trade at
  once the order is cancelled untouched; the remainder rests without it.
- Post-only: an order that would take liquidity on entry is cancelled instead.
- Iceberg: only ``peak`` is displayed and matched at a time; when the displayed
  part is used up it is refilled from the hidden quantity and goes to the back
  of its price's queue.
- Cancel/replace: a size decrease at the same price keeps the queue place; a new
  price or a size increase loses it (the order re-enters as if new and may
  trade).
- Self-trade prevention, chosen by the incoming order, applies when it would
  trade with a resting order of the same ``owner``: cancel the newest (the
  incoming), the oldest (the resting), both, or decrement both by the smaller
  quantity without a trade.

Cancelled orders stay in their price queue as dead entries until they reach the
head or the queue is compacted, so a cancel costs O(1).
"""

from collections import deque
from collections.abc import Iterator
from enum import StrEnum
from typing import Final

from sortedcontainers import SortedList

from trading.enums import SelfTradePrevention, Side, TimeInForce

BUY: Final = Side.BUY
SELL: Final = Side.SELL
_IOC: Final = TimeInForce.IOC
_FOK: Final = TimeInForce.FOK
_STP_NONE: Final = SelfTradePrevention.NONE


class CancelReason(StrEnum):
    """Why the book took an order out without filling it."""

    REQUESTED = "REQUESTED"
    IOC_REMAINDER = "IOC_REMAINDER"
    FOK_UNFILLED = "FOK_UNFILLED"
    MIN_QTY_UNAVAILABLE = "MIN_QTY_UNAVAILABLE"
    POST_ONLY_WOULD_TAKE = "POST_ONLY_WOULD_TAKE"
    NO_LIQUIDITY = "NO_LIQUIDITY"
    SELF_TRADE = "SELF_TRADE"


class Order:
    """An order as the book sees it. ``qty`` = filled + ``leaves`` (a decrement lowers ``qty``)."""

    __slots__ = (
        "leaves",
        "live",
        "min_qty",
        "order_id",
        "owner",
        "peak",
        "post_only",
        "px",
        "qty",
        "reason",
        "shown",
        "side",
        "stp",
        "tif",
    )

    def __init__(
        self,
        order_id: int,
        side: Side,
        px: int | None,
        qty: int,
        *,
        owner: str = "",
        tif: TimeInForce = TimeInForce.DAY,
        peak: int = 0,
        min_qty: int = 0,
        post_only: bool = False,
        stp: SelfTradePrevention = _STP_NONE,
    ) -> None:
        self.order_id = order_id
        self.owner = owner
        self.side = side
        self.px = px
        self.qty = qty
        self.leaves = qty
        self.peak = peak  # 0: fully displayed
        self.shown = min(peak, qty) if peak else qty
        self.tif = tif
        self.min_qty = min_qty
        self.post_only = post_only
        self.stp = stp
        self.live = True
        self.reason: CancelReason | None = None

    @property
    def filled(self) -> int:
        return self.qty - self.leaves

    def __repr__(self) -> str:
        return f"Order({self.order_id}, {self.side}, px={self.px}, qty={self.qty}, leaves={self.leaves})"


class Fill:
    __slots__ = ("aggressor", "passive", "px", "qty")

    def __init__(self, aggressor: Order, passive: Order, px: int, qty: int) -> None:
        self.aggressor = aggressor
        self.passive = passive
        self.px = px
        self.qty = qty

    def __repr__(self) -> str:
        return f"Fill({self.aggressor.order_id}<-{self.passive.order_id}, {self.qty}@{self.px})"


class Outcome:
    """What one book operation did: the fills in order, the orders it took out, the orders it shrank."""

    __slots__ = ("cancelled", "fills", "restated")

    def __init__(self, fills: list[Fill], cancelled: list[Order], restated: list[Order]) -> None:
        self.fills = fills
        self.cancelled = cancelled
        self.restated = restated


class DuplicateOrderId(ValueError):
    pass


class _Level:
    __slots__ = ("count", "dead", "queue", "shown")

    def __init__(self) -> None:
        self.queue: deque[Order] = deque()
        self.shown = 0  # displayed quantity of the live orders
        self.count = 0  # live orders
        self.dead = 0  # cancelled entries still in the queue


class OrderBook:
    def __init__(self, symbol: str = "") -> None:
        self.symbol = symbol
        self._levels: dict[Side, dict[int, _Level]] = {BUY: {}, SELL: {}}
        # Sorted level keys, touch first: bids are stored negated.
        self._keys: dict[Side, SortedList] = {BUY: SortedList(), SELL: SortedList()}
        self._index: dict[int, Order] = {}

    # --- reading ------------------------------------------------------

    def best(self, side: Side) -> int | None:
        """Return the touch price on ``side`` (BUY: best bid), or None if that side is empty."""
        keys = self._keys[side]
        if not keys:
            return None
        key: int = keys[0]
        return -key if side is BUY else key

    def depth(self, side: Side, levels: int = 10) -> list[tuple[int, int, int]]:
        """Return up to ``levels`` of (price, displayed qty, orders), touch first; hidden size is not shown."""
        book = self._levels[side]
        sign = -1 if side is BUY else 1
        out = []
        for key in self._keys[side].islice(0, levels):
            level = book[sign * key]
            out.append((sign * key, level.shown, level.count))
        return out

    def get(self, order_id: int) -> Order | None:
        """Return the resting order with this id, or None."""
        return self._index.get(order_id)

    def orders(self) -> Iterator[Order]:
        """Yield every resting order, bids then asks, each side in priority order."""
        for side in (BUY, SELL):
            book = self._levels[side]
            sign = -1 if side is BUY else 1
            for key in self._keys[side]:
                for order in book[sign * key].queue:
                    if order.live:
                        yield order

    def __len__(self) -> int:
        return len(self._index)

    # --- writing ------------------------------------------------------

    def add(self, order: Order) -> Outcome:
        """Match ``order`` and rest what the rules let rest; raise ``DuplicateOrderId`` if its id is resting."""
        if order.order_id in self._index:
            raise DuplicateOrderId(order.order_id)
        if order.qty <= 0:
            raise ValueError(f"invalid `qty`, was {order.qty}")
        side = order.side
        px = order.px
        opposite = SELL if side is BUY else BUY
        fills: list[Fill] = []
        cancelled: list[Order] = []
        restated: list[Order] = []
        touch = self.best(opposite)
        marketable = touch is not None and (px is None or (touch <= px if side is BUY else touch >= px))
        if marketable:
            if order.post_only:
                return self._kill(order, CancelReason.POST_ONLY_WOULD_TAKE, fills, cancelled, restated)
            need = order.qty if order.tif is _FOK else order.min_qty
            if need and self._available(order, need) < need:
                reason = CancelReason.FOK_UNFILLED if order.tif is _FOK else CancelReason.MIN_QTY_UNAVAILABLE
                return self._kill(order, reason, fills, cancelled, restated)
            self._match(order, opposite, fills, cancelled, restated)
        elif order.tif is _FOK or order.min_qty:
            reason = CancelReason.FOK_UNFILLED if order.tif is _FOK else CancelReason.MIN_QTY_UNAVAILABLE
            return self._kill(order, reason, fills, cancelled, restated)
        if order.live:
            if order.leaves == 0:
                order.live = False
            elif px is None:
                self._kill(order, CancelReason.NO_LIQUIDITY, fills, cancelled, restated)
            elif order.tif is _IOC or order.tif is _FOK:
                self._kill(order, CancelReason.IOC_REMAINDER, fills, cancelled, restated)
            else:
                self._rest(order)
        return Outcome(fills, cancelled, restated)

    def cancel(self, order_id: int) -> Order | None:
        """Take a resting order out; return it, or None if no order with that id rests."""
        order = self._index.get(order_id)
        if order is None:
            return None
        self._unlink(order)
        order.reason = CancelReason.REQUESTED
        return order

    def replace(self, order_id: int, *, qty: int, px: int) -> tuple[Order, Outcome] | None:
        """Change a resting order's total ``qty`` and price; return the order now standing for it.

        ``qty`` is the new total including what has filled and must exceed the
        filled quantity (``ValueError`` otherwise). A smaller size at the same
        price is changed in place; anything else re-enters the book as a new
        order with the same id, may trade, and is returned with what it did.
        """
        order = self._index.get(order_id)
        if order is None:
            return None
        filled = order.qty - order.leaves
        if qty <= filled:
            raise ValueError(f"invalid `qty`, was {qty}: at or below the filled {filled}")
        if px == order.px and qty <= order.qty:
            cut = order.qty - qty
            order.qty = qty
            order.leaves -= cut
            shown = min(order.shown, order.leaves)
            self._levels[order.side][px].shown -= order.shown - shown
            order.shown = shown
            return order, Outcome([], [], [])
        self._unlink(order)
        order.reason = None
        fresh = Order(
            order.order_id,
            order.side,
            px,
            qty - filled,
            owner=order.owner,
            tif=order.tif,
            peak=order.peak,
            post_only=order.post_only,
            stp=order.stp,
        )
        return fresh, self.add(fresh)

    def clear(self, tifs: tuple[TimeInForce, ...] = (TimeInForce.DAY,)) -> list[Order]:
        """Cancel every resting order whose time in force is in ``tifs`` (the end of a session)."""
        gone = [order for order in self.orders() if order.tif in tifs]
        for order in gone:
            self.cancel(order.order_id)
        return gone

    # --- internals ----------------------------------------------------

    def _kill(
        self, order: Order, reason: CancelReason, fills: list[Fill], cancelled: list[Order], restated: list[Order]
    ) -> Outcome:
        order.live = False
        order.reason = reason
        cancelled.append(order)
        return Outcome(fills, cancelled, restated)

    def _rest(self, order: Order) -> None:
        assert order.px is not None
        # What it traded on entry came off the display too.
        order.shown = min(order.peak, order.leaves) if order.peak else order.leaves
        side = order.side
        book = self._levels[side]
        level = book.get(order.px)
        if level is None:
            level = book[order.px] = _Level()
            self._keys[side].add(-order.px if side is BUY else order.px)
        level.queue.append(order)
        level.shown += order.shown
        level.count += 1
        self._index[order.order_id] = order

    def _unlink(self, order: Order) -> None:
        """Take a resting order out of its level, leaving a dead entry in the queue."""
        del self._index[order.order_id]
        order.live = False
        assert order.px is not None
        book = self._levels[order.side]
        level = book[order.px]
        level.shown -= order.shown
        level.count -= 1
        if level.count == 0:
            del book[order.px]
            self._keys[order.side].remove(-order.px if order.side is BUY else order.px)
            return
        level.dead += 1
        if level.dead > 32 and level.dead > 2 * level.count:
            level.queue = deque(o for o in level.queue if o.live)
            level.dead = 0

    def _available(self, order: Order, need: int) -> int:
        """Return how much ``order`` could trade at once, counting up to ``need`` (hidden size included)."""
        side = order.side
        opposite = SELL if side is BUY else BUY
        book = self._levels[opposite]
        sign = -1 if opposite is BUY else 1
        stp = order.stp
        # Meeting its own order, CANCEL_NEWEST and CANCEL_BOTH end the incoming order's matching there.
        stops_at_self = stp is SelfTradePrevention.CANCEL_NEWEST or stp is SelfTradePrevention.CANCEL_BOTH
        total = 0
        for key in self._keys[opposite]:
            px = sign * key
            if order.px is not None and (px > order.px if side is BUY else px < order.px):
                break
            shown = leaves = 0
            for resting in book[px].queue:
                if not resting.live:
                    continue
                if stp is not _STP_NONE and resting.owner == order.owner:
                    if stops_at_self:
                        # an iceberg ahead of it refills behind it, so only displayed size is in reach
                        return total + shown
                    continue
                shown += resting.shown
                leaves += resting.leaves
                if total + shown >= need:
                    return total + shown
            total += leaves
            if total >= need:
                return total
        return total

    def _match(self, order: Order, opposite: Side, fills: list[Fill], cancelled: list[Order], restated: list[Order]) -> None:
        book = self._levels[opposite]
        keys = self._keys[opposite]
        is_buy = order.side is BUY
        limit = order.px
        stp = order.stp
        owner = order.owner
        index = self._index
        while order.leaves and keys:
            key = keys[0]
            px = -key if not is_buy else key
            if limit is not None and (px > limit if is_buy else px < limit):
                break
            level = book[px]
            queue = level.queue
            while order.leaves and queue:
                passive = queue[0]
                if not passive.live:
                    queue.popleft()
                    level.dead -= 1
                    continue
                if stp is not _STP_NONE and passive.owner == owner:
                    if not self._prevent_self_trade(order, passive, level, cancelled, restated):
                        break
                    continue
                qty = order.leaves if order.leaves < passive.shown else passive.shown
                order.leaves -= qty
                passive.leaves -= qty
                passive.shown -= qty
                level.shown -= qty
                fills.append(Fill(order, passive, px, qty))
                if passive.shown == 0:
                    queue.popleft()
                    if passive.leaves == 0:
                        passive.live = False
                        level.count -= 1
                        del index[passive.order_id]
                    else:  # iceberg: refill the display and go to the back of the queue
                        passive.shown = passive.peak if passive.peak < passive.leaves else passive.leaves
                        level.shown += passive.shown
                        queue.append(passive)
            if level.count == 0:
                del book[px]
                keys.pop(0)
            if not order.live:
                break

    def _prevent_self_trade(
        self, order: Order, passive: Order, level: _Level, cancelled: list[Order], restated: list[Order]
    ) -> bool:
        """Apply the incoming order's self-trade rule; return whether matching may go on."""
        stp = order.stp
        if stp is SelfTradePrevention.DECREMENT:
            cut = min(order.leaves, passive.leaves)
            order.qty -= cut
            order.leaves -= cut
            passive.qty -= cut
            passive.leaves -= cut
            shown = min(passive.shown, passive.leaves)
            level.shown -= passive.shown - shown
            passive.shown = shown
            if passive.leaves == 0:
                self._take_out(passive, level, cancelled)
            elif passive not in restated:
                restated.append(passive)
            if order.leaves == 0:
                order.live = False
                order.reason = CancelReason.SELF_TRADE
                cancelled.append(order)
                return False
            if order not in restated:
                restated.append(order)
            return True
        if stp is not SelfTradePrevention.CANCEL_NEWEST:
            self._take_out(passive, level, cancelled)
        if stp is SelfTradePrevention.CANCEL_OLDEST:
            return True
        order.live = False
        order.reason = CancelReason.SELF_TRADE
        cancelled.append(order)
        return False

    def _take_out(self, passive: Order, level: _Level, cancelled: list[Order]) -> None:
        """Remove the order at the head of ``level`` for self-trade prevention."""
        level.queue.popleft()
        level.shown -= passive.shown
        level.count -= 1
        del self._index[passive.order_id]
        passive.live = False
        passive.reason = CancelReason.SELF_TRADE
        cancelled.append(passive)
