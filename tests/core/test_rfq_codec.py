"""Storing the RFQ book as JSON: exact round trips of books the auction produces, and loud refusals of bad rows."""

import copy
import json
import re
from collections.abc import Callable
from dataclasses import fields, is_dataclass, replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ems.core.rfq import (
    RfqBook,
    RfqRefused,
    RfqRequest,
    ladder_sweep,
    last_look_apply,
    quote_decline,
    quote_hit,
    quote_receive,
    rfq_cancel,
    rfq_open,
    rfq_tick,
)
from ems.core.rfq_codec import VERSION, book_dump, book_load
from tests.core.test_rfq import DEALERS, POLICY, SEC, T0, Q, R, make_request, open_book
from trading.enums import AssetClass, Side
from trading.rfq import Quote, QuoteRequestLeg, QuoteRequestReject, QuoteState, RfqInitiator, RfqSide, RfqState

D = Decimal
PUT_SPREAD = (QuoteRequestLeg("ACME 100 P", Side.SELL, D(1)), QuoteRequestLeg("ACME 90 P", Side.BUY, D("1.0")))


def make_quote(
    dealer: str,
    qid: str,
    *,
    at: int,
    offer: str | None = None,
    bid: str | None = None,
    size: str = "1000",
    life_s: int = 10,
    symbol: str = "ACME",
) -> Quote:
    return Quote(
        quote_id=qid,
        quote_req_id="RFQ-1",
        dealer=dealer,
        symbol=symbol,
        bid_px=None if bid is None else D(bid),
        offer_px=None if offer is None else D(offer),
        bid_size=D(size) if bid is not None else D(0),
        offer_size=D(size) if offer is not None else D(0),
        valid_until_ns=at + life_s * SEC,
        transact_time_ns=at - 1_000,
    )


def receive(book: RfqBook, quote: Quote) -> RfqBook:
    return quote_receive(book, quote, now_ns=quote.transact_time_ns + 1_000).book


def decline(book: RfqBook, dealer: str, *, at: int, text: str = "") -> RfqBook:
    return quote_decline(book, QuoteRequestReject("RFQ-1", dealer, "NO_APPETITE", text, at), now_ns=at).book


def answer(book: RfqBook, hit_no: int, *, accepted: bool, at: int, reason: str = "") -> RfqBook:
    return last_look_apply(book, quote_resp_id=f"RFQ-1-H{hit_no}", accepted=accepted, now_ns=at, reason=reason).book


def stored(book: RfqBook) -> RfqBook:
    """What the shell gets back from its JSONField: dump, JSON text with no custom encoder, parse, load."""
    return book_load(json.loads(json.dumps(book_dump(book))))


def exact(value: Any) -> Any:
    """``value`` with every Decimal as its text (``==`` ignores the exponent: 1.5 == 1.50) and every set sorted (a
    frozenset's order, and so its repr, follows the string hash seed): two values are the same to each exponent iff
    their ``exact`` forms are equal."""
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    if is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, tuple(exact(getattr(value, f.name)) for f in fields(value)))
    if isinstance(value, frozenset | set):
        return ("set", tuple(sorted((exact(item) for item in value), key=repr)))
    if isinstance(value, tuple | list):
        return tuple(exact(item) for item in value)
    if isinstance(value, dict):
        return ("dict", tuple(sorted(((exact(k), exact(v)) for k, v in value.items()), key=repr)))
    return value


def assert_round_trips(book: RfqBook) -> None:
    loaded = stored(book)
    assert loaded == book
    assert exact(loaded) == exact(book)


# --- lifecycles, each reached by driving the auction ---------------------------------------


def open_with_quotes() -> RfqBook:
    book = open_book()
    book = receive(book, make_quote("DLR_A", "Q1", at=T0 + SEC, offer="100.05"))
    book = receive(book, make_quote("DLR_B", "Q2", at=T0 + 2 * SEC, offer="100.10", size="250.5"))
    return receive(book, make_quote("DLR_A", "Q3", at=T0 + 3 * SEC, offer="100.040"))  # replaces Q1


