"""The dealer desk: simulated RFQ dealers answering wire requests and hits on the market's clock, in epoch time."""

import json
import time
import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from config.redis import redis_client
from trading.enums import AssetClass, PutCall, Side
from trading.numbers import round_to
from trading.rfq import (
    DealerView,
    LastLookReport,
    Quote,
    QuoteRequest,
    QuoteRequestLeg,
    QuoteRequestReject,
    QuoteResponse,
    QuoteState,
    QuoteStatusReport,
)
from venues.dealer_desk import DealerDesk, DealerVenue, DeskRefdata, Terms, WireMessage, dealer_profile
from venues.gateway import GROUP, Gateway
from venues.selectors import desk_refdata_read, listings_read
from venues.sim.background import rng_for
from venues.sim.dealers import DEMO_PROFILES, DealerProfile, SimDealer
from venues.sim.dealers import QuoteRequest as SimQuoteRequest
from venues.sim.lit import Listing
from venues.sim.market import MarketConfig, SimMarket
from venues.sim.options import FairInputs, Leg, OptionSpec, Package, StockSpec, net_px, single_option, surface_for

D = Decimal
BUY = Side.BUY
SELL = Side.SELL
MS = 1_000_000
DAY = date(2026, 11, 23)
EXPIRY = date(2026, 12, 18)
EPOCH_AT_MIDNIGHT = 1_795_392_000_000_000_000  # the tests' wall clock: epoch ns of DAY's midnight, following the market
SESSION = "20261123093000000000"

ACME = StockSpec("ACME", D("0.01"), D(1))
CALL_100 = OptionSpec("ACME", D(100), EXPIRY, PutCall.CALL, D(100), D("0.05"))
CALL_105 = OptionSpec("ACME", D(105), EXPIRY, PutCall.CALL, D(100), D("0.05"))
OLD_CALL = OptionSpec("ACME", D(100), date(2026, 11, 20), PutCall.CALL, D(100), D("0.05"))
INSTRUMENTS: dict[str, Terms] = {
    "ACME": ACME,
    CALL_100.symbol: CALL_100,
    CALL_105.symbol: CALL_105,
    OLD_CALL.symbol: OLD_CALL,
}
# A plain dealer: exactly 100 ms to quote, always answers, never walks away but on expiry or a big move.
PLAIN = DealerProfile(
    code="DLR-T",
    name="Test Dealer",
    latency_ms=100.0,
    latency_jitter_ms=0.0,
    no_answer_prob=0.0,
    last_look_reject_prob=0.0,
    last_look_tolerance=10.0,
    quote_lifetime_ms=2_000.0,
)
EQUITY_ONLY = replace(PLAIN, code="DLR-EQ", covers=frozenset({AssetClass.EQUITY}))
SILENT = replace(PLAIN, code="DLR-Z", no_answer_prob=1.0)
PROFILES = {p.code: p for p in (PLAIN, EQUITY_ONLY, SILENT)}


@dataclass
class World:
    """A market (no background traders: fair value alone moves) and a desk, with the wall clock tied to the market."""

    market: SimMarket
    desk: DealerDesk

    def wall(self) -> int:
        return EPOCH_AT_MIDNIGHT + self.market.now

    def after(self, ms: float) -> list[WireMessage]:
        """Run the market ``ms`` on and return what the desk owes by then."""
        self.market.run_until(self.market.now + round(ms * MS))
        return self.desk.advance(self.market.now)

    def request(
        self,
        quote_req_id: str = "RQ1",
        *,
        dealer: str = "DLR-T",
        symbol: str = "ACME",
        qty: str = "10000",
        side: Side | None = None,
        legs: tuple[QuoteRequestLeg, ...] = (),
        window_ms: int = 10_000,
    ) -> dict[str, str]:
        """Return a QuoteRequest as the EMS puts it on the stream: the wire dict, its legs as JSON, msg_type R."""
        view = DealerView(
            QuoteRequest(
                quote_req_id=quote_req_id,
                dealer=dealer,
                symbol=symbol,
                side=side,
                order_qty=D(qty),
                valid_until_ns=self.wall() + window_ms * MS,
                transact_time_ns=self.wall(),
                no_legs=len(legs),
                dealers_in_competition=3,
            ),
            legs,
        )
        fields, leg_fields = view.to_wire()
        return {**fields, "legs": json.dumps(leg_fields), "msg_type": "R"}

    def hit(self, quote: Quote, side: Side, *, quote_resp_id: str = "QR1", qty: Decimal | None = None) -> dict[str, str]:
        """Return our hit (BUY lifts the offer, SELL hits the bid) of ``quote`` as a stream message, msg_type AJ."""
        price = quote.offer_px if side is BUY else quote.bid_px
        assert price is not None
        size = quote.offer_size if side is BUY else quote.bid_size
        response = QuoteResponse(
            quote_resp_id=quote_resp_id,
            quote_req_id=quote.quote_req_id,
            quote_id=quote.quote_id,
            dealer=quote.dealer,
            symbol=quote.symbol,
            side=side,
            order_qty=size if qty is None else qty,
            price=price,
            transact_time_ns=self.wall(),
        )
        return {**response.to_wire(), "msg_type": "AJ"}

    def spot(self) -> Decimal:
        return round_to(Decimal(repr(self.market.fair_value("ACME"))), D("0.01"))


