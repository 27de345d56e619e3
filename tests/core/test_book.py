"""OrderBook: every matching rule as an exact scenario (fills, cancellations, what rests).

Prices are integer ticks and quantities integer lots, as in the book itself.
"""

import pytest

from trading.enums import SelfTradePrevention, Side, TimeInForce
from venues.sim.book import CancelReason, DuplicateOrderId, Order, OrderBook, Outcome

BUY = Side.BUY
SELL = Side.SELL
DAY = TimeInForce.DAY
GTC = TimeInForce.GTC
IOC = TimeInForce.IOC
FOK = TimeInForce.FOK
STP = SelfTradePrevention


def fills(outcome: Outcome) -> list[tuple[int, int, int, int]]:
    """Return each fill as (aggressor id, passive id, px, qty), in the order the book made them."""
    return [(fill.aggressor.order_id, fill.passive.order_id, fill.px, fill.qty) for fill in outcome.fills]


def cancels(outcome: Outcome) -> list[tuple[int, CancelReason | None]]:
    """Return each order the operation took out as (order id, reason), in order."""
    return [(order.order_id, order.reason) for order in outcome.cancelled]


def resting_ids(book: OrderBook) -> list[int]:
    """Return the resting order ids, bids then asks, each side in priority order."""
    return [order.order_id for order in book.orders()]


def snapshot(book: OrderBook) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]], list[tuple[int, int]]]:
    """Return what an observer can see of the book: both depths and every resting (id, leaves)."""
    return book.depth(BUY, 100), book.depth(SELL, 100), [(order.order_id, order.leaves) for order in book.orders()]


def book_with(*orders: Order) -> OrderBook:
    """Return a book where each of ``orders`` has been added and rested without trading."""
    book = OrderBook("XYZ")
    for order in orders:
        outcome = book.add(order)
        assert outcome.fills == []
        assert outcome.cancelled == []
    return book


# --- reading an empty and a resting book --------------------------------


def test_empty_book_has_no_touch_no_depth_and_no_orders():
    # given
    book = OrderBook("XYZ")
    # when / then
    assert book.best(BUY) is None
    assert book.best(SELL) is None
    assert book.depth(BUY) == []
    assert book.depth(SELL) == []
    assert list(book.orders()) == []
    assert len(book) == 0


def test_depth_lists_levels_touch_first_with_displayed_qty_and_order_count():
    # given
    book = book_with(
        Order(1, BUY, 98, 10),
        Order(2, BUY, 99, 5),
        Order(3, BUY, 99, 7),
        Order(4, SELL, 102, 4),
        Order(5, SELL, 101, 6),
        Order(6, SELL, 103, 1),
    )
    # when / then
    assert book.best(BUY) == 99
    assert book.best(SELL) == 101
    assert book.depth(BUY) == [(99, 12, 2), (98, 10, 1)]
    assert book.depth(SELL) == [(101, 6, 1), (102, 4, 1), (103, 1, 1)]
    assert book.depth(SELL, 2) == [(101, 6, 1), (102, 4, 1)]
    assert resting_ids(book) == [2, 3, 1, 5, 4, 6]
    assert len(book) == 6


# --- price and time priority, partial fills, limits ----------------------


def test_best_price_trades_first_whatever_the_arrival_order():
    # given asks entered worst price first
    book = book_with(Order(1, SELL, 103, 100), Order(2, SELL, 101, 100), Order(3, SELL, 102, 100))
    # when
    outcome = book.add(Order(4, BUY, 105, 250))
    # then
    assert fills(outcome) == [(4, 2, 101, 100), (4, 3, 102, 100), (4, 1, 103, 50)]
    assert outcome.cancelled == []
    assert book.depth(SELL) == [(103, 50, 1)]
    assert book.get(1).leaves == 50


def test_best_bid_trades_first_for_a_sell():
    # given
    book = book_with(Order(1, BUY, 98, 100), Order(2, BUY, 99, 50), Order(3, BUY, 97, 70))
    # when
    outcome = book.add(Order(4, SELL, None, 60))
    # then
    assert fills(outcome) == [(4, 2, 99, 50), (4, 1, 98, 10)]
    assert book.depth(BUY) == [(98, 90, 1), (97, 70, 1)]


def test_oldest_order_first_within_a_price():
    # given three asks at one price
    book = book_with(Order(1, SELL, 100, 100), Order(2, SELL, 100, 100), Order(3, SELL, 100, 100))
    # when
    outcome = book.add(Order(4, BUY, 100, 150))
    # then
    assert fills(outcome) == [(4, 1, 100, 100), (4, 2, 100, 50)]
    assert book.get(1) is None
    assert book.get(2).leaves == 50
    assert book.get(3).leaves == 100
    assert resting_ids(book) == [2, 3]
    assert book.depth(SELL) == [(100, 150, 2)]


