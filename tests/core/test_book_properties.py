"""OrderBook invariants under random flow: adds of every kind, cancels and replaces from a few owners.

After every operation: the book is not crossed; quantity is conserved; fills
respect price-time priority (a model of each price's queue, with iceberg
refills sent to the back, must agree with the book); depth equals the displayed
size of the live orders; an order taken out never trades again; everything
resting is live with something left to do; FOK is all or nothing, a minimum
quantity is met, and each cancellation's reason holds against the book before.
"""

from collections import defaultdict
from itertools import count

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from trading.enums import SelfTradePrevention, Side, TimeInForce
from venues.sim.book import CancelReason, Order, OrderBook, Outcome

BUY = Side.BUY
SELL = Side.SELL
STP = SelfTradePrevention
OWNERS = ("a", "b", "c")
# Aggressors come from two of them, so that self-trade prevention meets its own orders often.
AGGRESSORS = ("a", "b")
UNKNOWN_ID = 10**9

# Prices a few ticks either side of 100 so that most adds meet the other side.
prices = st.integers(min_value=97, max_value=103)
limit_or_market = st.one_of(prices, prices, prices, prices, prices, prices, prices, prices, prices, st.none())
qtys = st.integers(min_value=1, max_value=12)
peaks = st.sampled_from([0, 0, 0, 1, 2, 3])
min_qtys = st.sampled_from([0, 0, 0, 0, 2, 5])
post_onlys = st.sampled_from([False, False, False, True])
stps = st.sampled_from(list(STP))
tifs = st.sampled_from([TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.FOK])
UNTOUCHED = (CancelReason.FOK_UNFILLED, CancelReason.MIN_QTY_UNAVAILABLE, CancelReason.POST_ONLY_WOULD_TAKE)


def better(side: Side, px: int, than: int) -> bool:
    """Return whether ``px`` is a strictly better price than ``than`` for a resting order on ``side``."""
    return px > than if side is BUY else px < than


def beyond(side: Side, px: int, limit: int) -> bool:
    """Return whether ``px`` is past the limit ``limit`` of an order on ``side`` (a buy pays at most its limit)."""
    return px > limit if side is BUY else px < limit


def price(order: Order) -> int:
    """Return the price of a resting order (always a limit)."""
    assert order.px is not None
    return order.px


def view(book: OrderBook) -> tuple[object, ...]:
    """Return everything an observer can see of the book, to compare before and after."""
    resting = [(order.order_id, order.px, order.leaves, order.shown) for order in book.orders()]
    return book.depth(BUY, 1000), book.depth(SELL, 1000), resting


class _Queued:
    """The model's view of one resting order: its place in its price's queue, what it shows, what is left."""

    __slots__ = ("leaves", "order", "seq", "shown")

    def __init__(self, order: Order, seq: int) -> None:
        self.order = order
        self.seq = seq
        self.shown = order.shown
        self.leaves = order.leaves


class BookMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.book = OrderBook("XYZ")
        self.sent: list[Order] = []  # every Order object the book has been given, replacements included
        self.fill_qty: dict[int, int] = defaultdict(int)  # id(order) -> sum of its fills
        self.gone: set[int] = set()  # id(order) of orders cancelled or replaced away
        self.seq: dict[int, int] = {}  # id(order) -> its place in its price's queue (arrival or last refill)
        self.arrivals = count()
        self.order_ids = count(1)

    # --- rules ---------------------------------------------------------

    @rule(
        side=st.sampled_from([BUY, SELL]),
        px=limit_or_market,
        qty=qtys,
        owner=st.sampled_from(AGGRESSORS),
        tif=tifs,
        peak=peaks,
        min_qty=min_qtys,
        post_only=post_onlys,
        stp=stps,
    )
    def add(
        self,
        side: Side,
        px: int | None,
        qty: int,
        owner: str,
        tif: TimeInForce,
        peak: int,
        min_qty: int,
        post_only: bool,
        stp: STP,
    ) -> None:
        self._add(
            Order(
                next(self.order_ids), side, px, qty, owner=owner, tif=tif, peak=peak, min_qty=min_qty, post_only=post_only, stp=stp
            )
        )

    @rule(
        side=st.sampled_from([BUY, SELL]),
        away=st.integers(min_value=1, max_value=3),
        qty=qtys,
        owner=st.sampled_from(OWNERS),
        tif=st.sampled_from([TimeInForce.DAY, TimeInForce.GTC]),
        peak=peaks,
    )
    def add_quote(self, side: Side, away: int, qty: int, owner: str, tif: TimeInForce, peak: int) -> None:
        """Add a limit on its own side of 100, so that the book builds depth to trade against."""
        self._add(
            Order(next(self.order_ids), side, 100 - away if side is BUY else 100 + away, qty, owner=owner, tif=tif, peak=peak)
        )

    @precondition(lambda self: len(self.book) > 0)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        # given
        order = data.draw(st.sampled_from(list(self.book.orders())))
        # when
        cancelled = self.book.cancel(order.order_id)
        # then
        assert cancelled is order
        assert order.live is False
        assert order.reason is CancelReason.REQUESTED
        assert self.book.get(order.order_id) is None
        self.gone.add(id(order))

    @rule()
    def cancel_unknown(self) -> None:
        # given
        before = view(self.book)
        # when / then
        assert self.book.cancel(UNKNOWN_ID) is None
        assert self.book.replace(UNKNOWN_ID, qty=5, px=100) is None
        assert view(self.book) == before

    @precondition(lambda self: len(self.book) > 0)
    @rule(data=st.data(), qty=st.integers(min_value=0, max_value=15), px=prices)
    def replace(self, data: st.DataObject, qty: int, px: int) -> None:
        # given
        order = data.draw(st.sampled_from(list(self.book.orders())))
        filled = order.filled
        old_qty, old_px = order.qty, order.px
        before = view(self.book)
        queued = self._queued(order.side.opposite)
        # when / then
        if qty <= filled:
            try:
                self.book.replace(order.order_id, qty=qty, px=px)
            except ValueError:
                assert view(self.book) == before
                return
            raise AssertionError(f"replace to `qty` {qty} at or below the filled {filled} did not raise")
        result = self.book.replace(order.order_id, qty=qty, px=px)
        assert result is not None
        fresh, outcome = result
        if px == old_px and qty <= old_qty:
            # a size decrease in place: same object, same queue place, nothing traded
            assert fresh is order
            assert (order.qty, order.filled) == (qty, filled)
            assert (outcome.fills, outcome.cancelled, outcome.restated) == ([], [], [])
            return
        assert fresh is not order
        assert order.live is False
        assert (fresh.order_id, fresh.px) == (order.order_id, px)
        decremented = fresh in outcome.restated or fresh.reason is CancelReason.SELF_TRADE
        assert fresh.qty == qty - filled or (decremented and fresh.qty < qty - filled), fresh
        self.gone.add(id(order))
        self.sent.append(fresh)
        self._check_outcome(fresh, outcome, queued)

    @rule()
    def end_of_day(self) -> None:
        # given
        day = [order for order in self.book.orders() if order.tif is TimeInForce.DAY]
        # when
        gone = self.book.clear()
        # then
        assert gone == day
        assert all(order.tif is TimeInForce.GTC for order in self.book.orders())
        self.gone.update(id(order) for order in gone)

    # --- invariants ----------------------------------------------------

    @invariant()
    def not_crossed(self) -> None:
        bid, ask = self.book.best(BUY), self.book.best(SELL)
        assert bid is None or ask is None or bid < ask

    @invariant()
    def quantity_is_conserved(self) -> None:
        bought = sold = 0
        for order in self.sent:
            assert 0 <= order.leaves <= order.qty, order
            assert order.filled == self.fill_qty[id(order)], order
            if order.side is BUY:
                bought += order.filled
            else:
                sold += order.filled
        assert bought == sold

    @invariant()
    def resting_orders_are_live_and_every_live_order_rests(self) -> None:
        resting = list(self.book.orders())
        assert len(resting) == len(self.book)
        for order in resting:
            assert order.live, order
            assert id(order) not in self.gone
            assert self.book.get(order.order_id) is order
            assert order.px is not None
            assert order.tif in (TimeInForce.DAY, TimeInForce.GTC)
            assert 0 < order.shown <= order.leaves, order
            if order.peak:
                assert order.shown <= order.peak, order
            else:
                assert order.shown == order.leaves, order
        for order in self.sent:
            assert order.live == (self.book.get(order.order_id) is order), order

    @invariant()
    def depth_is_the_displayed_size_of_live_orders(self) -> None:
        for side in (BUY, SELL):
            levels: dict[int, list[int]] = {}
            for order in self.book.orders():
                if order.side is side:
                    level = levels.setdefault(price(order), [0, 0])
                    level[0] += order.shown
                    level[1] += 1
            expected = sorted(((px, shown, n) for px, (shown, n) in levels.items()), reverse=side is BUY)
            assert self.book.depth(side, 1000) == expected
            assert self.book.best(side) == (expected[0][0] if expected else None)

    @invariant()
    def each_price_queue_is_in_arrival_order(self) -> None:
        last: dict[tuple[Side, int | None], int] = {}
        for order in self.book.orders():
            key = (order.side, order.px)
            seq = self.seq[id(order)]
            assert seq > last.get(key, -1), f"{order} is queued ahead of an order that arrived after it"
            last[key] = seq

    # --- helpers -------------------------------------------------------

    def _add(self, order: Order) -> None:
        # given
        before = view(self.book)
        queued = self._queued(order.side.opposite)
        # when
        outcome = self.book.add(order)
        # then
        self.sent.append(order)
        self._check_outcome(order, outcome, queued)
        if order in outcome.cancelled and order.reason in UNTOUCHED:
            assert outcome.fills == []
            assert outcome.restated == []
            assert view(self.book) == before

    def _queued(self, side: Side) -> list[_Queued]:
        return [_Queued(order, self.seq[id(order)]) for order in self.book.orders() if order.side is side]

    def _check_outcome(self, aggressor: Order, outcome: Outcome, queued: list[_Queued]) -> None:
        """Replay the fills against the model of the opposite side's queues; then book what rested."""
        side = aggressor.side
        by_order = {id(q.order): q for q in queued}

        def may_trade(resting: Order) -> bool:
            return aggressor.stp is STP.NONE or resting.owner != aggressor.owner

        assert not (aggressor.post_only and outcome.fills)
        for fill in outcome.fills:
            passive = fill.passive
            assert fill.aggressor is aggressor
            assert fill.qty > 0
            assert id(passive) not in self.gone, f"{passive} traded after it was taken out"
            assert may_trade(passive), f"{passive} traded with its own owner under {aggressor.stp}"
            assert fill.px == passive.px
            if aggressor.px is not None:
                assert not beyond(side, fill.px, aggressor.px), f"{fill} is outside the limit of {aggressor}"
            head = by_order[id(passive)]  # KeyError: the passive side was not resting before
            assert fill.qty <= head.shown, f"{fill} is more than the {head.shown} displayed"
            for other in queued:
                if other is head or other.leaves == 0 or not may_trade(other.order):
                    continue
                assert not better(side.opposite, price(other.order), fill.px), f"{fill} skipped the better {other.order}"
                if other.order.px == fill.px:
                    assert other.seq > head.seq, f"{fill} skipped the earlier {other.order}"
            head.shown -= fill.qty
            head.leaves -= fill.qty
            if head.shown == 0 and head.leaves > 0:
                # an iceberg refills its display and joins the back of its price's queue
                head.shown = min(head.order.peak, head.leaves)
                head.seq = next(self.arrivals)
            self.fill_qty[id(aggressor)] += fill.qty
            self.fill_qty[id(passive)] += fill.qty
        restated = {id(order) for order in outcome.restated}
        for q in queued:
            self.seq[id(q.order)] = q.seq
            if q.order.live and id(q.order) not in restated:
                assert (q.order.leaves, q.order.shown) == (q.leaves, q.shown), q.order
        for order in outcome.restated:
            assert aggressor.stp is STP.DECREMENT
            assert order is aggressor or order.owner == aggressor.owner
        for order in outcome.cancelled:
            assert order.live is False
            assert order.reason is not None
            self.gone.add(id(order))
            if order is not aggressor:
                assert order.reason is CancelReason.SELF_TRADE
                assert order.owner == aggressor.owner
                assert aggressor.stp in (STP.CANCEL_OLDEST, STP.CANCEL_BOTH, STP.DECREMENT)
        self._check_reason(aggressor, queued)
        if aggressor.tif is TimeInForce.FOK:
            assert outcome.fills == [] or aggressor.leaves == 0, f"FOK {aggressor} filled in part"
        if aggressor.min_qty and outcome.fills and aggressor.stp is not STP.DECREMENT:
            # The book does not reject a minimum above the order's size: it then means the whole order.
            # (A decrement lowers the order's own qty, so the minimum is not measured against fills there.)
            assert aggressor.filled >= min(aggressor.min_qty, aggressor.qty), f"{aggressor} traded under its minimum"
        if aggressor.px is None or aggressor.tif in (TimeInForce.IOC, TimeInForce.FOK):
            assert not aggressor.live
        if self.book.get(aggressor.order_id) is aggressor:
            self.seq[id(aggressor)] = next(self.arrivals)
            assert aggressor not in outcome.cancelled

    def _check_reason(self, aggressor: Order, queued: list[_Queued]) -> None:
        """Check that a cancelled aggressor had to be: the model of the book before it agrees with the reason."""
        reason = aggressor.reason
        if aggressor.live or reason in (None, CancelReason.SELF_TRADE):
            return
        opposite = aggressor.side.opposite
        limit = aggressor.px
        within = [q for q in queued if limit is None or not beyond(aggressor.side, price(q.order), limit)]
        if reason is CancelReason.POST_ONLY_WOULD_TAKE:
            assert within, f"{aggressor} would not have taken liquidity"
        elif reason in (CancelReason.FOK_UNFILLED, CancelReason.MIN_QTY_UNAVAILABLE):
            need = aggressor.qty if reason is CancelReason.FOK_UNFILLED else aggressor.min_qty
            tradable = 0
            for q in sorted(within, key=lambda q: (-price(q.order) if opposite is BUY else price(q.order), q.seq)):
                if aggressor.stp is not STP.NONE and q.order.owner == aggressor.owner:
                    if aggressor.stp in (STP.CANCEL_NEWEST, STP.CANCEL_BOTH):
                        # Matching would stop at the aggressor's own order; an iceberg ahead of it at its
                        # price refills behind it, so only the displayed part of those is in reach.
                        ahead = [o for o in within if price(o.order) == price(q.order) and o.seq < q.seq]
                        tradable -= sum(o.leaves - o.shown for o in ahead)
                        break
                    continue
                tradable += q.leaves
            assert tradable < need, f"{aggressor} was cancelled with {reason} though {tradable} could trade"
        else:  # NO_LIQUIDITY, IOC_REMAINDER: nothing it may trade with is left within its limit
            assert reason is (CancelReason.NO_LIQUIDITY if limit is None else CancelReason.IOC_REMAINDER)
            for order in self.book.orders():
                if order.side is opposite and (aggressor.stp is STP.NONE or order.owner != aggressor.owner):
                    assert limit is not None, f"{aggressor} left {order}"
                    assert beyond(aggressor.side, price(order), limit), f"{aggressor} left {order}"


BookMachine.TestCase.settings = settings(
    max_examples=800, stateful_step_count=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_order_book_invariants = BookMachine.TestCase
