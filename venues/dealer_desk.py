"""The dealer desk: the simulated RFQ dealers, live in the gateway, answering the EMS on the wire.

The gateway hands the desk the RFQ messages it reads from the order stream
(``handle``: a ``QuoteRequest`` 35=R, a ``QuoteResponse`` 35=AJ, a
``QuoteStatusReport`` 35=AI, each a flat dict with its ``msg_type``) and, every
time it runs the market, collects what the dealers have to say by then
(``advance``: ``Quote`` 35=S, ``QuoteRequestReject`` 35=AG, ``LastLookReport``
35=8, each a wire dict plus ``msg_type``). The desk does no I/O: the gateway
reads and sends, so the desk runs the same in a test as in ``rungateway``.

Why a desk rather than calling ``SimDealer`` from the gateway directly: a
dealer answers *later* (its latency, and a short last-look pause), so the
answers wait in a schedule on the market's clock; and the wire is at least
once, so the desk remembers what it answered (a redelivered request is not
quoted twice; a redelivered hit gets the same answer and never trades twice).

Clocks. The dealers live on the market's clock (ns since midnight of
``market.day``): a quote is priced at the market's time, from the market's fair
value. Everything on the wire is epoch ns (UTC wall clock): the desk converts
with the offset between ``wall_ns()`` and ``market.now`` at the moment it
decides, so a quote's ``valid_until_ns`` is the wall-clock instant its simulated
lifetime ends. The schedule is kept per trading day: at the close the market
rolls to the next day and its clock goes back to the open, so anything left from
an earlier day is due at once, and a quote from an earlier session is never
honoured (its last look rejects it as EXPIRED).

Determinism: each dealer draws from its own ``random.Random`` seeded from the
market's seed and its code (as ``demo_dealers`` does), so a seed and the same
messages at the same market times give the same quotes and the same last looks.
"""

import heapq
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from itertools import count
from typing import Final

from trading.enums import AssetClass, Side
from trading.numbers import ZERO, round_to
from trading.rfq import (
    DealerView,
    LastLookReport,
    Quote,
    QuoteRequestLeg,
    QuoteRequestReject,
    QuoteResponse,
    QuoteStatusReport,
)
from venues.sim.background import NS, rng_for
from venues.sim.dealers import (
    DEMO_PROFILES,
    DealerProfile,
    DealerQuote,
    LastLookReason,
    Quotable,
    QuoteRequest,
    SimDealer,
)
from venues.sim.lit import Listing
from venues.sim.market import SimMarket
from venues.sim.options import (
    FairInputs,
    Leg,
    OptionSpec,
    Package,
    StockSpec,
    single_option,
    split_package_px,
    surface_for,
    year_fraction,
)
from venues.sim.params import Regime

log = logging.getLogger(__name__)

Terms = StockSpec | OptionSpec  # an instrument's terms as a dealer prices it
WireMessage = dict[str, str]  # a wire dict plus its ``msg_type``

# ``FairValue`` draws the VOLATILE regime's path at this multiple of the instrument's volatility; the dealers
# price options off the volatility the market really has, so they use the same multiple.
VOLATILE_VOL_MULTIPLE: Final = 3.0
# A dealer's last look takes this share of its quoting latency: it re-prices one request, not a fresh one.
LAST_LOOK_LATENCY_SHARE: Final = 0.5
# What the desk remembers (requests seen, quotes, answered hits) is kept this long past the end of its window or
# lifetime: long enough for any redelivery or late hit, then forgotten so a long-running gateway does not grow.
RETAIN_NS: Final = 10 * 60 * NS
_PRUNE_EVERY_NS: Final = 10 * NS
_NS_PER_MS: Final = 1_000_000


class DeclineReason(StrEnum):
    """Why a dealer declines to quote (FIX QuoteRequestRejectReason, 658, by name)."""

    UNKNOWN_DEALER = "UNKNOWN_DEALER"  # no active dealer venue has this code
    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"  # FIX 1: not in the reference data
    UNSUPPORTED_ASSET_CLASS = "UNSUPPORTED_ASSET_CLASS"  # the dealer does not make markets in it
    EXPIRED_INSTRUMENT = "EXPIRED_INSTRUMENT"  # an option leg has expired
    NO_MARKET = "NO_MARKET"  # FIX 8: the underlying is not trading in the simulator
    INVALID_REQUEST = "INVALID_REQUEST"  # decodable but not quotable: a bad ratio, a package of stock only, off lot
    TOO_LATE = "TOO_LATE"  # FIX 4: the response window had already ended when the request arrived