def test_partially_filled_passive_keeps_its_place_in_the_queue():
    # given
    book = book_with(Order(1, SELL, 100, 500), Order(2, SELL, 100, 100))
    book.add(Order(3, BUY, 100, 200, tif=IOC))
    # when
    outcome = book.add(Order(4, BUY, 100, 300, tif=IOC))
    # then order 1 was still first
    assert fills(outcome) == [(4, 1, 100, 300)]
    assert book.get(1) is None
    assert resting_ids(book) == [2]


def test_fully_filled_aggressor_neither_rests_nor_is_cancelled():
    # given
    book = book_with(Order(1, SELL, 100, 10))
    aggressor = Order(2, BUY, 100, 4)
    # when
    outcome = book.add(aggressor)
    # then
    assert fills(outcome) == [(2, 1, 100, 4)]
    assert outcome.cancelled == []
    assert aggressor.leaves == 0
    assert aggressor.filled == 4
    assert aggressor.live is False
    assert aggressor.reason is None
    assert book.get(2) is None
    assert book.depth(SELL) == [(100, 6, 1)]


def test_buy_limit_never_trades_through_its_price():
    # given
    book = book_with(Order(1, SELL, 101, 100), Order(2, SELL, 102, 100))
    aggressor = Order(3, BUY, 101, 300)
    # when
    outcome = book.add(aggressor)
    # then it takes only what is at or under its limit and rests the rest there
    assert fills(outcome) == [(3, 1, 101, 100)]
    assert outcome.cancelled == []
    assert aggressor.leaves == 200
    assert book.get(3) is aggressor
    assert book.best(BUY) == 101
    assert book.depth(SELL) == [(102, 100, 1)]
    assert book.get(2).leaves == 100


def test_sell_limit_never_trades_through_its_price():
    # given
    book = book_with(Order(1, BUY, 99, 100), Order(2, BUY, 98, 100))
    aggressor = Order(3, SELL, 99, 150, tif=IOC)
    # when
    outcome = book.add(aggressor)
    # then
    assert fills(outcome) == [(3, 1, 99, 100)]
    assert cancels(outcome) == [(3, CancelReason.IOC_REMAINDER)]
    assert book.depth(BUY) == [(98, 100, 1)]


def test_aggressor_trades_at_the_resting_price_not_its_own():
    # given
    book = book_with(Order(1, SELL, 100, 10))
    # when a buy willing to pay 110 meets an ask at 100
    outcome = book.add(Order(2, BUY, 110, 10))
    # then
    assert fills(outcome) == [(2, 1, 100, 10)]


def test_partially_filled_aggressor_rests_only_its_leaves():
    # given 4 offered, then a buy for 10 that takes them and rests 6
    book = book_with(Order(1, SELL, 100, 4))
    aggressor = Order(2, BUY, 100, 10)
    book.add(aggressor)
    # when a sell for 10 meets the resting remainder
    outcome = book.add(Order(3, SELL, 100, 10))
    # then it fills only the 6 left, the buy is done, and 4 rest on the offer
    assert fills(outcome) == [(3, 2, 100, 6)]
    assert aggressor.leaves == 0
    assert aggressor.live is False
    assert book.depth(BUY) == []
    assert book.depth(SELL) == [(100, 4, 1)]


def test_partially_filled_aggressor_shows_only_its_leaves_in_depth():
    # given
    book = book_with(Order(1, SELL, 100, 4))
    # when
    book.add(Order(2, BUY, 100, 10))
    # then
    assert book.get(2).leaves == 6
    assert book.depth(BUY) == [(100, 6, 1)]


def test_partially_filled_iceberg_aggressor_shows_at_most_its_leaves():
    # given
    book = book_with(Order(1, SELL, 100, 8))
    # when an iceberg buy for 10 showing 5 takes 8 and rests 2
    book.add(Order(2, BUY, 100, 10, peak=5))
    # then
    assert book.depth(BUY) == [(100, 2, 1)]


# --- market orders -----------------------------------------------------


def test_market_order_walks_the_levels():
    # given
    book = book_with(Order(1, SELL, 100, 5), Order(2, SELL, 101, 5), Order(3, SELL, 150, 5))
    aggressor = Order(4, BUY, None, 12)
    # when
    outcome = book.add(aggressor)
    # then
    assert fills(outcome) == [(4, 1, 100, 5), (4, 2, 101, 5), (4, 3, 150, 2)]
    assert outcome.cancelled == []
    assert aggressor.leaves == 0
    assert book.depth(SELL) == [(150, 3, 1)]
    assert book.depth(BUY) == []