def world(seed: int = 7, *, profiles: dict[str, DealerProfile] | None = None, codes: tuple[str, ...] = ()) -> World:
    market = SimMarket(
        config=MarketConfig(seed=seed, background=False),
        venues=[],
        listings=[Listing("ACME", D("0.01"), D(1), D("101.50"))],
        day=DAY,
        session=SESSION,
    )
    profiles = PROFILES if profiles is None else profiles
    dealers = tuple(DealerVenue(code) for code in (codes or tuple(profiles)))
    desk = DealerDesk(
        market=market,
        refdata=DeskRefdata(dealers=dealers, instruments=INSTRUMENTS),
        session=SESSION,
        wall_ns=lambda: EPOCH_AT_MIDNIGHT + market.now,
        profiles=profiles,
    )
    return World(market, desk)


def only(messages: list[WireMessage], msg_type: str) -> WireMessage:
    assert [m["msg_type"] for m in messages] == [msg_type], messages
    return messages[0]


def quote_of(messages: list[WireMessage]) -> Quote:
    return Quote.from_wire({k: v for k, v in only(messages, "S").items() if k != "msg_type"})


def reject_of(messages: list[WireMessage]) -> QuoteRequestReject:
    return QuoteRequestReject.from_wire({k: v for k, v in only(messages, "AG").items() if k != "msg_type"})


def report_of(messages: list[WireMessage]) -> LastLookReport:
    return LastLookReport.from_wire({k: v for k, v in only(messages, "8").items() if k != "msg_type"})


def vertical_legs(hedge_shares: int = 30) -> tuple[QuoteRequestLeg, ...]:
    """A 100/105 call spread bought, delta-hedged by selling ``hedge_shares`` shares per spread."""
    return (
        QuoteRequestLeg(CALL_100.symbol, BUY, D(1)),
        QuoteRequestLeg(CALL_105.symbol, SELL, D(1)),
        QuoteRequestLeg("ACME", SELL, D(hedge_shares)),
    )


VERTICAL = Package((Leg(CALL_100, BUY), Leg(CALL_105, SELL), Leg(ACME, SELL, 30)))


# --- quotes --------------------------------------------------------------------------


