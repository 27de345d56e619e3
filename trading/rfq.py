"""The RFQ vocabulary: request and quote states, their transition tables, the FIX-shaped messages.

An RFQ (request for quote) asks a few chosen dealers for a private, competitive
price for a block or a multi-leg package. The auction rules live in
``ems.core.rfq``; this module holds what every layer shares: the states, the
literal transition tables (``rfq_next`` and ``quote_next`` are the only way a
state changes; they raise ``IllegalRfqTransition`` for a pair the table lacks)
and the wire messages, which mirror FIX 4.4:

- ``QuoteRequest`` (35=R) and its ``QuoteRequestLeg`` rows: us to one dealer;
- ``Quote`` (35=S): a dealer's price;
- ``QuoteRequestReject`` (35=AG): a dealer declines to quote;
- ``QuoteResponse`` (35=AJ): our hit or lift of one quote, fill-or-kill;
- ``QuoteStatusReport`` (35=AI): us to a dealer, the outcome of one of its quotes;
- ``LastLookReport`` (35=8): a dealer's fill or last-look reject of our hit.

Every message is flat and encodes with ``_Wire`` (Decimals as strings, times as
integer nanoseconds). A package's legs travel as a separate list: the request's
``no_legs`` (FIX NoLegs, 555) says how many ``QuoteRequestLeg`` dicts follow, in
leg order; ``DealerView.to_wire`` / ``DealerView.from_wire`` do the packing and
check the count.
"""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final, Self

from trading.enums import Side
from trading.messages import _Wire
from trading.numbers import ZERO


class RfqSide(StrEnum):
    """What the client wants to do. A TWO_WAY request hides its side: dealers quote both."""

    BUY = "BUY"
    SELL = "SELL"
    TWO_WAY = "TWO_WAY"

    @property
    def sides(self) -> tuple[Side, ...]:
        """Return the sides the client may trade: one, or both for a two-way request."""
        if self is RfqSide.TWO_WAY:
            return (Side.BUY, Side.SELL)
        return (Side(self.value),)

    @property
    def shown_side(self) -> Side | None:
        """Return the side a dealer may see: None for a two-way request (FIX omits Side, 54)."""
        return None if self is RfqSide.TWO_WAY else Side(self.value)


class RfqInitiator(StrEnum):
    """Who started the request."""

    MATRIX = "MATRIX"  # the strategy selection matrix chose RFQ for an order
    TRADER = "TRADER"  # a trader, from the blotter
    PM = "PM"  # a portfolio manager, through the API


class RfqState(StrEnum):
    """The state of a whole request."""

    OPEN = "OPEN"  # collecting quotes; a quote on the ladder may be hit
    EXECUTING = "EXECUTING"  # hits sent; waiting for the dealers' last look
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"  # the response window ended before the quantity was filled
    FAILED = "FAILED"  # nothing left to try: every dealer declined, or last look rejected the last quote

    @property
    def is_terminal(self) -> bool:
        return self in RFQ_TERMINAL


class RfqEvent(StrEnum):
    QUOTE = "QUOTE"  # a dealer's quote arrived
    DECLINE = "DECLINE"  # a dealer declined to quote (35=AG)
    EXECUTE = "EXECUTE"  # we sent one or more hits (35=AJ): a click, the auto rule, or a sweep
    LAST_LOOK = "LAST_LOOK"  # a dealer answered one hit; others are still pending
    FILL = "FILL"  # the last pending hit ended and the quantity is filled
    REOPEN = "REOPEN"  # the last pending hit ended, quantity remains, and time and a quote or a dealer remain
    FAIL = "FAIL"  # nothing left to try
    CANCEL = "CANCEL"  # the trader (or the PM) withdrew the request
    EXPIRE = "EXPIRE"  # the response window ended


class QuoteState(StrEnum):
    """The state of one dealer quote, as its status report (35=AI) tells the dealer."""

    ACTIVE = "ACTIVE"  # live: on the ladder once the grace period is over
    PENDING = "PENDING"  # hit; the dealer's last look is pending
    EXECUTED = "EXECUTED"  # the dealer accepted our hit
    LAST_LOOK_REJECTED = "LAST_LOOK_REJECTED"  # the dealer rejected our hit on last look
    EXPIRED = "EXPIRED"  # its lifetime ended before we traded on it
    REPLACED = "REPLACED"  # the same dealer sent a newer quote
    TRADED_AWAY = "TRADED_AWAY"  # it was live when the request ended, and we traded elsewhere
    PASSED = "PASSED"  # it was live when the request ended, and we traded nowhere
    REFUSED = "REFUSED"  # we did not take it: malformed, late, or from a dealer not asked

    @property
    def is_terminal(self) -> bool:
        return self in QUOTE_TERMINAL


class QuoteEvent(StrEnum):
    HIT = "HIT"  # we hit (or lifted) it
    ACCEPT = "ACCEPT"  # last look: the dealer accepts
    REJECT = "REJECT"  # last look: the dealer rejects
    EXPIRE = "EXPIRE"
    REPLACE = "REPLACE"
    TRADE_AWAY = "TRADE_AWAY"
    PASS = "PASS"  # noqa: S105 - the client passes on a quote; not a password