def test_market_order_remainder_is_cancelled_for_no_liquidity():
    # given
    book = book_with(Order(1, SELL, 100, 5), Order(2, SELL, 101, 5))
    aggressor = Order(3, BUY, None, 20)
    # when
    outcome = book.add(aggressor)
    # then
    assert fills(outcome) == [(3, 1, 100, 5), (3, 2, 101, 5)]
    assert cancels(outcome) == [(3, CancelReason.NO_LIQUIDITY)]
    assert aggressor.leaves == 10
    assert aggressor.live is False
    assert book.best(SELL) is None
    assert book.best(BUY) is None


def test_market_order_into_an_empty_side_is_cancelled_untouched():
    # given a book with bids only
    book = book_with(Order(1, BUY, 99, 5))
    # when a market buy arrives
    outcome = book.add(Order(2, BUY, None, 5))
    # then
    assert fills(outcome) == []
    assert cancels(outcome) == [(2, CancelReason.NO_LIQUIDITY)]
    assert snapshot(book) == ([(99, 5, 1)], [], [(1, 5)])


# --- time in force -----------------------------------------------------


@pytest.mark.parametrize("tif", [DAY, GTC])
def test_day_and_gtc_orders_rest(tif):
    # given
    book = book_with(Order(1, SELL, 101, 10))
    order = Order(2, BUY, 100, 10, tif=tif)
    # when
    outcome = book.add(order)
    # then
    assert fills(outcome) == []
    assert outcome.cancelled == []
    assert book.get(2) is order
    assert order.live is True
    assert book.depth(BUY) == [(100, 10, 1)]


def test_ioc_remainder_is_cancelled():
    # given
    book = book_with(Order(1, SELL, 100, 4), Order(2, SELL, 101, 4))
    aggressor = Order(3, BUY, 100, 10, tif=IOC)
    # when
    outcome = book.add(aggressor)
    # then
    assert fills(outcome) == [(3, 1, 100, 4)]
    assert cancels(outcome) == [(3, CancelReason.IOC_REMAINDER)]
    assert aggressor.leaves == 6
    assert book.get(3) is None
    assert book.depth(BUY) == []
    assert book.depth(SELL) == [(101, 4, 1)]


def test_ioc_that_does_not_cross_is_cancelled_and_changes_nothing():
    # given
    book = book_with(Order(1, SELL, 101, 4))
    before = snapshot(book)
    # when
    outcome = book.add(Order(2, BUY, 100, 10, tif=IOC))
    # then
    assert fills(outcome) == []
    assert cancels(outcome) == [(2, CancelReason.IOC_REMAINDER)]
    assert snapshot(book) == before


def test_fok_trades_in_full_across_levels_when_enough_is_there():
    # given
    book = book_with(Order(1, SELL, 100, 4), Order(2, SELL, 101, 4), Order(3, SELL, 102, 4))
    aggressor = Order(4, BUY, 101, 8, tif=FOK)
    # when
    outcome = book.add(aggressor)
    # then
    assert fills(outcome) == [(4, 1, 100, 4), (4, 2, 101, 4)]
    assert outcome.cancelled == []
    assert aggressor.leaves == 0
    assert book.depth(SELL) == [(102, 4, 1)]


def test_fok_is_cancelled_untouched_when_not_enough_is_within_its_limit():
    # given 8 offered, 4 of them above the buyer's limit
    book = book_with(Order(1, SELL, 100, 4), Order(2, SELL, 101, 4))
    before = snapshot(book)
    aggressor = Order(3, BUY, 100, 5, tif=FOK)
    # when
    outcome = book.add(aggressor)
    # then
    assert fills(outcome) == []
    assert cancels(outcome) == [(3, CancelReason.FOK_UNFILLED)]
    assert aggressor.leaves == 5
    assert snapshot(book) == before


def test_fok_into_an_empty_side_is_cancelled():
    # given
    book = OrderBook("XYZ")
    # when
    outcome = book.add(Order(1, SELL, None, 5, tif=FOK))
    # then
    assert cancels(outcome) == [(1, CancelReason.FOK_UNFILLED)]
    assert len(book) == 0


def test_fok_counts_and_takes_the_hidden_iceberg_quantity():
    # given an iceberg of 10 showing 2, then a plain order of 3 behind it
    book = book_with(Order(1, SELL, 100, 10, peak=2), Order(2, SELL, 100, 3))
    assert book.depth(SELL) == [(100, 5, 2)]
    aggressor = Order(3, BUY, 100, 12, tif=FOK)
    # when the buy needs more than is displayed
    outcome = book.add(aggressor)
    # then it fills in full: each refilled peak goes behind order 2
    assert fills(outcome) == [(3, 1, 100, 2), (3, 2, 100, 3), (3, 1, 100, 2), (3, 1, 100, 2), (3, 1, 100, 2), (3, 1, 100, 1)]
    assert outcome.cancelled == []
    assert aggressor.leaves == 0
    assert book.get(1).leaves == 1
    assert book.depth(SELL) == [(100, 1, 1)]