def test_a_request_is_quoted_after_the_dealers_latency_with_its_ids_and_epoch_times() -> None:
    # given a two-way request for 10,000 ACME at the open
    w = world()
    asked_at = w.market.now
    spot = w.spot()
    twin = SimDealer(PLAIN, rng_for(7, "DLR-T"))  # the same dealer, asked directly
    expected = twin.quote(
        SimQuoteRequest("RQ1", ACME, D(10_000)), FairInputs(spot=spot, surface=surface_for(0.25), day=DAY), asked_at
    )
    assert expected is not None

    # when the desk takes it
    w.desk.handle(w.request())

    # then nothing leaves before the dealer's 100 ms latency, and the desk says when it is due
    assert w.desk.next_due_ns() == asked_at + 100 * MS
    assert w.after(99.999) == []
    # and at 100 ms the quote leaves: ids, prices on the tick around fair value, epoch times
    quote = quote_of(w.after(0.001))
    assert quote == Quote(
        quote_id=f"DLR-T-{SESSION}-Q1",
        quote_req_id="RQ1",
        dealer="DLR-T",
        symbol="ACME",
        bid_px=expected.bid_px,
        offer_px=expected.offer_px,
        bid_size=D(10_000),
        offer_size=D(10_000),
        valid_until_ns=EPOCH_AT_MIDNIGHT + asked_at + 2_100 * MS,
        transact_time_ns=EPOCH_AT_MIDNIGHT + asked_at + 100 * MS,
    )
    assert quote.bid_px is not None
    assert quote.offer_px is not None
    assert quote.bid_px < spot < quote.offer_px
    assert quote.bid_px % D("0.01") == 0
    assert quote.offer_px % D("0.01") == 0
    assert w.desk.next_due_ns() is None


def test_a_one_sided_request_gets_only_the_price_the_client_needs() -> None:
    # given a buyer and a seller asking for ACME
    w = world()
    w.desk.handle(w.request("RQ-B", side=BUY))
    w.desk.handle(w.request("RQ-S", side=SELL))

    # when the dealer answers
    messages = w.after(100)

    # then the buyer gets an offer only and the seller a bid only
    buyer, seller = (Quote.from_wire({k: v for k, v in m.items() if k != "msg_type"}) for m in messages)
    assert (buyer.quote_req_id, buyer.bid_px, buyer.bid_size, buyer.offer_size) == ("RQ-B", None, D(0), D(10_000))
    assert buyer.offer_px is not None
    assert (seller.quote_req_id, seller.offer_px, seller.offer_size, seller.bid_size) == ("RQ-S", None, D(0), D(10_000))
    assert seller.bid_px is not None
    assert buyer.quote_id != seller.quote_id


def test_a_single_option_is_quoted_on_its_tick_in_contracts() -> None:
    # given a two-way request for 50 ACME Dec 100 calls
    w = world()
    w.desk.handle(w.request(symbol=CALL_100.symbol, qty="50"))

    # when the dealer answers
    quote = quote_of(w.after(100))

    # then both sides are on the option's 0.05 tick, for 50 contracts, around the model price
    assert quote.symbol == CALL_100.symbol
    assert quote.bid_px is not None
    assert quote.offer_px is not None
    assert quote.bid_px % D("0.05") == 0
    assert quote.offer_px % D("0.05") == 0
    assert D(0) < quote.bid_px < quote.offer_px
    assert (quote.bid_size, quote.offer_size) == (D(50), D(50))
    assert w.desk.dealers["DLR-T"].position(single_option(CALL_100)) == 0


def test_a_delta_hedged_vertical_is_quoted_and_a_lift_prints_leg_prices_that_make_the_price_exactly() -> None:
    # given a two-way request for 10 delta-hedged call spreads, quoted
    w = world()
    spot_at_quote = w.spot()
    w.desk.handle(w.request(symbol="ACME-VERT", qty="10", legs=vertical_legs()))
    quote = quote_of(w.after(100))
    assert quote.bid_px is not None
    assert quote.offer_px is not None
    assert quote.bid_px < quote.offer_px

    # when we lift the offer
    w.desk.handle(w.hit(quote, BUY))

    # then after the dealer's last-look pause (half its latency) it fills all of it
    assert w.after(49.999) == []
    report = report_of(w.after(0.001))
    assert (report.accepted, report.last_qty, report.last_px, report.text) == (True, D(10), quote.offer_px, "")
    assert report.exec_id == f"DLR-T-{SESSION}-E1"
    assert (report.quote_resp_id, report.quote_id, report.quote_req_id, report.dealer) == ("QR1", quote.quote_id, "RQ1", "DLR-T")
    # and the leg prices, in leg order, make the package price exactly; the stock prints at its tie
    legs = report.leg_prices
    assert net_px(VERTICAL, legs) == report.last_px
    assert legs[2] == spot_at_quote
    assert legs[0] % D("0.05") == 0
    assert legs[1] % D("0.05") == 0
    # and the dealer sold 10 spreads
    assert w.desk.dealers["DLR-T"].position(VERTICAL) == D(-10)


