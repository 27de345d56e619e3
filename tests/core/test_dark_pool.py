"""DarkPool: crosses priced off the NBBO, as the exact sequence of execution reports they cause.

Each expected report row is (cl_ord_id, seq, exec_type, ord_status, last_qty,
last_px, cum_qty, leaves_qty, avg_px, fee, liquidity, reason); every working
report is also checked for ``qty == cum_qty + leaves_qty``. The maker and taker
fees differ so a row shows which side added liquidity.
"""

from decimal import Decimal
from typing import Any

import pytest

from tests.core import venue_reports
from tests.core.venue_reports import FIXED_DATETIME, Row, cancel_reject, er
from trading.enums import ExecType, Liquidity, OrdType, Peg, Side, TimeInForce
from trading.messages import CancelRequest, NewOrder, ReplaceRequest
from trading.states import OrdStatus
from venues.sim.clients import Message, RejectCode
from venues.sim.dark import DarkOrder, DarkPool
from venues.sim.lit import Listing, VenueSpec
from venues.sim.params import SessionState

BUY = Side.BUY
SELL = Side.SELL
DAY = TimeInForce.DAY
GTC = TimeInForce.GTC
IOC = TimeInForce.IOC
FOK = TimeInForce.FOK
X = ExecType
S = OrdStatus
ADDED = Liquidity.ADDED
REMOVED = Liquidity.REMOVED
MID = Peg.MID
NEAR = Peg.NEAR
FAR = Peg.FAR

LISTINGS = [
    Listing("XYZ", tick_size=Decimal("0.01"), lot_size=Decimal("1"), ref_px=Decimal("100")),
    Listing("LOT", tick_size=Decimal("0.01"), lot_size=Decimal("100"), ref_px=Decimal("100")),
]


def assert_reports(reports: list[Message], expected: list[Row], **checks: Any) -> None:
    venue_reports.assert_reports(reports, expected, venue="XDRK", **checks)


def make_pool(*, nbbo: tuple[str, str] | None = ("100.00", "100.01")) -> DarkPool:
    """Return a pool listing XYZ and LOT; XYZ's NBBO is ``nbbo`` (mid 100.005 by default) unless None."""
    pool = DarkPool(
        VenueSpec(code="XDRK", maker_fee=Decimal("0.0005"), taker_fee=Decimal("0.001")), clock=lambda: FIXED_DATETIME, session="S1"
    )
    for listing in LISTINGS:
        pool.list_instrument(listing)
    if nbbo is not None:
        assert pool.set_nbbo("XYZ", Decimal(nbbo[0]), Decimal(nbbo[1])) == []
    return pool


def order(
    cl_ord_id: str,
    side: Side,
    qty: str,
    *,
    limit_px: str | None = None,
    tif: TimeInForce = DAY,
    symbol: str = "XYZ",
    ord_type: OrdType | None = None,
    **extra: object,
) -> NewOrder:
    """Return a client order: a limit order when ``limit_px`` is given, else a market (pegged only) order."""
    return NewOrder(
        cl_ord_id,
        "XDRK",
        symbol,
        side,
        ord_type or (OrdType.MARKET if limit_px is None else OrdType.LIMIT),
        Decimal(qty),
        None if limit_px is None else Decimal(limit_px),
        tif,
        **extra,
    )


def agent(
    pool: DarkPool,
    side: Side,
    qty: str,
    *,
    peg: Peg = MID,
    limit_px: str | None = None,
    min_qty: str = "0",
    tif: TimeInForce = DAY,
) -> tuple[DarkOrder, list[Message]]:
    """Enter a background order; return it and our reports it caused."""
    dark = DarkOrder(
        pool.next_id(),
        side,
        Decimal(qty),
        limit_px=None if limit_px is None else Decimal(limit_px),
        peg=peg,
        min_qty=Decimal(min_qty),
        tif=tif,
        owner="bg",
    )
    return dark, pool.agent_add("XYZ", dark)