def two_way_sold_on_the_bid() -> RfqBook:
    book = open_book(side=RfqSide.TWO_WAY)
    book = receive(book, make_quote("DLR_A", "Q1", at=T0 + SEC, bid="99.95", offer="100.05"))
    book = receive(book, make_quote("DLR_B", "Q2", at=T0 + 2 * SEC, bid="99.90", offer="100.00"))
    book = quote_hit(book, quote_id="Q1", side=Side.SELL, now_ns=T0 + 3 * SEC).book
    return answer(book, 1, accepted=True, at=T0 + 3 * SEC)


def package_auto_executed_last_look_pending() -> RfqBook:
    book = open_book(
        symbol="ACME 100/90 PS",
        legs=PUT_SPREAD,
        asset_classes=frozenset({AssetClass.OPTION, AssetClass.EQUITY}),
        threshold_px=D("-0.05"),
        qty=D("50"),
    )
    book = receive(book, make_quote("DLR_B", "Q1", at=T0 + SEC, offer="0.20", bid="-0.30", symbol="ACME 100/90 PS"))
    return receive(book, make_quote("DLR_A", "Q2", at=T0 + 2 * SEC, offer="-0.10", size="50", symbol="ACME 100/90 PS"))


def rejected_then_filled() -> RfqBook:
    book = open_book()
    book = receive(book, make_quote("DLR_A", "Q1", at=T0 + SEC, offer="100.05"))
    book = receive(book, make_quote("DLR_B", "Q2", at=T0 + 2 * SEC, offer="100.02"))
    book = quote_hit(book, quote_id="Q2", now_ns=T0 + 3 * SEC).book
    book = answer(book, 1, accepted=False, at=T0 + 3 * SEC, reason="price moved")
    book = quote_hit(book, quote_id="Q1", now_ns=T0 + 4 * SEC).book
    return answer(book, 2, accepted=True, at=T0 + 4 * SEC)


def expired_with_a_decline() -> RfqBook:
    book = open_book()
    book = decline(book, "DLR_C", at=T0 + SEC, text="axed the other way")
    book = receive(book, make_quote("DLR_A", "Q1", at=T0 + 2 * SEC, offer="100.05", life_s=5))
    return rfq_tick(book, now_ns=T0 + 31 * SEC).book


def cancelled_after_a_partial_fill() -> RfqBook:
    book = open_book(allow_partial=True)
    book = receive(book, make_quote("DLR_A", "Q1", at=T0 + SEC, offer="100.01", size="400"))
    book = receive(book, make_quote("DLR_B", "Q2", at=T0 + 2 * SEC, offer="100.05"))
    book = quote_hit(book, quote_id="Q1", qty=D(400), now_ns=T0 + 3 * SEC).book
    book = answer(book, 1, accepted=True, at=T0 + 3 * SEC)
    return rfq_cancel(book, now_ns=T0 + 4 * SEC, reason="enough").book


def every_dealer_declined() -> RfqBook:
    book = open_book(side=RfqSide.SELL)
    for n, dealer in enumerate(DEALERS, start=1):
        book = decline(book, dealer, at=T0 + n * SEC)
    return book


def disclosed_threshold_reached_after_grace() -> RfqBook:
    book = open_book(anonymous=False, firm="Blue Harbor AM", initiator=RfqInitiator.PM, grace_ns=2 * SEC, threshold_px=D("100.50"))
    book = receive(book, make_quote("DLR_A", "Q1", at=T0 + SEC, offer="100.45"))  # hidden by the grace period
    book = rfq_tick(book, now_ns=T0 + 2 * SEC).book  # grace over: the auto rule hits it
    return answer(book, 1, accepted=True, at=T0 + 2 * SEC)