def test_fok_larger_than_the_hidden_quantity_is_cancelled():
    # given
    book = book_with(Order(1, SELL, 100, 10, peak=2))
    before = snapshot(book)
    # when
    outcome = book.add(Order(2, BUY, 100, 11, tif=FOK))
    # then
    assert fills(outcome) == []
    assert cancels(outcome) == [(2, CancelReason.FOK_UNFILLED)]
    assert snapshot(book) == before


# --- minimum quantity --------------------------------------------------


def test_min_qty_met_trades_and_the_remainder_rests_without_it():
    # given 7 offered over two prices
    book = book_with(Order(1, SELL, 100, 3), Order(2, SELL, 101, 4))
    aggressor = Order(3, BUY, 101, 10, min_qty=5)
    # when
    outcome = book.add(aggressor)
    # then it trades the 7 and rests 3
    assert fills(outcome) == [(3, 1, 100, 3), (3, 2, 101, 4)]
    assert outcome.cancelled == []
    assert book.get(3) is aggressor
    assert aggressor.leaves == 3
    # when a sell smaller than the minimum arrives
    later = book.add(Order(4, SELL, 101, 1))
    # then the rested remainder trades it: the minimum applied on entry only
    assert fills(later) == [(4, 3, 101, 1)]
    assert aggressor.leaves == 2


def test_min_qty_counts_hidden_iceberg_quantity():
    # given an iceberg of 6 showing 2
    book = book_with(Order(1, SELL, 100, 6, peak=2))
    # when
    outcome = book.add(Order(2, BUY, 100, 6, min_qty=5, tif=IOC))
    # then
    assert fills(outcome) == [(2, 1, 100, 2), (2, 1, 100, 2), (2, 1, 100, 2)]
    assert outcome.cancelled == []
    assert len(book) == 0


def test_min_qty_not_available_is_cancelled_untouched():
    # given 3 offered at the limit and more above it
    book = book_with(Order(1, SELL, 100, 3), Order(2, SELL, 101, 10))
    before = snapshot(book)
    aggressor = Order(3, BUY, 100, 10, min_qty=5)
    # when
    outcome = book.add(aggressor)
    # then
    assert fills(outcome) == []
    assert cancels(outcome) == [(3, CancelReason.MIN_QTY_UNAVAILABLE)]
    assert aggressor.leaves == 10
    assert aggressor.live is False
    assert book.get(3) is None
    assert snapshot(book) == before


def test_min_qty_order_that_does_not_cross_is_cancelled():
    # given
    book = book_with(Order(1, SELL, 101, 10))
    before = snapshot(book)
    # when
    outcome = book.add(Order(2, BUY, 100, 10, min_qty=5))
    # then
    assert cancels(outcome) == [(2, CancelReason.MIN_QTY_UNAVAILABLE)]
    assert snapshot(book) == before


# --- post-only ---------------------------------------------------------


def test_post_only_rests_when_passive():
    # given
    book = book_with(Order(1, SELL, 101, 10))
    order = Order(2, BUY, 100, 10, post_only=True)
    # when
    outcome = book.add(order)
    # then
    assert fills(outcome) == []
    assert outcome.cancelled == []
    assert book.get(2) is order
    assert book.depth(BUY) == [(100, 10, 1)]


@pytest.mark.parametrize("px", [101, 102])
def test_post_only_that_would_take_is_cancelled_and_changes_nothing(px):
    # given
    book = book_with(Order(1, SELL, 101, 10), Order(2, BUY, 99, 5))
    before = snapshot(book)
    order = Order(3, BUY, px, 10, post_only=True)
    # when
    outcome = book.add(order)
    # then
    assert fills(outcome) == []
    assert cancels(outcome) == [(3, CancelReason.POST_ONLY_WOULD_TAKE)]
    assert order.leaves == 10
    assert snapshot(book) == before


# --- iceberg -----------------------------------------------------------


def test_iceberg_shows_only_its_peak_in_depth():
    # given / when
    book = book_with(Order(1, SELL, 100, 10, peak=3), Order(2, SELL, 100, 4))
    # then
    assert book.depth(SELL) == [(100, 7, 2)]
    assert book.get(1).shown == 3
    assert book.get(1).leaves == 10


def test_iceberg_refill_goes_behind_later_orders_at_its_price():
    # given an iceberg of 10 showing 3, then a plain 5 at the same price
    book = book_with(Order(1, SELL, 100, 10, peak=3), Order(2, SELL, 100, 5))
    # when its displayed 3 are taken
    first = book.add(Order(3, BUY, 100, 3))
    # then it is refilled to 3 and queues behind order 2
    assert fills(first) == [(3, 1, 100, 3)]
    assert resting_ids(book) == [2, 1]
    assert book.depth(SELL) == [(100, 8, 2)]
    # when the next buy arrives
    second = book.add(Order(4, BUY, 100, 6))
    # then order 2 trades first
    assert fills(second) == [(4, 2, 100, 5), (4, 1, 100, 1)]
    assert book.get(1).leaves == 6
    assert book.get(1).shown == 2
    assert book.depth(SELL) == [(100, 2, 1)]