def resting(pool: DarkPool, symbol: str = "XYZ") -> list[tuple[int, Side, Decimal]]:
    """Return what rests in the pool as (order id, side, leaves), in time priority."""
    return [(dark.order_id, dark.side, dark.leaves) for dark in pool.resting(symbol)]


def book_id(pool: DarkPool, cl_ord_id: str) -> int:
    client = pool.clients.get(cl_ord_id)
    assert client is not None
    return client.book_id


def tape(pool: DarkPool) -> list[tuple[Decimal, Decimal]]:
    for trade in pool.prints:
        assert (trade.venue, trade.symbol, trade.aggressor) == ("XDRK", "XYZ", None)  # a dark cross has no aggressor
    return [(trade.px, trade.qty) for trade in pool.prints]


# --- when there is no cross ------------------------------------------------------------------


@pytest.mark.parametrize(
    "nbbo",
    [
        pytest.param(None, id="never-told"),
        pytest.param((None, "100.01"), id="no-bid"),
        pytest.param(("100.00", None), id="no-ask"),
        pytest.param(("100.00", "100.00"), id="locked"),
        pytest.param(("100.01", "100.00"), id="crossed"),
    ],
)
def test_no_cross_without_a_two_sided_unlocked_nbbo(nbbo):
    # given a resting seller at the mid
    pool = make_pool(nbbo=None)
    if nbbo is not None:
        pool.set_nbbo("XYZ", None if nbbo[0] is None else Decimal(nbbo[0]), None if nbbo[1] is None else Decimal(nbbo[1]))
    seller, _ = agent(pool, SELL, "100")
    # when an IOC buyer at the mid arrives
    reports = pool.submit(order("c1", BUY, "100", tif=IOC))
    # then
    assert_reports(
        reports,
        [er("c1", 1, X.NEW, S.NEW, leaves="100"), er("c1", 2, X.CANCELED, S.CANCELED, reason="IOC_REMAINDER")],
        qty={"c1": "100"},
    )
    assert resting(pool) == [(seller.order_id, SELL, Decimal("100"))]
    assert pool.prints == []


def test_nothing_is_displayed():
    # given
    pool = make_pool()
    pool.submit(order("c1", BUY, "100"))
    # when / then: there is no market data to read, only the operator's view
    assert not hasattr(pool, "depth")
    assert resting(pool) == [(book_id(pool, "c1"), BUY, Decimal("100"))]


# --- pricing -------------------------------------------------------------------------------------


def test_mid_cross_trades_at_the_exact_midpoint_and_prints_without_an_aggressor():
    # given our seller rests, NBBO 100.00 / 100.01
    pool = make_pool()
    assert_reports(pool.submit(order("c1", SELL, "100")), [er("c1", 1, X.NEW, S.NEW, leaves="100")], qty={"c1": "100"})
    # when our buyer arrives
    reports = pool.submit(order("c2", BUY, "100"))
    # then
    assert_reports(
        reports,
        [
            er("c2", 1, X.NEW, S.NEW, leaves="100"),
            er("c2", 2, X.TRADE, S.FILLED, last_qty="100", last_px="100.005", cum="100", leaves="0", avg="100.005",
               fee="0.1000", liquidity=REMOVED),
            er("c1", 2, X.TRADE, S.FILLED, last_qty="100", last_px="100.005", cum="100", leaves="0", avg="100.005",
               fee="0.0500", liquidity=ADDED),
        ],
        qty={"c2": "100"},
    )  # fmt: skip
    assert tape(pool) == [(Decimal("100.005"), Decimal("100"))]
    assert resting(pool) == []
    assert pool.clients.working() == []