@dataclass(frozen=True, slots=True)
class DealerVenue:
    """An active RFQ dealer venue as admin has it. ``covers`` None: the profile's own asset classes."""

    code: str
    name: str = ""
    latency_ms: int | None = None
    covers: frozenset[AssetClass] | None = None


@dataclass(frozen=True, slots=True)
class DeskRefdata:
    """What the desk reads from the reference data: the dealers, and every instrument's terms by symbol."""

    dealers: tuple[DealerVenue, ...] = ()
    instruments: Mapping[str, Terms] = field(default_factory=dict)


def dealer_profile(venue: DealerVenue) -> DealerProfile:
    """Return how the dealer at ``venue`` quotes: its demo profile by code, else a middle-of-the-road one.

    A dealer added in admin gets the default profile at the venue's latency.
    The venue's ``covers`` (what admin says the dealer quotes, and what the EMS
    picks dealers by) overrides the profile's, so the two never disagree.
    """
    demo = {profile.code: profile for profile in DEMO_PROFILES}
    profile = demo.get(venue.code)
    if profile is None:
        profile = DealerProfile(code=venue.code, name=venue.name or venue.code)
        if venue.latency_ms is not None:
            latency = float(venue.latency_ms)
            profile = replace(profile, latency_ms=latency, latency_jitter_ms=min(profile.latency_jitter_ms, latency / 5))
    elif venue.name:
        profile = replace(profile, name=venue.name)
    if venue.covers:
        profile = replace(profile, covers=frozenset(venue.covers))
    return profile


class _Declined(Exception):
    """Raised inside request handling when the dealer declines; carries the reason and the text."""

    def __init__(self, reason: DeclineReason, text: str) -> None:
        super().__init__(text)
        self.reason = reason
        self.text = text


@dataclass(slots=True)
class _Quoted:
    """A quote the dealer gave: what it priced (``dealer_quote``), on which market day, as sent."""

    dealer_quote: DealerQuote
    day: date
    message: Quote
    legs: tuple[QuoteRequestLeg, ...]  # the request's legs (empty for one instrument): a fill prints leg prices
    hit_by: str = ""  # the quote_resp_id of the hit taken on it: a quote trades once


@dataclass(slots=True)
class _Hit:
    """A hit (35=AJ) received: ``report`` is its answer once given, sent again if the hit is redelivered."""

    response: QuoteResponse
    at_epoch_ns: int  # when the dealer answers (or answered), wall clock
    report: WireMessage | None = None


@dataclass(order=True, slots=True)
class _Due:
    """One thing the desk owes at a market instant: a message ready to go, or a last look to run (``hit``)."""

    day: int  # the market day's ordinal: a day's clock restarts at the open
    at_ns: int
    seq: int  # ties go in the order they were scheduled
    message: WireMessage | None = field(compare=False, default=None)
    hit: str = field(compare=False, default="")