def test_iceberg_hidden_quantity_is_tradable_by_one_aggressor():
    # given
    book = book_with(Order(1, SELL, 100, 10, peak=3))
    # when
    outcome = book.add(Order(2, BUY, 100, 10))
    # then it is taken peak by peak
    assert fills(outcome) == [(2, 1, 100, 3), (2, 1, 100, 3), (2, 1, 100, 3), (2, 1, 100, 1)]
    assert len(book) == 0
    assert book.depth(SELL) == []


# --- cancel ------------------------------------------------------------


def test_cancel_takes_the_order_out_and_returns_it():
    # given
    first = Order(1, BUY, 100, 10)
    book = book_with(first, Order(2, BUY, 100, 4))
    # when
    cancelled = book.cancel(1)
    # then
    assert cancelled is first
    assert first.live is False
    assert first.reason is CancelReason.REQUESTED
    assert book.get(1) is None
    assert book.depth(BUY) == [(100, 4, 1)]
    assert resting_ids(book) == [2]


def test_cancel_of_an_unknown_or_gone_order_returns_none():
    # given
    book = book_with(Order(1, BUY, 100, 10))
    book.cancel(1)
    # when / then
    assert book.cancel(1) is None
    assert book.cancel(99) is None
    assert len(book) == 0


def test_last_order_cancelled_takes_its_level_away():
    # given
    book = book_with(Order(1, SELL, 101, 10), Order(2, SELL, 102, 10))
    # when
    book.cancel(1)
    # then
    assert book.best(SELL) == 102
    assert book.depth(SELL) == [(102, 10, 1)]


def test_matching_skips_cancelled_entries():
    # given three asks at one price, the middle one cancelled
    book = book_with(Order(1, SELL, 100, 5), Order(2, SELL, 100, 5), Order(3, SELL, 100, 5))
    book.cancel(2)
    # when
    outcome = book.add(Order(4, BUY, 100, 8))
    # then
    assert fills(outcome) == [(4, 1, 100, 5), (4, 3, 100, 3)]
    assert book.depth(SELL) == [(100, 2, 1)]


def test_many_cancels_at_one_price_keep_the_queue_in_order():
    # given 50 asks at one price, all but the last two cancelled (enough to compact the queue)
    book = book_with(*(Order(i, SELL, 100, 1) for i in range(1, 51)))
    for order_id in range(1, 49):
        book.cancel(order_id)
    # when
    outcome = book.add(Order(51, BUY, 100, 5, tif=IOC))
    # then
    assert fills(outcome) == [(51, 49, 100, 1), (51, 50, 100, 1)]
    assert cancels(outcome) == [(51, CancelReason.IOC_REMAINDER)]
    assert len(book) == 0
    assert book.best(SELL) is None


# --- replace -----------------------------------------------------------


def test_replace_of_an_unknown_order_returns_none():
    # given
    book = OrderBook("XYZ")
    # when / then
    assert book.replace(1, qty=10, px=100) is None


def test_size_decrease_at_the_same_price_keeps_the_queue_place():
    # given
    first = Order(1, SELL, 100, 10)
    book = book_with(first, Order(2, SELL, 100, 10))
    # when
    result = book.replace(1, qty=6, px=100)
    # then the same order stands, smaller, still first
    assert result is not None
    order, outcome = result
    assert order is first
    assert (order.qty, order.leaves) == (6, 6)
    assert outcome.fills == []
    assert outcome.cancelled == []
    assert resting_ids(book) == [1, 2]
    assert book.depth(SELL) == [(100, 16, 2)]
    assert fills(book.add(Order(3, BUY, 100, 6))) == [(3, 1, 100, 6)]


def test_size_decrease_of_an_iceberg_trims_the_displayed_part():
    # given an iceberg of 10 showing 4
    book = book_with(Order(1, SELL, 100, 10, peak=4))
    # when it is cut to 3
    book.replace(1, qty=3, px=100)
    # then
    assert book.depth(SELL) == [(100, 3, 1)]
    assert book.get(1).shown == 3


def test_size_increase_loses_the_queue_place():
    # given
    first = Order(1, SELL, 100, 10)
    book = book_with(first, Order(2, SELL, 100, 10))
    # when
    result = book.replace(1, qty=15, px=100)
    # then a new order with the same id queues behind order 2
    assert result is not None
    order, outcome = result
    assert order is not first
    assert (order.order_id, order.qty, order.leaves) == (1, 15, 15)
    assert first.live is False
    assert outcome.fills == []
    assert resting_ids(book) == [2, 1]
    assert book.get(1) is order
    assert book.depth(SELL) == [(100, 25, 2)]
    assert fills(book.add(Order(3, BUY, 100, 10))) == [(3, 2, 100, 10)]