@pytest.mark.parametrize(
    ("rest_side", "rest_peg", "rest_limit", "in_peg", "in_limit", "px"),
    [
        # NBBO 100.00 / 100.01: MID = 100.005; NEAR is the bid for a buy, the ask for a sell; FAR the other way
        pytest.param(SELL, MID, None, MID, None, "100.005", id="mid-mid"),
        pytest.param(SELL, MID, None, NEAR, None, None, id="buy-near-below-mid"),
        pytest.param(SELL, MID, None, FAR, None, "100.005", id="buy-far-takes-mid"),
        pytest.param(SELL, NEAR, None, FAR, None, "100.01", id="sell-near-at-the-ask"),
        pytest.param(SELL, NEAR, None, MID, None, None, id="sell-near-above-mid"),
        pytest.param(SELL, NEAR, None, NEAR, None, None, id="near-near-never"),
        pytest.param(SELL, FAR, None, NEAR, None, "100.00", id="sell-far-meets-buy-near-at-the-bid"),
        pytest.param(SELL, FAR, None, MID, None, "100.005", id="sell-far-takes-mid"),
        pytest.param(SELL, FAR, None, FAR, None, "100.005", id="far-far-at-mid"),
        pytest.param(BUY, FAR, None, NEAR, None, "100.01", id="resting-buy-far-at-the-ask"),
        pytest.param(BUY, NEAR, None, FAR, None, "100.00", id="resting-buy-near-at-the-bid"),
        pytest.param(BUY, MID, None, MID, None, "100.005", id="resting-buy-mid"),
        # limits cap the pegged price
        pytest.param(SELL, MID, None, MID, "100.00", None, id="buy-limit-below-mid"),
        pytest.param(SELL, MID, None, FAR, "100.00", None, id="buy-far-capped-below-mid"),
        pytest.param(SELL, MID, None, MID, "100.01", "100.005", id="buy-limit-not-binding"),
        pytest.param(SELL, MID, "100.01", FAR, None, "100.01", id="sell-limit-above-mid-met-at-its-limit"),
        pytest.param(SELL, MID, "100.01", MID, None, None, id="sell-limit-above-mid"),
        pytest.param(BUY, FAR, "100.00", FAR, None, "100.00", id="buy-far-capped-at-the-bid"),
    ],
)
def test_pegs_and_limits_decide_whether_and_where_a_cross_happens(rest_side, rest_peg, rest_limit, in_peg, in_limit, px):
    # given a resting background order of 100
    pool = make_pool()
    contra, _ = agent(pool, rest_side, "100", peg=rest_peg, limit_px=rest_limit)
    # when our IOC of 100 on the other side arrives
    reports = pool.submit(order("c1", rest_side.opposite, "100", limit_px=in_limit, tif=IOC, peg=in_peg))
    # then
    if px is None:
        assert_reports(
            reports,
            [er("c1", 1, X.NEW, S.NEW, leaves="100"), er("c1", 2, X.CANCELED, S.CANCELED, reason="IOC_REMAINDER")],
            qty={"c1": "100"},
        )
        assert resting(pool) == [(contra.order_id, rest_side, Decimal("100"))]
        assert pool.prints == []
    else:
        assert_reports(
            reports,
            [
                er("c1", 1, X.NEW, S.NEW, leaves="100"),
                er("c1", 2, X.TRADE, S.FILLED, last_qty="100", last_px=px, cum="100", leaves="0", avg=px, fee="0.1000",
                   liquidity=REMOVED),
            ],
            qty={"c1": "100"},
        )  # fmt: skip
        assert resting(pool) == []
        assert tape(pool) == [(Decimal(px), Decimal("100"))]


# --- minimum quantity -------------------------------------------------------------------------


