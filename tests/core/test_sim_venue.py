"""SimVenue: the market maker's ladder, FIX-style execution reports, rejects and their invariants."""

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.enums import ExecType, Liquidity, OrdType, Side, TimeInForce
from trading.messages import ExecutionReport, NewOrder
from trading.states import OrdStatus
from venues.sim.book import Level
from venues.sim.venue import DuplicateOrder, Listing, SimVenue, VenueSpec

BUY = Side.BUY
SELL = Side.SELL
NOW = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
SESSION = "s7f3"
TAKER_FEE = Decimal("0.0030")
MAKER_FEE = Decimal("-0.0020")
XYZ = Listing("XYZ", tick_size=Decimal("0.01"), lot_size=Decimal("10"), ref_px=Decimal("100.00"))


def make_venue(levels: int = 3, depth_scale: str = "1", listing: Listing = XYZ, session: str = SESSION) -> SimVenue:
    spec = VenueSpec("SIMA", maker_fee=MAKER_FEE, taker_fee=TAKER_FEE, depth_scale=Decimal(depth_scale), levels=levels)
    return SimVenue(spec, [listing], clock=lambda: NOW, session=session)


def ready_venue() -> SimVenue:
    venue = make_venue()
    venue.refresh("XYZ")
    return venue


def order(
    cl_ord_id: str,
    side: Side,
    qty: str,
    px: str | None = None,
    ord_type: OrdType | None = None,
    tif: TimeInForce | None = None,
    symbol: str = "XYZ",
) -> NewOrder:
    if ord_type is None:
        ord_type = OrdType.MARKET if px is None else OrdType.LIMIT
    if tif is None:
        tif = TimeInForce.IOC if ord_type is OrdType.MARKET else TimeInForce.DAY
    return NewOrder(cl_ord_id, "SIMA", symbol, side, ord_type, Decimal(qty), None if px is None else Decimal(px), tif)


def book_of(venue: SimVenue, symbol: str = "XYZ") -> tuple[list[Level], list[Level]]:
    return venue.depth(symbol, BUY, 100), venue.depth(symbol, SELL, 100)


def summary(reports: list[ExecutionReport]) -> list[tuple]:
    return [(r.seq, r.exec_type, r.ord_status, r.last_qty, r.last_px, r.cum_qty, r.leaves_qty) for r in reports]