def test_price_change_loses_the_queue_place_even_when_smaller():
    # given
    book = book_with(Order(1, SELL, 101, 10), Order(2, SELL, 100, 10))
    # when order 1 moves to 100 with less size
    result = book.replace(1, qty=5, px=100)
    # then it is behind order 2
    assert result is not None
    assert resting_ids(book) == [2, 1]
    assert book.depth(SELL) == [(100, 15, 2)]


def test_price_change_may_trade():
    # given
    book = book_with(Order(1, BUY, 99, 10), Order(2, SELL, 100, 4))
    # when the bid is raised to the offer
    result = book.replace(1, qty=10, px=100)
    # then it takes the offer and rests the rest
    assert result is not None
    order, outcome = result
    assert fills(outcome) == [(1, 2, 100, 4)]
    assert outcome.cancelled == []
    assert order.leaves == 6
    assert book.get(1) is order
    assert book.best(BUY) == 100
    assert book.best(SELL) is None


def test_replace_after_a_partial_fill_enters_the_remaining_quantity():
    # given an ask of 10, 4 of it filled
    book = book_with(Order(1, SELL, 100, 10))
    book.add(Order(2, BUY, 100, 4))
    # when its total is raised to 12
    result = book.replace(1, qty=12, px=100)
    # then the new order is for what is left to do: 12 - 4
    assert result is not None
    order, _ = result
    assert (order.qty, order.leaves) == (8, 8)
    assert book.depth(SELL) == [(100, 8, 1)]


def test_size_decrease_after_a_partial_fill_keeps_the_filled_part():
    # given an ask of 10, 4 of it filled
    first = Order(1, SELL, 100, 10)
    book = book_with(first)
    book.add(Order(2, BUY, 100, 4))
    # when its total is cut to 5
    book.replace(1, qty=5, px=100)
    # then one is left to do
    assert (first.qty, first.filled, first.leaves) == (5, 4, 1)
    assert book.depth(SELL) == [(100, 1, 1)]


@pytest.mark.parametrize("qty", [4, 3, 0])
def test_replace_to_a_qty_at_or_below_the_filled_raises(qty):
    # given an ask of 10, 4 of it filled
    first = Order(1, SELL, 100, 10)
    book = book_with(first)
    book.add(Order(2, BUY, 100, 4))
    before = snapshot(book)
    # when / then
    with pytest.raises(ValueError, match="invalid `qty`"):
        book.replace(1, qty=qty, px=100)
    assert snapshot(book) == before
    assert book.get(1) is first


def test_replace_keeps_iceberg_and_owner_and_time_in_force():
    # given
    book = book_with(Order(1, SELL, 101, 10, peak=2, owner="a", tif=GTC))
    # when
    result = book.replace(1, qty=12, px=102)
    # then
    assert result is not None
    order, _ = result
    assert (order.peak, order.owner, order.tif, order.shown) == (2, "a", GTC, 2)
    assert book.depth(SELL) == [(102, 2, 1)]


# --- self-trade prevention ---------------------------------------------


def stp_book() -> OrderBook:
    """Return a book offering 5 of owner "me" ahead of 5 of owner "other" at 100."""
    return book_with(Order(1, SELL, 100, 5, owner="me"), Order(2, SELL, 100, 5, owner="other"))


def test_without_self_trade_prevention_the_same_owner_trades():
    # given
    book = stp_book()
    # when
    outcome = book.add(Order(3, BUY, 100, 5, owner="me", stp=STP.NONE))
    # then
    assert fills(outcome) == [(3, 1, 100, 5)]
    assert outcome.cancelled == []


def test_self_trade_prevention_does_not_apply_to_other_owners():
    # given
    book = stp_book()
    # when someone else buys with prevention on
    outcome = book.add(Order(3, BUY, 100, 5, owner="third", stp=STP.CANCEL_BOTH))
    # then
    assert fills(outcome) == [(3, 1, 100, 5)]
    assert outcome.cancelled == []


def test_cancel_newest_cancels_the_incoming_and_leaves_the_book():
    # given
    book = stp_book()
    before = snapshot(book)
    aggressor = Order(3, BUY, 100, 5, owner="me", stp=STP.CANCEL_NEWEST)
    # when
    outcome = book.add(aggressor)
    # then
    assert fills(outcome) == []
    assert cancels(outcome) == [(3, CancelReason.SELF_TRADE)]
    assert outcome.restated == []
    assert aggressor.live is False
    assert snapshot(book) == before