def test_incoming_min_qty_skips_smaller_contras_and_takes_one_at_or_above_it():
    # given sellers of 100 then 300, in that time order
    pool = make_pool()
    small, _ = agent(pool, SELL, "100")
    agent(pool, SELL, "300")
    # when our IOC buyer of 400 with a minimum of 200 arrives
    reports = pool.submit(order("c1", BUY, "400", tif=IOC, min_qty=Decimal("200")))
    # then
    assert_reports(
        reports,
        [
            er("c1", 1, X.NEW, S.NEW, leaves="400"),
            er("c1", 2, X.TRADE, S.PARTIALLY_FILLED, last_qty="300", last_px="100.005", cum="300", leaves="100",
               avg="100.005", fee="0.3000", liquidity=REMOVED),
            er("c1", 3, X.CANCELED, S.CANCELED, cum="300", avg="100.005", reason="IOC_REMAINDER"),
        ],
        qty={"c1": "400"},
    )  # fmt: skip
    assert resting(pool) == [(small.order_id, SELL, Decimal("100"))]
    assert tape(pool) == [(Decimal("100.005"), Decimal("300"))]


def test_resting_min_qty_refuses_smaller_fills_until_its_remainder_is_below_it():
    # given our buyer of 500 resting with a minimum of 200
    pool = make_pool()
    assert_reports(
        pool.submit(order("c1", BUY, "500", min_qty=Decimal("200"))), [er("c1", 1, X.NEW, S.NEW, leaves="500")], qty={"c1": "500"}
    )
    # when IOC sellers of 100, 200, 250 and 100 arrive one after another
    below = agent(pool, SELL, "100", tif=IOC)[1]
    at = agent(pool, SELL, "200", tif=IOC)[1]
    above = agent(pool, SELL, "250", tif=IOC)[1]
    remainder = agent(pool, SELL, "100", tif=IOC)[1]
    # then the 100 is refused, and the last 50 (below the minimum) takes the part it can
    assert below == []
    assert_reports(
        at + above + remainder,
        [
            er("c1", 2, X.TRADE, S.PARTIALLY_FILLED, last_qty="200", last_px="100.005", cum="200", leaves="300",
               avg="100.005", fee="0.1000", liquidity=ADDED),
            er("c1", 3, X.TRADE, S.PARTIALLY_FILLED, last_qty="250", last_px="100.005", cum="450", leaves="50",
               avg="100.005", fee="0.1250", liquidity=ADDED),
            er("c1", 4, X.TRADE, S.FILLED, last_qty="50", last_px="100.005", cum="500", leaves="0",
               avg="100.005", fee="0.0250", liquidity=ADDED),
        ],
        qty={"c1": "500"},
    )  # fmt: skip
    assert tape(pool) == [
        (Decimal("100.005"), Decimal("200")),
        (Decimal("100.005"), Decimal("250")),
        (Decimal("100.005"), Decimal("50")),
    ]
    assert resting(pool) == []


# --- time in force ------------------------------------------------------------------------------


def test_ioc_takes_what_crosses_and_never_rests_the_remainder():
    # given
    pool = make_pool()
    agent(pool, SELL, "60")
    # when
    reports = pool.submit(order("c1", BUY, "100", tif=IOC))
    # then
    assert_reports(
        reports,
        [
            er("c1", 1, X.NEW, S.NEW, leaves="100"),
            er("c1", 2, X.TRADE, S.PARTIALLY_FILLED, last_qty="60", last_px="100.005", cum="60", leaves="40",
               avg="100.005", fee="0.0600", liquidity=REMOVED),
            er("c1", 3, X.CANCELED, S.CANCELED, cum="60", avg="100.005", reason="IOC_REMAINDER"),
        ],
        qty={"c1": "100"},
    )  # fmt: skip
    assert reports[-1].text == "immediate-or-cancel: remainder cancelled"
    assert resting(pool) == []
    assert pool.clients.working() == []


def test_fok_that_one_contra_can_fill_trades_in_full():
    # given
    pool = make_pool()
    seller, _ = agent(pool, SELL, "150")
    # when
    reports = pool.submit(order("c1", BUY, "100", tif=FOK))
    # then
    assert_reports(
        reports,
        [
            er("c1", 1, X.NEW, S.NEW, leaves="100"),
            er("c1", 2, X.TRADE, S.FILLED, last_qty="100", last_px="100.005", cum="100", leaves="0", avg="100.005",
               fee="0.1000", liquidity=REMOVED),
        ],
        qty={"c1": "100"},
    )  # fmt: skip
    assert resting(pool) == [(seller.order_id, SELL, Decimal("50"))]