def test_hitting_a_packages_bid_prints_the_packages_legs_at_prices_that_make_the_bid() -> None:
    # given the same package quoted two-way
    w = world()
    w.desk.handle(w.request(symbol="ACME-VERT", qty="10", legs=vertical_legs()))
    quote = quote_of(w.after(100))

    # when we sell it on the bid
    w.desk.handle(w.hit(quote, SELL))
    report = report_of(w.after(50))

    # then the legs are the package's as quoted (sold, each reversed) and net exactly to the bid
    assert (report.accepted, report.last_qty, report.last_px) == (True, D(10), quote.bid_px)
    assert net_px(VERTICAL, report.leg_prices) == quote.bid_px
    assert w.desk.dealers["DLR-T"].position(VERTICAL) == D(10)


def test_a_silent_dealer_sends_nothing() -> None:
    w = world()
    w.desk.handle(w.request(dealer="DLR-Z"))
    assert w.desk.next_due_ns() is None
    assert w.after(10_000) == []


# --- last look -----------------------------------------------------------------------


def test_a_hit_after_the_quote_expired_is_rejected_and_nothing_trades() -> None:
    # given a quote living 2 s from its arrival
    w = world()
    w.desk.handle(w.request(side=BUY))
    quote = quote_of(w.after(100))

    # when we lift it 2 s later, as it expires
    w.after(2_000)
    w.desk.handle(w.hit(quote, BUY))
    report = report_of(w.after(50))

    # then the dealer walks away: nothing traded, the reason said
    assert (report.accepted, report.last_qty, report.last_px, report.exec_id, report.leg_px) == (False, D(0), D(0), "", "")
    assert report.text == "EXPIRED"
    assert w.desk.dealers["DLR-T"].position(ACME) == 0


def test_a_hit_on_an_unknown_quote_or_off_the_quoted_price_is_rejected_at_once() -> None:
    # given a live quote
    w = world()
    w.desk.handle(w.request())
    quote = quote_of(w.after(100))

    # when we hit a quote id the dealer never gave, and lift the real one a cent above its offer
    w.desk.handle(w.hit(replace(quote, quote_id="NOPE"), BUY, quote_resp_id="QR-X"))
    assert quote.offer_px is not None
    w.desk.handle(w.hit(replace(quote, offer_px=quote.offer_px + D("0.01")), BUY, quote_resp_id="QR-Y"))

    # then both are rejected at once, saying why, and nothing traded
    unknown, off_price = (LastLookReport.from_wire({k: v for k, v in m.items() if k != "msg_type"}) for m in w.after(0))
    assert (unknown.accepted, unknown.text) == (False, "unknown quote 'NOPE'")
    assert (off_price.accepted, off_price.text) == (
        False,
        f"invalid `price`, was {quote.offer_px + D('0.01')}: quoted {quote.offer_px}",
    )
    assert w.desk.dealers["DLR-T"].position(ACME) == 0


def test_a_quote_trades_once_a_second_hit_is_rejected() -> None:
    w = world()
    w.desk.handle(w.request())
    quote = quote_of(w.after(100))
    w.desk.handle(w.hit(quote, BUY, quote_resp_id="QR1"))
    w.desk.handle(w.hit(quote, SELL, quote_resp_id="QR2"))

    second = report_of(w.after(0))
    first = report_of(w.after(50))

    assert (second.quote_resp_id, second.accepted, second.text) == ("QR2", False, f"quote {quote.quote_id} was already hit (QR1)")
    assert (first.quote_resp_id, first.accepted) == ("QR1", True)
    assert w.desk.dealers["DLR-T"].position(ACME) == D(-10_000)


