"""OrderBook: price-time priority matching, exact scenarios and invariants under random flow."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.enums import OrdType, Side, TimeInForce
from venues.sim.book import BookOrder, Level, OrderBook

BUY = Side.BUY
SELL = Side.SELL


def limit(order_id: int, side: Side, qty: str, px: str, tif: TimeInForce = TimeInForce.DAY, owner: str = "c") -> BookOrder:
    return BookOrder(order_id, owner, side, OrdType.LIMIT, Decimal(qty), Decimal(px), tif)


def market(order_id: int, side: Side, qty: str, owner: str = "c") -> BookOrder:
    return BookOrder(order_id, owner, side, OrdType.MARKET, Decimal(qty), None, TimeInForce.IOC)


def fills(trades) -> list[tuple[int, int, Decimal, Decimal]]:
    return [(t.aggressor.order_id, t.passive.order_id, t.px, t.qty) for t in trades]


def test_empty_book_has_no_touch_and_no_depth():
    # given
    book = OrderBook("XYZ")
    # when / then
    assert book.best(BUY) is None
    assert book.best(SELL) is None
    assert book.depth(BUY, 5) == []
    assert book.depth(SELL, 5) == []
    assert list(book.resting()) == []


def test_best_price_trades_first():
    # given asks at three prices, entered worst first
    book = OrderBook("XYZ")
    book.submit(limit(1, SELL, "100", "10.03"))
    book.submit(limit(2, SELL, "100", "10.01"))
    book.submit(limit(3, SELL, "100", "10.02"))
    # when
    trades = book.submit(limit(4, BUY, "100", "10.05"))
    # then
    assert fills(trades) == [(4, 2, Decimal("10.01"), Decimal("100"))]
    assert book.best(SELL) == Level(Decimal("10.02"), Decimal("100"), 1)


def test_best_bid_is_the_highest():
    # given
    book = OrderBook("XYZ")
    book.submit(limit(1, BUY, "100", "9.98"))
    book.submit(limit(2, BUY, "50", "9.99"))
    book.submit(limit(3, BUY, "70", "9.97"))
    # when
    trades = book.submit(market(4, SELL, "60"))
    # then
    assert fills(trades) == [(4, 2, Decimal("9.99"), Decimal("50")), (4, 1, Decimal("9.98"), Decimal("10"))]
    assert book.best(BUY) == Level(Decimal("9.98"), Decimal("90"), 1)


def test_oldest_order_first_within_a_price():
    # given three bids at one price
    book = OrderBook("XYZ")
    book.submit(limit(1, BUY, "100", "10.00"))
    book.submit(limit(2, BUY, "100", "10.00"))
    book.submit(limit(3, BUY, "100", "10.00"))
    # when
    trades = book.submit(limit(4, SELL, "150", "10.00"))
    # then
    assert fills(trades) == [(4, 1, Decimal("10.00"), Decimal("100")), (4, 2, Decimal("10.00"), Decimal("50"))]
    assert book.get(1) is None
    assert book.get(2).leaves_qty == Decimal("50")
    assert book.get(3).leaves_qty == Decimal("100")
    assert book.best(BUY) == Level(Decimal("10.00"), Decimal("150"), 2)


def test_partial_fills_across_levels_then_rest_the_remainder():
    # given
    book = OrderBook("XYZ")
    book.submit(limit(1, SELL, "100", "10.01"))
    book.submit(limit(2, SELL, "200", "10.02"))
    book.submit(limit(3, SELL, "300", "10.03"))
    # when a buy limit crosses two levels and has more to do
    aggressor = limit(4, BUY, "400", "10.02")
    trades = book.submit(aggressor)
    # then it takes both levels at their own prices and rests the rest at its limit
    assert fills(trades) == [(4, 1, Decimal("10.01"), Decimal("100")), (4, 2, Decimal("10.02"), Decimal("200"))]
    assert aggressor.leaves_qty == Decimal("100")
    assert book.get(4) is aggressor
    assert book.best(BUY) == Level(Decimal("10.02"), Decimal("100"), 1)
    assert book.best(SELL) == Level(Decimal("10.03"), Decimal("300"), 1)


def test_partial_fill_of_a_passive_order_keeps_its_place():
    # given
    book = OrderBook("XYZ")
    book.submit(limit(1, SELL, "500", "10.00"))
    book.submit(limit(2, SELL, "100", "10.00"))
    # when
    book.submit(limit(3, BUY, "200", "10.00"))
    trades = book.submit(limit(4, BUY, "300", "10.00"))
    # then order 1 is still first in the queue
    assert fills(trades) == [(4, 1, Decimal("10.00"), Decimal("300"))]
    assert book.get(1) is None
    assert book.get(2).leaves_qty == Decimal("100")


def test_limit_that_does_not_cross_rests():
    # given
    book = OrderBook("XYZ")
    book.submit(limit(1, SELL, "100", "10.05"))
    # when
    trades = book.submit(limit(2, BUY, "100", "10.04"))
    # then
    assert trades == []
    assert book.best(BUY) == Level(Decimal("10.04"), Decimal("100"), 1)
    assert book.best(SELL) == Level(Decimal("10.05"), Decimal("100"), 1)


@pytest.mark.parametrize("tif", [TimeInForce.IOC, TimeInForce.FOK])
def test_ioc_and_fok_remainder_is_not_rested(tif):
    # given
    book = OrderBook("XYZ")
    book.submit(limit(1, SELL, "100", "10.00"))
    # when
    aggressor = limit(2, BUY, "300", "10.00", tif=tif)
    trades = book.submit(aggressor)
    # then
    assert fills(trades) == [(2, 1, Decimal("10.00"), Decimal("100"))]
    assert aggressor.leaves_qty == Decimal("200")
    assert book.get(2) is None
    assert book.best(BUY) is None
    assert book.best(SELL) is None


def test_ioc_that_does_not_cross_does_nothing():
    # given
    book = OrderBook("XYZ")
    book.submit(limit(1, SELL, "100", "10.01"))
    # when
    trades = book.submit(limit(2, BUY, "100", "10.00", tif=TimeInForce.IOC))
    # then
    assert trades == []
    assert book.best(BUY) is None
    assert book.best(SELL) == Level(Decimal("10.01"), Decimal("100"), 1)


def test_gtc_remainder_rests():
    # given / when
    book = OrderBook("XYZ")
    book.submit(limit(1, SELL, "100", "10.00", tif=TimeInForce.GTC))
    # then
    assert book.best(SELL) == Level(Decimal("10.00"), Decimal("100"), 1)


def test_market_order_sweeps_every_level_and_drops_the_rest():
    # given
    book = OrderBook("XYZ")
    book.submit(limit(1, SELL, "100", "10.01"))
    book.submit(limit(2, SELL, "100", "10.50"))
    book.submit(limit(3, SELL, "100", "99.00"))
    # when
    aggressor = market(4, BUY, "350")
    trades = book.submit(aggressor)
    # then
    assert fills(trades) == [
        (4, 1, Decimal("10.01"), Decimal("100")),
        (4, 2, Decimal("10.50"), Decimal("100")),
        (4, 3, Decimal("99.00"), Decimal("100")),
    ]
    assert aggressor.leaves_qty == Decimal("50")
    assert book.best(SELL) is None
    assert book.best(BUY) is None


def test_market_order_into_an_empty_book_does_not_trade():
    # given
    book = OrderBook("XYZ")
    # when
    trades = book.submit(market(1, SELL, "100"))
    # then
    assert trades == []
    assert list(book.resting()) == []


def test_cancel_removes_the_order_and_returns_it():
    # given
    book = OrderBook("XYZ")
    first = limit(1, BUY, "100", "10.00")
    book.submit(first)
    book.submit(limit(2, BUY, "40", "10.00"))
    # when
    cancelled = book.cancel(1)
    # then
    assert cancelled is first
    assert book.get(1) is None
    assert book.best(BUY) == Level(Decimal("10.00"), Decimal("40"), 1)
    assert fills(book.submit(market(3, SELL, "100"))) == [(3, 2, Decimal("10.00"), Decimal("40"))]


def test_cancel_of_the_last_order_at_a_price_removes_the_level():
    # given
    book = OrderBook("XYZ")
    book.submit(limit(1, SELL, "100", "10.00"))
    book.submit(limit(2, SELL, "100", "10.01"))
    # when
    book.cancel(1)
    # then
    assert book.depth(SELL, 5) == [Level(Decimal("10.01"), Decimal("100"), 1)]


def test_cancel_returns_none_when_not_resting():
    # given an order that filled, one that never rested, and an unknown id
    book = OrderBook("XYZ")
    book.submit(limit(1, SELL, "100", "10.00"))
    book.submit(limit(2, BUY, "100", "10.00"))
    book.submit(limit(3, BUY, "100", "9.00", tif=TimeInForce.IOC))
    # when / then
    assert book.cancel(1) is None
    assert book.cancel(2) is None
    assert book.cancel(3) is None
    assert book.cancel(99) is None


def test_cancel_twice_returns_none_the_second_time():
    # given
    book = OrderBook("XYZ")
    book.submit(limit(1, SELL, "100", "10.00"))
    # when
    book.cancel(1)
    # then
    assert book.cancel(1) is None
    assert book.best(SELL) is None


def test_depth_aggregates_levels_touch_first_and_limits_the_count():
    # given
    book = OrderBook("XYZ")
    book.submit(limit(1, BUY, "100", "9.99"))
    book.submit(limit(2, BUY, "50", "9.99"))
    book.submit(limit(3, BUY, "25", "9.98"))
    book.submit(limit(4, BUY, "10", "9.97"))
    book.submit(limit(5, SELL, "30", "10.02"))
    book.submit(limit(6, SELL, "20", "10.01"))
    book.submit(limit(7, SELL, "20", "10.01"))
    # when
    bids = book.depth(BUY, 2)
    asks = book.depth(SELL, 10)
    # then
    assert bids == [Level(Decimal("9.99"), Decimal("150"), 2), Level(Decimal("9.98"), Decimal("25"), 1)]
    assert asks == [Level(Decimal("10.01"), Decimal("40"), 2), Level(Decimal("10.02"), Decimal("30"), 1)]


def test_depth_reports_leaves_not_original_qty():
    # given
    book = OrderBook("XYZ")
    book.submit(limit(1, SELL, "100", "10.00"))
    # when
    book.submit(limit(2, BUY, "30", "10.00"))
    # then
    assert book.depth(SELL, 1) == [Level(Decimal("10.00"), Decimal("70"), 1)]


def test_submit_rejects_non_positive_qty_and_priceless_limit():
    # given
    book = OrderBook("XYZ")
    # when / then
    with pytest.raises(ValueError, match="qty"):
        book.submit(limit(1, BUY, "0", "10.00"))
    with pytest.raises(ValueError, match="qty"):
        book.submit(limit(2, BUY, "-5", "10.00"))
    with pytest.raises(ValueError, match="limit_px"):
        book.submit(BookOrder(3, "c", BUY, OrdType.LIMIT, Decimal("10"), None, TimeInForce.DAY))
    assert list(book.resting()) == []


# --- properties under random flow ---------------------------------------------

PRICES = [Decimal("9.95") + Decimal("0.01") * i for i in range(11)]

submit_op = st.tuples(
    st.just("submit"),
    st.sampled_from([BUY, SELL]),
    st.sampled_from([OrdType.LIMIT, OrdType.LIMIT, OrdType.MARKET]),
    st.sampled_from(list(TimeInForce)),
    st.integers(min_value=1, max_value=500),
    st.sampled_from(PRICES),
)
cancel_op = st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=60))
ops_strategy = st.lists(st.one_of(submit_op, submit_op, cancel_op), min_size=1, max_size=60)


def expected_fills(order_id, side, ord_type, qty, px, queue):
    """Model: take the opposite side's orders best price first, oldest first, while they cross."""
    result = []
    for passive_id, passive_px, passive_leaves in queue:
        if qty == 0:
            break
        if ord_type is OrdType.LIMIT and (passive_px > px if side is BUY else passive_px < px):
            break
        take = min(qty, passive_leaves)
        result.append((order_id, passive_id, passive_px, take))
        qty -= take
    return result