def test_cancel_newest_keeps_fills_made_before_the_own_order():
    # given another owner's 2 ahead of our own 5
    book = book_with(Order(1, SELL, 100, 2, owner="other"), Order(2, SELL, 100, 5, owner="me"))
    # when we buy 5 as an IOC
    outcome = book.add(Order(3, BUY, 100, 5, owner="me", stp=STP.CANCEL_NEWEST, tif=IOC))
    # then
    assert fills(outcome) == [(3, 1, 100, 2)]
    assert cancels(outcome) == [(3, CancelReason.SELF_TRADE)]
    assert resting_ids(book) == [2]


def test_cancel_oldest_cancels_the_resting_and_goes_on_matching():
    # given
    book = stp_book()
    aggressor = Order(3, BUY, 100, 5, owner="me", stp=STP.CANCEL_OLDEST)
    # when
    outcome = book.add(aggressor)
    # then
    assert cancels(outcome) == [(1, CancelReason.SELF_TRADE)]
    assert fills(outcome) == [(3, 2, 100, 5)]
    assert outcome.restated == []
    assert aggressor.leaves == 0
    assert book.get(1) is None
    assert len(book) == 0


def test_cancel_both_cancels_the_incoming_and_the_resting():
    # given
    book = stp_book()
    # when
    outcome = book.add(Order(3, BUY, 100, 5, owner="me", stp=STP.CANCEL_BOTH))
    # then
    assert fills(outcome) == []
    assert cancels(outcome) == [(1, CancelReason.SELF_TRADE), (3, CancelReason.SELF_TRADE)]
    assert book.get(1) is None
    assert snapshot(book) == ([], [(100, 5, 1)], [(2, 5)])


def test_decrement_larger_incoming_removes_the_resting_and_trades_the_rest():
    # given
    book = stp_book()
    aggressor = Order(3, BUY, 100, 8, owner="me", stp=STP.DECREMENT)
    # when
    outcome = book.add(aggressor)
    # then both lose 5 without a trade; the incoming's 3 left trade with the other owner
    own = outcome.cancelled[0]
    assert cancels(outcome) == [(1, CancelReason.SELF_TRADE)]
    assert (own.qty, own.leaves) == (0, 0)
    assert [order.order_id for order in outcome.restated] == [3]
    assert fills(outcome) == [(3, 2, 100, 3)]
    assert (aggressor.qty, aggressor.filled, aggressor.leaves) == (3, 3, 0)
    assert book.depth(SELL) == [(100, 2, 1)]


def test_decrement_smaller_incoming_is_cancelled_and_the_resting_restated():
    # given
    book = stp_book()
    aggressor = Order(3, BUY, 100, 3, owner="me", stp=STP.DECREMENT)
    # when
    outcome = book.add(aggressor)
    # then
    assert fills(outcome) == []
    assert cancels(outcome) == [(3, CancelReason.SELF_TRADE)]
    assert [order.order_id for order in outcome.restated] == [1]
    assert (aggressor.qty, aggressor.leaves) == (0, 0)
    own = book.get(1)
    assert (own.qty, own.leaves, own.live) == (2, 2, True)
    assert resting_ids(book) == [1, 2]
    assert book.depth(SELL) == [(100, 7, 2)]


def test_decrement_of_an_iceberg_cuts_its_hidden_size_first():
    # given our own iceberg of 10 showing 4
    book = book_with(Order(1, SELL, 100, 10, peak=4, owner="me"))
    # when we buy 7 with decrement
    outcome = book.add(Order(2, BUY, 100, 7, owner="me", stp=STP.DECREMENT))
    # then the iceberg has 3 left, all shown
    assert fills(outcome) == []
    assert [order.order_id for order in outcome.restated] == [1]
    assert (book.get(1).leaves, book.get(1).shown) == (3, 3)
    assert book.depth(SELL) == [(100, 3, 1)]


def test_fok_with_cancel_newest_never_fills_in_part():
    # given another owner's 2, our own 5, then another owner's 10, all at 100
    book = book_with(
        Order(1, SELL, 100, 2, owner="other"), Order(2, SELL, 100, 5, owner="me"), Order(3, SELL, 100, 10, owner="other")
    )
    before = snapshot(book)
    aggressor = Order(4, BUY, 100, 10, owner="me", tif=FOK, stp=STP.CANCEL_NEWEST)
    # when
    outcome = book.add(aggressor)
    # then all or nothing: it cannot reach order 3 without meeting its own order, so nothing
    assert fills(outcome) == []
    assert cancels(outcome) == [(4, CancelReason.FOK_UNFILLED)]
    assert aggressor.leaves == 10
    assert snapshot(book) == before