def px8(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.00000001"))


def check_reports(reports: list[ExecutionReport], orders: dict[str, NewOrder], venue: SimVenue) -> None:
    """Check every order's report stream against the rules, computing what they must say."""
    by_order: dict[str, list[ExecutionReport]] = defaultdict(list)
    for report in reports:
        by_order[report.cl_ord_id].append(report)
    exec_ids = [r.exec_id for r in reports]
    assert len(set(exec_ids)) == len(exec_ids)
    for cl_ord_id, stream in by_order.items():
        msg = orders[cl_ord_id]
        assert [r.seq for r in stream] == list(range(1, len(stream) + 1))
        cum = Decimal(0)
        notional = Decimal(0)
        for position, r in enumerate(stream):
            assert r.venue == "SIMA"
            assert r.symbol == msg.symbol
            assert r.side is msg.side
            assert r.exec_id.startswith(f"SIMA-{SESSION}-")
            assert r.venue_order_id == stream[0].venue_order_id
            assert r.transact_time == NOW.isoformat()
            # nothing follows a terminal report
            assert all(not earlier.ord_status.is_terminal for earlier in stream[:position])
            if r.exec_type is ExecType.TRADE:
                assert r.last_qty > 0
                cum += r.last_qty
                notional += r.last_qty * r.last_px
                rate = TAKER_FEE if r.liquidity is Liquidity.REMOVED else MAKER_FEE
                assert r.liquidity in (Liquidity.REMOVED, Liquidity.ADDED)
                assert r.fee == (r.last_qty * rate).quantize(Decimal("0.0001"))
                assert r.ord_status is (OrdStatus.FILLED if cum == msg.qty else OrdStatus.PARTIALLY_FILLED)
                if msg.ord_type is OrdType.LIMIT:
                    assert r.last_px <= msg.limit_px if msg.side is BUY else r.last_px >= msg.limit_px
            else:
                assert r.last_qty == 0
                assert r.last_px == 0
                assert r.fee == 0
                assert r.liquidity is None
            assert r.cum_qty == cum
            assert r.avg_px == (px8(notional / cum) if cum else 0)
            if r.ord_status.is_terminal:
                assert r.leaves_qty == 0
            else:
                assert r.ord_status in (OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED)
                assert msg.qty == r.cum_qty + r.leaves_qty
        assert stream[0].exec_type in (ExecType.NEW, ExecType.REJECTED)


# --- the market maker ---------------------------------------------------------


def test_refresh_builds_the_ladder_around_the_reference_price():
    # given
    venue = make_venue()
    # when
    reports = venue.refresh("XYZ")
    # then
    assert reports == []
    bids, asks = book_of(venue)
    assert bids == [
        Level(Decimal("99.99"), Decimal("500"), 1),
        Level(Decimal("99.98"), Decimal("500"), 1),
        Level(Decimal("99.97"), Decimal("500"), 1),
    ]
    assert asks == [
        Level(Decimal("100.01"), Decimal("500"), 1),
        Level(Decimal("100.02"), Decimal("500"), 1),
        Level(Decimal("100.03"), Decimal("500"), 1),
    ]


def test_refresh_twice_adds_nothing():
    # given
    venue = ready_venue()
    before = book_of(venue)
    # when
    reports = venue.refresh("XYZ")
    # then
    assert reports == []
    assert book_of(venue) == before


@pytest.mark.parametrize(("depth_scale", "size"), [("0.333", "160"), ("2", "1000"), ("0.001", "10")])
def test_ladder_size_is_scaled_floored_to_the_lot_and_at_least_one_lot(depth_scale, size):
    # given
    venue = make_venue(levels=1, depth_scale=depth_scale)
    # when
    venue.refresh("XYZ")
    # then
    assert book_of(venue) == ([Level(Decimal("99.99"), Decimal(size), 1)], [Level(Decimal("100.01"), Decimal(size), 1)])


def test_ladder_skips_prices_at_or_below_zero():
    # given
    listing = Listing("PENNY", tick_size=Decimal("0.01"), lot_size=Decimal("1"), ref_px=Decimal("0.02"))
    venue = make_venue(levels=3, listing=listing)
    # when
    venue.refresh("PENNY")
    # then
    bids, asks = book_of(venue, "PENNY")
    assert [level.px for level in bids] == [Decimal("0.01")]
    assert [level.px for level in asks] == [Decimal("0.03"), Decimal("0.04"), Decimal("0.05")]


def test_refresh_refills_a_taken_level_behind_the_queue():
    # given the best ask is taken and a client order now rests at that price
    venue = ready_venue()
    venue.submit(order("take", BUY, "500"))
    venue.submit(order("rest", SELL, "100", "100.01"))
    # when
    assert venue.refresh("XYZ") == []
    # then the refilled market maker order queues behind the client's
    assert venue.depth("XYZ", SELL, 1) == [Level(Decimal("100.01"), Decimal("600"), 2)]
    reports = venue.submit(order("hit", BUY, "100", "100.01", tif=TimeInForce.IOC))
    assert [(r.cl_ord_id, r.exec_type, r.liquidity) for r in reports] == [
        ("hit", ExecType.NEW, None),
        ("hit", ExecType.TRADE, Liquidity.REMOVED),
        ("rest", ExecType.TRADE, Liquidity.ADDED),
    ]


def test_refresh_does_not_top_up_a_partly_taken_level():
    # given
    venue = ready_venue()
    venue.submit(order("take", BUY, "200"))
    # when
    venue.refresh("XYZ")
    # then
    assert venue.depth("XYZ", SELL, 1) == [Level(Decimal("100.01"), Decimal("300"), 1)]


def test_market_maker_never_quotes_through_a_resting_client_bid():
    # given a client bid resting above every ladder ask price
    venue = ready_venue()
    venue.submit(order("sweep", BUY, "2000", "100.03"))
    assert venue.depth("XYZ", BUY, 1) == [Level(Decimal("100.03"), Decimal("500"), 1)]
    # when
    reports = venue.refresh("XYZ")
    # then no ask is placed at or through the client's bid, and the bid is untouched
    assert reports == []
    bids, asks = book_of(venue)
    assert asks == []
    assert bids[0] == Level(Decimal("100.03"), Decimal("500"), 1)
    assert [level.px for level in bids] == [Decimal("100.03"), Decimal("99.99"), Decimal("99.98"), Decimal("99.97")]


def test_market_maker_never_quotes_through_a_resting_client_ask():
    # given a client ask resting at 99.98, below two taken ladder bids
    venue = ready_venue()
    venue.submit(order("sweep", SELL, "1500", "99.98"))
    assert venue.depth("XYZ", SELL, 1) == [Level(Decimal("99.98"), Decimal("500"), 1)]
    # when
    reports = venue.refresh("XYZ")
    # then bids are refilled only below the client's ask
    assert reports == []
    bids, asks = book_of(venue)
    assert bids == [Level(Decimal("99.97"), Decimal("500"), 1)]
    assert asks[0] == Level(Decimal("99.98"), Decimal("500"), 1)


def test_list_instrument_is_a_no_op_when_listed():
    # given
    venue = ready_venue()
    before = book_of(venue)
    # when
    venue.list_instrument(Listing("XYZ", Decimal("1"), Decimal("1"), Decimal("5")))
    venue.list_instrument(Listing("ABC", Decimal("0.01"), Decimal("1"), Decimal("20.00")))
    # then
    assert book_of(venue) == before
    assert venue.symbols() == ["XYZ", "ABC"]
    assert venue.code == "SIMA"


# --- client orders --------------------------------------------------------------


def test_market_buy_reports_new_then_trades_across_levels():
    # given
    venue = ready_venue()
    # when
    reports = venue.submit(order("c1", BUY, "700"))
    # then
    assert summary(reports) == [
        (1, ExecType.NEW, OrdStatus.NEW, 0, 0, 0, Decimal("700")),
        (2, ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, Decimal("500"), Decimal("100.01"), Decimal("500"), Decimal("200")),
        (3, ExecType.TRADE, OrdStatus.FILLED, Decimal("200"), Decimal("100.02"), Decimal("700"), Decimal("0")),
    ]
    assert [r.avg_px for r in reports] == [Decimal("0"), Decimal("100.01"), Decimal("100.01285714")]
    assert [r.fee for r in reports] == [Decimal("0"), Decimal("1.5000"), Decimal("0.6000")]
    assert [r.liquidity for r in reports] == [None, Liquidity.REMOVED, Liquidity.REMOVED]
    assert venue.depth("XYZ", SELL, 1) == [Level(Decimal("100.02"), Decimal("300"), 1)]
    check_reports(reports, {"c1": order("c1", BUY, "700")}, venue)


def test_market_remainder_is_cancelled_after_the_book_runs_dry():
    # given 1500 offered
    venue = ready_venue()
    # when
    reports = venue.submit(order("c1", BUY, "2000"))
    # then
    assert [r.exec_type for r in reports] == [ExecType.NEW, ExecType.TRADE, ExecType.TRADE, ExecType.TRADE, ExecType.CANCELED]
    last = reports[-1]
    assert (last.seq, last.ord_status, last.cum_qty, last.leaves_qty) == (5, OrdStatus.CANCELED, Decimal("1500"), Decimal("0"))
    assert last.avg_px == Decimal("100.02")
    assert last.text == "market order: no more liquidity"
    assert venue.depth("XYZ", SELL, 10) == []
    check_reports(reports, {"c1": order("c1", BUY, "2000")}, venue)


def test_ioc_limit_remainder_is_cancelled_not_rested():
    # given
    venue = ready_venue()
    msg = order("c1", SELL, "800", "99.99", tif=TimeInForce.IOC)
    # when
    reports = venue.submit(msg)
    # then
    assert summary(reports) == [
        (1, ExecType.NEW, OrdStatus.NEW, 0, 0, 0, Decimal("800")),
        (2, ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, Decimal("500"), Decimal("99.99"), Decimal("500"), Decimal("300")),
        (3, ExecType.CANCELED, OrdStatus.CANCELED, 0, 0, Decimal("500"), Decimal("0")),
    ]
    assert reports[-1].text == "IOC: remainder cancelled"
    bids, asks = book_of(venue)
    assert bids[0] == Level(Decimal("99.98"), Decimal("500"), 1)
    assert asks[0] == Level(Decimal("100.01"), Decimal("500"), 1)
    check_reports(reports, {"c1": msg}, venue)


def test_day_limit_remainder_rests_without_a_cancel():
    # given
    venue = ready_venue()
    msg = order("c1", BUY, "800", "100.01")
    # when
    reports = venue.submit(msg)
    # then
    assert summary(reports) == [
        (1, ExecType.NEW, OrdStatus.NEW, 0, 0, 0, Decimal("800")),
        (2, ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, Decimal("500"), Decimal("100.01"), Decimal("500"), Decimal("300")),
    ]
    assert venue.depth("XYZ", BUY, 1) == [Level(Decimal("100.01"), Decimal("300"), 1)]


def test_passive_client_order_gets_a_maker_fill():
    # given a client ask inside the spread
    venue = ready_venue()
    resting = order("maker", SELL, "300", "100.00")
    first = venue.submit(resting)
    # when another client order takes it and more
    taker = order("taker", BUY, "400")
    reports = venue.submit(taker)
    # then
    assert [(r.cl_ord_id, r.seq, r.exec_type, r.ord_status, r.last_qty, r.last_px, r.liquidity, r.fee) for r in reports] == [
        ("taker", 1, ExecType.NEW, OrdStatus.NEW, 0, 0, None, 0),
        ("taker", 2, ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, 300, Decimal("100.00"), Liquidity.REMOVED, Decimal("0.9000")),
        ("maker", 2, ExecType.TRADE, OrdStatus.FILLED, 300, Decimal("100.00"), Liquidity.ADDED, Decimal("-0.6000")),
        ("taker", 3, ExecType.TRADE, OrdStatus.FILLED, 100, Decimal("100.01"), Liquidity.REMOVED, Decimal("0.3000")),
    ]
    assert reports[2].avg_px == Decimal("100.00")
    assert reports[3].avg_px == Decimal("100.0025")
    check_reports(first + reports, {"maker": resting, "taker": taker}, venue)


def test_cancel_a_resting_order():
    # given
    venue = ready_venue()
    msg = order("c1", BUY, "800", "100.01")
    reports = venue.submit(msg)
    # when
    reports += venue.cancel("c1")
    # then
    last = reports[-1]
    assert (last.seq, last.exec_type, last.ord_status, last.cum_qty, last.leaves_qty) == (
        3,
        ExecType.CANCELED,
        OrdStatus.CANCELED,
        Decimal("500"),
        Decimal("0"),
    )
    assert last.text == "cancelled on request"
    assert venue.depth("XYZ", BUY, 1) == [Level(Decimal("99.99"), Decimal("500"), 1)]
    assert venue.cancel("c1") == []
    check_reports(reports, {"c1": msg}, venue)


def test_cancel_unknown_filled_or_rejected_order_reports_nothing():
    # given
    venue = ready_venue()
    venue.submit(order("filled", BUY, "10"))
    venue.submit(order("rejected", BUY, "15"))
    # when / then
    assert venue.cancel("filled") == []
    assert venue.cancel("rejected") == []
    assert venue.cancel("never-sent") == []


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        (order("r", BUY, "100", "100.05", symbol="NOPE"), "unknown symbol 'NOPE'"),
        (order("r", BUY, "0", "100.05"), "invalid qty 0: must be positive"),
        (order("r", BUY, "-10", "100.05"), "invalid qty -10: must be positive"),
        (order("r", BUY, "15", "100.05"), "invalid qty 15: not a multiple of the lot 10"),
        (order("r", SELL, "15"), "invalid qty 15: not a multiple of the lot 10"),
        (order("r", BUY, "100", "100.015"), "invalid limit_px 100.015: not on the tick 0.01"),
        (order("r", BUY, "100", None, ord_type=OrdType.LIMIT), "invalid limit_px None: a limit order needs a positive price"),
        (order("r", SELL, "100", "0", ord_type=OrdType.LIMIT), "invalid limit_px 0: a limit order needs a positive price"),
        (order("r", SELL, "100", "-1.00", ord_type=OrdType.LIMIT), "invalid limit_px -1.00: a limit order needs a positive price"),
    ],
)
def test_reject_sends_one_report_and_leaves_the_book_alone(msg, reason):
    # given
    venue = ready_venue()
    before = book_of(venue)
    # when
    reports = venue.submit(msg)
    # then
    assert len(reports) == 1
    report = reports[0]
    assert (report.seq, report.exec_type, report.ord_status) == (1, ExecType.REJECTED, OrdStatus.REJECTED)
    assert (report.cum_qty, report.leaves_qty, report.last_qty, report.avg_px, report.fee) == (0, 0, 0, 0, 0)
    assert report.text == reason
    assert report.cl_ord_id == "r"
    assert book_of(venue) == before