class DealerDesk:
    """The simulated dealers behind the active RFQ dealer venues; fed by the gateway (see the module docstring).

    ``market`` is the gateway's running ``SimMarket`` (the desk reads its clock,
    day, fair values and volatility model; it never changes it). ``session``
    makes the quote and trade ids unique across gateway restarts. ``wall_ns``
    returns the wall clock in epoch ns. ``profiles`` (by code) replace the
    profiles ``dealer_profile`` would give: a test or a benchmark sets its
    dealers' behaviour.
    """

    def __init__(
        self,
        *,
        market: SimMarket,
        refdata: DeskRefdata,
        session: str,
        wall_ns: Callable[[], int] = time.time_ns,
        profiles: Mapping[str, DealerProfile] | None = None,
    ) -> None:
        self.market = market
        self._profiles = dict(profiles or {})
        self._session = session
        self._wall_ns = wall_ns
        self._seed = market.config.seed
        self._dealers: dict[str, SimDealer] = {}  # every dealer ever active: a hit on a deactivated one is answered
        self._active: set[str] = set()
        self._instruments: dict[str, Terms] = {}
        self._regimes: dict[str, Regime] = {}
        self._requests: dict[tuple[str, str], int] = {}  # (quote_req_id, dealer) -> window end (epoch ns)
        self._quotes: dict[str, _Quoted] = {}
        self._hits: dict[str, _Hit] = {}
        self._schedule: list[_Due] = []
        self._seq = count()
        self._quote_ids = count(1)
        self._exec_ids = count(1)
        self._next_prune_ns = 0
        self.refresh(refdata)

    # --- set-up -------------------------------------------------------

    @property
    def dealers(self) -> Mapping[str, SimDealer]:
        """Return the active dealers by code (their inventories are the desk's book)."""
        return {code: dealer for code, dealer in self._dealers.items() if code in self._active}

    def refresh(self, refdata: DeskRefdata) -> None:
        """Take the dealers and instruments as admin has them now (idempotent).

        A dealer seen before keeps its random stream and inventory (a profile
        change in admin applies from the next gateway start); one no longer
        active declines new requests but still answers hits on its quotes.
        """
        for venue in refdata.dealers:
            if venue.code not in self._dealers:
                profile = self._profiles.get(venue.code) or dealer_profile(venue)
                self._dealers[venue.code] = SimDealer(profile, rng_for(self._seed, venue.code))
        self._active = {venue.code for venue in refdata.dealers}
        self._instruments = dict(refdata.instruments)

    def set_regimes(self, regimes: Mapping[str, Regime]) -> None:
        """Take the regimes the operator set (the gateway applies the same to the market)."""
        self._regimes.update(regimes)

    # --- the wire, in -------------------------------------------------

    def handle(self, fields: Mapping[str, str]) -> None:
        """Take one RFQ message from the stream (``msg_type`` R, AJ or AI); its answer comes from ``advance``.

        Raise ValueError for a message that cannot be decoded: the gateway logs
        and drops it, as it does a malformed order.
        """
        kind = fields.get("msg_type", "")
        body = {key: value for key, value in fields.items() if key not in ("msg_type", "legs")}
        if kind == "R":
            self._request(DealerView.from_wire(body, _legs(fields.get("legs", "[]"))))
        elif kind == "AJ":
            self._hit(QuoteResponse.from_wire(body))
        elif kind == "AI":
            self._status(QuoteStatusReport.from_wire(body))
        else:
            raise ValueError(f"invalid `msg_type`, was {kind!r}: the dealer desk takes R, AJ and AI")

    def _request(self, view: DealerView) -> None:
        request = view.request
        key = (request.quote_req_id, request.dealer)
        if key in self._requests:
            log.info("dropping redelivered quote request %s to %s", *key)
            return
        wall = self._wall_ns()
        self._requests[key] = request.valid_until_ns or wall  # no window: remembered from now
        try:
            if 0 < request.valid_until_ns <= wall:
                raise _Declined(DeclineReason.TOO_LATE, f"the response window ended at {request.valid_until_ns}")
            dealer = self._dealers.get(request.dealer) if request.dealer in self._active else None
            if dealer is None:
                raise _Declined(DeclineReason.UNKNOWN_DEALER, f"unknown or inactive dealer {request.dealer!r}")
            instrument = self._instrument(view)
            try:
                sim_request = QuoteRequest(request.quote_req_id, instrument, request.order_qty, request.side)
            except ValueError as exc:
                raise _Declined(DeclineReason.INVALID_REQUEST, str(exc)) from None
            if sim_request.asset_class not in dealer.profile.covers:
                raise _Declined(
                    DeclineReason.UNSUPPORTED_ASSET_CLASS, f"{dealer.code} does not quote {sim_request.asset_class.lower()}"
                )
            fair = self._fair(_underlying(instrument))
            now = self.market.now
            try:
                dealer_quote = dealer.quote(sim_request, fair, now)
            except ValueError as exc:  # the terms do not price (a package's grid, say): say so rather than go quiet
                raise _Declined(DeclineReason.INVALID_REQUEST, str(exc)) from None
        except _Declined as declined:
            self._decline(view, declined, wall)
            return
        if dealer_quote is None:
            log.info("%s stays silent on %s", dealer.code, request.quote_req_id)
            return
        offset = wall - now  # market ns -> epoch ns, as of now
        quote_id = f"{dealer.code}-{self._session}-Q{next(self._quote_ids)}"
        message = Quote(
            quote_id=quote_id,
            quote_req_id=request.quote_req_id,
            dealer=dealer.code,
            symbol=request.symbol,
            bid_px=dealer_quote.bid_px,
            offer_px=dealer_quote.offer_px,
            bid_size=dealer_quote.qty if dealer_quote.bid_px is not None else ZERO,
            offer_size=dealer_quote.qty if dealer_quote.offer_px is not None else ZERO,
            valid_until_ns=dealer_quote.expires_ns + offset,
            transact_time_ns=dealer_quote.arrives_ns + offset,
        )
        self._quotes[quote_id] = _Quoted(dealer_quote, self.market.day, message, view.legs)
        self._due(dealer_quote.arrives_ns, message=_wire("S", message))

    def _instrument(self, view: DealerView) -> Quotable:
        """Return what the dealer prices: a stock block, a single option as a one-leg package, or the package."""
        request = view.request
        if not view.legs:
            terms = self._terms(request.symbol)
            if isinstance(terms, StockSpec):
                return terms
            self._check_alive(request.symbol, terms)
            return single_option(terms, Side.BUY)
        legs = []
        for leg in view.legs:
            terms = self._terms(leg.leg_symbol)
            if isinstance(terms, OptionSpec):
                self._check_alive(leg.leg_symbol, terms)
            ratio = leg.leg_ratio_qty
            if ratio != ratio.to_integral_value() or ratio < 1:
                raise _Declined(
                    DeclineReason.INVALID_REQUEST,
                    f"invalid `leg_ratio_qty`, was {ratio} for {leg.leg_symbol}: whole units, at least 1",
                )
            legs.append(Leg(terms, leg.leg_side, int(ratio)))
        try:
            return Package(tuple(legs))
        except ValueError as exc:
            raise _Declined(DeclineReason.INVALID_REQUEST, f"{request.symbol}: {exc}") from None

    def _terms(self, symbol: str) -> Terms:
        terms = self._instruments.get(symbol)
        if terms is None:
            raise _Declined(DeclineReason.UNKNOWN_SYMBOL, f"unknown symbol {symbol!r}")
        return terms

    def _check_alive(self, symbol: str, option: OptionSpec) -> None:
        if year_fraction(option.expiry, self.market.day, self.market.now) <= 0:
            raise _Declined(DeclineReason.EXPIRED_INSTRUMENT, f"{symbol} expired at the close of {option.expiry}")

    def _fair(self, underlying: str) -> FairInputs:
        """Return the fair inputs now: the underlying's fair value on its tick and the surface of its volatility.

        The volatility is the one the market draws fair value with: the
        instrument's (or the simulator's) annual volatility, times
        ``VOLATILE_VOL_MULTIPLE`` in the VOLATILE regime.
        """
        stock = self._instruments.get(underlying)
        if not isinstance(stock, StockSpec):
            raise _Declined(DeclineReason.NO_MARKET, f"no stock {underlying!r} in the reference data")
        try:
            raw = self.market.fair_value(underlying)
        except KeyError:
            raise _Declined(DeclineReason.NO_MARKET, f"{underlying} is not trading in the simulator") from None
        spot = max(round_to(Decimal(repr(raw)), stock.tick), stock.tick)
        # Only the volatility and regime of the model are read; the listing's ref price does not enter them.
        model = self.market.config.model(Listing(underlying, stock.tick, stock.lot, spot))
        regime = self._regimes.get(underlying, model.regime)
        vol = model.volatility * (VOLATILE_VOL_MULTIPLE if regime is Regime.VOLATILE else 1.0)
        return FairInputs(spot=spot, surface=surface_for(vol), day=self.market.day)

    def _decline(self, view: DealerView, declined: _Declined, wall: int) -> None:
        request = view.request
        log.info("%s declines %s: %s %s", request.dealer, request.quote_req_id, declined.reason, declined.text)
        reject = QuoteRequestReject(
            quote_req_id=request.quote_req_id,
            dealer=request.dealer,
            reason=declined.reason.value,
            text=declined.text,
            transact_time_ns=wall,
        )
        self._due(self.market.now, message=_wire("AG", reject))

    def _hit(self, response: QuoteResponse) -> None:
        """Take our hit on a quote: check it now, run the last look after the dealer's pause (``advance``)."""
        seen = self._hits.get(response.quote_resp_id)
        if seen is not None:
            if seen.report is None:
                log.info("hit %s redelivered; its last look is pending", response.quote_resp_id)
            else:
                log.info("hit %s redelivered; answering it again", response.quote_resp_id)
                self._due(self.market.now, message=seen.report)
            return
        wall = self._wall_ns()
        hit = _Hit(response, wall)
        self._hits[response.quote_resp_id] = hit
        quoted = self._quotes.get(response.quote_id)
        problem = _hit_problem(response, quoted)
        if problem or quoted is None:
            hit.report = self._rejected(response, problem, wall)
            self._due(self.market.now, message=hit.report)
            return
        quoted.hit_by = response.quote_resp_id
        dealer = self._dealers[quoted.dealer_quote.dealer]
        pause_ns = round(dealer.profile.latency_ms * LAST_LOOK_LATENCY_SHARE * _NS_PER_MS)
        hit.at_epoch_ns = wall + pause_ns
        self._due(self.market.now + pause_ns, hit=response.quote_resp_id)

    def _status(self, report: QuoteStatusReport) -> None:
        """Log a quote's outcome; once it is terminal and no hit on it is pending, forget the quote."""
        log.info(
            "quote %s of %s on %s: %s %s", report.quote_id, report.dealer, report.quote_req_id, report.quote_status, report.text
        )
        quoted = self._quotes.get(report.quote_id)
        if quoted is None or not report.quote_status.is_terminal:
            return
        pending = quoted.hit_by and self._hits[quoted.hit_by].report is None
        if not pending:
            del self._quotes[report.quote_id]

    # --- the wire, out ------------------------------------------------

    def advance(self, now_ns: int) -> list[WireMessage]:
        """Return the messages due by ``now_ns`` (the market's time now, on ``market.day``), in order.

        Last looks due run now, at ``now_ns`` against the market's fair value
        now. Anything left from an earlier trading day is due at once.
        """
        today = self.market.day.toordinal()
        out: list[WireMessage] = []
        while self._schedule and (self._schedule[0].day, self._schedule[0].at_ns) <= (today, now_ns):
            due = heapq.heappop(self._schedule)
            out.append(due.message if due.message is not None else self._last_look(due.hit, now_ns))
        self._prune()
        return out

    def next_due_ns(self) -> int | None:
        """Return when the next message is due, in market ns on ``market.day`` (None: nothing owed).

        Something owed from an earlier day is due now (``market.now``).
        """
        if not self._schedule:
            return None
        first = self._schedule[0]
        return first.at_ns if first.day >= self.market.day.toordinal() else self.market.now

    def _last_look(self, quote_resp_id: str, now_ns: int) -> WireMessage:
        """Run the dealer's last look on a pending hit and return its report; the answer is kept for redeliveries."""
        hit = self._hits[quote_resp_id]
        response = hit.response
        quoted = self._quotes[response.quote_id]
        dealer_quote = quoted.dealer_quote
        dealer = self._dealers[dealer_quote.dealer]
        instrument = dealer_quote.request.instrument
        leg_px: tuple[Decimal, ...] = ()
        try:
            if quoted.day != self.market.day:
                # The market rolled to a new day (its clock restarted): no dealer honours the last session's price.
                raise ValueError(f"{LastLookReason.EXPIRED.value}: the quote's session has closed")
            if quoted.legs and isinstance(instrument, Package):  # a request with legs is always a package
                # Split before the last look books anything: a price that cannot be split is refused, not traded.
                leg_px = split_package_px(instrument, response.price, dealer_quote.fair_leg_px)
            fair = self._fair(_underlying(instrument))
            look = dealer.last_look(dealer_quote, fair, now_ns, side=response.side, qty=response.order_qty)
        except (ValueError, _Declined) as exc:
            hit.report = self._rejected(response, str(exc), hit.at_epoch_ns)
            return hit.report
        if not look.accepted:
            reason = look.reason.value if look.reason is not None else "rejected"
            hit.report = self._rejected(response, reason, hit.at_epoch_ns)
            return hit.report
        report = LastLookReport(
            quote_resp_id=response.quote_resp_id,
            quote_req_id=response.quote_req_id,
            quote_id=response.quote_id,
            dealer=dealer.code,
            accepted=True,
            last_qty=look.qty,
            last_px=look.px,
            exec_id=f"{dealer.code}-{self._session}-E{next(self._exec_ids)}",
            leg_px=" ".join(format(px, "f") for px in leg_px),
            transact_time_ns=hit.at_epoch_ns,
        )
        hit.report = _wire("8", report)
        return hit.report

    def _rejected(self, response: QuoteResponse, text: str, at_epoch_ns: int) -> WireMessage:
        """Return a last-look reject of ``response``: nothing traded (quantity and price 0), ``text`` says why."""
        report = LastLookReport(
            quote_resp_id=response.quote_resp_id,
            quote_req_id=response.quote_req_id,
            quote_id=response.quote_id,
            dealer=response.dealer,
            accepted=False,
            last_qty=ZERO,
            last_px=ZERO,
            text=text,
            transact_time_ns=at_epoch_ns,
        )
        return _wire("8", report)

    # --- internals ----------------------------------------------------

    def _due(self, at_ns: int, *, message: WireMessage | None = None, hit: str = "") -> None:
        heapq.heappush(self._schedule, _Due(self.market.day.toordinal(), at_ns, next(self._seq), message, hit))

    def _prune(self) -> None:
        """Forget requests, quotes and answered hits ``RETAIN_NS`` past their end (at most every 10 s)."""
        wall = self._wall_ns()
        if wall < self._next_prune_ns:
            return
        self._next_prune_ns = wall + _PRUNE_EVERY_NS
        horizon = wall - RETAIN_NS
        self._requests = {key: until for key, until in self._requests.items() if until > horizon}
        pending = {hit.response.quote_id for hit in self._hits.values() if hit.report is None}
        self._quotes = {
            quote_id: quoted
            for quote_id, quoted in self._quotes.items()
            if quoted.message.valid_until_ns > horizon or quote_id in pending
        }
        self._hits = {key: hit for key, hit in self._hits.items() if hit.report is None or hit.at_epoch_ns > horizon}