def test_a_quote_from_the_last_session_is_not_honoured_after_the_market_rolls_to_the_next_day() -> None:
    # given a request just before the roll
    w = world()
    w.desk.handle(w.request(window_ms=1_000_000))

    # when the market rolls to the next day before the quote was due
    w.market.next_day(DAY + timedelta(days=1))

    # then the quote is due at once; and a hit on it is rejected as expired
    assert w.desk.next_due_ns() == w.market.now
    quote = quote_of(w.desk.advance(w.market.now))
    w.desk.handle(w.hit(quote, BUY))
    report = report_of(w.after(50))
    assert (report.accepted, report.text) == (False, "EXPIRED: the quote's session has closed")
    assert w.desk.dealers["DLR-T"].position(ACME) == 0


# --- declines ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason", "text"),
    [
        ({"dealer": "DLR-XX"}, "UNKNOWN_DEALER", "unknown or inactive dealer 'DLR-XX'"),
        ({"symbol": "NOPE"}, "UNKNOWN_SYMBOL", "unknown symbol 'NOPE'"),
        (
            {
                "symbol": "ACME-VERT",
                "qty": "10",
                "legs": (QuoteRequestLeg(CALL_100.symbol, BUY, D(1)), QuoteRequestLeg("X", SELL, D(1))),
            },
            "UNKNOWN_SYMBOL",
            "unknown symbol 'X'",
        ),
        ({"symbol": OLD_CALL.symbol, "qty": "5"}, "EXPIRED_INSTRUMENT", f"{OLD_CALL.symbol} expired at the close of 2026-11-20"),
        ({"symbol": CALL_100.symbol, "qty": "5", "dealer": "DLR-EQ"}, "UNSUPPORTED_ASSET_CLASS", "DLR-EQ does not quote option"),
        ({"qty": "10.5"}, "INVALID_REQUEST", "invalid `qty`, was 10.5: not a multiple of the lot 1"),
        (
            {"symbol": "ACME-VERT", "qty": "10", "legs": (QuoteRequestLeg(CALL_100.symbol, BUY, D("1.5")),)},
            "INVALID_REQUEST",
            f"invalid `leg_ratio_qty`, was 1.5 for {CALL_100.symbol}: whole units, at least 1",
        ),
        ({"window_ms": 0}, "TOO_LATE", None),
    ],
)
def test_a_request_the_dealer_cannot_quote_is_declined_at_once_saying_why(
    changes: dict[str, object], reason: str, text: str | None
) -> None:
    # given a request the dealer cannot quote
    w = world()
    fields = w.request(**changes)  # type: ignore[arg-type]

    # when the desk takes it
    w.desk.handle(fields)

    # then the decline leaves at once, with the reason and a clear text
    assert w.desk.next_due_ns() == w.market.now
    reject = reject_of(w.desk.advance(w.market.now))
    assert (reject.quote_req_id, reject.dealer, reject.reason) == ("RQ1", fields["dealer"], reason)
    assert reject.text == (text if text is not None else f"the response window ended at {fields['valid_until_ns']}")
    assert reject.transact_time_ns == w.wall()
    assert w.after(10_000) == []


def test_a_malformed_message_raises_for_the_gateway_to_drop() -> None:
    w = world()
    fields = w.request(legs=vertical_legs())
    with pytest.raises(ValueError, match="invalid `no_legs`, was 3 with 0 legs"):
        w.desk.handle({**fields, "legs": "[]"})
    with pytest.raises(ValueError, match="invalid `legs`"):
        w.desk.handle({**fields, "legs": "{not json"})
    with pytest.raises(ValueError, match="invalid `msg_type`, was 'D'"):
        w.desk.handle({**fields, "msg_type": "D"})
    with pytest.raises(ValueError, match="missing field `quote_resp_id`"):
        w.desk.handle({"msg_type": "AJ"})
    assert w.after(10_000) == []


# --- the wire is at least once -------------------------------------------------------


def test_a_redelivered_request_is_quoted_once() -> None:
    w = world()
    fields = w.request()
    w.desk.handle(fields)
    w.after(50)
    w.desk.handle(fields)

    messages = w.after(10_000)

    assert [m["msg_type"] for m in messages] == ["S"]


