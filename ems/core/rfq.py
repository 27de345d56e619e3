"""The RFQ auction: dealer choice, dissemination, the quote ladder, execution and last look. Pure.

The request lives in an immutable ``RfqBook``. Every event function takes the
book and the time (``now_ns``, integer nanoseconds) and returns an ``RfqStep``:
the new book, the messages to send (``outbox``) and the entries to log
(``log``); the Django shell saves the book, sends the outbox and writes the log
in one transaction. Nothing here reads a clock or a global random generator.

Lifecycle (states and tables in ``trading.rfq``):

1. ``dealers_select`` ranks dealers on the ``Scorecard`` and picks the top N
   (plus, with a small probability, one exploration pick), or checks the
   trader's own list; ``rfq_open`` validates the request and returns one
   ``DealerView`` per dealer.
2. ``quote_receive`` / ``quote_decline`` take the dealers' answers.
   ``ladder_build`` shows the live quotes, best first for the client.
3. ``quote_hit`` (a click), ``ladder_sweep`` (fill across dealers) and the
   auto rule (the best quote reached ``threshold_px``) send fill-or-kill hits;
   ``last_look_apply`` takes each dealer's accept or reject.
4. ``rfq_tick`` expires quotes and the request when their time comes (call it
   at ``rfq_wakeup_ns``); ``rfq_cancel`` withdraws the request.
5. Once the request ends, ``dealer_outcomes`` feeds ``Scorecard.update``.

Trader actions that break a rule raise ``RfqRefused`` with a reason a trader
understands; the book passed in is unchanged (it is immutable), so nothing was
sent. Prices and sizes are ``Decimal``; bps are quantized to 0.01.
"""

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from trading.enums import AssetClass, Side
from trading.numbers import ZERO, plain, vwap
from trading.rfq import (
    DealerView,
    Quote,
    QuoteEvent,
    QuoteRequest,
    QuoteRequestLeg,
    QuoteRequestReject,
    QuoteResponse,
    QuoteState,
    QuoteStatusReport,
    RfqEvent,
    RfqInitiator,
    RfqSide,
    RfqState,
    quote_next,
    rfq_next,
)

CHOSEN_BY_TRADER: Final = "chosen by the trader"  # starts the rationale of each dealer named by hand (a directed request)
NS_PER_MS: Final = 1_000_000
NS_PER_S: Final = 1_000_000_000
BPS: Final = Decimal(10_000)
_CENT_BPS: Final = Decimal("0.01")
OPENED: Final = "OPENED"  # the log's first entry: not an event of the table, the request's birth


class RfqInvalid(ValueError):
    """A request or a dealer list that breaks a rule; the message names the field and the value."""


class RfqRefused(ValueError):
    """A trader's action (click, sweep, cancel) refused; ``reason`` says why in the trader's words. Nothing was sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- policy and request ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    """Points of a dealer's score. Rates (0..1) earn up to their weight; bps cost (or earn) per bps."""

    response: Decimal = Decimal(40)  # answering every request
    win: Decimal = Decimal(20)  # winning every quote it gave
    last_look_reject: Decimal = Decimal(30)  # lost for rejecting every hit
    distance_per_bps: Decimal = Decimal(1)  # lost per bps its quotes sat from mid, against us
    cover_per_bps: Decimal = Decimal(1)  # lost per bps it was behind the winner
    markout_per_bps: Decimal = Decimal(1)  # earned per bps of client markout after trading with it


@dataclass(frozen=True, slots=True)
class RfqPolicy:
    """The desk's settings (the shell keeps them in a table)."""

    min_dealers_anonymous: int = 3  # fewer, and a dealer could guess who asks
    top_n: int = 4
    exploration_rate: float = 0.1  # chance of one extra dealer from outside the top N
    max_window_ns: int = 300 * NS_PER_S
    weights: ScoreWeights = field(default_factory=ScoreWeights)


@dataclass(frozen=True, slots=True)
class RfqRequest:
    """The client's request in full. Only ``dealer_views`` decides what a dealer sees of it.

    ``window_ns`` is the response window from ``rfq_open``; during the first
    ``grace_ns`` of it quotes are taken but hidden (no one can hit the first
    quote before the others arrive). ``threshold_px`` turns on auto-execution:
    the request executes as soon as a quote reaches it (at or below for a buy,
    at or above for a sell). ``legs`` is empty for one instrument; a package has
    two or more, and ``symbol`` names it.
    """

    quote_req_id: str  # opaque: it reaches the dealers, so it must not encode the portfolio or the order
    symbol: str
    side: RfqSide
    qty: Decimal
    window_ns: int
    portfolio: str
    trader: str = ""
    pm: str = ""
    initiator: RfqInitiator = RfqInitiator.TRADER
    asset_classes: frozenset[AssetClass] = frozenset({AssetClass.EQUITY})
    legs: tuple[QuoteRequestLeg, ...] = ()
    grace_ns: int = 0
    threshold_px: Decimal | None = None
    allow_partial: bool = False
    anonymous: bool = True
    firm: str = ""  # our firm's name, shown to dealers on a disclosed request only


def rfq_validate(request: RfqRequest, policy: RfqPolicy) -> None:
    """Raise ``RfqInvalid`` naming the first field that breaks a rule."""
    r = request
    if not r.quote_req_id:
        raise RfqInvalid("invalid `quote_req_id`, was ''")
    if not r.symbol:
        raise RfqInvalid("invalid `symbol`, was ''")
    if not r.portfolio:
        raise RfqInvalid("invalid `portfolio`, was ''")
    if not _is_decimal(r.qty) or r.qty <= 0:
        raise RfqInvalid(f"invalid `qty`, was {r.qty!r}: a positive Decimal")
    if not 0 < r.window_ns <= policy.max_window_ns:
        raise RfqInvalid(f"invalid `window_ns`, was {r.window_ns}: from 1 to {policy.max_window_ns}")
    if not 0 <= r.grace_ns < r.window_ns:
        raise RfqInvalid(f"invalid `grace_ns`, was {r.grace_ns}: from 0 to less than the window {r.window_ns}")
    if not r.asset_classes:
        raise RfqInvalid("invalid `asset_classes`, was empty")
    if len(r.legs) == 1:
        raise RfqInvalid("invalid `legs`, was 1 leg: a package has two or more; one instrument has none")
    for number, leg in enumerate(r.legs, start=1):
        if not _is_decimal(leg.leg_ratio_qty) or leg.leg_ratio_qty <= 0:
            raise RfqInvalid(f"invalid `legs[{number}].leg_ratio_qty`, was {leg.leg_ratio_qty!r}")
    if r.threshold_px is not None:
        if not _is_decimal(r.threshold_px):
            raise RfqInvalid(f"invalid `threshold_px`, was {r.threshold_px!r}: a Decimal")
        if r.side is RfqSide.TWO_WAY:
            raise RfqInvalid("invalid `threshold_px` on a two-way request: auto-execution needs a side")
        if not r.legs and r.threshold_px <= 0:  # a package may price at a credit; an instrument may not
            raise RfqInvalid(f"invalid `threshold_px`, was {r.threshold_px}")
    if not r.anonymous and not r.firm:
        raise RfqInvalid("invalid `firm`, was '': a disclosed request names our firm")