R = RfqState
RE = RfqEvent
Q = QuoteState
QE = QuoteEvent

RFQ_TERMINAL: Final = frozenset({R.FILLED, R.CANCELLED, R.EXPIRED, R.FAILED})

RFQ_TRANSITIONS: Final[dict[tuple[RfqState, RfqEvent], RfqState]] = {
    (R.OPEN, RE.QUOTE): R.OPEN,
    (R.OPEN, RE.DECLINE): R.OPEN,
    (R.OPEN, RE.EXECUTE): R.EXECUTING,
    (R.OPEN, RE.CANCEL): R.CANCELLED,
    (R.OPEN, RE.EXPIRE): R.EXPIRED,
    (R.OPEN, RE.FAIL): R.FAILED,  # every dealer declined
    # Quotes keep arriving during a last look; they are hittable once it ends.
    (R.EXECUTING, RE.QUOTE): R.EXECUTING,
    (R.EXECUTING, RE.DECLINE): R.EXECUTING,
    (R.EXECUTING, RE.LAST_LOOK): R.EXECUTING,
    (R.EXECUTING, RE.FILL): R.FILLED,
    (R.EXECUTING, RE.REOPEN): R.OPEN,
    (R.EXECUTING, RE.FAIL): R.FAILED,
    # No CANCEL or EXPIRE while EXECUTING: our hits are out and the dealers may fill them;
    # the request ends when the last look does.
    # FILLED, CANCELLED, EXPIRED and FAILED are terminal: no event leaves them.
}

QUOTE_TERMINAL: Final = frozenset({Q.EXECUTED, Q.LAST_LOOK_REJECTED, Q.REPLACED, Q.TRADED_AWAY, Q.PASSED, Q.REFUSED})
QUOTE_INITIAL: Final = frozenset({Q.ACTIVE, Q.REFUSED})  # where a quote starts: taken, or refused on arrival

QUOTE_TRANSITIONS: Final[dict[tuple[QuoteState, QuoteEvent], QuoteState]] = {
    (Q.ACTIVE, QE.HIT): Q.PENDING,
    (Q.ACTIVE, QE.EXPIRE): Q.EXPIRED,
    (Q.ACTIVE, QE.REPLACE): Q.REPLACED,
    (Q.ACTIVE, QE.TRADE_AWAY): Q.TRADED_AWAY,
    (Q.ACTIVE, QE.PASS): Q.PASSED,
    # A hit quote cannot expire or be replaced under us: the dealer answers the hit.
    (Q.PENDING, QE.ACCEPT): Q.EXECUTED,
    (Q.PENDING, QE.REJECT): Q.LAST_LOOK_REJECTED,
    # The dealer already knows its quote died; it still hears that we traded elsewhere.
    (Q.EXPIRED, QE.TRADE_AWAY): Q.TRADED_AWAY,
}


class IllegalRfqTransition(ValueError):
    """An event the table forbids in this state. (Not ``trading.states.IllegalTransition``: that one is typed to OrdStatus.)"""

    def __init__(self, state: RfqState | QuoteState, event: RfqEvent | QuoteEvent) -> None:
        kind = "RFQ" if isinstance(state, RfqState) else "quote"
        super().__init__(f"illegal {kind} transition: {event} in state {state}")
        self.state = state
        self.event = event


def rfq_next(state: RfqState, event: RfqEvent) -> RfqState:
    """Return the request's state after ``event``; raise ``IllegalRfqTransition`` if the table forbids it."""
    target = RFQ_TRANSITIONS.get((state, event))
    if target is None:
        raise IllegalRfqTransition(state, event)
    return target


def quote_next(state: QuoteState, event: QuoteEvent) -> QuoteState:
    """Return the quote's state after ``event``; raise ``IllegalRfqTransition`` if the table forbids it."""
    target = QUOTE_TRANSITIONS.get((state, event))
    if target is None:
        raise IllegalRfqTransition(state, event)
    return target


# --- messages --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuoteRequestLeg(_Wire):
    """One leg of a package (FIX InstrmtLegGrp). ``leg_side`` is the leg's side when the package is bought.

    Selling the package reverses every leg, so the legs never reveal the side of
    a two-way request.
    """

    leg_symbol: str
    leg_side: Side
    leg_ratio_qty: Decimal  # units of this leg per unit of the package


@dataclass(frozen=True, slots=True)
class QuoteRequest(_Wire):
    """Our request to one dealer (FIX QuoteRequest, 35=R). It is that dealer's private view.

    It names no portfolio, trader or PM, and no other dealer. ``side`` is None on
    a two-way request; ``firm`` is empty on an anonymous one. ``valid_until_ns``
    is the end of the response window (FIX ExpireTime, 126).
    """

    quote_req_id: str
    dealer: str  # the recipient
    symbol: str  # the instrument, or the package's name when ``no_legs`` > 0
    side: Side | None
    order_qty: Decimal
    valid_until_ns: int
    transact_time_ns: int
    firm: str = ""  # our firm's name on a disclosed request
    no_legs: int = 0
    dealers_in_competition: int = 0  # how many were asked; never who