def _hit_problem(response: QuoteResponse, quoted: _Quoted | None) -> str:
    """Return why a hit cannot go to last look (the first rule it breaks), or "" if it can."""
    if quoted is None:
        return f"unknown quote {response.quote_id!r}"
    quote = quoted.message
    px = quote.offer_px if response.side is Side.BUY else quote.bid_px
    rules = (
        (response.dealer != quote.dealer, f"quote {quote.quote_id} is {quote.dealer}'s, not {response.dealer}'s"),
        (response.quote_req_id != quote.quote_req_id, f"quote {quote.quote_id} is for request {quote.quote_req_id}"),
        (bool(quoted.hit_by), f"quote {quote.quote_id} was already hit ({quoted.hit_by})"),
        (px is None, f"quote {quote.quote_id} has no price for a {response.side.lower()}"),
        (px is not None and response.price != px, f"invalid `price`, was {response.price}: quoted {px}"),
    )
    return next((why for broken, why in rules if broken), "")


def _underlying(instrument: Quotable) -> str:
    return instrument.symbol if isinstance(instrument, StockSpec) else instrument.underlying


def _legs(raw: str) -> list[dict[str, str]]:
    """Decode the request's ``legs`` field: a JSON list of flat string dicts (``QuoteRequestLeg.to_wire``)."""
    try:
        legs = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid `legs`, was {raw!r}: not JSON") from exc
    if not isinstance(legs, list) or not all(
        isinstance(leg, dict) and all(isinstance(value, str) for value in leg.values()) for leg in legs
    ):
        raise ValueError(f"invalid `legs`, was {raw!r}: expected a list of flat string objects")
    return legs


def _wire(msg_type: str, message: Quote | QuoteRequestReject | LastLookReport) -> WireMessage:
    return {**message.to_wire(), "msg_type": msg_type}