def test_a_redelivered_hit_gets_the_same_answer_and_never_trades_twice() -> None:
    # given a quote lifted, the hit delivered twice while the last look is pending
    w = world()
    w.desk.handle(w.request())
    quote = quote_of(w.after(100))
    hit = w.hit(quote, BUY)
    w.desk.handle(hit)
    w.desk.handle(hit)
    first = only(w.after(50), "8")

    # when it is delivered again after the answer
    w.desk.handle(hit)
    again = only(w.after(0), "8")

    # then the answer is the same, trade id and all, and the dealer sold once
    assert again == first
    assert first["accepted"] == "1"
    assert w.desk.dealers["DLR-T"].position(ACME) == D(-10_000)
    assert w.after(10_000) == []


def test_a_terminal_status_report_lets_the_dealer_forget_the_quote() -> None:
    # given a quote the client passed on
    w = world()
    w.desk.handle(w.request())
    quote = quote_of(w.after(100))
    status = QuoteStatusReport(
        quote_req_id="RQ1",
        quote_id=quote.quote_id,
        dealer="DLR-T",
        quote_status=QuoteState.PASSED,
        text="no trade: cancelled",
        transact_time_ns=w.wall(),
    )

    # when its outcome arrives
    w.desk.handle({**status.to_wire(), "msg_type": "AI"})

    # then nothing is sent, and a later hit finds no quote
    assert w.after(0) == []
    w.desk.handle(w.hit(quote, BUY))
    assert report_of(w.after(0)).text == f"unknown quote {quote.quote_id!r}"


def test_the_desk_is_deterministic_for_a_seed() -> None:
    def run(seed: int) -> list[WireMessage]:
        w = world(seed, profiles={}, codes=tuple(p.code for p in DEMO_PROFILES))  # the demo dealers, silences and all
        out: list[WireMessage] = []
        for i in range(20):
            for profile in DEMO_PROFILES:
                symbol, qty = ("ACME", "20000") if i % 2 else (CALL_100.symbol, "20")
                w.desk.handle(w.request(f"RQ{i}", dealer=profile.code, symbol=symbol, qty=qty))
            out += w.after(300)
            for m in list(out):
                if m["msg_type"] == "S" and m["quote_req_id"] == f"RQ{i}":
                    out_quote = Quote.from_wire({k: v for k, v in m.items() if k != "msg_type"})
                    w.desk.handle(w.hit(out_quote, BUY, quote_resp_id=f"QR-{out_quote.quote_id}"))
            out += w.after(700)
        return out

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    assert {m["msg_type"] for m in first} >= {"S", "8", "AG"}  # DLR-OC declines the options, DLR-SL the blocks


# --- profiles and reference data -----------------------------------------------------


def test_a_dealer_venue_takes_its_demo_profile_or_a_default_at_its_latency_and_admins_covers() -> None:
    kestrel = next(p for p in DEMO_PROFILES if p.code == "DLR-KF")
    assert dealer_profile(DealerVenue("DLR-KF", "Kestrel Flow Trading", 80)) == kestrel
    new = dealer_profile(DealerVenue("DLR-NEW", "New Dealer", 40, frozenset({AssetClass.OPTION})))
    assert (new.code, new.name, new.latency_ms, new.latency_jitter_ms, new.covers) == (
        "DLR-NEW",
        "New Dealer",
        40.0,
        8.0,
        frozenset({AssetClass.OPTION}),
    )
    assert dealer_profile(DealerVenue("DLR-OC", covers=frozenset(AssetClass))).covers == frozenset(AssetClass)