def test_duplicate_cl_ord_id_raises_and_does_not_trade():
    # given an order that rests
    venue = ready_venue()
    venue.submit(order("c1", BUY, "100", "99.00"))
    before = book_of(venue)
    # when the same id comes again, this time marketable
    with pytest.raises(DuplicateOrder, match="c1"):
        venue.submit(order("c1", BUY, "500"))
    # then
    assert book_of(venue) == before


def test_duplicate_of_a_rejected_or_filled_order_raises():
    # given
    venue = ready_venue()
    venue.submit(order("rej", BUY, "15"))
    venue.submit(order("fill", BUY, "10"))
    before = book_of(venue)
    # when / then
    with pytest.raises(DuplicateOrder):
        venue.submit(order("rej", BUY, "10"))
    with pytest.raises(DuplicateOrder):
        venue.submit(order("fill", BUY, "10"))
    assert book_of(venue) == before


@pytest.mark.parametrize(
    "msg",
    [
        order("fok", BUY, "1510", tif=TimeInForce.FOK),
        order("fok", BUY, "1010", "100.02", tif=TimeInForce.FOK),
        order("fok", SELL, "510", "99.99", tif=TimeInForce.FOK),
    ],
)
def test_fok_without_enough_liquidity_cancels_without_trading(msg):
    # given
    venue = ready_venue()
    before = book_of(venue)
    # when
    reports = venue.submit(msg)
    # then
    assert summary(reports) == [
        (1, ExecType.NEW, OrdStatus.NEW, 0, 0, 0, msg.qty),
        (2, ExecType.CANCELED, OrdStatus.CANCELED, 0, 0, 0, 0),
    ]
    assert reports[-1].text == "FOK: not enough liquidity"
    assert book_of(venue) == before