def swept_one_of_two_answered() -> RfqBook:
    book = open_book(allow_partial=True)
    book = receive(book, make_quote("DLR_A", "Q1", at=T0 + SEC, offer="100.01", size="600"))
    book = receive(book, make_quote("DLR_B", "Q2", at=T0 + 2 * SEC, offer="100.02", size="600"))
    book = ladder_sweep(book, now_ns=T0 + 3 * SEC).book
    return answer(book, 2, accepted=True, at=T0 + 3 * SEC)


LIFECYCLES: list[tuple[Callable[[], RfqBook], RfqState, dict[str, QuoteState]]] = [
    (open_with_quotes, R.OPEN, {"Q1": Q.REPLACED, "Q2": Q.ACTIVE, "Q3": Q.ACTIVE}),
    (two_way_sold_on_the_bid, R.FILLED, {"Q1": Q.EXECUTED, "Q2": Q.TRADED_AWAY}),
    (package_auto_executed_last_look_pending, R.EXECUTING, {"Q1": Q.ACTIVE, "Q2": Q.PENDING}),
    (rejected_then_filled, R.FILLED, {"Q1": Q.EXECUTED, "Q2": Q.LAST_LOOK_REJECTED}),
    (expired_with_a_decline, R.EXPIRED, {"Q1": Q.EXPIRED}),
    (cancelled_after_a_partial_fill, R.CANCELLED, {"Q1": Q.EXECUTED, "Q2": Q.TRADED_AWAY}),
    (every_dealer_declined, R.FAILED, {}),
    (disclosed_threshold_reached_after_grace, R.FILLED, {"Q1": Q.EXECUTED}),
    (swept_one_of_two_answered, R.EXECUTING, {"Q1": Q.PENDING, "Q2": Q.EXECUTED}),
]


@pytest.mark.parametrize(("build", "state", "quote_states"), LIFECYCLES, ids=[c[0].__name__ for c in LIFECYCLES])
def test_a_book_from_the_auction_round_trips_exactly(
    build: Callable[[], RfqBook], state: RfqState, quote_states: dict[str, QuoteState]
) -> None:
    # given a book the auction produced (and the state the lifecycle was meant to reach)
    book = build()
    assert book.state is state
    assert {q.quote_id: q.state for q in book.quotes} == quote_states
    # when it goes through the JSONField
    loaded = stored(book)
    # then it is the same book, to each Decimal's exponent, and it dumps to the same JSON
    assert loaded == book
    assert exact(loaded) == exact(book)
    assert book_dump(loaded) == book_dump(book)


@pytest.mark.parametrize("build", [c[0] for c in LIFECYCLES], ids=[c[0].__name__ for c in LIFECYCLES])
def test_the_dump_holds_only_json_types(build: Callable[[], RfqBook]) -> None:
    # given
    book = build()
    # when
    data = book_dump(book)
    # then (json.dumps also takes tuples and StrEnums, so check the exact types)
    seen = [data]
    while seen:
        value = seen.pop()
        assert type(value) in {dict, list, str, int, bool, type(None)}, value
        if isinstance(value, dict):
            assert all(type(key) is str for key in value)
            seen.extend(value.values())
        elif isinstance(value, list):
            seen.extend(value)