def test_min_qty_with_cancel_both_never_trades_less_than_the_minimum():
    # given another owner's 2, our own 5, then another owner's 10, all at 100
    book = book_with(
        Order(1, SELL, 100, 2, owner="other"), Order(2, SELL, 100, 5, owner="me"), Order(3, SELL, 100, 10, owner="other")
    )
    aggressor = Order(4, BUY, 100, 10, owner="me", min_qty=5, stp=STP.CANCEL_BOTH)
    # when
    outcome = book.add(aggressor)
    # then only 2 could trade before its own order, under the minimum of 5
    assert fills(outcome) == []
    assert cancels(outcome) == [(4, CancelReason.MIN_QTY_UNAVAILABLE)]
    assert resting_ids(book) == [1, 2, 3]


def test_fok_with_cancel_newest_cannot_reach_iceberg_size_hidden_behind_its_own_order():
    # given another owner's iceberg of 4 showing 2, then our own 5, at one price
    book = book_with(Order(1, BUY, 99, 4, peak=2, owner="other"), Order(2, BUY, 99, 5, owner="me"))
    before = snapshot(book)
    aggressor = Order(3, SELL, None, 4, owner="me", tif=FOK, stp=STP.CANCEL_NEWEST)
    # when we sell 4, fill or kill
    outcome = book.add(aggressor)
    # then after the first 2 the iceberg refills behind our own order, so 4 cannot trade: nothing does
    assert fills(outcome) == []
    assert cancels(outcome) == [(3, CancelReason.FOK_UNFILLED)]
    assert snapshot(book) == before


def test_min_qty_with_cancel_both_cannot_count_iceberg_size_hidden_behind_its_own_order():
    # given another owner's iceberg of 6 showing 2, then our own 5, at one price
    book = book_with(Order(1, BUY, 99, 6, peak=2, owner="other"), Order(2, BUY, 99, 5, owner="me"))
    before = snapshot(book)
    # when we sell 6 with a minimum of 3
    outcome = book.add(Order(3, SELL, 99, 6, owner="me", min_qty=3, stp=STP.CANCEL_BOTH))
    # then only the displayed 2 are in reach before our own order
    assert fills(outcome) == []
    assert cancels(outcome) == [(3, CancelReason.MIN_QTY_UNAVAILABLE)]
    assert snapshot(book) == before


def test_fok_with_cancel_newest_takes_iceberg_size_when_its_own_order_is_at_a_worse_price():
    # given another owner's iceberg of 4 showing 2 at 99, our own 5 at 98
    book = book_with(Order(1, BUY, 99, 4, peak=2, owner="other"), Order(2, BUY, 98, 5, owner="me"))
    aggressor = Order(3, SELL, None, 4, owner="me", tif=FOK, stp=STP.CANCEL_NEWEST)
    # when
    outcome = book.add(aggressor)
    # then the hidden size refills ahead of anything of ours
    assert fills(outcome) == [(3, 1, 99, 2), (3, 1, 99, 2)]
    assert outcome.cancelled == []
    assert resting_ids(book) == [2]


# --- ids, validation, end of session -----------------------------------


def test_duplicate_resting_id_raises_and_changes_nothing():
    # given
    book = book_with(Order(1, BUY, 99, 10))
    before = snapshot(book)
    # when / then
    with pytest.raises(DuplicateOrderId):
        book.add(Order(1, SELL, 99, 10))
    assert snapshot(book) == before


def test_id_of_an_order_no_longer_resting_may_be_used_again():
    # given
    book = book_with(Order(1, BUY, 99, 10))
    book.cancel(1)
    # when
    outcome = book.add(Order(1, BUY, 98, 5))
    # then
    assert outcome.cancelled == []
    assert book.depth(BUY) == [(98, 5, 1)]


@pytest.mark.parametrize("qty", [0, -5])
def test_non_positive_qty_raises(qty):
    # given
    book = OrderBook("XYZ")
    # when / then
    with pytest.raises(ValueError, match="invalid `qty`"):
        book.add(Order(1, BUY, 100, qty))
    assert len(book) == 0


def test_clear_cancels_day_orders_and_keeps_gtc():
    # given
    book = book_with(
        Order(1, BUY, 99, 10, tif=DAY),
        Order(2, BUY, 99, 5, tif=GTC),
        Order(3, SELL, 101, 7, tif=DAY),
        Order(4, SELL, 102, 1, tif=GTC),
    )
    # when
    gone = book.clear()
    # then
    assert [order.order_id for order in gone] == [1, 3]
    assert all(order.reason is CancelReason.REQUESTED and not order.live for order in gone)
    assert resting_ids(book) == [2, 4]
    assert book.depth(BUY) == [(99, 5, 1)]
    assert book.depth(SELL) == [(102, 1, 1)]


def test_clear_of_gtc_cancels_only_gtc():
    # given
    book = book_with(Order(1, BUY, 99, 10, tif=DAY), Order(2, BUY, 99, 5, tif=GTC))
    # when
    gone = book.clear((GTC,))
    # then
    assert [order.order_id for order in gone] == [2]
    assert resting_ids(book) == [1]