def test_fok_with_enough_liquidity_fills_completely():
    # given
    venue = ready_venue()
    msg = order("fok", BUY, "1000", "100.02", tif=TimeInForce.FOK)
    # when
    reports = venue.submit(msg)
    # then
    assert summary(reports) == [
        (1, ExecType.NEW, OrdStatus.NEW, 0, 0, 0, Decimal("1000")),
        (2, ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, Decimal("500"), Decimal("100.01"), Decimal("500"), Decimal("500")),
        (3, ExecType.TRADE, OrdStatus.FILLED, Decimal("500"), Decimal("100.02"), Decimal("1000"), Decimal("0")),
    ]
    assert venue.depth("XYZ", SELL, 1) == [Level(Decimal("100.03"), Decimal("500"), 1)]


def test_exec_ids_are_unique_and_carry_the_session_token():
    # given two venues of the same code in different sessions
    first = make_venue(session="alpha")
    second = make_venue(session="beta")
    first.refresh("XYZ")
    second.refresh("XYZ")
    # when
    a = first.submit(order("c1", BUY, "700")) + first.submit(order("c2", SELL, "10", "99.99")) + first.cancel("c9")
    b = second.submit(order("c1", BUY, "700"))
    # then
    ids = [r.exec_id for r in a + b]
    assert len(set(ids)) == len(ids)
    assert all(r.exec_id.startswith("SIMA-alpha-E") for r in a)
    assert all(r.exec_id.startswith("SIMA-beta-E") for r in b)
    assert all("alpha" in r.venue_order_id for r in a)