def test_fok_that_cannot_fill_in_full_is_cancelled_untouched():
    # given
    pool = make_pool()
    seller, _ = agent(pool, SELL, "60")
    # when
    reports = pool.submit(order("c1", BUY, "100", tif=FOK))
    # then
    assert_reports(
        reports,
        [er("c1", 1, X.NEW, S.NEW, leaves="100"), er("c1", 2, X.CANCELED, S.CANCELED, reason="FOK_UNFILLED")],
        qty={"c1": "100"},
    )
    assert resting(pool) == [(seller.order_id, SELL, Decimal("60"))]
    assert pool.prints == []


def test_fok_fills_in_full_across_several_contras():
    # given sellers of 60 and 40
    pool = make_pool()
    agent(pool, SELL, "60")
    agent(pool, SELL, "40")
    # when
    reports = pool.submit(order("c1", BUY, "100", tif=FOK))
    # then
    assert_reports(
        reports,
        [
            er("c1", 1, X.NEW, S.NEW, leaves="100"),
            er("c1", 2, X.TRADE, S.PARTIALLY_FILLED, last_qty="60", last_px="100.005", cum="60", leaves="40",
               avg="100.005", fee="0.0600", liquidity=REMOVED),
            er("c1", 3, X.TRADE, S.FILLED, last_qty="40", last_px="100.005", cum="100", leaves="0",
               avg="100.005", fee="0.0400", liquidity=REMOVED),
        ],
        qty={"c1": "100"},
    )  # fmt: skip
    assert resting(pool) == []


# --- priority and NBBO moves ---------------------------------------------------------------------


def test_resting_orders_trade_in_time_priority_not_price():
    # given our seller at the mid, then our seller pegged FAR (the bid, a better price for a buyer)
    pool = make_pool()
    pool.submit(order("c1", SELL, "100"))
    pool.submit(order("c2", SELL, "100", peg=FAR))
    # when background IOC buyers of 100 then 150 arrive
    first = agent(pool, BUY, "100", tif=IOC)[1]
    second = agent(pool, BUY, "150", tif=IOC)[1]
    # then the older order fills first, at the mid both accept
    assert_reports(
        first + second,
        [
            er("c1", 2, X.TRADE, S.FILLED, last_qty="100", last_px="100.005", cum="100", leaves="0", avg="100.005",
               fee="0.0500", liquidity=ADDED),
            er("c2", 2, X.TRADE, S.FILLED, last_qty="100", last_px="100.005", cum="100", leaves="0", avg="100.005",
               fee="0.0500", liquidity=ADDED),
        ],
        qty={},
    )  # fmt: skip
    assert resting(pool) == []


def test_resting_pair_crosses_when_the_nbbo_brings_the_limit_within_reach():
    # given our buyer capped at 100.00 and our seller, both at the mid of 100.00 / 100.01
    pool = make_pool()
    new = pool.submit(order("c1", BUY, "100", limit_px="100.00")) + pool.submit(order("c2", SELL, "100"))
    assert_reports(
        new, [er("c1", 1, X.NEW, S.NEW, leaves="100"), er("c2", 1, X.NEW, S.NEW, leaves="100")], qty={"c1": "100", "c2": "100"}
    )
    # when the NBBO locks, is repeated, then moves down to 99.99 / 100.00 (mid 99.995, under the buyer's limit)
    locked = pool.set_nbbo("XYZ", Decimal("100.00"), Decimal("100.00"))
    repeated = pool.set_nbbo("XYZ", Decimal("100.00"), Decimal("100.00"))
    moved = pool.set_nbbo("XYZ", Decimal("99.99"), Decimal("100.00"))
    # then only the move crosses them, at the new mid; the older order is the maker, the newer takes
    assert locked == repeated == []
    assert_reports(
        moved,
        [
            er("c2", 2, X.TRADE, S.FILLED, last_qty="100", last_px="99.995", cum="100", leaves="0", avg="99.995",
               fee="0.1000", liquidity=REMOVED),
            er("c1", 2, X.TRADE, S.FILLED, last_qty="100", last_px="99.995", cum="100", leaves="0", avg="99.995",
               fee="0.0500", liquidity=ADDED),
        ],
        qty={},
    )  # fmt: skip
    assert tape(pool) == [(Decimal("99.995"), Decimal("100"))]
    assert resting(pool) == []