def test_the_dump_of_a_package_hit() -> None:
    # given the package auto-executed at -0.10 against a -0.05 threshold
    book = package_auto_executed_last_look_pending()
    # when
    data = book_dump(book)
    # then
    assert data["version"] == VERSION == 1
    assert data["state"] == "EXECUTING"
    assert data["closed_ns"] is None
    assert data["request"]["asset_classes"] == ["EQUITY", "OPTION"]
    assert data["request"]["threshold_px"] == "-0.05"
    assert data["request"]["legs"] == [
        {"leg_symbol": "ACME 100 P", "leg_side": "SELL", "leg_ratio_qty": "1"},
        {"leg_symbol": "ACME 90 P", "leg_side": "BUY", "leg_ratio_qty": "1.0"},
    ]
    assert data["quotes"][1] == {
        "quote": {
            "quote_id": "Q2",
            "quote_req_id": "RFQ-1",
            "dealer": "DLR_A",
            "symbol": "ACME 100/90 PS",
            "bid_px": None,
            "offer_px": "-0.10",
            "bid_size": "0",
            "offer_size": "50",
            "valid_until_ns": T0 + 12 * SEC,
            "transact_time_ns": T0 + 2 * SEC - 1_000,
        },
        "arrived_ns": T0 + 2 * SEC,
        "state": "PENDING",
    }
    assert data["hits"] == [
        {
            "quote_resp_id": "RFQ-1-H1",
            "quote_id": "Q2",
            "dealer": "DLR_A",
            "side": "BUY",
            "qty": "50",
            "px": "-0.10",
            "sent_ns": T0 + 2 * SEC,
            "accepted": None,
            "reason": "",
        }
    ]


def test_each_decimal_keeps_its_exponent() -> None:
    # given Decimals whose == would hide a lost exponent: 1.50 == 1.5, 1E+3 == 1000
    book = open_book(symbol="ACME 100/90 PS", legs=PUT_SPREAD, qty=D("1E+3"), threshold_px=D("-0.05"))
    book = receive(book, make_quote("DLR_A", "Q1", at=T0 + SEC, bid="-0.050", offer="1.50", size="2.50", symbol="ACME 100/90 PS"))
    # when
    loaded = stored(book)
    # then
    quote = loaded.quotes[0].quote
    assert [str(v) for v in (loaded.request.qty, loaded.request.threshold_px, quote.bid_px, quote.offer_px)] == [
        "1E+3",
        "-0.05",
        "-0.050",
        "1.50",
    ]
    assert str(quote.offer_size) == "2.50"
    assert str(loaded.request.legs[1].leg_ratio_qty) == "1.0"


# --- any book the auction can reach -----------------------------------------------------------

# Coefficient and exponent drawn apart, so trailing zeros (1.50), exponents (5E+2) and -0 all occur.
decimals = st.builds(lambda digits, exp: D(digits).scaleb(exp), st.integers(-(10**6), 10**6), st.integers(-6, 2))
positive = st.builds(lambda digits, exp: D(digits).scaleb(exp), st.integers(1, 5000), st.integers(-3, 1))