@settings(max_examples=200, deadline=None)
@given(ops=ops_strategy)
def test_random_flow_keeps_the_book_consistent(ops):
    # given
    book = OrderBook("XYZ")
    orders: dict[int, BookOrder] = {}
    traded: dict[int, Decimal] = {}
    cancelled: set[int] = set()
    total_traded = Decimal(0)
    for op in ops:
        # when
        if op[0] == "cancel":
            order_id = op[1]
            was_resting = book.get(order_id)
            result = book.cancel(order_id)
            assert result is was_resting
            if result is not None:
                cancelled.add(order_id)
            continue
        _, side, ord_type, tif, qty, px = op
        order_id = len(orders) + 1
        order = BookOrder(order_id, "c", side, ord_type, Decimal(qty), px if ord_type is OrdType.LIMIT else None, tif)
        orders[order_id] = order
        queue = [(o.order_id, o.limit_px, o.leaves_qty) for o in book.resting() if o.side is side.opposite]
        trades = book.submit(order)
        # then the trades walk the opposite side in price-time order, as a simple model does
        assert fills(trades) == expected_fills(order_id, side, ord_type, Decimal(qty), px, queue)
        # then every trade is at the passive price, never through the aggressor's limit
        for trade in trades:
            assert trade.aggressor is order
            assert trade.passive.side is side.opposite
            assert trade.qty > 0
            assert trade.px == trade.passive.limit_px
            if ord_type is OrdType.LIMIT:
                assert trade.px <= px if side is BUY else trade.px >= px
            traded[order_id] = traded.get(order_id, Decimal(0)) + trade.qty
            traded[trade.passive.order_id] = traded.get(trade.passive.order_id, Decimal(0)) + trade.qty
            total_traded += trade.qty
        # then the book is never crossed
        bid, ask = book.best(BUY), book.best(SELL)
        if bid is not None and ask is not None:
            assert bid.px < ask.px
        # then every order's quantity is its leaves plus what it traded
        for oid, o in orders.items():
            assert o.qty == o.leaves_qty + traded.get(oid, Decimal(0))
            assert o.leaves_qty >= 0
        # then exactly the unfilled, uncancelled DAY/GTC limit orders rest, with their leaves
        expected_resting = {
            oid
            for oid, o in orders.items()
            if o.ord_type is OrdType.LIMIT
            and o.tif in (TimeInForce.DAY, TimeInForce.GTC)
            and o.leaves_qty > 0
            and oid not in cancelled
        }
        assert {o.order_id for o in book.resting()} == expected_resting
        assert all(book.get(oid) is orders[oid] for oid in expected_resting)
        for book_side in (BUY, SELL):
            shown = sum((level.qty for level in book.depth(book_side, 1000)), Decimal(0))
            resting = sum((orders[oid].leaves_qty for oid in expected_resting if orders[oid].side is book_side), Decimal(0))
            assert shown == resting
            assert all(level.qty > 0 and level.orders > 0 for level in book.depth(book_side, 1000))
        # then quantity is conserved: submitted == left over + both sides of every trade
        submitted = sum((o.qty for o in orders.values()), Decimal(0))
        left = sum((o.leaves_qty for o in orders.values()), Decimal(0))
        assert submitted == left + 2 * total_traded


@settings(max_examples=200, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from([BUY, SELL]), st.sampled_from(PRICES), st.integers(1, 100)), max_size=40))
def test_depth_levels_are_strictly_ordered_touch_first(ops):
    # given
    book = OrderBook("XYZ")
    for i, (side, px, qty) in enumerate(ops, start=1):
        # when
        book.submit(BookOrder(i, "c", side, OrdType.LIMIT, Decimal(qty), px, TimeInForce.DAY))
    # then
    bid_pxs = [level.px for level in book.depth(BUY, 1000)]
    ask_pxs = [level.px for level in book.depth(SELL, 1000)]
    assert bid_pxs == sorted(bid_pxs, reverse=True)
    assert ask_pxs == sorted(ask_pxs)
    assert len(set(bid_pxs)) == len(bid_pxs)
    assert len(set(ask_pxs)) == len(ask_pxs)
    if bid_pxs:
        assert book.best(BUY).px == bid_pxs[0]
    if ask_pxs:
        assert book.best(SELL).px == ask_pxs[0]