def test_the_desk_reads_the_demo_dealers_and_instruments_and_quotes_an_option(demo: None) -> None:
    # given the demo's reference data as the gateway reads it
    refdata = desk_refdata_read()

    # then it holds the five dealers, each instrument's terms, and no package (a package is asked for by its legs)
    assert [d.code for d in refdata.dealers] == sorted(p.code for p in DEMO_PROFILES)
    assert refdata.dealers[0] == DealerVenue("DLR-HM", "Harbor Markets", 120, frozenset(AssetClass))
    assert next(d for d in refdata.dealers if d.code == "DLR-SL").covers == frozenset({AssetClass.OPTION})
    assert refdata.instruments["ACME"] == StockSpec("ACME", D("0.01"), D(1))
    assert refdata.instruments["INITK"] == StockSpec("INITK", D("0.01"), D(100))
    options = {symbol: terms for symbol, terms in refdata.instruments.items() if isinstance(terms, OptionSpec)}
    assert len(options) == 8
    symbol, call = next((s, t) for s, t in options.items() if (t.put_call, t.strike) == (PutCall.CALL, D(100)))
    assert call == OptionSpec("ACME", D(100), call.expiry, PutCall.CALL, D(100), D("0.05"))
    assert symbol == call.symbol
    assert str(call.tick) == "0.05"  # no database zeros: prices print as the tick does
    assert not any("VERT" in s for s in refdata.instruments)

    # when a desk on a market of the demo's listings is asked for the call, four weeks before it expires
    day = call.expiry - timedelta(days=28)
    market = SimMarket(config=MarketConfig(seed=7, background=False), venues=[], listings=listings_read(), day=day)
    desk = DealerDesk(market=market, refdata=refdata, session=SESSION, wall_ns=lambda: EPOCH_AT_MIDNIGHT + market.now)
    w = World(market, desk)
    w.desk.handle(w.request(dealer="DLR-KF", symbol=symbol, qty="20"))

    # then the Kestrel dealer quotes it after its latency (80 ms +- 10)
    messages = w.after(100)
    quote = quote_of(messages)
    assert (quote.dealer, quote.symbol, quote.bid_size) == ("DLR-KF", symbol, D(20))
    assert "." in messages[0]["bid_px"]
    assert "E" not in messages[0]["bid_px"]


# --- through the gateway and a real Redis stream ---------------------------------------


def test_the_gateway_carries_a_request_and_a_hit_over_the_stream_and_wakes_for_a_due_quote() -> None:
    # given a gateway on its own stream with the desk, running on the real clocks
    client = redis_client()
    stream = f"test:gateway:{uuid.uuid4().hex}"
    market = SimMarket(
        config=MarketConfig(seed=7, background=False),
        venues=[],
        listings=[Listing("ACME", D("0.01"), D(1), D("101.50"))],
        day=DAY,
    )
    desk = DealerDesk(market=market, refdata=DeskRefdata((DealerVenue("DLR-T"),), INSTRUMENTS), session=SESSION, profiles=PROFILES)
    sent: list[WireMessage] = []
    gateway = Gateway(
        client=client, stream=stream, market=market, send_reports=lambda _: None, session=SESSION, desk=desk, send_rfq=sent.extend
    )
    gateway.setup()
    now = time.time_ns()
    request = DealerView(QuoteRequest("RQ1", "DLR-T", "ACME", BUY, D(500), now + 10_000 * MS, now))
    fields, _ = request.to_wire()
    try:
        # when the EMS puts a request and a malformed one on the stream
        client.xadd(stream, {**fields, "legs": "[]", "msg_type": "R"})
        client.xadd(stream, {"msg_type": "R", "quote_req_id": "RQ2"})
        assert gateway.poll(block_ms=100) == 2

        # then the next read blocks only until the quote is due (100 ms), not for the 5 s asked
        started = time.monotonic()
        while not sent and time.monotonic() - started < 5:
            gateway.poll(block_ms=5_000)
            gateway.advance()
        assert time.monotonic() - started < 1.0
        quote = quote_of(sent)
        assert (quote.quote_req_id, quote.dealer, quote.bid_px, quote.offer_size) == ("RQ1", "DLR-T", None, D(500))
        assert now < quote.transact_time_ns < quote.valid_until_ns

        # when we lift it over the stream
        sent.clear()
        response = QuoteResponse("QR1", "RQ1", quote.quote_id, "DLR-T", "ACME", BUY, D(500), quote.offer_px or D(0), time.time_ns())
        client.xadd(stream, {**response.to_wire(), "msg_type": "AJ"})
        started = time.monotonic()
        while not sent and time.monotonic() - started < 5:
            gateway.poll(block_ms=5_000)
            gateway.advance()

        # then the dealer's last look fills it, and every message was acknowledged (the malformed one dropped)
        report = report_of(sent)
        assert (report.accepted, report.last_qty, report.last_px) == (True, D(500), quote.offer_px)
        assert client.xpending(stream, GROUP)["pending"] == 0
    finally:
        client.delete(stream)
