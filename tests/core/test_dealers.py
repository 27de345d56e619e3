"""Simulated RFQ dealers: quotes from fair value, widening, inventory skew, silence, last look, determinism."""

import random
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from trading.enums import AssetClass, PutCall, Side
from venues.sim.dealers import (
    DEMO_PROFILES,
    DealerProfile,
    DealerQuote,
    LastLookReason,
    QuoteRequest,
    SimDealer,
    demo_dealers,
)
from venues.sim.options import (
    FairInputs,
    Leg,
    OptionSpec,
    Package,
    StockSpec,
    VolSurface,
    net_px,
    package_grid,
    price_package,
    single_option,
    split_package_px,
    straddle,
    vertical,
    with_delta_hedge,
)

D = Decimal
BUY = Side.BUY
SELL = Side.SELL
MS = 1_000_000
NOON = 12 * 3600 * 1_000_000_000
DAY = date(2026, 1, 5)
EXPIRY = date(2026, 6, 19)
ACME = StockSpec("ACME")
FAIR = FairInputs(spot=D(100), surface=VolSurface.flat(0.25), day=DAY)


def profile(**changes: object) -> DealerProfile:
    """Return a plain dealer: 10 bps or 1 vol point each side, no widening or skew, 50 ms, always answers."""
    base = DealerProfile(
        code="DLR-T",
        half_spread_bps=10.0,
        half_spread_vol_points=1.0,
        size_widening=0.0,
        vega_widening=0.0,
        vol_widening=0.0,
        inventory_skew=0.0,
        latency_ms=50.0,
        latency_jitter_ms=0.0,
        no_answer_prob=0.0,
        last_look_reject_prob=0.0,
        quote_lifetime_ms=1_000.0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def dealer(seed: int = 1, **changes: object) -> SimDealer:
    return SimDealer(profile(**changes), random.Random(seed))


def block(qty: int = 10_000, side: Side | None = None, quote_req_id: str = "R1") -> QuoteRequest:
    return QuoteRequest(quote_req_id, ACME, D(qty), side)


def call(strike: int = 100, expiry: date = EXPIRY) -> Package:
    return single_option(OptionSpec("ACME", D(strike), expiry, PutCall.CALL))


def quote_of(dealer_: SimDealer, request: QuoteRequest, fair: FairInputs = FAIR, now_ns: int = NOON) -> DealerQuote:
    quote = dealer_.quote(request, fair, now_ns)
    assert quote is not None
    return quote


def width(quote: DealerQuote) -> Decimal:
    assert quote.bid_px is not None
    assert quote.offer_px is not None
    return quote.offer_px - quote.bid_px


def moved(spot: str) -> FairInputs:
    return replace(FAIR, spot=D(spot))


# --- quoting ------------------------------------------------------------


def test_a_block_quote_centres_on_the_mid_and_lives_for_its_lifetime() -> None:
    # given a 10 bps dealer, 50 ms away, quotes good for a second
    dealer_ = dealer()
    # when
    quote = quote_of(dealer_, block())
    # then
    assert (quote.bid_px, quote.offer_px, quote.qty) == (D("99.90"), D("100.10"), D(10_000))
    assert (quote.sent_ns, quote.arrives_ns, quote.expires_ns) == (NOON, NOON + 50 * MS, NOON + 1_050 * MS)
    assert (quote.fair_px, quote.half_spread, quote.dealer, quote.quote_req_id) == (D(100), D("0.1"), "DLR-T", "R1")
    assert quote.fair_leg_px == ()


@pytest.mark.parametrize(
    ("side", "bid", "offer"), [(BUY, None, D("100.10")), (SELL, D("99.90"), None), (None, D("99.90"), D("100.10"))]
)
def test_a_one_sided_request_gets_only_the_side_the_client_needs(
    side: Side | None, bid: Decimal | None, offer: Decimal | None
) -> None:
    # given / when
    quote = quote_of(dealer(), block(side=side))
    # then
    assert (quote.bid_px, quote.offer_px) == (bid, offer)


@pytest.mark.parametrize(
    ("qty", "bid", "offer"), [(10_000, "99.85", "100.15"), (40_000, "99.80", "100.20"), (90_000, "99.75", "100.25")]
)
def test_quotes_widen_with_the_square_root_of_size(qty: int, bid: str, offer: str) -> None:
    # given half-spread x (1 + 0.5 sqrt(qty / 10,000))
    dealer_ = dealer(size_widening=0.5)
    # when
    quote = quote_of(dealer_, block(qty))
    # then
    assert (quote.bid_px, quote.offer_px) == (D(bid), D(offer))


@pytest.mark.parametrize(("vol", "bid", "offer"), [(0.20, "99.90", "100.10"), (0.25, "99.90", "100.10"), (0.50, "99.80", "100.20")])
def test_quotes_widen_with_volatility_above_the_reference(vol: float, bid: str, offer: str) -> None:
    # given half-spread x (1 + max(0, vol / 25 % - 1))
    dealer_ = dealer(vol_widening=1.0)
    # when
    quote = quote_of(dealer_, block(), replace(FAIR, surface=VolSurface.flat(vol)))
    # then
    assert (quote.bid_px, quote.offer_px) == (D(bid), D(offer))


def test_option_quotes_widen_with_volatility() -> None:
    # given the same call in a calm and a stressed market
    dealer_ = dealer(vol_widening=1.0)
    request = QuoteRequest("R1", call(), D(10))
    # when
    calm = quote_of(dealer_, request, replace(FAIR, surface=VolSurface.flat(0.25)))
    stressed = quote_of(dealer_, request, replace(FAIR, surface=VolSurface.flat(0.50)))
    # then
    assert width(stressed) > 2 * width(calm) - D("0.02")
    assert width(stressed) > width(calm)


def test_option_quotes_are_a_vol_spread_so_they_widen_with_vega() -> None:
    # given a long-dated and a short-dated call, the same size
    dealer_ = dealer()
    long_dated = QuoteRequest("R1", call(expiry=date(2026, 12, 18)), D(10))
    short_dated = QuoteRequest("R2", call(expiry=date(2026, 1, 30)), D(10))
    # when
    wide = quote_of(dealer_, long_dated)
    narrow = quote_of(dealer_, short_dated)
    # then the half-spread is one vol point of vega, so the long-dated call's is wider
    assert float(wide.half_spread) == pytest.approx(price_package(call(expiry=date(2026, 12, 18)), FAIR, ns=NOON).vega, abs=1e-8)
    assert width(wide) > width(narrow) + D("0.10")


def test_a_large_vega_request_widens_more_than_its_size_alone() -> None:
    # given the same straddle request to a dealer that charges for vega risk and one that does not
    request = QuoteRequest("R1", straddle("ACME", expiry=EXPIRY, strike=D(100)), D(200))
    # when
    plain = quote_of(dealer(), request)
    vega_averse = quote_of(dealer(vega_widening=1.0, reference_vega=5_000.0), request)
    # then
    assert width(vega_averse) > width(plain) + D("0.20")


def test_a_package_quote_sits_on_its_grid_around_fair_and_its_fills_split_exactly() -> None:
    # given a delta-hedged call spread (the stock leg ties at the spot)
    spread = vertical("ACME", expiry=EXPIRY, put_call=PutCall.CALL, low_strike=D(95), high_strike=D(110))
    hedged = with_delta_hedge(spread, FAIR, ns=NOON)
    # when
    quote = quote_of(dealer(), QuoteRequest("R1", hedged, D(25)))
    # then
    assert quote.bid_px is not None
    assert quote.offer_px is not None
    origin, tick = package_grid(hedged, quote.fair_leg_px)
    assert quote.bid_px < quote.fair_px < quote.offer_px
    assert quote.offer_px - quote.bid_px <= 2 * quote.half_spread + 2 * tick
    for px in (quote.bid_px, quote.offer_px):
        assert (px - origin) % tick == 0
        legs = split_package_px(hedged, px, quote.fair_leg_px)
        assert net_px(hedged, legs) == px
        assert legs[-1] == D("100.00")


def test_a_bid_below_one_tick_is_no_bid() -> None:
    # given a far out-of-the-money call worth about a cent, and a wide dealer
    cheap = call(strike=200)
    dealer_ = dealer(half_spread_vol_points=5.0)
    # when
    to_sell = dealer_.quote(QuoteRequest("R1", cheap, D(10), SELL), FAIR, NOON)
    two_way = dealer_.quote(QuoteRequest("R2", cheap, D(10)), FAIR, NOON)
    to_buy = dealer_.quote(QuoteRequest("R3", cheap, D(10), BUY), FAIR, NOON)
    # then
    assert to_sell is None
    assert two_way is None
    assert to_buy is not None
    assert to_buy.offer_px is not None
    assert to_buy.offer_px > 0


def test_a_request_above_the_max_size_is_quoted_for_the_max() -> None:
    # given
    dealer_ = dealer(max_block_qty=D(25_000), max_option_qty=D(40))
    # when
    stock = quote_of(dealer_, block(30_000))
    option = quote_of(dealer_, QuoteRequest("R2", call(), D(100)))
    # then
    assert stock.qty == D(25_000)
    assert option.qty == D(40)


def test_a_dealer_answers_only_the_asset_classes_it_covers() -> None:
    # given the options specialist and the block house, made to always answer
    profiles = {p.code: replace(p, no_answer_prob=0.0) for p in DEMO_PROFILES}
    options_only = SimDealer(profiles["DLR-SL"], random.Random(1))
    blocks_only = SimDealer(profiles["DLR-OC"], random.Random(1))
    option_request = QuoteRequest("R2", call(), D(10))
    # when / then
    assert options_only.quote(block(), FAIR, NOON) is None
    assert options_only.quote(option_request, FAIR, NOON) is not None
    assert blocks_only.quote(option_request, FAIR, NOON) is None
    assert blocks_only.quote(block(), FAIR, NOON) is not None


# --- inventory ----------------------------------------------------------


@pytest.mark.parametrize(
    ("inventory", "bid", "offer"),
    [(0, "99.90", "100.10"), (20_000, "99.80", "100.00"), (-20_000, "100.00", "100.20"), (500_000, "99.80", "100.00")],
)
def test_inventory_skews_both_prices_against_the_position(inventory: int, bid: str, offer: str) -> None:
    # given a dealer that leans half its half-spread per reference size (10,000) held, up to two of them
    dealer_ = dealer(inventory_skew=0.5)
    dealer_.add_position(ACME, D(inventory))
    # when
    quote = quote_of(dealer_, block())
    # then long: lower prices to sell it off; short: higher to buy it back
    assert (quote.bid_px, quote.offer_px) == (D(bid), D(offer))


def test_a_package_and_its_flipped_twin_share_one_inventory_book() -> None:
    # given a dealer long five straddles
    long_straddle = straddle("ACME", expiry=EXPIRY, strike=D(100))
    skewed = dealer(inventory_skew=1.0)
    flat = dealer()
    skewed.add_position(long_straddle, D(5))
    request = QuoteRequest("R1", long_straddle, D(10))
    # when
    leaning = quote_of(skewed, request)
    neutral = quote_of(flat, request)
    # then
    assert skewed.position(long_straddle.flipped()) == D(-5)
    assert leaning.bid_px is not None
    assert neutral.bid_px is not None
    assert leaning.offer_px is not None
    assert neutral.offer_px is not None
    assert leaning.bid_px < neutral.bid_px
    assert leaning.offer_px < neutral.offer_px


# --- silence and last look -----------------------------------------------


def test_no_answer_happens_about_as_often_as_configured() -> None:
    # given a dealer silent 30 % of the time
    dealer_ = dealer(seed=11, no_answer_prob=0.3)
    # when
    answers = [dealer_.quote(block(quote_req_id=f"R{i}"), FAIR, NOON) for i in range(4_000)]
    # then
    silent = sum(answer is None for answer in answers) / len(answers)
    assert 0.27 <= silent <= 0.33


@pytest.mark.parametrize(("probability", "answered"), [(0.0, 200), (1.0, 0)])
def test_no_answer_at_the_extremes(probability: float, answered: int) -> None:
    # given / when
    dealer_ = dealer(no_answer_prob=probability)
    answers = [dealer_.quote(block(), FAIR, NOON) for _ in range(200)]
    # then
    assert sum(answer is not None for answer in answers) == answered


def test_last_look_rejects_about_as_often_as_configured() -> None:
    # given a dealer that walks away from 20 % of hits in a still market
    dealer_ = dealer(seed=5, last_look_reject_prob=0.2)
    # when
    results = []
    for i in range(4_000):
        quote = quote_of(dealer_, block(side=BUY, quote_req_id=f"R{i}"))
        results.append(dealer_.last_look(quote, FAIR, quote.arrives_ns))
    # then
    rejected = [result for result in results if not result.accepted]
    assert 0.17 <= len(rejected) / len(results) <= 0.23
    assert {result.reason for result in rejected} == {LastLookReason.DEALER_DECLINED}
    assert dealer_.position(ACME) == -D(10_000) * (len(results) - len(rejected))


@pytest.mark.parametrize(
    ("side", "spot_now", "accepted", "reason"),
    [
        (BUY, "100.11", False, LastLookReason.MARKET_MOVED),  # the dealer sold; up more than one half-spread
        (BUY, "100.10", True, None),  # exactly the tolerance
        (BUY, "98.00", True, None),  # moved in the dealer's favour
        (SELL, "99.89", False, LastLookReason.MARKET_MOVED),  # the dealer bought; down more than one half-spread
        (SELL, "102.00", True, None),
    ],
)
def test_last_look_always_rejects_a_market_that_moved_against_the_dealer(
    side: Side, spot_now: str, accepted: bool, reason: LastLookReason | None
) -> None:
    # given a two-way quote from a dealer that never rejects at random (tolerance: one half-spread, 0.10)
    dealer_ = dealer(last_look_tolerance=1.0)
    quote = quote_of(dealer_, block())
    # when
    result = dealer_.last_look(quote, moved(spot_now), quote.arrives_ns + 10 * MS, side=side)
    # then
    assert (result.accepted, result.reason, result.side, result.qty) == (accepted, reason, side, D(10_000))
    assert result.px == (D("100.10") if side is BUY else D("99.90"))
    assert dealer_.position(ACME) == (-side.sign * D(10_000) if accepted else 0)


def test_an_expired_quote_is_always_rejected_and_changes_nothing() -> None:
    # given a quote good until expires_ns (exclusive)
    dealer_ = dealer()
    quote = quote_of(dealer_, block(side=SELL))
    # when
    late = dealer_.last_look(quote, FAIR, quote.expires_ns)
    # then
    assert (late.accepted, late.reason) == (False, LastLookReason.EXPIRED)
    assert dealer_.position(ACME) == 0
    in_time = dealer_.last_look(quote, FAIR, quote.expires_ns - 1)
    assert (in_time.accepted, in_time.reason, in_time.px) == (True, None, D("99.90"))
    assert dealer_.position(ACME) == D(10_000)


def test_a_partial_hit_books_only_its_size() -> None:
    # given
    dealer_ = dealer()
    quote = quote_of(dealer_, block(side=BUY))
    # when
    result = dealer_.last_look(quote, FAIR, quote.arrives_ns, qty=D(4_000))
    # then
    assert result.accepted
    assert result.qty == D(4_000)
    assert dealer_.position(ACME) == D(-4_000)


def test_last_look_rejects_hits_the_client_could_not_send() -> None:
    # given a two-way and a one-sided quote
    dealer_ = dealer()
    two_way = quote_of(dealer_, block())
    to_buy = quote_of(dealer_, block(side=BUY))
    other = SimDealer(profile(code="DLR-X"), random.Random(1))
    # when / then
    with pytest.raises(ValueError, match=r"^invalid `side`, was None: a two-way quote needs the client's side"):
        dealer_.last_look(two_way, FAIR, two_way.arrives_ns)
    with pytest.raises(ValueError, match=r"^invalid `side`, was SELL: the request was to BUY"):
        dealer_.last_look(to_buy, FAIR, to_buy.arrives_ns, side=SELL)
    with pytest.raises(ValueError, match=r"^invalid `qty`, was 10001: must be positive and at most the quoted 10000"):
        dealer_.last_look(to_buy, FAIR, to_buy.arrives_ns, qty=D(10_001))
    with pytest.raises(ValueError, match=re.escape(f"invalid `now_ns`, was {NOON}: the quote arrives at {NOON + 50 * MS}")):
        dealer_.last_look(to_buy, FAIR, NOON)
    with pytest.raises(ValueError, match=r"^invalid `quote`, was from 'DLR-T': this dealer is 'DLR-X'"):
        other.last_look(to_buy, FAIR, to_buy.arrives_ns)
    assert dealer_.position(ACME) == 0


def test_latency_is_uniform_around_the_mean() -> None:
    # given 100 ms +- 20 ms
    dealer_ = dealer(seed=3, latency_ms=100.0, latency_jitter_ms=20.0)
    # when
    delays = [quote_of(dealer_, block()).arrives_ns - NOON for _ in range(2_000)]
    # then
    assert min(delays) >= 80 * MS
    assert max(delays) <= 120 * MS
    assert abs(sum(delays) / len(delays) - 100 * MS) < 1 * MS


# --- determinism and the demo dealers -------------------------------------


def run(seed: int) -> list[object]:
    """Quote and hit 300 requests at each demo dealer; return everything that happened."""
    dealers = demo_dealers(seed)
    happened: list[object] = []
    requests = [block(side=BUY), QuoteRequest("R2", straddle("ACME", expiry=EXPIRY, strike=D(105)), D(20)), block(50_000)]
    for i in range(100):
        for request in requests:
            for dealer_ in dealers.values():
                quote = dealer_.quote(request, FAIR, NOON + i * 1_000 * MS)
                happened.append(quote)
                if quote is not None:
                    happened.append(
                        dealer_.last_look(quote, moved("100.02"), quote.arrives_ns, side=SELL if request.side is None else None)
                    )
    happened.append({code: dict(dealer_.inventory) for code, dealer_ in dealers.items()})
    return happened


def test_a_seed_replays_every_quote_and_last_look() -> None:
    # given / when
    first, again, other = run(7), run(7), run(8)
    # then
    assert first == again
    assert first != other


def test_the_demo_dealers_match_the_seeded_venues_and_differ_in_behaviour() -> None:
    # given
    by_code = {p.code: p for p in DEMO_PROFILES}
    # when / then
    assert [(p.code, p.latency_ms) for p in DEMO_PROFILES] == [
        ("DLR-NB", 50.0),
        ("DLR-KF", 80.0),
        ("DLR-HM", 120.0),
        ("DLR-SL", 60.0),
        ("DLR-OC", 200.0),
    ]
    assert max(DEMO_PROFILES, key=lambda p: p.no_answer_prob).code == "DLR-NB"  # tight but often silent
    assert min(DEMO_PROFILES, key=lambda p: p.half_spread_bps).code == "DLR-NB"
    assert max(DEMO_PROFILES, key=lambda p: p.half_spread_bps).code == "DLR-KF"  # wide but reliable
    assert min(DEMO_PROFILES, key=lambda p: p.no_answer_prob).code == "DLR-KF"
    assert max(DEMO_PROFILES, key=lambda p: p.last_look_reject_prob).code == "DLR-HM"  # rejects on last look
    assert by_code["DLR-SL"].covers == frozenset({AssetClass.OPTION})
    assert by_code["DLR-OC"].covers == frozenset({AssetClass.EQUITY})
    assert set(demo_dealers(1)) == set(by_code)


# --- validation -----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"no_answer_prob": 1.5}, "invalid `no_answer_prob`, was 1.5: must be a probability in [0, 1]"),
        ({"last_look_reject_prob": -0.1}, "invalid `last_look_reject_prob`, was -0.1"),
        ({"half_spread_bps": 0.0}, "invalid `half_spread_bps`, was 0.0: must be positive"),
        ({"latency_jitter_ms": 60.0}, "invalid `latency_jitter_ms`, was 60.0: more than `latency_ms` (50.0)"),
        ({"max_block_qty": D(0)}, "invalid `max_block_qty`, was 0: must be positive"),
        ({"code": ""}, "invalid `code`, was '': must be a non-empty dealer code"),
    ],
)
def test_a_bad_profile_is_rejected_naming_the_field(changes: dict[str, object], message: str) -> None:
    # when / then
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        profile(**changes)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: QuoteRequest("R1", StockSpec("INITK", lot=D(100)), D(150)),
            "invalid `qty`, was 150: not a multiple of the lot 100",
        ),
        (lambda: QuoteRequest("R1", call(), D("1.5")), "invalid `qty`, was 1.5: packages trade in whole units"),
        (lambda: QuoteRequest("R1", call(), D(0)), "invalid `qty`, was 0: must be positive"),
        (lambda: QuoteRequest("", call(), D(1)), "invalid `quote_req_id`, was '': must be a non-empty id"),
        (
            lambda: QuoteRequest("R1", Package((Leg(ACME, BUY, 100),)), D(1)),
            "invalid `instrument`: a package without options is asked for as a StockSpec block",
        ),
    ],
)
def test_a_bad_request_is_rejected_naming_the_field(build: object, message: str) -> None:
    # when / then
    assert callable(build)
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        build()
