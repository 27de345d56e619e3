"""The RFQ auction: state tables, anonymity, dealer choice, the ladder, execution, last look, the scorecard."""

import itertools
import os
import random
import subprocess
import sys
from dataclasses import fields, replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ems.core.rfq import (
    OPENED,
    DealerOutcome,
    DealerRecord,
    LadderRow,
    RfqBook,
    RfqInvalid,
    RfqPolicy,
    RfqRefused,
    RfqRequest,
    RfqStep,
    Scorecard,
    ScoreWeights,
    allocate,
    dealer_outcomes,
    dealer_views,
    dealers_rank,
    dealers_select,
    ladder_build,
    ladder_sweep,
    last_look_apply,
    quote_decline,
    quote_hit,
    quote_receive,
    rfq_cancel,
    rfq_open,
    rfq_tick,
    rfq_wakeup_ns,
)
from trading.enums import AssetClass, Side
from trading.rfq import (
    QUOTE_INITIAL,
    QUOTE_TERMINAL,
    QUOTE_TRANSITIONS,
    RFQ_TERMINAL,
    RFQ_TRANSITIONS,
    DealerView,
    IllegalRfqTransition,
    Quote,
    QuoteEvent,
    QuoteRequestLeg,
    QuoteRequestReject,
    QuoteResponse,
    QuoteState,
    QuoteStatusReport,
    RfqEvent,
    RfqSide,
    RfqState,
    quote_next,
    rfq_next,
)

D = Decimal
MS = 1_000_000
SEC = 1_000_000_000
T0 = 1_700_000_000 * SEC
DEALERS = ("DLR_A", "DLR_B", "DLR_C")
POLICY = RfqPolicy(min_dealers_anonymous=3, top_n=3, exploration_rate=0.1)
R = RfqState
RE = RfqEvent
Q = QuoteState
QE = QuoteEvent


def make_request(**changes: object) -> RfqRequest:
    base = RfqRequest(
        quote_req_id="RFQ-1",
        symbol="ACME",
        side=RfqSide.BUY,
        qty=D(1000),
        window_ns=30 * SEC,
        portfolio="PF-GROWTH",
        trader="alice",
        pm="bob",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def open_book(**changes: object) -> RfqBook:
    return rfq_open(make_request(**changes), DEALERS, now_ns=T0, policy=POLICY).book


def make_quote(
    dealer: str,
    *,
    at: int,
    offer: str | None = None,
    bid: str | None = None,
    size: str = "1000",
    life_s: int = 10,
    qid: str | None = None,
) -> Quote:
    return Quote(
        quote_id=qid or f"{dealer}-{at - T0}",
        quote_req_id="RFQ-1",
        dealer=dealer,
        symbol="ACME",
        bid_px=None if bid is None else D(bid),
        offer_px=None if offer is None else D(offer),
        bid_size=D(size) if bid is not None else D(0),
        offer_size=D(size) if offer is not None else D(0),
        valid_until_ns=at + life_s * SEC,
    )


def receive(book: RfqBook, quote: Quote, *, at: int) -> RfqBook:
    return quote_receive(book, quote, now_ns=at).book


def book_with_offers(*offers: tuple[str, str, str], **changes: object) -> RfqBook:
    """Open a request and take one offer per (dealer, px, size), a second apart from T0 + 1 s."""
    book = open_book(**changes)
    for n, (dealer, px, size) in enumerate(offers, start=1):
        book = receive(book, make_quote(dealer, at=T0 + n * SEC, offer=px, size=size, qid=f"Q{n}"), at=T0 + n * SEC)
    return book


def reports(step: RfqStep) -> list[QuoteStatusReport]:
    return [m for m in step.outbox if isinstance(m, QuoteStatusReport)]


def responses(step: RfqStep) -> list[QuoteResponse]:
    return [m for m in step.outbox if isinstance(m, QuoteResponse)]


def states(book: RfqBook) -> dict[str, QuoteState]:
    return {q.quote_id: q.state for q in book.quotes}


# --- the state tables ------------------------------------------------------------------

# Written out by hand, not derived from the module. Pairs absent here must be illegal.
EXPECTED_RFQ: dict[tuple[RfqState, RfqEvent], RfqState] = {
    (R.OPEN, RE.QUOTE): R.OPEN,
    (R.OPEN, RE.DECLINE): R.OPEN,
    (R.OPEN, RE.EXECUTE): R.EXECUTING,
    (R.OPEN, RE.CANCEL): R.CANCELLED,
    (R.OPEN, RE.EXPIRE): R.EXPIRED,
    (R.OPEN, RE.FAIL): R.FAILED,
    (R.EXECUTING, RE.QUOTE): R.EXECUTING,
    (R.EXECUTING, RE.DECLINE): R.EXECUTING,
    (R.EXECUTING, RE.LAST_LOOK): R.EXECUTING,
    (R.EXECUTING, RE.FILL): R.FILLED,
    (R.EXECUTING, RE.REOPEN): R.OPEN,
    (R.EXECUTING, RE.FAIL): R.FAILED,
}
EXPECTED_QUOTE: dict[tuple[QuoteState, QuoteEvent], QuoteState] = {
    (Q.ACTIVE, QE.HIT): Q.PENDING,
    (Q.ACTIVE, QE.EXPIRE): Q.EXPIRED,
    (Q.ACTIVE, QE.REPLACE): Q.REPLACED,
    (Q.ACTIVE, QE.TRADE_AWAY): Q.TRADED_AWAY,
    (Q.ACTIVE, QE.PASS): Q.PASSED,
    (Q.PENDING, QE.ACCEPT): Q.EXECUTED,
    (Q.PENDING, QE.REJECT): Q.LAST_LOOK_REJECTED,
    (Q.EXPIRED, QE.TRADE_AWAY): Q.TRADED_AWAY,
}


def test_the_module_tables_are_the_expected_tables() -> None:
    # given / when / then
    assert dict(RFQ_TRANSITIONS) == EXPECTED_RFQ
    assert dict(QUOTE_TRANSITIONS) == EXPECTED_QUOTE


@pytest.mark.parametrize(("state", "event"), list(itertools.product(RfqState, RfqEvent)))
def test_every_rfq_state_event_pair(state: RfqState, event: RfqEvent) -> None:
    # given
    expected = EXPECTED_RFQ.get((state, event))
    if expected is not None:
        # when / then
        assert rfq_next(state, event) is expected
    else:
        # when / then
        with pytest.raises(IllegalRfqTransition) as info:
            rfq_next(state, event)
        assert (info.value.state, info.value.event) == (state, event)
        assert str(info.value) == f"illegal RFQ transition: {event} in state {state}"


@pytest.mark.parametrize(("state", "event"), list(itertools.product(QuoteState, QuoteEvent)))
def test_every_quote_state_event_pair(state: QuoteState, event: QuoteEvent) -> None:
    # given
    expected = EXPECTED_QUOTE.get((state, event))
    if expected is not None:
        # when / then
        assert quote_next(state, event) is expected
    else:
        # when / then
        with pytest.raises(IllegalRfqTransition, match=f"illegal quote transition: {event} in state {state}"):
            quote_next(state, event)


def test_terminal_states_are_exactly_those_without_a_way_out() -> None:
    # given / when
    rfq_exits = {state for state, _ in RFQ_TRANSITIONS}
    quote_exits = {state for state, _ in QUOTE_TRANSITIONS}
    # then
    assert set(RFQ_TERMINAL) == set(RfqState) - rfq_exits == {R.FILLED, R.CANCELLED, R.EXPIRED, R.FAILED}
    assert set(QUOTE_TERMINAL) == set(QuoteState) - quote_exits
    assert all(state.is_terminal for state in RFQ_TERMINAL)
    assert not R.OPEN.is_terminal
    assert not R.EXECUTING.is_terminal


def _reachable(start: set[str], table: dict[tuple[str, str], str]) -> set[str]:
    seen = set(start)
    frontier = list(start)
    while frontier:
        state = frontier.pop()
        for (source, _), target in table.items():
            if source == state and target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


def test_every_state_is_reachable_from_the_start() -> None:
    # given / when
    rfq = _reachable({R.OPEN}, dict(RFQ_TRANSITIONS))  # type: ignore[arg-type]
    quote = _reachable(set(QUOTE_INITIAL), dict(QUOTE_TRANSITIONS))  # type: ignore[arg-type]
    # then
    assert rfq == set(RfqState)
    assert quote == set(QuoteState)


@settings(max_examples=300, deadline=None)
@given(events=st.lists(st.sampled_from(list(RfqEvent)), max_size=40))
def test_the_rfq_machine_is_closed(events: list[RfqEvent]) -> None:
    # given a request that has just opened
    state = R.OPEN
    for event in events:
        # when any event arrives
        try:
            state = rfq_next(state, event)
        except IllegalRfqTransition:
            assert (state, event) not in RFQ_TRANSITIONS
        # then the state is a known one, and a terminal state lets nothing out
        assert state in set(RfqState)
        if state.is_terminal:
            assert all((state, e) not in RFQ_TRANSITIONS for e in RfqEvent)


@settings(max_examples=300, deadline=None)
@given(start=st.sampled_from(sorted(QUOTE_INITIAL)), events=st.lists(st.sampled_from(list(QuoteEvent)), max_size=20))
def test_the_quote_machine_is_closed(start: QuoteState, events: list[QuoteEvent]) -> None:
    # given a quote taken or refused on arrival
    state = start
    for event in events:
        # when
        try:
            state = quote_next(state, event)
        except IllegalRfqTransition:
            assert (state, event) not in QUOTE_TRANSITIONS
        # then
        assert state in set(QuoteState)
        if state.is_terminal:
            with pytest.raises(IllegalRfqTransition):
                quote_next(state, event)


# --- the wire ----------------------------------------------------------------------------


def test_messages_round_trip_through_flat_strings() -> None:
    # given a one-sided quote and a report without a price
    quote = make_quote("DLR_A", at=T0, offer="100.25")
    report = QuoteStatusReport("RFQ-1", "Q1", "DLR_A", Q.PASSED, "no trade", T0)
    # when
    wire = quote.to_wire()
    # then
    assert wire["bid_px"] == ""
    assert wire["offer_px"] == "100.25"
    assert Quote.from_wire(wire) == quote
    assert QuoteStatusReport.from_wire(report.to_wire()) == report


def test_a_package_view_travels_as_the_request_plus_its_legs() -> None:
    # given a two-leg package
    legs = (QuoteRequestLeg("ACME 100 C", Side.BUY, D(1)), QuoteRequestLeg("ACME 110 C", Side.SELL, D(1)))
    view = dealer_views(open_book(symbol="ACME 100/110 CS", legs=legs, asset_classes=frozenset({AssetClass.OPTION})))[0]
    # when
    request, leg_dicts = view.to_wire()
    # then
    assert request["no_legs"] == "2"
    assert [leg["leg_symbol"] for leg in leg_dicts] == ["ACME 100 C", "ACME 110 C"]
    assert DealerView.from_wire(request, leg_dicts) == view
    with pytest.raises(ValueError, match="invalid `no_legs`, was 2 with 1 legs"):
        DealerView.from_wire(request, leg_dicts[:1])


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"qty": D(0)}, "`qty`"),
        ({"qty": 1000.0}, "`qty`"),
        ({"window_ns": 0}, "`window_ns`"),
        ({"window_ns": 301 * SEC}, "`window_ns`"),
        ({"grace_ns": 30 * SEC}, "`grace_ns`"),
        ({"grace_ns": -1}, "`grace_ns`"),
        ({"threshold_px": D("100"), "side": RfqSide.TWO_WAY}, "`threshold_px`"),
        ({"threshold_px": D("-1")}, "`threshold_px`"),
        ({"legs": (QuoteRequestLeg("ACME 100 C", Side.BUY, D(1)),)}, "`legs`"),
        ({"anonymous": False}, "`firm`"),
        ({"portfolio": ""}, "`portfolio`"),
        ({"asset_classes": frozenset()}, "`asset_classes`"),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    # given
    request = make_request(**changes)
    # when / then
    with pytest.raises(RfqInvalid, match=field):
        rfq_open(request, DEALERS, now_ns=T0, policy=POLICY)