def test_closed_pool_does_not_cross_and_drops_background_orders():
    # given our buyer resting without an NBBO
    pool = make_pool(nbbo=None)
    pool.submit(order("c1", BUY, "100"))
    pool.set_state(SessionState.HALTED)
    # when the NBBO arrives and a background seller is entered
    crossed = pool.set_nbbo("XYZ", Decimal("100.00"), Decimal("100.01"))
    seller, reports = agent(pool, SELL, "100")
    # then
    assert (crossed, reports) == ([], [])
    assert seller.live is False
    assert resting(pool) == [(book_id(pool, "c1"), BUY, Decimal("100"))]
    assert pool.prints == []


# --- cancel and replace -------------------------------------------------------------------------


def test_cancel_reports_the_request_id_and_the_order_it_cancelled():
    # given our buyer of 300 with 100 filled
    pool = make_pool()
    pool.submit(order("c1", BUY, "300"))
    agent(pool, SELL, "100", tif=IOC)
    # when
    reports = pool.cancel(CancelRequest("x1", "c1", "XDRK", "XYZ", BUY))
    # then
    assert_reports(reports, [er("x1", 3, X.CANCELED, S.CANCELED, cum="100", avg="100.005")], qty={})
    assert reports[0].orig_cl_ord_id == "c1"
    assert resting(pool) == []
    assert pool.clients.working() == []


@pytest.mark.parametrize(
    ("orig", "code"),
    [pytest.param("nope", RejectCode.UNKNOWN_ORDER, id="unknown"), pytest.param("c1", RejectCode.TOO_LATE, id="filled")],
)
def test_cancel_of_an_unknown_or_filled_order_is_refused(orig, code):
    # given our buyer of 100, filled
    pool = make_pool()
    pool.submit(order("c1", BUY, "100"))
    agent(pool, SELL, "100", tif=IOC)
    # when
    replies = pool.cancel(CancelRequest("x1", orig, "XDRK", "XYZ", BUY))
    # then
    assert [cancel_reject(reply) for reply in replies] == [("x1", orig, code)]


def test_replace_is_refused_as_unsupported_and_the_order_keeps_working():
    # given
    pool = make_pool()
    pool.submit(order("c1", BUY, "300"))
    # when
    replies = pool.replace(ReplaceRequest("c2", "c1", "XDRK", "XYZ", BUY, Decimal("200"), None))
    # then
    assert [cancel_reject(reply) for reply in replies] == [("c2", "c1", RejectCode.UNSUPPORTED)]
    assert resting(pool) == [(book_id(pool, "c1"), BUY, Decimal("300"))]
    assert_reports(pool.cancel(CancelRequest("x1", "c1", "XDRK", "XYZ", BUY)), [er("x1", 2, X.CANCELED, S.CANCELED)], qty={})