@dataclass(frozen=True, slots=True)
class Quote(_Wire):
    """A dealer's price (FIX Quote, 35=S). A side without a price is None; a later quote replaces an earlier one.

    For a package, ``bid_px`` / ``offer_px`` price one unit of the package (may be
    negative: a credit). ``valid_until_ns`` ends the quote's own lifetime.
    """

    quote_id: str
    quote_req_id: str
    dealer: str
    symbol: str
    bid_px: Decimal | None
    offer_px: Decimal | None
    bid_size: Decimal = ZERO
    offer_size: Decimal = ZERO
    valid_until_ns: int = 0
    transact_time_ns: int = 0  # the dealer's stamp; we rank by our own arrival time


@dataclass(frozen=True, slots=True)
class QuoteRequestReject(_Wire):
    """A dealer declines to quote (FIX QuoteRequestReject, 35=AG)."""

    quote_req_id: str
    dealer: str
    reason: str  # FIX QuoteRequestRejectReason (658), as the dealer's code or name
    text: str = ""
    transact_time_ns: int = 0


@dataclass(frozen=True, slots=True)
class QuoteResponse(_Wire):
    """Our hit of a bid or lift of an offer (FIX QuoteResponse, 35=AJ, QuoteRespType=1), fill-or-kill.

    ``side`` is ours: BUY lifts the offer, SELL hits the bid. The dealer answers
    with its last look: fill all of ``order_qty`` at ``price``, or reject.
    """

    quote_resp_id: str
    quote_req_id: str
    quote_id: str
    dealer: str
    symbol: str
    side: Side
    order_qty: Decimal
    price: Decimal
    transact_time_ns: int


@dataclass(frozen=True, slots=True)
class QuoteStatusReport(_Wire):
    """The outcome of one quote, to its dealer (FIX QuoteStatusReport, 35=AI)."""

    quote_req_id: str
    quote_id: str
    dealer: str
    quote_status: QuoteState
    text: str
    transact_time_ns: int
    last_qty: Decimal = ZERO  # what we traded on it (EXECUTED only)
    last_px: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LastLookReport(_Wire):
    """A dealer's answer to our hit (FIX ExecutionReport, 35=8, for the QuoteResponse): all of it, or nothing.

    On accept, ``exec_id`` is the dealer's trade id (unique per dealer) and, for
    a package, ``leg_px`` the leg prices the dealer prints (FIX LegLastPx, 637),
    space-separated in leg order: they must make ``last_px`` exactly. On reject,
    ``text`` says why and nothing traded.
    """

    quote_resp_id: str
    quote_req_id: str
    quote_id: str
    dealer: str
    accepted: bool
    last_qty: Decimal
    last_px: Decimal
    exec_id: str = ""
    leg_px: str = ""
    text: str = ""
    transact_time_ns: int = 0

    @property
    def leg_prices(self) -> tuple[Decimal, ...]:
        """Return ``leg_px`` as Decimals (empty for one instrument); raise ValueError for a bad one."""
        try:
            prices = tuple(Decimal(part) for part in self.leg_px.split())
        except ArithmeticError as exc:
            raise ValueError(f"invalid `leg_px`, was {self.leg_px!r}") from exc
        if not all(px.is_finite() for px in prices):
            raise ValueError(f"invalid `leg_px`, was {self.leg_px!r}")
        return prices


# The RFQ messages' FIX MsgType, as carried in the transports' ``msg_type`` field (see ARCHITECTURE.md).
RFQ_MSG_TYPES: Final[dict[str, type[_Wire]]] = {
    "R": QuoteRequest,
    "S": Quote,
    "AG": QuoteRequestReject,
    "AJ": QuoteResponse,
    "AI": QuoteStatusReport,
    "8": LastLookReport,
}


@dataclass(frozen=True, slots=True)
class DealerView:
    """What one dealer receives for a request: the flat ``QuoteRequest`` plus the package's legs.

    Built only by ``ems.core.rfq.dealer_views``; it holds nothing the dealer may
    not see (no client identity, no rival dealer, no quote).
    """

    request: QuoteRequest
    legs: tuple[QuoteRequestLeg, ...] = ()

    @property
    def dealer(self) -> str:
        return self.request.dealer

    def to_wire(self) -> tuple[dict[str, str], list[dict[str, str]]]:
        """Return the request's flat dict and one flat dict per leg, in leg order."""
        return self.request.to_wire(), [leg.to_wire() for leg in self.legs]

    @classmethod
    def from_wire(cls, request: dict[str, str], legs: list[dict[str, str]]) -> Self:
        """Decode a request and its legs; raise ``ValueError`` if ``no_legs`` disagrees with the list."""
        decoded = QuoteRequest.from_wire(request)
        if decoded.no_legs != len(legs):
            raise ValueError(f"invalid `no_legs`, was {decoded.no_legs} with {len(legs)} legs")
        return cls(decoded, tuple(QuoteRequestLeg.from_wire(leg) for leg in legs))