# Sampled, not a range: Hypothesis favours small integers, and a long wait is what expires quotes and requests.
waits = st.sampled_from([0, SEC // 10, SEC, 3 * SEC, 12 * SEC])
# Quotes, hits and answers come more often than a cancel, so lifecycles get past their first events.
KINDS = ["quote"] * 5 + ["hit"] * 4 + ["look"] * 3 + ["decline", "tick", "cancel"]


@st.composite
def actions(draw: st.DrawFn) -> tuple[Any, ...]:
    kind = draw(st.sampled_from(KINDS))
    if kind == "quote":
        sides = draw(st.sampled_from(["two-sided", "two-sided", "bid", "offer"]))
        px, spread, size = draw(decimals), draw(positive), draw(positive)
        bid = None if sides == "offer" else px
        offer = None if sides == "bid" else px + spread if sides == "two-sided" else px
        return (kind, draw(st.sampled_from(DEALERS)), bid, offer, size, draw(st.integers(1, 20)))
    if kind == "hit":
        return (
            kind,
            draw(st.integers(0, 9)),
            draw(st.sampled_from([None, None, Side.BUY, Side.SELL])),
            draw(st.sampled_from([None, None, None, D(1)])),
        )
    if kind == "look":
        return (kind, draw(st.sampled_from([True, True, False])))
    if kind == "decline":
        return (kind, draw(st.sampled_from(DEALERS)))
    return (kind,)


@st.composite
def requests(draw: st.DrawFn) -> RfqRequest:
    side = draw(st.sampled_from(RfqSide))
    package = draw(st.booleans())
    threshold = None
    if side is not RfqSide.TWO_WAY and draw(st.booleans()):
        threshold = draw(decimals if package else positive)
    return make_request(
        side=side,
        qty=draw(positive),
        symbol="PKG" if package else "ACME",
        legs=PUT_SPREAD if package else (),
        asset_classes=draw(st.frozensets(st.sampled_from(AssetClass), min_size=1)),
        grace_ns=draw(st.sampled_from([0, 2 * SEC])),
        threshold_px=threshold,
        allow_partial=draw(st.booleans()),
        initiator=draw(st.sampled_from(RfqInitiator)),
    )


def apply(book: RfqBook, action: tuple[Any, ...], now_ns: int, n: int) -> RfqBook:
    """Apply one dealer, trader or timer event; one the auction refuses leaves the book as it was (nothing was sent)."""
    kind, *args = action
    try:
        if kind == "quote":
            dealer, bid, offer, size, life_s = args
            quote = Quote(f"Q{n}", "RFQ-1", dealer, book.request.symbol, bid, offer, size, size, now_ns + life_s * SEC, now_ns)
            book = quote_receive(book, quote, now_ns=now_ns).book
        elif kind == "decline":
            book = quote_decline(book, QuoteRequestReject("RFQ-1", args[0], "NO_APPETITE"), now_ns=now_ns).book
        elif kind == "hit" and book.quotes:
            index, side, qty = args
            book = quote_hit(book, quote_id=book.quotes[index % len(book.quotes)].quote_id, now_ns=now_ns, qty=qty, side=side).book
        elif kind == "look" and book.pending_hits:
            book = last_look_apply(book, quote_resp_id=book.pending_hits[0].quote_resp_id, accepted=args[0], now_ns=now_ns).book
        elif kind == "tick":
            book = rfq_tick(book, now_ns=now_ns).book
        elif kind == "cancel":
            book = rfq_cancel(book, now_ns=now_ns, reason="trader withdrew").book
    except RfqRefused:
        pass
    return book


@settings(max_examples=150, deadline=None)
@given(request=requests(), steps=st.lists(st.tuples(waits, actions()), min_size=1, max_size=30))
def test_every_book_along_any_auction_round_trips(request: RfqRequest, steps: list[tuple[int, tuple[Any, ...]]]) -> None:
    # given a request opened with three dealers
    book = rfq_open(request, DEALERS, now_ns=T0, policy=POLICY).book
    assert_round_trips(book)
    now_ns = T0
    for n, (wait_ns, action) in enumerate(steps, start=1):
        # when any event arrives
        now_ns += wait_ns
        book = apply(book, action, now_ns, n)
        # then the book after it survives the JSONField unchanged
        assert_round_trips(book)


# --- malformed rows ---------------------------------------------------------------------------

DROP = object()


def edited(data: dict[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    """A copy of the stored row with one value changed (or dropped) by hand."""
    row = copy.deepcopy(data)
    parent: Any = row
    for key in path[:-1]:
        parent = parent[key]
    if value is DROP:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return row


BAD_ROWS: list[tuple[tuple[str | int, ...], object, str]] = [
    (("version",), DROP, "missing field `version`"),
    (("version",), 2, "invalid `version`, was 2: this code reads version 1"),
    (("version",), "1", "invalid `version`, was '1'"),
    (("version",), True, "invalid `version`, was True"),
    (("request", "qty"), DROP, "missing field `request.qty`"),
    (("quotes", 1, "quote", "offer_px"), DROP, "missing field `quotes[1].quote.offer_px`"),
    (("hits", 0, "accepted"), DROP, "missing field `hits[0].accepted`"),
    (("request", "colour"), "red", "unknown field `request.colour`"),
    (("request", "qty"), "fifty", "invalid `request.qty`, was 'fifty': a Decimal as a string"),
    (("request", "qty"), 50, "invalid `request.qty`, was 50: a Decimal as a string"),
    (("hits", 0, "px"), -0.1, "invalid `hits[0].px`, was -0.1: a Decimal as a string"),
    (("request", "threshold_px"), "NaN", "invalid `request.threshold_px`, was 'NaN': a finite Decimal"),
    (("request", "threshold_px"), "-Infinity", "invalid `request.threshold_px`, was '-Infinity': a finite Decimal"),
    (
        ("quotes", 1, "quote", "offer_px"),
        " -0.10",
        "invalid `quotes[1].quote.offer_px`, was ' -0.10': a Decimal as str() writes it, '-0.10'",
    ),
    (("request", "qty"), "5_0", "invalid `request.qty`, was '5_0': a Decimal as str() writes it, '50'"),
    (("state",), "PAUSED", "invalid `state`, was 'PAUSED': one of OPEN, EXECUTING, FILLED, CANCELLED, EXPIRED, FAILED"),
    (("state",), "open", "invalid `state`, was 'open'"),
    (("quotes", 0, "state"), None, "invalid `quotes[0].state`, was None"),
    (("hits", 0, "side"), "TWO_WAY", "invalid `hits[0].side`, was 'TWO_WAY': one of BUY, SELL"),
    (("request", "asset_classes", 1), "CRYPTO", "invalid `request.asset_classes[1]`, was 'CRYPTO'"),
    (
        ("request", "asset_classes"),
        ["OPTION", "OPTION"],
        "invalid `request.asset_classes`, was ['OPTION', 'OPTION']: each item once",
    ),
    (("request", "legs", 0, "leg_side"), "buy", "invalid `request.legs[0].leg_side`, was 'buy'"),
    (("opened_ns",), str(T0), f"invalid `opened_ns`, was '{T0}': a JSON integer"),
    (("opened_ns",), True, "invalid `opened_ns`, was True: a JSON integer"),
    (("closed_ns",), "", "invalid `closed_ns`, was '': a JSON integer"),
    (("request", "anonymous"), 1, "invalid `request.anonymous`, was 1: a JSON bool"),
    (("dealers",), "DLR_A", "invalid `dealers`, was 'DLR_A': a list"),
    (("dealers", 0), None, "invalid `dealers[0]`, was None: a JSON str"),
    (("request",), [], "invalid `request`, was []: a JSON object"),
    (("hits", 0), "RFQ-1-H1", "invalid `hits[0]`, was 'RFQ-1-H1': a JSON object"),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD_ROWS, ids=[m for _, _, m in BAD_ROWS])
def test_a_malformed_row_is_refused_naming_the_field(path: tuple[str | int, ...], value: object, message: str) -> None:
    # given a stored package book with quotes, a pending hit and two asset classes, edited by hand
    row = edited(book_dump(package_auto_executed_last_look_pending()), path, value)
    before = copy.deepcopy(row)
    # when / then
    with pytest.raises(ValueError, match=re.escape(message)):
        book_load(row)
    assert row == before  # the row is left as it was


def test_a_row_that_is_not_an_object_is_refused() -> None:
    # given / when / then
    with pytest.raises(ValueError, match=re.escape("invalid book, was list: a JSON object")):
        book_load([])  # type: ignore[arg-type]


def test_a_book_holding_a_float_is_refused_when_saved() -> None:
    # given a dealer's float price the auction took as it came
    float_quote = replace(make_quote("DLR_A", "Q1", at=T0 + SEC, offer="100"), offer_px=100.05)  # type: ignore[arg-type]
    book = receive(open_book(), float_quote)
    assert book.quotes[0].quote.offer_px == 100.05
    # when / then: refused at the save, not found unreadable at the next load
    with pytest.raises(ValueError, match=re.escape("invalid `quotes[0].quote.offer_px`, was 100.05: a finite Decimal")):
        book_dump(book)