# --- rejects and the session --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("msg", "code"),
    [
        pytest.param(order("r1", BUY, "100", symbol="NOPE"), RejectCode.UNKNOWN_SYMBOL, id="unknown-symbol"),
        pytest.param(order("r1", BUY, "100", limit_px="100.00", post_only=True), RejectCode.UNSUPPORTED, id="post-only"),
        pytest.param(order("r1", BUY, "100", display_qty=Decimal("10")), RejectCode.UNSUPPORTED, id="iceberg"),
        pytest.param(order("r1", BUY, "150", symbol="LOT"), RejectCode.NOT_LOT_MULTIPLE, id="odd-lot"),
        pytest.param(order("r1", BUY, "0"), RejectCode.INVALID_QTY, id="zero-qty"),
        pytest.param(order("r1", BUY, "-100"), RejectCode.INVALID_QTY, id="negative-qty"),
        pytest.param(order("r1", BUY, "100", min_qty=Decimal("101")), RejectCode.INVALID_QTY, id="min-above-qty"),
        pytest.param(order("r1", BUY, "100", ord_type=OrdType.LIMIT), RejectCode.INVALID_PRICE, id="limit-without-price"),
        pytest.param(order("r1", BUY, "100", limit_px="100.005"), RejectCode.OFF_TICK, id="sub-penny-limit"),
    ],
)
def test_rejected_order_changes_nothing(msg, code):
    # given a resting seller and our resting buyer that do not cross (buyer capped below the mid)
    pool = make_pool()
    seller, _ = agent(pool, SELL, "100")
    pool.submit(order("c1", BUY, "100", limit_px="100.00"))
    before = resting(pool)
    # when
    reports = pool.submit(msg)
    # then
    assert_reports(reports, [er("r1", 1, X.REJECTED, S.REJECTED, reason=code)], qty={})
    assert reports[0].venue_order_id == ""
    assert resting(pool) == before == [(seller.order_id, SELL, Decimal("100")), (book_id(pool, "c1"), BUY, Decimal("100"))]
    assert pool.prints == []


@pytest.mark.parametrize("state", [SessionState.HALTED, SessionState.CLOSED])
def test_order_to_a_halted_or_closed_pool_is_rejected_as_venue_closed(state):
    # given
    pool = make_pool()
    seller, _ = agent(pool, SELL, "100")
    pool.set_state(state)
    # when
    reports = pool.submit(order("r1", BUY, "100"))
    # then
    assert_reports(reports, [er("r1", 1, X.REJECTED, S.REJECTED, reason=RejectCode.VENUE_CLOSED)], qty={})
    assert resting(pool) == [(seller.order_id, SELL, Decimal("100"))]
    assert pool.prints == []


def test_duplicate_cl_ord_id_is_rejected_and_the_original_keeps_its_own_sequence():
    # given
    pool = make_pool()
    pool.submit(order("c1", BUY, "300"))
    # when
    reports = pool.submit(order("c1", SELL, "300"))
    # then
    assert_reports(reports, [er("c1", 1, X.REJECTED, S.REJECTED, reason=RejectCode.DUPLICATE_CL_ORD_ID)], qty={})
    assert resting(pool) == [(book_id(pool, "c1"), BUY, Decimal("300"))]
    fills = agent(pool, SELL, "100", tif=IOC)[1]
    assert_reports(
        fills,
        [er("c1", 2, X.TRADE, S.PARTIALLY_FILLED, last_qty="100", last_px="100.005", cum="100", leaves="200",
            avg="100.005", fee="0.0500", liquidity=ADDED)],
        qty={"c1": "300"},
    )  # fmt: skip


def test_expire_ends_day_orders_and_keeps_gtc():
    # given buyers capped below the mid so nothing crosses
    pool = make_pool()
    pool.submit(order("c1", BUY, "100", limit_px="100.00"))
    pool.submit(order("c2", BUY, "100", limit_px="100.00", tif=GTC))
    agent(pool, SELL, "100", limit_px="100.01")
    background_gtc, _ = agent(pool, SELL, "100", limit_px="100.01", tif=GTC)
    # when
    reports = pool.expire()
    # then
    assert_reports(reports, [er("c1", 2, X.EXPIRED, S.EXPIRED)], qty={})
    assert resting(pool) == [(book_id(pool, "c2"), BUY, Decimal("100")), (background_gtc.order_id, SELL, Decimal("100"))]
    assert [client.cl_ord_id for client in pool.clients.working()] == ["c2"]