def test_a_package_may_have_a_credit_threshold() -> None:
    # given a package that is bought for a credit
    legs = (QuoteRequestLeg("ACME 100 P", Side.SELL, D(1)), QuoteRequestLeg("ACME 90 P", Side.BUY, D(1)))
    # when
    step = rfq_open(make_request(legs=legs, threshold_px=D("-0.50")), DEALERS, now_ns=T0, policy=POLICY)
    # then
    assert step.book.state is R.OPEN
    assert step.log[0].event == OPENED


# --- dissemination and anonymity ---------------------------------------------------------


def test_each_dealer_gets_one_view_naming_no_client_and_no_rival() -> None:
    # given an anonymous request with quotes already in
    step = rfq_open(make_request(), DEALERS, now_ns=T0, policy=POLICY)
    book = receive(step.book, make_quote("DLR_B", at=T0 + SEC, offer="100.05"), at=T0 + SEC)
    # when
    views = dealer_views(book)
    # then one view per dealer, the same as when the request opened (quotes never reach a view)
    assert [v.dealer for v in views] == list(DEALERS)
    assert views == step.outbox
    for view in views:
        request, legs = view.to_wire()
        text = " ".join(request.values())
        assert legs == []
        for secret in ("PF-GROWTH", "alice", "bob", "100.05", *(d for d in DEALERS if d != view.dealer)):
            assert secret not in text
        assert request["firm"] == ""
        assert view.request.side is Side.BUY
        assert view.request.dealers_in_competition == 3
        assert view.request.valid_until_ns == T0 + 30 * SEC
    assert {f.name for f in fields(views[0].request)}.isdisjoint({"portfolio", "trader", "pm", "bid_px", "offer_px"})


def test_a_two_way_request_hides_the_side_even_in_its_legs() -> None:
    # given the same package asked two-way and as a sell
    legs = (QuoteRequestLeg("ACME 100 C", Side.BUY, D(1)), QuoteRequestLeg("ACME 110 C", Side.SELL, D(2)))
    two_way = dealer_views(open_book(side=RfqSide.TWO_WAY, legs=legs))[0]
    sell = dealer_views(open_book(side=RfqSide.SELL, legs=legs))[0]
    # when
    wire, _ = two_way.to_wire()
    # then
    assert two_way.request.side is None
    assert wire["side"] == ""
    assert sell.request.side is Side.SELL
    assert two_way.legs == sell.legs == legs


def test_a_disclosed_request_shows_our_firm_but_not_who_inside_it() -> None:
    # given
    book = open_book(anonymous=False, firm="Blue Harbor AM")
    # when
    view = dealer_views(book)[0]
    # then
    assert view.request.firm == "Blue Harbor AM"
    assert not {"PF-GROWTH", "alice", "bob"} & set(view.request.to_wire().values())