def _is_decimal(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


# --- the dealer scorecard ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DealerOutcome:
    """One dealer's part in one finished request (``dealer_outcomes`` builds these).

    ``distance_to_mid_bps`` is positive when its quote was worse than mid for us;
    ``cover_bps`` is how far behind the best executed price it was when it did
    not win; ``markout_bps`` is positive when the trade with it looked good
    afterwards (the sign of ``ems.core.tca.markout_bps``).
    """

    dealer: str
    answered: bool  # it sent a price (a decline is an answer, not a price)
    won: bool = False
    distance_to_mid_bps: Decimal | None = None
    cover_bps: Decimal | None = None
    markout_bps: Decimal | None = None
    last_looked: bool = False  # we hit it, so it had a last look
    last_look_rejected: bool = False


@dataclass(frozen=True, slots=True)
class DealerRecord:
    """A dealer's history as counts and running sums (averages are derived: re-averaging drifts).

    Each field is a column of the shell's scorecard table.
    """

    requests: int = 0
    responses: int = 0
    wins: int = 0
    distance_bps_sum: Decimal = ZERO
    distances: int = 0
    cover_bps_sum: Decimal = ZERO
    covers: int = 0
    markout_bps_sum: Decimal = ZERO
    markouts: int = 0
    last_looks: int = 0
    last_look_rejects: int = 0

    def plus(self, outcome: DealerOutcome) -> "DealerRecord":
        """Return the record with one more request's outcome; raise ValueError for an impossible outcome."""
        o = outcome
        if o.won and not (o.answered and o.last_looked and not o.last_look_rejected):
            raise ValueError(f"invalid outcome for {o.dealer}: a win needs a quote and an accepted last look")
        if o.last_looked and not o.answered:
            raise ValueError(f"invalid outcome for {o.dealer}: a last look needs a quote")
        if o.last_look_rejected and not o.last_looked:
            raise ValueError(f"invalid outcome for {o.dealer}: a last-look reject needs a last look")
        return DealerRecord(
            requests=self.requests + 1,
            responses=self.responses + o.answered,
            wins=self.wins + o.won,
            distance_bps_sum=self.distance_bps_sum + (o.distance_to_mid_bps or ZERO),
            distances=self.distances + (o.distance_to_mid_bps is not None),
            cover_bps_sum=self.cover_bps_sum + (o.cover_bps or ZERO),
            covers=self.covers + (o.cover_bps is not None),
            markout_bps_sum=self.markout_bps_sum + (o.markout_bps or ZERO),
            markouts=self.markouts + (o.markout_bps is not None),
            last_looks=self.last_looks + o.last_looked,
            last_look_rejects=self.last_look_rejects + o.last_look_rejected,
        )

    @property
    def response_rate(self) -> Decimal | None:
        return Decimal(self.responses) / self.requests if self.requests else None

    @property
    def win_ratio(self) -> Decimal | None:
        """Wins per quote given (not per request: a dealer that rarely answers is judged by response rate)."""
        return Decimal(self.wins) / self.responses if self.responses else None

    @property
    def last_look_reject_rate(self) -> Decimal | None:
        return Decimal(self.last_look_rejects) / self.last_looks if self.last_looks else None

    @property
    def avg_distance_bps(self) -> Decimal | None:
        return _bps_round(self.distance_bps_sum / self.distances) if self.distances else None

    @property
    def avg_cover_bps(self) -> Decimal | None:
        return _bps_round(self.cover_bps_sum / self.covers) if self.covers else None

    @property
    def avg_markout_bps(self) -> Decimal | None:
        return _bps_round(self.markout_bps_sum / self.markouts) if self.markouts else None

    def score(self, weights: ScoreWeights) -> Decimal | None:
        """Return the dealer's points (higher is better, 0.01 steps), or None with no record yet.

        A measure the dealer has no data for (no quote, no hit) adds nothing.
        """
        if not self.requests:
            return None
        w = weights
        points = w.response * Decimal(self.responses) / self.requests
        if self.responses:
            points += w.win * Decimal(self.wins) / self.responses
        if self.last_looks:
            points -= w.last_look_reject * Decimal(self.last_look_rejects) / self.last_looks
        if self.distances:
            points -= w.distance_per_bps * self.distance_bps_sum / self.distances
        if self.covers:
            points -= w.cover_per_bps * self.cover_bps_sum / self.covers
        if self.markouts:
            points += w.markout_per_bps * self.markout_bps_sum / self.markouts
        return _bps_round(points)

    def summary(self) -> str:
        """Return the record in a trader's words: "answered 9/10, won 4/9, 3.20 bps from mid, ..."."""
        if not self.requests:
            return "no record yet"
        parts = [f"answered {self.responses}/{self.requests}"]
        if self.responses:
            parts.append(f"won {self.wins}/{self.responses}")
        if self.avg_distance_bps is not None:
            parts.append(f"{self.avg_distance_bps} bps from mid")
        if self.avg_cover_bps is not None:
            parts.append(f"cover {self.avg_cover_bps} bps")
        if self.avg_markout_bps is not None:
            parts.append(f"markout {self.avg_markout_bps:+} bps")
        if self.last_looks:
            parts.append(f"last-look rejects {self.last_look_rejects}/{self.last_looks}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Scorecard:
    """Every dealer's record. Immutable: ``update`` returns a new scorecard."""

    records: Mapping[str, DealerRecord] = field(default_factory=dict)

    def record(self, dealer: str) -> DealerRecord:
        return self.records.get(dealer, DealerRecord())

    def update(self, outcomes: Iterable[DealerOutcome]) -> "Scorecard":
        """Return the scorecard with each outcome added to its dealer's record (one request each)."""
        records = dict(self.records)
        for outcome in outcomes:
            records[outcome.dealer] = records.get(outcome.dealer, DealerRecord()).plus(outcome)
        return Scorecard(records)


@dataclass(frozen=True, slots=True)
class RankedDealer:
    dealer: str
    rank: int  # 1 is best
    score: Decimal | None  # None: no record yet
    summary: str


def dealers_rank(scorecard: Scorecard, dealers: Iterable[str], weights: ScoreWeights) -> tuple[RankedDealer, ...]:
    """Rank ``dealers`` by score, best first; dealers without a record come last; ties by name."""

    def key(dealer: str) -> tuple[bool, Decimal, str]:
        score = scorecard.record(dealer).score(weights)
        return (score is None, -(score or ZERO), dealer)

    ordered = sorted(set(dealers), key=key)
    return tuple(
        RankedDealer(d, rank, scorecard.record(d).score(weights), scorecard.record(d).summary())
        for rank, d in enumerate(ordered, start=1)
    )


@dataclass(frozen=True, slots=True)
class DealerSelection:
    dealers: tuple[str, ...]  # in rank order; an exploration pick last
    rationale: Mapping[str, str]  # per chosen dealer: why
    excluded: Mapping[str, str]  # per dealer left out for coverage: why


def dealers_select(
    request: RfqRequest,
    scorecard: Scorecard,
    coverage: Mapping[str, frozenset[AssetClass]],
    *,
    rng: random.Random,
    policy: RfqPolicy,
    manual: Sequence[str] | None = None,
) -> DealerSelection:
    """Choose the dealers to ask; raise ``RfqInvalid`` if the rules leave too few.

    ``coverage`` maps every known dealer to the asset classes it quotes; a dealer
    must cover all of ``request.asset_classes``. Without ``manual``: the top
    ``policy.top_n`` by score (at least ``min_dealers_anonymous`` on an anonymous
    request), plus, with probability ``exploration_rate``, one dealer drawn
    uniformly from the rest. It consumes exactly one ``rng.random()`` draw, and one
    ``rng.choice`` when it explores, so a seed reproduces the choice. With
    ``manual`` (the trader's list, kept in its order): every name must be known,
    listed once and covering; the anonymous minimum still holds; no exploration.
    """
    needed = request.asset_classes
    excluded = {
        dealer: f"does not cover {', '.join(sorted(needed - classes))}"
        for dealer, classes in coverage.items()
        if not needed <= classes
    }
    ranked = dealers_rank(scorecard, (d for d in coverage if d not in excluded), policy.weights)
    by_dealer = {r.dealer: r for r in ranked}
    minimum = policy.min_dealers_anonymous if request.anonymous else 1

    if manual is not None:
        for dealer in manual:
            if dealer not in coverage:
                raise RfqInvalid(f"invalid dealer `{dealer}`: unknown")
            if dealer in excluded:
                raise RfqInvalid(f"invalid dealer `{dealer}`: {excluded[dealer]}")
        if len(set(manual)) != len(manual):
            raise RfqInvalid(f"invalid dealers, was {list(manual)}: a dealer is listed twice")
        _check_minimum(len(manual), minimum, request.anonymous)
        rationale = {d: f"{CHOSEN_BY_TRADER}; rank {by_dealer[d].rank} of {len(ranked)} ({by_dealer[d].summary})" for d in manual}
        return DealerSelection(tuple(manual), rationale, excluded)

    if len(ranked) < minimum:
        covered = ", ".join(sorted(needed))
        if request.anonymous:
            raise RfqInvalid(
                f"too few dealers: an anonymous request needs {minimum}; {len(ranked)} cover {covered}",
            )
        raise RfqInvalid(f"too few dealers: none covers {covered}")
    top = ranked[: max(policy.top_n, minimum)]
    rationale = {r.dealer: _rank_note(r, len(ranked)) for r in top}
    chosen = [r.dealer for r in top]
    rest = ranked[len(top) :]
    draw = rng.random()
    if rest and draw < policy.exploration_rate:
        pick = rng.choice(rest)
        chosen.append(pick.dealer)
        rationale[pick.dealer] = (
            f"exploration: rank {pick.rank} of {len(ranked)}, outside the top {len(top)} ({pick.summary}); "
            "asked so it builds a record"
        )
    return DealerSelection(tuple(chosen), rationale, excluded)


def _rank_note(r: RankedDealer, of: int) -> str:
    score = "no score" if r.score is None else f"score {r.score}"
    return f"rank {r.rank} of {of}, {score}: {r.summary}"


def _check_minimum(count: int, minimum: int, anonymous: bool) -> None:
    if count < minimum:
        if anonymous:
            raise RfqInvalid(f"too few dealers: an anonymous request needs at least {minimum}, was {count}")
        raise RfqInvalid("too few dealers: was 0")


# --- the book ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookQuote:
    """A quote we took, when it arrived (our clock, which ranks ties) and its state."""

    quote: Quote
    arrived_ns: int
    state: QuoteState = QuoteState.ACTIVE

    @property
    def quote_id(self) -> str:
        return self.quote.quote_id

    @property
    def dealer(self) -> str:
        return self.quote.dealer

    def px(self, side: Side) -> Decimal | None:
        """The price a client on ``side`` trades at: the offer for a buy, the bid for a sell."""
        return self.quote.offer_px if side is Side.BUY else self.quote.bid_px

    def size(self, side: Side) -> Decimal:
        return self.quote.offer_size if side is Side.BUY else self.quote.bid_size


@dataclass(frozen=True, slots=True)
class Hit:
    """One fill-or-kill hit we sent (a ``QuoteResponse``); ``accepted`` is None while last look is pending."""

    quote_resp_id: str
    quote_id: str
    dealer: str
    side: Side
    qty: Decimal
    px: Decimal
    sent_ns: int
    accepted: bool | None = None
    reason: str = ""  # the dealer's, on a reject


@dataclass(frozen=True, slots=True)
class Decline:
    dealer: str
    reason: str
    text: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class RfqBook:
    """One request and everything that happened to it. Immutable; change it only through the functions below."""

    request: RfqRequest
    dealers: tuple[str, ...]  # those asked
    opened_ns: int
    state: RfqState = RfqState.OPEN
    quotes: tuple[BookQuote, ...] = ()  # every quote taken, in arrival order (replaced ones too)
    declines: tuple[Decline, ...] = ()
    hits: tuple[Hit, ...] = ()
    reason: str = ""  # why it ended, once terminal
    closed_ns: int | None = None

    @property
    def expires_ns(self) -> int:
        return self.opened_ns + self.request.window_ns

    @property
    def grace_ends_ns(self) -> int:
        return self.opened_ns + self.request.grace_ns

    @property
    def filled_qty(self) -> Decimal:
        return sum((h.qty for h in self.hits if h.accepted), ZERO)

    @property
    def leaves_qty(self) -> Decimal:
        """What is still to fill, pending hits included (they may yet be rejected)."""
        return self.request.qty - self.filled_qty

    @property
    def avg_px(self) -> Decimal:
        return vwap((h.qty, h.px) for h in self.hits if h.accepted)

    @property
    def pending_hits(self) -> tuple[Hit, ...]:
        return tuple(h for h in self.hits if h.accepted is None)

    @property
    def traded_side(self) -> Side | None:
        """The side we committed to by a hit not rejected (a two-way request reveals it only then)."""
        return next((h.side for h in self.hits if h.accepted is not False), None)

    def quote(self, quote_id: str) -> BookQuote | None:
        return next((q for q in self.quotes if q.quote_id == quote_id), None)

    def live_quotes(self, now_ns: int) -> tuple[BookQuote, ...]:
        """The ACTIVE quotes still within their lifetime (those in the grace period included)."""
        return tuple(q for q in self.quotes if q.state is QuoteState.ACTIVE and now_ns < q.quote.valid_until_ns)

    def unanswered(self) -> tuple[str, ...]:
        """The dealers asked that have neither quoted nor declined."""
        answered = {q.dealer for q in self.quotes} | {d.dealer for d in self.declines}
        return tuple(d for d in self.dealers if d not in answered)


@dataclass(frozen=True, slots=True)
class RfqLog:
    """One entry for the event table: what happened, the state after it, and why."""

    at_ns: int
    event: str  # an RfqEvent or QuoteEvent, or OPENED
    state: str  # the request's (RfqState) or the quote's (QuoteState) state after it
    reason: str
    dealer: str = ""
    quote_id: str = ""


Outbound = DealerView | QuoteResponse | QuoteStatusReport  # each names its dealer


@dataclass(frozen=True, slots=True)
class RfqStep:
    """An event's result: save ``book``, send ``outbox`` (each to its dealer), write ``log``."""

    book: RfqBook
    outbox: tuple[Outbound, ...] = ()
    log: tuple[RfqLog, ...] = ()


class _Draft:
    """The book being changed by one event: each change goes through the tables and is logged."""

    def __init__(self, book: RfqBook, now_ns: int) -> None:
        self.book = book
        self.now_ns = now_ns
        self.outbox: list[Outbound] = []
        self.log: list[RfqLog] = []

    def move(self, event: RfqEvent, reason: str) -> None:
        state = rfq_next(self.book.state, event)
        if state.is_terminal:
            self.book = replace(self.book, state=state, reason=reason, closed_ns=self.now_ns)
        else:
            self.book = replace(self.book, state=state)
        self.log.append(RfqLog(self.now_ns, event, state, reason))

    def move_quote(self, quote_id: str, event: QuoteEvent, text: str, *, last_qty: Decimal = ZERO) -> None:
        """Change a quote's state; tell its dealer by a status report (a hit is told by the QuoteResponse)."""
        entry = self.book.quote(quote_id)
        assert entry is not None
        state = quote_next(entry.state, event)
        moved = replace(entry, state=state)
        self.book = replace(self.book, quotes=tuple(moved if q is entry else q for q in self.book.quotes))
        self.log.append(RfqLog(self.now_ns, event, state, text, entry.dealer, quote_id))
        if event is not QuoteEvent.HIT:
            hit = next((h for h in self.book.hits if h.quote_id == quote_id), None)
            self.outbox.append(
                QuoteStatusReport(
                    quote_req_id=self.book.request.quote_req_id,
                    quote_id=quote_id,
                    dealer=entry.dealer,
                    quote_status=state,
                    text=text,
                    transact_time_ns=self.now_ns,
                    last_qty=last_qty,
                    last_px=hit.px if hit is not None and last_qty else None,
                )
            )

    def step(self) -> RfqStep:
        return RfqStep(self.book, tuple(self.outbox), tuple(self.log))


# --- opening: validation and the dealers' views -------------------------------------------


def rfq_open(request: RfqRequest, dealers: Sequence[str], *, now_ns: int, policy: RfqPolicy) -> RfqStep:
    """Validate the request and the dealers (from ``dealers_select``); return the OPEN book and one view per dealer.

    Raise ``RfqInvalid`` for a bad field, no dealer, a dealer listed twice, or
    fewer than ``policy.min_dealers_anonymous`` on an anonymous request.
    """
    rfq_validate(request, policy)
    if len(set(dealers)) != len(dealers):
        raise RfqInvalid(f"invalid dealers, was {list(dealers)}: a dealer is listed twice")
    _check_minimum(len(dealers), policy.min_dealers_anonymous if request.anonymous else 1, request.anonymous)
    book = RfqBook(request=request, dealers=tuple(dealers), opened_ns=now_ns)
    views = dealer_views(book)
    side = "two-way" if request.side is RfqSide.TWO_WAY else request.side.value
    who = "anonymous" if request.anonymous else f"disclosed as {request.firm}"
    reason = (
        f"{request.initiator.value} asks {len(dealers)} dealers for {side} {request.qty} {request.symbol}, {who}, "
        f"window {request.window_ns // NS_PER_MS} ms"
    )
    return RfqStep(book, views, (RfqLog(now_ns, OPENED, book.state, reason),))


def dealer_views(book: RfqBook) -> tuple[DealerView, ...]:
    """Return what each dealer asked receives: the instrument or package, the size, the window.

    Never the portfolio, trader or PM, never another dealer's name or quote;
    the side only if the request is not two-way; our firm only if disclosed.
    """
    r = book.request
    return tuple(
        DealerView(
            QuoteRequest(
                quote_req_id=r.quote_req_id,
                dealer=dealer,
                symbol=r.symbol,
                side=r.side.shown_side,
                order_qty=r.qty,
                valid_until_ns=book.expires_ns,
                transact_time_ns=book.opened_ns,
                firm="" if r.anonymous else r.firm,
                no_legs=len(r.legs),
                dealers_in_competition=len(book.dealers),
            ),
            r.legs,
        )
        for dealer in book.dealers
    )


# --- answers: quotes and declines ---------------------------------------------------------


def quote_receive(book: RfqBook, quote: Quote, *, now_ns: int) -> RfqStep:
    """Take a dealer's quote arriving at ``now_ns``, or refuse it with a status report saying why.

    A later quote from the same dealer replaces its ACTIVE one. The same quote
    redelivered changes nothing. The auto rule runs after it.
    """
    d = _Draft(book, now_ns)
    _expire(d)
    book = d.book
    same = book.quote(quote.quote_id)
    if same is not None and same.quote == quote:
        return d.step()  # redelivered
    refusal = _refusal(book, quote, now_ns, reused_id=same is not None)
    if refusal:
        d.outbox.append(
            QuoteStatusReport(
                quote_req_id=quote.quote_req_id,
                quote_id=quote.quote_id,
                dealer=quote.dealer,
                quote_status=QuoteState.REFUSED,
                text=refusal,
                transact_time_ns=now_ns,
            )
        )
        d.log.append(RfqLog(now_ns, RfqEvent.QUOTE, QuoteState.REFUSED, refusal, quote.dealer, quote.quote_id))
        return d.step()
    for older in book.quotes:
        if older.dealer == quote.dealer and older.state is QuoteState.ACTIVE:
            d.move_quote(older.quote_id, QuoteEvent.REPLACE, f"replaced by {quote.quote_id}")
    d.book = replace(d.book, quotes=(*d.book.quotes, BookQuote(quote, now_ns)))
    d.move(RfqEvent.QUOTE, f"{quote.dealer} quotes {_describe(quote)} ({quote.quote_id})")
    _auto_execute(d)
    return d.step()


def _refusal(book: RfqBook, quote: Quote, now_ns: int, *, reused_id: bool) -> str:
    """Return why a quote cannot be taken (the first rule it breaks), or "" if it can."""
    wanted = book.request.side
    ours = book.request.quote_req_id
    bid, offer = quote.bid_px, quote.offer_px
    rules = (
        (book.state.is_terminal, f"the request is {book.state.value.lower()}"),
        (quote.quote_req_id != ours, f"quote for request {quote.quote_req_id}, not {ours}"),
        (quote.dealer not in book.dealers, f"{quote.dealer} was not asked"),
        (reused_id, f"quote id {quote.quote_id} was already used"),
        (quote.symbol != book.request.symbol, f"quote for {quote.symbol}, not {book.request.symbol}"),
        (quote.valid_until_ns <= now_ns, "the quote had expired on arrival"),
        (bid is not None and quote.bid_size <= 0, f"invalid `bid_size`, was {quote.bid_size}"),
        (offer is not None and quote.offer_size <= 0, f"invalid `offer_size`, was {quote.offer_size}"),
        (bid is not None and offer is not None and bid > offer, f"crossed quote: bid {bid} above offer {offer}"),
        (wanted is RfqSide.BUY and offer is None, "a buy request needs an offer"),
        (wanted is RfqSide.SELL and bid is None, "a sell request needs a bid"),
        (bid is None and offer is None, "the quote has no price"),
    )
    return next((why for broken, why in rules if broken), "")


def _describe(q: Quote) -> str:
    bid = f"{q.bid_size} @ {q.bid_px}" if q.bid_px is not None else "no bid"
    offer = f"{q.offer_size} @ {q.offer_px}" if q.offer_px is not None else "no offer"
    return f"{bid} / {offer}"


def quote_decline(book: RfqBook, reject: QuoteRequestReject, *, now_ns: int) -> RfqStep:
    """Record a dealer's decline; fail an OPEN request once every dealer declined and no quote is live.

    A decline for a request that has ended, or one already recorded, changes
    nothing. Raise ValueError for a dealer that was not asked (a routing bug).
    """
    if reject.dealer not in book.dealers:
        raise ValueError(f"invalid `dealer`, was {reject.dealer!r}: not asked on {book.request.quote_req_id}")
    d = _Draft(book, now_ns)
    _expire(d)
    if d.book.state.is_terminal or any(x.dealer == reject.dealer for x in d.book.declines):
        return d.step()
    d.book = replace(d.book, declines=(*d.book.declines, Decline(reject.dealer, reject.reason, reject.text, now_ns)))
    d.move(RfqEvent.DECLINE, f"{reject.dealer} declines: {reject.reason} {reject.text}".strip())
    everyone = {x.dealer for x in d.book.declines} == set(d.book.dealers)
    if everyone and d.book.state is RfqState.OPEN and not d.book.live_quotes(now_ns):
        _close(d, RfqEvent.FAIL, "every dealer declined")
    return d.step()


# --- the ladder -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LadderRow:
    """One quote as the trader sees it. ``side`` is the client's: BUY rows are dealers' offers to lift."""

    quote_id: str
    dealer: str
    side: Side
    px: Decimal
    size: Decimal
    improvement_bps: Decimal | None  # against the composite mid, positive is better for the client
    time_left_ms: int  # until the quote or the window ends, whichever comes first


@dataclass(frozen=True, slots=True)
class Ladder:
    offers: tuple[LadderRow, ...]  # for a buyer, lowest first
    bids: tuple[LadderRow, ...]  # for a seller, highest first
    hidden: int = 0  # live quotes held back by the grace period

    def rows(self, side: Side) -> tuple[LadderRow, ...]:
        return self.offers if side is Side.BUY else self.bids

    def best(self, side: Side) -> LadderRow | None:
        rows = self.rows(side)
        return rows[0] if rows else None


def ladder_build(book: RfqBook, *, now_ns: int, mid: Decimal | None) -> Ladder:
    """Return the hittable quotes at ``now_ns``, best first for each side the client may trade.

    Not shown: expired, replaced or hit quotes, quotes during the grace period
    (counted in ``hidden``), and anything once the request has ended. After the
    first hit of a two-way request only its side is shown. ``mid`` is the
    composite mid (a package's model mid); improvement is None without it.
    """
    if book.state.is_terminal or now_ns >= book.expires_ns:
        return Ladder((), ())
    if now_ns < book.grace_ends_ns:
        return Ladder((), (), hidden=len(book.live_quotes(now_ns)))
    return Ladder(_rows(book, Side.BUY, now_ns, mid), _rows(book, Side.SELL, now_ns, mid))


def _rows(book: RfqBook, side: Side, now_ns: int, mid: Decimal | None) -> tuple[LadderRow, ...]:
    allowed = (book.traded_side,) if book.traded_side else book.request.side.sides
    if side not in allowed:
        return ()
    rows: list[tuple[int, LadderRow]] = []
    for q in book.live_quotes(now_ns):
        px = q.px(side)
        if px is None:
            continue
        ends_ns = min(q.quote.valid_until_ns, book.expires_ns)
        improvement = None if not mid else _bps_round(side.sign * (mid - px) / abs(mid) * BPS)
        time_left_ms = (ends_ns - now_ns) // NS_PER_MS
        rows.append((q.arrived_ns, LadderRow(q.quote_id, q.dealer, side, px, q.size(side), improvement, time_left_ms)))
    # Best price first; at the same price the earlier quote (rewarding the faster dealer), then by name.
    rows.sort(key=lambda pair: (side.sign * pair[1].px, pair[0], pair[1].dealer))
    return tuple(row for _, row in rows)


# --- execution ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Allocation:
    """One fill-or-kill hit to send: ``qty`` of quote ``quote_id`` at ``px``."""

    quote_id: str
    dealer: str
    side: Side
    px: Decimal
    qty: Decimal


def allocate(rows: Sequence[LadderRow], qty: Decimal) -> tuple[Allocation, ...]:
    """Fill ``qty`` from ``rows`` (best first) in order until done.

    Each allocation takes at most its quote's size; they sum to
    ``min(qty, total size)`` exactly, and a row gets nothing unless every better
    row is used up.
    """
    left = qty
    out: list[Allocation] = []
    for row in rows:
        if left <= 0:
            break
        take = min(left, row.size)
        out.append(Allocation(row.quote_id, row.dealer, row.side, row.px, take))
        left -= take
    return tuple(out)


def quote_hit(
    book: RfqBook,
    *,
    quote_id: str,
    now_ns: int,
    qty: Decimal | None = None,
    side: Side | None = None,
    limit_px: Decimal | None = None,
) -> RfqStep:
    """The trader clicks a quote: hit it fill-or-kill for ``qty``.

    ``qty`` defaults to all that is left, or, when partial fills are allowed,
    to as much of that as the quote shows. ``side`` is needed on a two-way
    request only (BUY lifts the offer, SELL hits the bid). ``limit_px`` is the
    order's limit. Raise ``RfqRefused`` if the request is not open, the quote is
    not on the ladder (unknown, expired, replaced, hidden by the grace period),
    its price is past the limit, or the quantity exceeds the request or the
    quote, or is partial when partial fills are not allowed.
    """
    d = _Draft(book, now_ns)
    _expire(d)
    book = d.book
    _check_open(book, now_ns)
    entry = book.quote(quote_id)
    if entry is None:
        raise RfqRefused(f"quote {quote_id} is not on this request")
    if entry.state is QuoteState.EXPIRED:
        ago = (now_ns - entry.quote.valid_until_ns) // NS_PER_MS
        raise RfqRefused(f"quote {quote_id} from {entry.dealer} expired {ago} ms ago")
    if entry.state is QuoteState.REPLACED:
        raise RfqRefused(f"quote {quote_id} was replaced by a newer quote from {entry.dealer}")
    if entry.state is not QuoteState.ACTIVE:
        raise RfqRefused(f"quote {quote_id} from {entry.dealer} is {entry.state.value.lower()}")
    side = _trade_side(book, side)
    px = entry.px(side)
    if px is None:
        raise RfqRefused(f"{entry.dealer} shows no {'offer' if side is Side.BUY else 'bid'}")
    if limit_px is not None and not _within(px, limit_px, side):
        raise RfqRefused(f"{entry.dealer} at {px} is past the order's limit {limit_px}: nothing was sent")
    size = entry.size(side)
    if qty is None:
        qty = min(size, book.leaves_qty) if book.request.allow_partial else book.leaves_qty
    if qty <= 0:
        raise RfqRefused(f"invalid quantity {qty}")
    if qty > book.leaves_qty:
        raise RfqRefused(f"quantity {qty} exceeds the {book.leaves_qty} left on the request")
    if not book.request.allow_partial and qty != book.leaves_qty:
        raise RfqRefused(f"partial fills are not allowed: the hit must be for all {book.leaves_qty}")
    if qty > size:
        raise RfqRefused(f"quantity {qty} exceeds the {size} {entry.dealer} quoted")
    _send_hits(d, (Allocation(quote_id, entry.dealer, side, px, qty),), "clicked by the trader")
    return d.step()


def ladder_sweep(book: RfqBook, *, now_ns: int, side: Side | None = None, limit_px: Decimal | None = None) -> RfqStep:
    """Fill what is left across the best quotes (at or better than ``limit_px``), one fill-or-kill hit per quote.

    Raise ``RfqRefused`` unless partial fills are allowed, the request is open,
    and some quote is on the ladder within the limit.
    """
    d = _Draft(book, now_ns)
    _expire(d)
    book = d.book
    if not book.request.allow_partial:
        raise RfqRefused("partial fills are not allowed on this request: click one quote for the whole quantity")
    _check_open(book, now_ns)
    side = _trade_side(book, side)
    rows = [r for r in _rows(book, side, now_ns, None) if limit_px is None or _within(r.px, limit_px, side)]
    if not rows:
        raise RfqRefused("no quote on the ladder" + ("" if limit_px is None else f" at or better than {limit_px}"))
    _send_hits(d, allocate(rows, book.leaves_qty), "swept by the trader")
    return d.step()


def _check_open(book: RfqBook, now_ns: int) -> None:
    if book.state is RfqState.EXECUTING:
        pending = ", ".join(h.dealer for h in book.pending_hits)
        raise RfqRefused(f"waiting for the last look of {pending}: hit again once it is answered")
    if book.state is not RfqState.OPEN:
        raise RfqRefused(f"the request is {book.state.value.lower()}: {book.reason}")
    if now_ns < book.grace_ends_ns:
        left = (book.grace_ends_ns - now_ns) // NS_PER_MS
        raise RfqRefused(f"quotes are hidden for {left} ms more (grace period)")


def _trade_side(book: RfqBook, side: Side | None) -> Side:
    """The side of the next hit: the request's, or on a two-way request the trader's choice (fixed by the first hit)."""
    wanted = book.request.side
    if wanted is not RfqSide.TWO_WAY:
        if side is not None and side.value != wanted.value:
            raise RfqRefused(f"this is a {wanted.value} request, not {side.value}")
        return Side(wanted.value)
    if side is None:
        raise RfqRefused("a two-way request needs the side: BUY lifts the offer, SELL hits the bid")
    if book.traded_side is not None and side is not book.traded_side:
        raise RfqRefused(f"this request already trades {book.traded_side.value}")
    return side


def _within(px: Decimal, limit_px: Decimal, side: Side) -> bool:
    """Whether ``px`` is at or better than ``limit_px`` for a client on ``side``."""
    return px <= limit_px if side is Side.BUY else px >= limit_px


def _send_hits(d: _Draft, allocations: Sequence[Allocation], why: str) -> None:
    req = d.book.request
    for a in allocations:
        hit = Hit(f"{req.quote_req_id}-H{len(d.book.hits) + 1}", a.quote_id, a.dealer, a.side, a.qty, a.px, d.now_ns)
        d.book = replace(d.book, hits=(*d.book.hits, hit))
        verb = "lift" if a.side is Side.BUY else "hit"
        d.move_quote(a.quote_id, QuoteEvent.HIT, f"{verb} {a.qty} at {a.px}")
        d.outbox.append(
            QuoteResponse(
                quote_resp_id=hit.quote_resp_id,
                quote_req_id=req.quote_req_id,
                quote_id=a.quote_id,
                dealer=a.dealer,
                symbol=req.symbol,
                side=a.side,
                order_qty=a.qty,
                price=a.px,
                transact_time_ns=d.now_ns,
            )
        )
    legs = "; ".join(f"{a.qty} at {a.px} from {a.dealer}" for a in allocations)
    d.move(RfqEvent.EXECUTE, f"{why}: {'buy' if allocations[0].side is Side.BUY else 'sell'} {legs}")


def _auto_execute(d: _Draft) -> None:
    """Hit the best quotes once they reach the threshold: all of what is left from one dealer, or across dealers if allowed."""
    book = d.book
    threshold = book.request.threshold_px
    now_ns = d.now_ns
    if threshold is None or book.state is not RfqState.OPEN or not book.grace_ends_ns <= now_ns < book.expires_ns:
        return
    side = Side(book.request.side.value)  # validation keeps thresholds off two-way requests
    rows = [r for r in _rows(book, side, now_ns, None) if _within(r.px, threshold, side)]
    if book.request.allow_partial:
        allocations = allocate(rows, book.leaves_qty)
    else:
        whole = next((r for r in rows if r.size >= book.leaves_qty), None)
        allocations = () if whole is None else (Allocation(whole.quote_id, whole.dealer, side, whole.px, book.leaves_qty),)
    if allocations:
        _send_hits(d, allocations, f"auto-execution: {rows[0].px} reached the threshold {threshold}")


def last_look_apply(book: RfqBook, *, quote_resp_id: str, accepted: bool, now_ns: int, reason: str = "") -> RfqStep:
    """Apply a dealer's last-look answer to one hit: fill it all (accept) or nothing (reject).

    Once no hit is pending: FILLED if nothing is left; otherwise OPEN again if
    the window has time and a quote is live or a dealer has not answered yet
    (the auto rule then tries the next quote); otherwise FAILED. The same answer
    redelivered changes nothing; raise ValueError for an unknown hit or a
    contradicting answer.
    """
    hit = next((h for h in book.hits if h.quote_resp_id == quote_resp_id), None)
    if hit is None:
        raise ValueError(f"invalid `quote_resp_id`, was {quote_resp_id!r}")
    if hit.accepted is not None:
        if hit.accepted == accepted:
            return RfqStep(book)  # redelivered
        raise ValueError(f"last look for {quote_resp_id} was already answered accepted={hit.accepted}")
    d = _Draft(book, now_ns)
    _expire(d)
    answered = replace(hit, accepted=accepted, reason=reason)
    d.book = replace(d.book, hits=tuple(answered if h is hit else h for h in d.book.hits))
    if accepted:
        what = f"{hit.dealer} filled {hit.qty} at {hit.px}"
        d.move_quote(hit.quote_id, QuoteEvent.ACCEPT, what, last_qty=hit.qty)
    else:
        what = f"{hit.dealer} rejected on last look" + (f" ({reason})" if reason else "")
        d.move_quote(hit.quote_id, QuoteEvent.REJECT, what)
    book = d.book
    if book.pending_hits:
        d.move(RfqEvent.LAST_LOOK, f"{what}; {len(book.pending_hits)} hit(s) still pending")
    elif book.leaves_qty == 0:
        _close(d, RfqEvent.FILL, f"filled {book.request.qty} at {plain(book.avg_px)} ({_winners(book)})")
    else:
        progress = f"; filled {book.filled_qty} of {book.request.qty}" if book.filled_qty else ""
        if now_ns >= book.expires_ns:
            _close(d, RfqEvent.FAIL, f"{what}{progress}; the response window has ended")
        elif not book.live_quotes(now_ns) and not book.unanswered():
            _close(d, RfqEvent.FAIL, f"{what}{progress}; no other quote to try")
        else:
            d.move(RfqEvent.REOPEN, f"{what}{progress}; {book.leaves_qty} left, other quotes may be hit")
            _auto_execute(d)
    return d.step()


def _winners(book: RfqBook) -> str:
    done: dict[str, Decimal] = {}
    for h in book.hits:
        if h.accepted:
            done[h.dealer] = done.get(h.dealer, ZERO) + h.qty
    return ", ".join(f"{dealer} {qty}" for dealer, qty in done.items())


# --- time, cancel and the end -------------------------------------------------------------


def rfq_tick(book: RfqBook, *, now_ns: int) -> RfqStep:
    """Bring the book to ``now_ns``: expire quotes and the request whose time has come, then run the auto rule.

    Idempotent: a second tick at the same time changes nothing. While hits are
    pending the request does not expire; it ends when the last look does.
    """
    d = _Draft(book, now_ns)
    _expire(d)
    _auto_execute(d)
    return d.step()


def rfq_wakeup_ns(book: RfqBook, *, now_ns: int) -> int | None:
    """Return when ``rfq_tick`` next has work (grace end, a quote's expiry, the window's end), or None once ended."""
    if book.state.is_terminal:
        return None
    times = [book.expires_ns, book.grace_ends_ns, *(q.quote.valid_until_ns for q in book.live_quotes(now_ns))]
    return min((t for t in times if t > now_ns), default=None)


def rfq_cancel(book: RfqBook, *, now_ns: int, reason: str) -> RfqStep:
    """Withdraw an OPEN request; raise ``RfqRefused`` while a last look is pending or once it has ended."""
    d = _Draft(book, now_ns)
    _expire(d)
    if d.book.state is RfqState.EXECUTING:
        raise RfqRefused("waiting for the last look: cancel once it is answered")
    if d.book.state is not RfqState.OPEN:
        raise RfqRefused(f"the request is {d.book.state.value.lower()}: {d.book.reason}")
    filled = f"; filled {d.book.filled_qty} of {d.book.request.qty}" if d.book.filled_qty else ""
    _close(d, RfqEvent.CANCEL, f"cancelled: {reason}{filled}")
    return d.step()


def _expire(d: _Draft) -> None:
    """Expire the quotes whose lifetime is over, then the OPEN request if its window is."""
    for q in d.book.quotes:
        if q.state is QuoteState.ACTIVE and q.quote.valid_until_ns <= d.now_ns:
            d.move_quote(q.quote_id, QuoteEvent.EXPIRE, "the quote's lifetime ended")
    if d.book.state is RfqState.OPEN and d.now_ns >= d.book.expires_ns:
        book = d.book
        filled = f": filled {book.filled_qty} of {book.request.qty}" if book.filled_qty else " without an execution"
        _close(d, RfqEvent.EXPIRE, f"the response window ended{filled}")


def _close(d: _Draft, event: RfqEvent, reason: str) -> None:
    """End the request, then tell every dealer still quoting: traded away if anything filled, passed if not.

    A dealer whose last quote expired and that won nothing also hears that we
    traded elsewhere.
    """
    d.move(event, reason)
    traded = d.book.filled_qty > 0
    winners = {h.dealer for h in d.book.hits if h.accepted}
    latest = {q.dealer: q for q in d.book.quotes}  # arrival order: the last one wins
    for q in d.book.quotes:
        if q.state is QuoteState.ACTIVE:
            if traded:
                d.move_quote(q.quote_id, QuoteEvent.TRADE_AWAY, "we traded with another dealer")
            else:
                d.move_quote(q.quote_id, QuoteEvent.PASS, f"no trade: {reason}")
        elif q.state is QuoteState.EXPIRED and traded and latest[q.dealer] is q and q.dealer not in winners:
            d.move_quote(q.quote_id, QuoteEvent.TRADE_AWAY, "we traded with another dealer")


# --- outcomes for the scorecard -----------------------------------------------------------


def dealer_outcomes(
    book: RfqBook, *, mid: Decimal | None, markouts: Mapping[str, Decimal] | None = None
) -> tuple[DealerOutcome, ...]:
    """Return each asked dealer's outcome of an ended request, for ``Scorecard.update``.

    ``mid`` is the composite mid when the request opened (None: no distance).
    A dealer is judged on its executed quote if it won, else its last quote,
    on the side we traded (both sides of a two-way request without a trade,
    averaged). ``markouts`` (bps per winning dealer, positive good for us) may
    come later: the shell may update the scorecard at the markout horizon.
    Raise ValueError while the request is still live.
    """
    if not book.state.is_terminal:
        raise ValueError(f"invalid book: the request is {book.state.value}, not ended")
    side = book.traded_side if book.filled_qty else None
    sides = (side,) if side is not None else book.request.side.sides
    accepted = [h for h in book.hits if h.accepted]
    best_px = None
    if side is not None:
        prices = [h.px for h in accepted]
        best_px = min(prices) if side is Side.BUY else max(prices)
    outcomes: list[DealerOutcome] = []
    for dealer in book.dealers:
        quotes = [q for q in book.quotes if q.dealer == dealer]
        won = any(h.dealer == dealer for h in accepted)
        rejected = any(q.state is QuoteState.LAST_LOOK_REJECTED for q in quotes)
        looked = any(q.state in (QuoteState.EXECUTED, QuoteState.LAST_LOOK_REJECTED) for q in quotes)
        judged = next((q for q in quotes if q.state is QuoteState.EXECUTED), quotes[-1] if quotes else None)
        distance = cover = None
        if judged is not None and mid:
            costs = [s.sign * (px - mid) / abs(mid) * BPS for s in sides if (px := judged.px(s)) is not None]
            distance = _bps_round(sum(costs, ZERO) / len(costs)) if costs else None
        if judged is not None and side is not None and best_px and not won and not rejected:
            px = judged.px(side)
            cover = None if px is None else _bps_round(side.sign * (px - best_px) / abs(best_px) * BPS)
        markout = (markouts or {}).get(dealer) if won else None
        outcomes.append(DealerOutcome(dealer, bool(quotes), won, distance, cover, markout, looked, rejected))
    return tuple(outcomes)


def _bps_round(value: Decimal) -> Decimal:
    return value.quantize(_CENT_BPS, rounding=ROUND_HALF_EVEN)