# --- properties under random flow -------------------------------------------------

client_op = st.tuples(
    st.just("submit"),
    st.sampled_from([BUY, SELL]),
    st.sampled_from([OrdType.LIMIT, OrdType.LIMIT, OrdType.MARKET]),
    st.sampled_from(list(TimeInForce)),
    st.integers(min_value=1, max_value=120),
    st.integers(min_value=-5, max_value=5),
)
other_op = st.one_of(
    st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=30)),
    st.tuples(st.just("refresh")),
)


@settings(max_examples=150, deadline=None)
@given(ops=st.lists(st.one_of(client_op, client_op, other_op), min_size=1, max_size=30))
def test_random_flow_reports_obey_the_rules(ops):
    # given
    venue = ready_venue()
    orders: dict[str, NewOrder] = {}
    reports: list[ExecutionReport] = []
    for op in ops:
        # when
        if op[0] == "refresh":
            before_bid = venue.depth("XYZ", BUY, 1)
            before_ask = venue.depth("XYZ", SELL, 1)
            assert venue.refresh("XYZ") == []
            # then the market maker never trades into, or quotes through, what rests
            bid, ask = venue.depth("XYZ", BUY, 1), venue.depth("XYZ", SELL, 1)
            if before_ask:
                assert all(level.px < before_ask[0].px for level in venue.depth("XYZ", BUY, 100))
            if before_bid:
                assert all(level.px > before_bid[0].px for level in venue.depth("XYZ", SELL, 100))
        elif op[0] == "cancel":
            reports += venue.cancel(f"c{op[1]}")
        else:
            _, side, ord_type, tif, lots, ticks = op
            cl_ord_id = f"c{len(orders)}"
            px = None if ord_type is OrdType.MARKET else XYZ.ref_px + ticks * XYZ.tick_size
            msg = NewOrder(cl_ord_id, "SIMA", "XYZ", side, ord_type, lots * XYZ.lot_size, px, tif)
            orders[cl_ord_id] = msg
            new = venue.submit(msg)
            # then the order's own reports start with NEW and the book-dropping kinds end it
            own = [r for r in new if r.cl_ord_id == cl_ord_id]
            assert own[0].exec_type is ExecType.NEW
            if ord_type is OrdType.MARKET or tif in (TimeInForce.IOC, TimeInForce.FOK):
                assert own[-1].ord_status.is_terminal
            if tif is TimeInForce.FOK:
                assert own[-1].ord_status is OrdStatus.FILLED or all(r.exec_type is not ExecType.TRADE for r in own)
            reports += new
        # then the book is never crossed
        bid, ask = venue.depth("XYZ", BUY, 1), venue.depth("XYZ", SELL, 1)
        if bid and ask:
            assert bid[0].px < ask[0].px
    check_reports(reports, orders, venue)