def test_an_anonymous_request_needs_the_minimum_number_of_dealers() -> None:
    # given two dealers
    two = DEALERS[:2]
    # when / then anonymous: refused
    with pytest.raises(RfqInvalid, match="anonymous request needs at least 3, was 2"):
        rfq_open(make_request(), two, now_ns=T0, policy=POLICY)
    # and disclosed: fine
    step = rfq_open(make_request(anonymous=False, firm="Blue Harbor AM"), two, now_ns=T0, policy=POLICY)
    assert step.book.dealers == two


def test_a_dealer_listed_twice_is_refused() -> None:
    # given / when / then
    with pytest.raises(RfqInvalid, match="listed twice"):
        rfq_open(make_request(), ("DLR_A", "DLR_B", "DLR_A"), now_ns=T0, policy=POLICY)


# --- quotes in: the ladder, grace, replacement, refusals ----------------------------------


def test_the_buy_ladder_shows_the_lowest_offer_first_with_improvement_and_time_left() -> None:
    # given A and C at the same price, A earlier; B better
    book = open_book()
    book = receive(book, make_quote("DLR_A", at=T0 + SEC, offer="100.05", qid="QA"), at=T0 + SEC)
    book = receive(book, make_quote("DLR_C", at=T0 + 3 * SEC // 2, offer="100.05", size="800", qid="QC"), at=T0 + 3 * SEC // 2)
    book = receive(book, make_quote("DLR_B", at=T0 + 2 * SEC, offer="100.02", size="500", qid="QB"), at=T0 + 2 * SEC)
    # when
    ladder = ladder_build(book, now_ns=T0 + 3 * SEC, mid=D("100.10"))
    # then
    assert ladder.bids == ()
    assert ladder.offers == (
        LadderRow("QB", "DLR_B", Side.BUY, D("100.02"), D(500), D("7.99"), 9000),
        LadderRow("QA", "DLR_A", Side.BUY, D("100.05"), D(1000), D("5.00"), 8000),
        LadderRow("QC", "DLR_C", Side.BUY, D("100.05"), D(800), D("5.00"), 8500),
    )


def test_the_sell_ladder_shows_the_highest_bid_first_and_a_negative_improvement_below_mid() -> None:
    # given
    book = open_book(side=RfqSide.SELL)
    book = receive(book, make_quote("DLR_A", at=T0 + SEC, bid="99.90", qid="QA"), at=T0 + SEC)
    book = receive(book, make_quote("DLR_B", at=T0 + SEC, bid="99.95", qid="QB"), at=T0 + SEC)
    # when
    ladder = ladder_build(book, now_ns=T0 + 2 * SEC, mid=D(100))
    # then
    assert [(r.quote_id, r.px, r.improvement_bps) for r in ladder.bids] == [
        ("QB", D("99.95"), D("-5.00")),
        ("QA", D("99.90"), D("-10.00")),
    ]
    assert ladder.offers == ()


def test_a_two_way_ladder_shows_both_sides_and_no_improvement_without_a_mid() -> None:
    # given
    book = open_book(side=RfqSide.TWO_WAY)
    book = receive(book, make_quote("DLR_A", at=T0 + SEC, bid="99.90", offer="100.10", qid="QA"), at=T0 + SEC)
    # when
    ladder = ladder_build(book, now_ns=T0 + 2 * SEC, mid=None)
    # then
    assert [(r.side, r.px, r.improvement_bps) for r in ladder.offers] == [(Side.BUY, D("100.10"), None)]
    assert [(r.side, r.px, r.improvement_bps) for r in ladder.bids] == [(Side.SELL, D("99.90"), None)]


def test_the_time_left_stops_at_the_end_of_the_window() -> None:
    # given a quote that outlives the window
    book = open_book()
    book = receive(book, make_quote("DLR_A", at=T0 + 25 * SEC, offer="100.05", life_s=60), at=T0 + 25 * SEC)
    # when
    ladder = ladder_build(book, now_ns=T0 + 26 * SEC, mid=None)
    # then
    assert ladder.offers[0].time_left_ms == 4000


def test_quotes_in_the_grace_period_are_hidden_and_cannot_be_hit() -> None:
    # given a 5 s grace period and two quotes inside it
    book = open_book(grace_ns=5 * SEC)
    book = receive(book, make_quote("DLR_A", at=T0 + SEC, offer="100.05", qid="QA"), at=T0 + SEC)
    book = receive(book, make_quote("DLR_B", at=T0 + 2 * SEC, offer="100.02", qid="QB"), at=T0 + 2 * SEC)
    # when
    during = ladder_build(book, now_ns=T0 + 5 * SEC - 1, mid=None)
    after = ladder_build(book, now_ns=T0 + 5 * SEC, mid=None)
    # then
    assert (during.offers, during.hidden) == ((), 2)
    assert [r.quote_id for r in after.offers] == ["QB", "QA"]
    assert after.hidden == 0
    with pytest.raises(RfqRefused, match=r"hidden for 1000 ms more \(grace period\)"):
        quote_hit(book, quote_id="QB", now_ns=T0 + 4 * SEC)


def test_a_later_quote_from_the_same_dealer_replaces_the_earlier_one() -> None:
    # given
    book = receive(open_book(), make_quote("DLR_A", at=T0 + SEC, offer="100.05", qid="QA1"), at=T0 + SEC)
    # when
    step = quote_receive(book, make_quote("DLR_A", at=T0 + 2 * SEC, offer="100.03", qid="QA2"), now_ns=T0 + 2 * SEC)
    # then
    assert states(step.book) == {"QA1": Q.REPLACED, "QA2": Q.ACTIVE}
    assert [(r.quote_id, r.quote_status) for r in reports(step)] == [("QA1", Q.REPLACED)]
    assert [r.quote_id for r in ladder_build(step.book, now_ns=T0 + 3 * SEC, mid=None).offers] == ["QA2"]
    with pytest.raises(RfqRefused, match="QA1 was replaced by a newer quote from DLR_A"):
        quote_hit(step.book, quote_id="QA1", now_ns=T0 + 3 * SEC)


def test_a_redelivered_quote_changes_nothing() -> None:
    # given
    quote = make_quote("DLR_A", at=T0 + SEC, offer="100.05")
    book = receive(open_book(), quote, at=T0 + SEC)
    # when
    step = quote_receive(book, quote, now_ns=T0 + 2 * SEC)
    # then
    assert step == RfqStep(book)


@pytest.mark.parametrize(
    ("quote", "why"),
    [
        (replace(make_quote("DLR_A", at=T0, offer="100"), dealer="DLR_Z"), "DLR_Z was not asked"),
        (make_quote("DLR_A", at=T0, bid="100.10", offer="100"), "crossed quote: bid 100.10 above offer 100"),
        (make_quote("DLR_A", at=T0, bid="100"), "a buy request needs an offer"),
        (make_quote("DLR_A", at=T0 - 11 * SEC, offer="100"), "the quote had expired on arrival"),
        (replace(make_quote("DLR_A", at=T0, offer="100"), offer_size=D(0)), "invalid `offer_size`, was 0"),
        (replace(make_quote("DLR_A", at=T0, offer="100"), symbol="OTHER"), "quote for OTHER, not ACME"),
    ],
)
def test_a_bad_quote_is_refused_and_its_dealer_told_why(quote: Quote, why: str) -> None:
    # given
    book = open_book()
    # when
    step = quote_receive(book, quote, now_ns=T0 + SEC)
    # then
    assert step.book == book
    assert [(r.dealer, r.quote_status, r.text) for r in reports(step)] == [(quote.dealer, Q.REFUSED, why)]


# --- expiry ---------------------------------------------------------------------------------


def test_a_quote_expires_at_the_end_of_its_lifetime() -> None:
    # given a 10 s quote at T0 + 1 s
    book = receive(open_book(), make_quote("DLR_A", at=T0 + SEC, offer="100.05", qid="QA"), at=T0 + SEC)
    # when
    before = rfq_tick(book, now_ns=T0 + 11 * SEC - 1)
    at_end = rfq_tick(book, now_ns=T0 + 11 * SEC)
    # then
    assert before == RfqStep(book)
    assert states(at_end.book) == {"QA": Q.EXPIRED}
    assert [(r.quote_id, r.quote_status) for r in reports(at_end)] == [("QA", Q.EXPIRED)]
    assert at_end.book.state is R.OPEN
    assert ladder_build(at_end.book, now_ns=T0 + 11 * SEC, mid=None).offers == ()


def test_the_request_expires_at_the_end_of_its_window_and_live_quotes_are_passed() -> None:
    # given a live quote at the end of the window
    book = receive(open_book(), make_quote("DLR_A", at=T0 + 25 * SEC, offer="100.05", qid="QA"), at=T0 + 25 * SEC)
    # when
    step = rfq_tick(book, now_ns=T0 + 30 * SEC)
    again = rfq_tick(step.book, now_ns=T0 + 30 * SEC)
    # then
    assert step.book.state is R.EXPIRED
    assert step.book.reason == "the response window ended without an execution"
    assert step.book.closed_ns == T0 + 30 * SEC
    assert states(step.book) == {"QA": Q.PASSED}
    assert [(r.quote_id, r.quote_status) for r in reports(step)] == [("QA", Q.PASSED)]
    assert again == RfqStep(step.book)
    assert rfq_wakeup_ns(step.book, now_ns=T0 + 30 * SEC) is None


def test_the_wakeup_is_the_next_grace_end_quote_expiry_or_window_end() -> None:
    # given a 2 s grace period and a quote living until T0 + 11 s
    book = open_book(grace_ns=2 * SEC)
    book = receive(book, make_quote("DLR_A", at=T0 + SEC, offer="100.05"), at=T0 + SEC)
    # when / then
    assert rfq_wakeup_ns(book, now_ns=T0 + SEC) == T0 + 2 * SEC
    assert rfq_wakeup_ns(book, now_ns=T0 + 2 * SEC) == T0 + 11 * SEC
    assert rfq_wakeup_ns(book, now_ns=T0 + 11 * SEC) == T0 + 30 * SEC


def test_clicking_an_expired_quote_is_refused_and_nothing_is_sent() -> None:
    # given a quote that expired at T0 + 11 s
    book = receive(open_book(), make_quote("DLR_A", at=T0 + SEC, offer="100.05", qid="QA"), at=T0 + SEC)
    # when / then
    with pytest.raises(RfqRefused, match="quote QA from DLR_A expired 250 ms ago") as info:
        quote_hit(book, quote_id="QA", now_ns=T0 + 11 * SEC + 250 * MS)
    # and nothing happened: no hit, the quote still ACTIVE in the book we hold
    assert info.value.reason == "quote QA from DLR_A expired 250 ms ago"
    assert book.hits == ()
    assert book.state is R.OPEN


def test_clicking_after_the_window_ended_is_refused() -> None:
    # given
    book = receive(open_book(), make_quote("DLR_A", at=T0 + 25 * SEC, offer="100.05", qid="QA"), at=T0 + 25 * SEC)
    # when / then
    with pytest.raises(RfqRefused, match="the request is expired: the response window ended without an execution"):
        quote_hit(book, quote_id="QA", now_ns=T0 + 30 * SEC)


# --- the click ----------------------------------------------------------------------------------


def test_a_click_sends_one_fill_or_kill_hit_for_the_whole_quantity() -> None:
    # given
    book = book_with_offers(("DLR_A", "100.05", "1000"), ("DLR_B", "100.02", "1500"))
    # when
    step = quote_hit(book, quote_id="Q2", now_ns=T0 + 3 * SEC)
    # then
    assert responses(step) == [
        QuoteResponse("RFQ-1-H1", "RFQ-1", "Q2", "DLR_B", "ACME", Side.BUY, D(1000), D("100.02"), T0 + 3 * SEC)
    ]
    assert step.book.state is R.EXECUTING
    assert states(step.book) == {"Q1": Q.ACTIVE, "Q2": Q.PENDING}
    assert reports(step) == []
    assert step.log[-1].reason == "clicked by the trader: buy 1000 at 100.02 from DLR_B"


def test_a_click_past_the_orders_limit_is_refused_and_one_at_it_is_sent() -> None:
    book = book_with_offers(("DLR_A", "100.05", "1000"), ("DLR_B", "100.02", "1000"))
    with pytest.raises(RfqRefused) as info:
        quote_hit(book, quote_id="Q1", now_ns=T0 + 3 * SEC, limit_px=D("100.04"))
    assert info.value.reason == "DLR_A at 100.05 is past the order's limit 100.04: nothing was sent"
    step = quote_hit(book, quote_id="Q2", now_ns=T0 + 3 * SEC, limit_px=D("100.02"))
    assert [r.price for r in responses(step)] == [D("100.02")]


def test_a_click_on_a_request_allowing_partial_fills_takes_what_the_quote_shows_by_default() -> None:
    book = book_with_offers(("DLR_A", "100.05", "1000"), ("DLR_B", "100.02", "600"), allow_partial=True)
    step = quote_hit(book, quote_id="Q2", now_ns=T0 + 3 * SEC)
    assert [r.order_qty for r in responses(step)] == [D(600)]


@pytest.mark.parametrize(
    ("quote_id", "qty", "why"),
    [
        ("NOPE", None, "quote NOPE is not on this request"),
        ("Q1", D(1200), "quantity 1200 exceeds the 1000 left on the request"),
        ("Q2", None, "quantity 1000 exceeds the 600 DLR_B quoted"),
        ("Q1", D(400), "partial fills are not allowed: the hit must be for all 1000"),
        ("Q1", D(0), "invalid quantity 0"),
    ],
)
def test_a_click_that_breaks_a_rule_is_refused(quote_id: str, qty: Decimal | None, why: str) -> None:
    # given
    book = book_with_offers(("DLR_A", "100.05", "1000"), ("DLR_B", "100.02", "600"))
    # when / then
    with pytest.raises(RfqRefused) as info:
        quote_hit(book, quote_id=quote_id, qty=qty, now_ns=T0 + 3 * SEC)
    assert info.value.reason == why


def test_a_click_while_a_last_look_is_pending_or_after_the_end_is_refused() -> None:
    # given
    book = book_with_offers(("DLR_A", "100.05", "1000"), ("DLR_B", "100.02", "1000"))
    executing = quote_hit(book, quote_id="Q2", now_ns=T0 + 3 * SEC).book
    cancelled = rfq_cancel(book, now_ns=T0 + 3 * SEC, reason="PM changed her mind").book
    # when / then
    with pytest.raises(RfqRefused, match="waiting for the last look of DLR_B"):
        quote_hit(executing, quote_id="Q1", now_ns=T0 + 4 * SEC)
    with pytest.raises(RfqRefused, match="the request is cancelled: cancelled: PM changed her mind"):
        quote_hit(cancelled, quote_id="Q1", now_ns=T0 + 4 * SEC)


def test_a_two_way_click_needs_the_side_and_the_side_then_sticks() -> None:
    # given
    book = open_book(side=RfqSide.TWO_WAY, allow_partial=True)
    book = receive(book, make_quote("DLR_A", at=T0 + SEC, bid="99.90", offer="100.10", qid="QA"), at=T0 + SEC)
    book = receive(book, make_quote("DLR_B", at=T0 + SEC, bid="99.80", offer="100.20", qid="QB"), at=T0 + SEC)
    # when / then
    with pytest.raises(RfqRefused, match="a two-way request needs the side"):
        quote_hit(book, quote_id="QA", now_ns=T0 + 2 * SEC)
    step = quote_hit(book, quote_id="QA", side=Side.SELL, qty=D(400), now_ns=T0 + 2 * SEC)
    assert responses(step)[0].price == D("99.90")
    book = last_look_apply(step.book, quote_resp_id="RFQ-1-H1", accepted=True, now_ns=T0 + 3 * SEC).book
    assert book.state is R.OPEN
    assert ladder_build(book, now_ns=T0 + 3 * SEC, mid=None).offers == ()
    with pytest.raises(RfqRefused, match="this request already trades SELL"):
        quote_hit(book, quote_id="QB", side=Side.BUY, qty=D(600), now_ns=T0 + 3 * SEC)


# --- auto-execution -------------------------------------------------------------------------


def test_auto_execution_waits_for_the_threshold() -> None:
    # given a buy with a threshold of 100.03
    book = open_book(threshold_px=D("100.03"))
    # when a quote above the threshold, then one at it, arrive
    above = quote_receive(book, make_quote("DLR_A", at=T0 + SEC, offer="100.04", qid="QA"), now_ns=T0 + SEC)
    at = quote_receive(above.book, make_quote("DLR_B", at=T0 + 2 * SEC, offer="100.03", qid="QB"), now_ns=T0 + 2 * SEC)
    # then nothing before, a hit of the whole quantity at the threshold
    assert responses(above) == []
    assert above.book.state is R.OPEN
    assert [(r.quote_id, r.order_qty, r.price) for r in responses(at)] == [("QB", D(1000), D("100.03"))]
    assert at.book.state is R.EXECUTING
    assert at.log[-1].reason == "auto-execution: 100.03 reached the threshold 100.03: buy 1000 at 100.03 from DLR_B"


def test_auto_execution_skips_a_quote_too_small_when_partial_fills_are_not_allowed() -> None:
    # given the best quote within the threshold shows only 600
    book = book_with_offers(("DLR_A", "100.01", "600"), ("DLR_B", "100.02", "1000"), threshold_px=D("100.03"))
    # when / then the auto rule took DLR_B's whole size instead
    assert [(h.dealer, h.qty) for h in book.hits] == [("DLR_B", D(1000))]


def test_auto_execution_waits_for_the_end_of_the_grace_period() -> None:
    # given a quote through the threshold inside a 5 s grace period
    book = open_book(threshold_px=D("100.03"), grace_ns=5 * SEC)
    book = receive(book, make_quote("DLR_A", at=T0 + SEC, offer="100.01", qid="QA"), at=T0 + SEC)
    # when
    before = rfq_tick(book, now_ns=T0 + 5 * SEC - 1)
    at_end = rfq_tick(book, now_ns=T0 + 5 * SEC)
    # then
    assert before == RfqStep(book)
    assert [(r.quote_id, r.price) for r in responses(at_end)] == [("QA", D("100.01"))]


def test_auto_execution_across_dealers_when_partial_fills_are_allowed() -> None:
    # given a sell with a threshold of 99.95 and partial fills allowed
    book = open_book(side=RfqSide.SELL, threshold_px=D("99.95"), allow_partial=True)
    book = receive(book, make_quote("DLR_A", at=T0 + SEC, bid="99.96", size="300", qid="QA"), at=T0 + SEC)
    book = receive(book, make_quote("DLR_B", at=T0 + SEC, bid="99.94", size="5000", qid="QB"), at=T0 + SEC)
    # when a third bid within the threshold arrives
    step = quote_receive(book, make_quote("DLR_C", at=T0 + 2 * SEC, bid="99.95", size="500", qid="QC"), now_ns=T0 + 2 * SEC)
    # then (DLR_A's 300 was hit on arrival) DLR_C gets 500 of the 700 left; DLR_B, below the threshold, nothing
    assert [(h.dealer, h.qty, h.px) for h in book.hits] == [("DLR_A", D(300), D("99.96"))]
    assert step.book.hits == book.hits  # DLR_A's last look is still pending: the request is EXECUTING
    assert step.book.state is R.EXECUTING
    # when DLR_A fills
    after = last_look_apply(step.book, quote_resp_id="RFQ-1-H1", accepted=True, now_ns=T0 + 3 * SEC)
    # then the auto rule goes on with the next bid within the threshold
    assert [(r.dealer, r.order_qty, r.price) for r in responses(after)] == [("DLR_C", D(500), D("99.95"))]
    assert after.book.filled_qty == D(300)


# --- last look ------------------------------------------------------------------------------


def test_an_accepted_last_look_fills_the_request_and_others_are_traded_away() -> None:
    # given A's quote expired (it won nothing), B hit, C still live
    book = book_with_offers(("DLR_A", "100.05", "1000"), ("DLR_B", "100.02", "1000"), ("DLR_C", "100.04", "1000"))
    book = quote_hit(book, quote_id="Q2", now_ns=T0 + 11 * SEC).book
    # when
    step = last_look_apply(book, quote_resp_id="RFQ-1-H1", accepted=True, now_ns=T0 + 11 * SEC + 5 * MS)
    # then
    assert step.book.state is R.FILLED
    assert step.book.reason == "filled 1000 at 100.02 (DLR_B 1000)"
    assert step.book.filled_qty == D(1000)
    assert states(step.book) == {"Q1": Q.TRADED_AWAY, "Q2": Q.EXECUTED, "Q3": Q.TRADED_AWAY}
    assert [(r.dealer, r.quote_status, r.last_qty, r.last_px) for r in reports(step)] == [
        ("DLR_B", Q.EXECUTED, D(1000), D("100.02")),
        ("DLR_A", Q.TRADED_AWAY, D(0), None),
        ("DLR_C", Q.TRADED_AWAY, D(0), None),
    ]
    assert [entry.event for entry in step.log] == [QE.ACCEPT, RE.FILL, QE.TRADE_AWAY, QE.TRADE_AWAY]


def test_a_last_look_reject_keeps_the_request_open_while_another_quote_is_live() -> None:
    # given
    book = book_with_offers(("DLR_A", "100.05", "1000"), ("DLR_B", "100.02", "1000"))
    book = quote_hit(book, quote_id="Q2", now_ns=T0 + 3 * SEC).book
    # when
    step = last_look_apply(book, quote_resp_id="RFQ-1-H1", accepted=False, now_ns=T0 + 3 * SEC, reason="price moved")
    # then
    assert step.book.state is R.OPEN
    assert step.book.filled_qty == D(0)
    assert states(step.book) == {"Q1": Q.ACTIVE, "Q2": Q.LAST_LOOK_REJECTED}
    assert [r.quote_id for r in ladder_build(step.book, now_ns=T0 + 3 * SEC, mid=None).offers] == ["Q1"]
    assert step.log[-1].reason == "DLR_B rejected on last look (price moved); 1000 left, other quotes may be hit"
    # and the trader may try the next one
    assert quote_hit(step.book, quote_id="Q1", now_ns=T0 + 4 * SEC).book.state is R.EXECUTING


def test_a_last_look_reject_with_nothing_else_to_try_fails_the_request() -> None:
    # given the only quote hit, the other dealers declined
    book = book_with_offers(("DLR_B", "100.02", "1000"))
    for dealer in ("DLR_A", "DLR_C"):
        book = quote_decline(book, QuoteRequestReject("RFQ-1", dealer, "NO_INVENTORY"), now_ns=T0 + 2 * SEC).book
    book = quote_hit(book, quote_id="Q1", now_ns=T0 + 3 * SEC).book
    # when
    step = last_look_apply(book, quote_resp_id="RFQ-1-H1", accepted=False, now_ns=T0 + 3 * SEC)
    # then
    assert step.book.state is R.FAILED
    assert step.book.reason == "DLR_B rejected on last look; no other quote to try"
    assert states(step.book) == {"Q1": Q.LAST_LOOK_REJECTED}


def test_a_last_look_reject_after_the_window_fails_the_request() -> None:
    # given a hit just before the window ends, and another live quote
    book = book_with_offers(("DLR_A", "100.05", "1000"), ("DLR_B", "100.02", "1000"))
    book = quote_hit(book, quote_id="Q2", now_ns=T0 + 10 * SEC).book
    # when the window ends during the last look, then the reject arrives
    waiting = rfq_tick(book, now_ns=T0 + 30 * SEC)
    step = last_look_apply(waiting.book, quote_resp_id="RFQ-1-H1", accepted=False, now_ns=T0 + 30 * SEC + MS)
    # then the request waited for the answer, and failed on it
    assert waiting.book.state is R.EXECUTING
    assert step.book.state is R.FAILED
    assert step.book.reason == "DLR_B rejected on last look; the response window has ended"


def test_a_reject_lets_the_auto_rule_hit_the_next_quote() -> None:
    # given both quotes within the threshold; the best was hit on arrival
    book = book_with_offers(("DLR_A", "100.02", "1000"), ("DLR_B", "100.01", "1000"), threshold_px=D("100.03"))
    assert [h.dealer for h in book.hits] == ["DLR_A"]  # DLR_B's better quote arrived during A's last look
    # when
    step = last_look_apply(book, quote_resp_id="RFQ-1-H1", accepted=False, now_ns=T0 + 3 * SEC)
    # then
    assert [(r.dealer, r.price) for r in responses(step)] == [("DLR_B", D("100.01"))]
    assert step.book.state is R.EXECUTING


def test_a_redelivered_last_look_changes_nothing_and_a_contradiction_raises() -> None:
    # given
    book = quote_hit(book_with_offers(("DLR_A", "100.05", "1000")), quote_id="Q1", now_ns=T0 + 2 * SEC).book
    filled = last_look_apply(book, quote_resp_id="RFQ-1-H1", accepted=True, now_ns=T0 + 2 * SEC).book
    # when / then
    assert last_look_apply(filled, quote_resp_id="RFQ-1-H1", accepted=True, now_ns=T0 + 3 * SEC) == RfqStep(filled)
    with pytest.raises(ValueError, match="already answered"):
        last_look_apply(filled, quote_resp_id="RFQ-1-H1", accepted=False, now_ns=T0 + 3 * SEC)
    with pytest.raises(ValueError, match="invalid `quote_resp_id`"):
        last_look_apply(filled, quote_resp_id="RFQ-1-H9", accepted=True, now_ns=T0 + 3 * SEC)


# --- partial fills across dealers -------------------------------------------------------------


def test_a_sweep_fills_across_dealers_best_price_first() -> None:
    # given 400 at 100.01, 500 at 100.02, 1000 at 100.03
    book = book_with_offers(("DLR_C", "100.03", "1000"), ("DLR_A", "100.01", "400"), ("DLR_B", "100.02", "500"), allow_partial=True)
    # when
    step = ladder_sweep(book, now_ns=T0 + 4 * SEC)
    # then one fill-or-kill hit per quote, summing to the request
    assert [(r.dealer, r.order_qty, r.price) for r in responses(step)] == [
        ("DLR_A", D(400), D("100.01")),
        ("DLR_B", D(500), D("100.02")),
        ("DLR_C", D(100), D("100.03")),
    ]
    # when they answer: two fills, one reject
    book = step.book
    book = last_look_apply(book, quote_resp_id="RFQ-1-H1", accepted=True, now_ns=T0 + 4 * SEC).book
    assert book.state is R.EXECUTING
    book = last_look_apply(book, quote_resp_id="RFQ-1-H3", accepted=False, now_ns=T0 + 4 * SEC).book
    last = last_look_apply(book, quote_resp_id="RFQ-1-H2", accepted=True, now_ns=T0 + 4 * SEC)
    # then 900 is filled, 100 left, and with dealers' quotes gone and none unanswered the request fails
    assert last.book.filled_qty == D(900)
    assert last.book.avg_px == D("100.01555556")
    assert last.book.state is R.FAILED
    assert last.book.reason == "DLR_B filled 500 at 100.02; filled 900 of 1000; no other quote to try"


def test_a_sweep_within_a_limit_and_a_partial_remainder_stays_open() -> None:
    # given
    book = book_with_offers(("DLR_A", "100.01", "400"), ("DLR_B", "100.05", "1000"), allow_partial=True)
    # when
    step = ladder_sweep(book, now_ns=T0 + 3 * SEC, limit_px=D("100.02"))
    after = last_look_apply(step.book, quote_resp_id="RFQ-1-H1", accepted=True, now_ns=T0 + 3 * SEC)
    # then
    assert [(r.dealer, r.order_qty) for r in responses(step)] == [("DLR_A", D(400))]
    assert after.book.state is R.OPEN
    assert after.book.leaves_qty == D(600)


def test_a_sweep_needs_partial_fills_allowed() -> None:
    # given
    book = book_with_offers(("DLR_A", "100.01", "400"), ("DLR_B", "100.02", "600"))
    # when / then
    with pytest.raises(RfqRefused, match="partial fills are not allowed on this request"):
        ladder_sweep(book, now_ns=T0 + 3 * SEC)


def test_a_sweep_with_nothing_within_the_limit_is_refused() -> None:
    # given
    book = book_with_offers(("DLR_A", "100.05", "400"), allow_partial=True)
    # when / then
    with pytest.raises(RfqRefused, match=r"no quote on the ladder at or better than 100\.02"):
        ladder_sweep(book, now_ns=T0 + 3 * SEC, limit_px=D("100.02"))


@st.composite
def ladders(draw: st.DrawFn) -> list[LadderRow]:
    n = draw(st.integers(min_value=0, max_value=12))
    prices = sorted(draw(st.lists(st.integers(min_value=9_000, max_value=11_000), min_size=n, max_size=n)))
    sizes = draw(st.lists(st.integers(min_value=1, max_value=5_000), min_size=n, max_size=n))
    return [
        LadderRow(f"Q{i}", f"DLR_{i}", Side.BUY, D(px).scaleb(-2), D(size) * D("0.5"), None, 1000)
        for i, (px, size) in enumerate(zip(prices, sizes, strict=True))
    ]


@settings(max_examples=400, deadline=None)
@given(rows=ladders(), half_lots=st.integers(min_value=1, max_value=40_000))
def test_allocation_never_exceeds_the_request_or_a_quote_and_sums_exactly(rows: list[LadderRow], half_lots: int) -> None:
    # given a ladder, best first, and a quantity in half-unit lots
    qty = D(half_lots) * D("0.5")
    # when
    allocations = allocate(rows, qty)
    # then each takes something, within its quote; together exactly what the ladder can give
    by_quote = {r.quote_id: r for r in rows}
    assert all(D(0) < a.qty <= by_quote[a.quote_id].size for a in allocations)
    assert sum((a.qty for a in allocations), D(0)) == min(qty, sum((r.size for r in rows), D(0)))
    # and best first: the allocations follow the ladder, every one but the last takes its whole quote
    assert [a.quote_id for a in allocations] == [r.quote_id for r in rows[: len(allocations)]]
    assert all(a.qty == by_quote[a.quote_id].size for a in allocations[:-1])
    assert all(a.px == by_quote[a.quote_id].px for a in allocations)


# --- cancel, decline, passed and traded away --------------------------------------------------


def test_a_cancel_ends_the_request_and_passes_the_live_quotes() -> None:
    # given
    book = book_with_offers(("DLR_A", "100.05", "1000"))
    # when
    step = rfq_cancel(book, now_ns=T0 + 2 * SEC, reason="PM changed her mind")
    # then
    assert step.book.state is R.CANCELLED
    assert step.book.reason == "cancelled: PM changed her mind"
    assert [(r.quote_id, r.quote_status, r.text) for r in reports(step)] == [
        ("Q1", Q.PASSED, "no trade: cancelled: PM changed her mind")
    ]


def test_a_cancel_is_refused_during_a_last_look_and_after_the_end() -> None:
    # given
    book = book_with_offers(("DLR_A", "100.05", "1000"))
    executing = quote_hit(book, quote_id="Q1", now_ns=T0 + 2 * SEC).book
    # when / then
    with pytest.raises(RfqRefused, match="waiting for the last look"):
        rfq_cancel(executing, now_ns=T0 + 2 * SEC, reason="too slow")
    with pytest.raises(RfqRefused, match="the request is expired"):
        rfq_cancel(book, now_ns=T0 + 31 * SEC, reason="too late")


def test_a_cancel_after_a_partial_fill_trades_the_live_quotes_away() -> None:
    # given 400 filled with DLR_A, DLR_B still quoting
    book = book_with_offers(("DLR_A", "100.01", "400"), ("DLR_B", "100.05", "1000"), allow_partial=True)
    book = quote_hit(book, quote_id="Q1", qty=D(400), now_ns=T0 + 3 * SEC).book
    book = last_look_apply(book, quote_resp_id="RFQ-1-H1", accepted=True, now_ns=T0 + 3 * SEC).book
    # when
    step = rfq_cancel(book, now_ns=T0 + 4 * SEC, reason="enough")
    # then
    assert step.book.reason == "cancelled: enough; filled 400 of 1000"
    assert states(step.book) == {"Q1": Q.EXECUTED, "Q2": Q.TRADED_AWAY}


def test_every_dealer_declining_fails_the_request() -> None:
    # given
    step = RfqStep(open_book())
    # when
    for dealer in DEALERS:
        step = quote_decline(step.book, QuoteRequestReject("RFQ-1", dealer, "NO_APPETITE"), now_ns=T0 + SEC)
    again = quote_decline(step.book, QuoteRequestReject("RFQ-1", "DLR_A", "NO_APPETITE"), now_ns=T0 + 2 * SEC)
    # then
    assert step.book.state is R.FAILED
    assert step.book.reason == "every dealer declined"
    assert [d.dealer for d in step.book.declines] == list(DEALERS)
    assert again == RfqStep(step.book)
    with pytest.raises(ValueError, match="not asked"):
        quote_decline(step.book, QuoteRequestReject("RFQ-1", "DLR_Z", "NO_APPETITE"), now_ns=T0 + 2 * SEC)


def test_a_quote_after_the_end_is_refused() -> None:
    # given
    book = rfq_cancel(open_book(), now_ns=T0 + SEC, reason="stop").book
    # when
    step = quote_receive(book, make_quote("DLR_A", at=T0 + 2 * SEC, offer="100"), now_ns=T0 + 2 * SEC)
    # then
    assert step.book == book
    assert [(r.quote_status, r.text) for r in reports(step)] == [(Q.REFUSED, "the request is cancelled")]


# --- the scorecard ----------------------------------------------------------------------------


def test_the_scorecard_keeps_counts_and_sums_per_dealer() -> None:
    # given
    card = Scorecard()
    # when three requests
    card = card.update(
        [DealerOutcome("DLR_A", True, won=True, distance_to_mid_bps=D("2.5"), markout_bps=D("1.2"), last_looked=True)]
    )
    card = card.update(
        [
            DealerOutcome("DLR_A", True, distance_to_mid_bps=D("3.5"), cover_bps=D("0.8")),
            DealerOutcome("DLR_B", True, last_looked=True, last_look_rejected=True),
        ]
    )
    card = card.update([DealerOutcome("DLR_A", False)])
    # then
    a = card.record("DLR_A")
    assert a == DealerRecord(
        requests=3,
        responses=2,
        wins=1,
        distance_bps_sum=D("6.0"),
        distances=2,
        cover_bps_sum=D("0.8"),
        covers=1,
        markout_bps_sum=D("1.2"),
        markouts=1,
        last_looks=1,
        last_look_rejects=0,
    )
    assert (a.response_rate, a.win_ratio, a.last_look_reject_rate) == (D(2) / D(3), D("0.5"), D(0))
    assert (a.avg_distance_bps, a.avg_cover_bps, a.avg_markout_bps) == (D("3.00"), D("0.80"), D("1.20"))
    assert a.score(ScoreWeights()) == D("34.07")
    assert a.summary() == "answered 2/3, won 1/2, 3.00 bps from mid, cover 0.80 bps, markout +1.20 bps, last-look rejects 0/1"
    assert card.record("DLR_B").score(ScoreWeights()) == D("10.00")
    assert card.record("DLR_NEW").score(ScoreWeights()) is None
    assert card.record("DLR_NEW").summary() == "no record yet"


def test_an_impossible_outcome_is_refused() -> None:
    # given / when / then
    with pytest.raises(ValueError, match="a win needs a quote"):
        Scorecard().update([DealerOutcome("DLR_A", False, won=True)])
    with pytest.raises(ValueError, match="a last-look reject needs a last look"):
        Scorecard().update([DealerOutcome("DLR_A", True, last_look_rejected=True)])


def test_dealers_rank_by_score_then_name_with_newcomers_last() -> None:
    # given A answers and wins, B never answers, C is new, D ties with A
    good = DealerOutcome("x", True, won=True, distance_to_mid_bps=D(1), last_looked=True)
    card = Scorecard().update([replace(good, dealer="DLR_A"), replace(good, dealer="DLR_D"), DealerOutcome("DLR_B", False)])
    # when
    ranked = dealers_rank(card, ["DLR_C", "DLR_B", "DLR_D", "DLR_A"], ScoreWeights())
    # then
    assert [(r.dealer, r.rank, r.score) for r in ranked] == [
        ("DLR_A", 1, D("59.00")),
        ("DLR_D", 2, D("59.00")),
        ("DLR_B", 3, D("0.00")),
        ("DLR_C", 4, None),
    ]


def test_dealer_outcomes_of_a_filled_request() -> None:
    # given B filled at 100.02, A quoted 100.05, C declined; mid 100
    book = book_with_offers(("DLR_A", "100.05", "1000"), ("DLR_B", "100.02", "1000"))
    book = quote_decline(book, QuoteRequestReject("RFQ-1", "DLR_C", "NO_APPETITE"), now_ns=T0 + 3 * SEC).book
    book = quote_hit(book, quote_id="Q2", now_ns=T0 + 3 * SEC).book
    book = last_look_apply(book, quote_resp_id="RFQ-1-H1", accepted=True, now_ns=T0 + 3 * SEC).book
    # when
    outcomes = dealer_outcomes(book, mid=D(100), markouts={"DLR_B": D("-0.40"), "DLR_A": D(9)})
    # then
    assert outcomes == (
        DealerOutcome("DLR_A", True, False, D("5.00"), D("3.00"), None, False, False),
        DealerOutcome("DLR_B", True, True, D("2.00"), None, D("-0.40"), True, False),
        DealerOutcome("DLR_C", False),
    )
    card = Scorecard().update(outcomes)
    assert card.record("DLR_B").wins == 1
    with pytest.raises(ValueError, match="not ended"):
        dealer_outcomes(open_book(), mid=D(100))


def test_a_last_look_reject_counts_against_the_dealer() -> None:
    # given B rejected, then A filled
    book = book_with_offers(("DLR_A", "100.05", "1000"), ("DLR_B", "100.02", "1000"))
    book = quote_hit(book, quote_id="Q2", now_ns=T0 + 3 * SEC).book
    book = last_look_apply(book, quote_resp_id="RFQ-1-H1", accepted=False, now_ns=T0 + 3 * SEC).book
    book = quote_hit(book, quote_id="Q1", now_ns=T0 + 4 * SEC).book
    book = last_look_apply(book, quote_resp_id="RFQ-1-H2", accepted=True, now_ns=T0 + 4 * SEC).book
    # when
    card = Scorecard().update(dealer_outcomes(book, mid=D(100)))
    # then
    assert card.record("DLR_B").last_look_rejects == 1
    assert card.record("DLR_B").covers == 0  # a reject is not a cover
    assert card.record("DLR_A").wins == 1
    assert [r.dealer for r in dealers_rank(card, DEALERS, ScoreWeights())] == ["DLR_A", "DLR_B", "DLR_C"]


# --- choosing dealers -----------------------------------------------------------------------

COVERAGE = {
    "DLR_A": frozenset({AssetClass.EQUITY, AssetClass.OPTION}),
    "DLR_B": frozenset({AssetClass.EQUITY, AssetClass.OPTION}),
    "DLR_C": frozenset({AssetClass.EQUITY}),
    "DLR_D": frozenset({AssetClass.EQUITY, AssetClass.OPTION}),
    "DLR_E": frozenset({AssetClass.EQUITY, AssetClass.OPTION}),
    "DLR_F": frozenset({AssetClass.EQUITY, AssetClass.OPTION}),
}


def history() -> Scorecard:
    """A answers and wins; B answers; D answers rarely; E and F are new."""
    answered = DealerOutcome("x", True, distance_to_mid_bps=D(2))
    won = replace(answered, won=True, last_looked=True)
    outcomes = [replace(won, dealer="DLR_A"), replace(answered, dealer="DLR_B"), replace(answered, dealer="DLR_C")]
    outcomes += [replace(answered, dealer="DLR_D", answered=False, distance_to_mid_bps=None)]
    return Scorecard().update(outcomes)


def test_the_top_dealers_covering_the_asset_class_are_chosen_with_reasons() -> None:
    # given an option request; C covers no options
    request = make_request(asset_classes=frozenset({AssetClass.OPTION}))
    # when
    chosen = dealers_select(request, history(), COVERAGE, rng=random.Random(1), policy=replace(POLICY, exploration_rate=0.0))
    # then
    assert chosen.dealers == ("DLR_A", "DLR_B", "DLR_D")
    assert chosen.excluded == {"DLR_C": "does not cover OPTION"}
    assert chosen.rationale["DLR_A"] == "rank 1 of 5, score 58.00: answered 1/1, won 1/1, 2.00 bps from mid, last-look rejects 0/1"
    assert chosen.rationale["DLR_D"] == "rank 3 of 5, score 0.00: answered 0/1"


def test_a_disclosed_request_may_ask_fewer_dealers_than_the_anonymous_minimum() -> None:
    # given
    request = make_request(anonymous=False, firm="Blue Harbor AM")
    # when
    chosen = dealers_select(
        request, history(), COVERAGE, rng=random.Random(1), policy=replace(POLICY, top_n=1, exploration_rate=0.0)
    )
    # then
    assert chosen.dealers == ("DLR_A",)


def test_an_anonymous_request_asks_at_least_the_minimum_even_with_a_smaller_top_n() -> None:
    # given top N of 1
    policy = replace(POLICY, top_n=1, exploration_rate=0.0)
    # when
    chosen = dealers_select(make_request(), history(), COVERAGE, rng=random.Random(1), policy=policy)
    # then
    assert chosen.dealers == ("DLR_A", "DLR_B", "DLR_C")


def test_too_few_covering_dealers_for_an_anonymous_request_is_refused() -> None:
    # given only two option dealers
    coverage = {d: COVERAGE[d] for d in ("DLR_A", "DLR_B", "DLR_C")}
    request = make_request(asset_classes=frozenset({AssetClass.OPTION}))
    # when / then
    with pytest.raises(RfqInvalid, match="an anonymous request needs 3; 2 cover OPTION"):
        dealers_select(request, history(), coverage, rng=random.Random(1), policy=POLICY)


def test_exploration_adds_one_dealer_from_outside_the_top_n_reproducibly() -> None:
    # given exploration always on
    policy = replace(POLICY, exploration_rate=1.0)
    request = make_request(asset_classes=frozenset({AssetClass.OPTION}))
    # when
    first = dealers_select(request, history(), COVERAGE, rng=random.Random(7), policy=policy)
    second = dealers_select(request, history(), COVERAGE, rng=random.Random(7), policy=policy)
    # then the same seed gives the same choice: the top three plus one drawn from the rest (E, F)
    replay = random.Random(7)
    replay.random()
    extra = replay.choice(["DLR_E", "DLR_F"])
    assert first == second
    assert first.dealers == ("DLR_A", "DLR_B", "DLR_D", extra)
    assert first.rationale[extra].startswith(f"exploration: rank {4 if extra == 'DLR_E' else 5} of 5, outside the top 3")


def test_exploration_happens_with_a_small_probability() -> None:
    # given the default 10 % over 500 seeds
    request = make_request(asset_classes=frozenset({AssetClass.OPTION}))
    # when
    sizes = [
        len(dealers_select(request, history(), COVERAGE, rng=random.Random(seed), policy=POLICY).dealers) for seed in range(500)
    ]
    # then about one in ten asks a fourth dealer
    explored = sizes.count(4)
    assert sizes.count(3) + explored == 500
    assert 25 <= explored <= 75


def test_the_traders_list_overrides_the_ranking_but_not_the_rules() -> None:
    # given
    request = make_request(asset_classes=frozenset({AssetClass.OPTION}))
    rng = random.Random(3)
    state = rng.getstate()
    # when
    chosen = dealers_select(request, history(), COVERAGE, rng=rng, policy=POLICY, manual=["DLR_F", "DLR_B", "DLR_A"])
    # then kept in the trader's order, with the rank for reference, and no random draw
    assert chosen.dealers == ("DLR_F", "DLR_B", "DLR_A")
    assert chosen.rationale["DLR_F"] == "chosen by the trader; rank 5 of 5 (no record yet)"
    assert rng.getstate() == state
    for manual, why in [
        (["DLR_A", "DLR_B", "DLR_C"], "invalid dealer `DLR_C`: does not cover OPTION"),
        (["DLR_A", "DLR_B", "DLR_X"], "invalid dealer `DLR_X`: unknown"),
        (["DLR_A", "DLR_B", "DLR_A"], "a dealer is listed twice"),
        (["DLR_A", "DLR_B"], "an anonymous request needs at least 3, was 2"),
    ]:
        with pytest.raises(RfqInvalid, match=why):
            dealers_select(request, history(), COVERAGE, rng=rng, policy=POLICY, manual=manual)


# --- purity ---------------------------------------------------------------------------------


def test_the_rfq_core_imports_without_django() -> None:
    # given a fresh interpreter without Django settings
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    probe = "import sys, trading.rfq, ems.core.rfq; print(sorted(m for m in sys.modules if m.startswith('django')))"
    # when
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True, check=False
    )
    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
