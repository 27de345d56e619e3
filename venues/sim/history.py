"""Market history from the simulator: what the analytics are computed from when no real history exists.

Pure core. ``history_simulate`` runs one instrument's market, seeded, for a
number of trading days as fast as the CPU allows, and records the consolidated
tape and the NBBO once a second.
"""

from datetime import date, timedelta
from decimal import Decimal

from trading.enums import Side, VenueKind
from trading.numbers import ZERO
from venues.analytics import MarketHistory, QuoteSample, TradeRecord
from venues.sim.background import NS
from venues.sim.lit import Listing, VenueSpec
from venues.sim.market import CLOSE_NS, OPEN_NS, MarketConfig, SimMarket

# A primary exchange with most of the depth, two cheaper or faster secondaries, one dark pool.
STANDARD_VENUES = (
    (VenueKind.LIT, VenueSpec("PRIM", Decimal("-0.0020"), Decimal("0.0030"), latency_ns=1_000_000, weight=Decimal(3))),
    (VenueKind.LIT, VenueSpec("SEC1", Decimal("-0.0015"), Decimal("0.0025"), latency_ns=2_000_000, weight=Decimal("1.5"))),
    (VenueKind.LIT, VenueSpec("SEC2", Decimal("0.0010"), Decimal("-0.0005"), latency_ns=3_000_000, weight=Decimal(1))),
    (VenueKind.DARK, VenueSpec("DARK", Decimal("0.0010"), Decimal("0.0010"))),
)
FIRST_DAY = date(2026, 1, 5)


def history_simulate(
    listing: Listing,
    *,
    days: int,
    seed: int,
    config: MarketConfig | None = None,
    venues: tuple[tuple[VenueKind, VenueSpec], ...] = STANDARD_VENUES,
    sample_ns: int = NS,
) -> MarketHistory:
    """Simulate ``days`` trading days of ``listing``'s market; return its tape and its NBBO sampled every ``sample_ns``."""
    if days < 1:
        raise ValueError(f"invalid `days`, was {days}: at least one")
    base = config or MarketConfig()
    market = SimMarket(
        config=MarketConfig(
            seed=seed,
            regime=base.regime,
            volatility=base.volatility,
            trend_bps_per_hour=base.trend_bps_per_hour,
            impact_coefficient=base.impact_coefficient,
            permanent_share=base.permanent_share,
            adv=base.adv,
            refresh_ns=base.refresh_ns,
            overrides=base.overrides,
        ),
        venues=venues,
        listings=[listing],
        day=FIRST_DAY,
    )
    trades: list[TradeRecord] = []
    quotes: list[QuoteSample] = []
    symbol = listing.symbol
    for n in range(days):
        day = FIRST_DAY + timedelta(days=n)
        if n:
            market.next_day(day)
        for t in range(OPEN_NS, CLOSE_NS, sample_ns):
            market.run_until(t)
            _reports, prints = market.drain()
            trades += [TradeRecord(day=day, t=t, px=p.px, qty=p.qty) for p in prints]
            quotes.append(_sample(market, symbol, day, t))
        market.run_until(CLOSE_NS - 1)
        _reports, prints = market.drain()
        trades += [TradeRecord(day=day, t=CLOSE_NS - 1, px=p.px, qty=p.qty) for p in prints]
    return MarketHistory(symbol=symbol, session_open=OPEN_NS, session_close=CLOSE_NS, trades=trades, quotes=quotes)


def _sample(market: SimMarket, symbol: str, day: date, t: int) -> QuoteSample:
    nbbo = market.nbbo(symbol)
    bid_qty = ask_qty = ZERO
    for venue in market.lit.values():
        if not venue.is_open:
            continue
        for side, best in ((Side.BUY, nbbo.bid), (Side.SELL, nbbo.ask)):
            top = venue.depth(symbol, side, 1)
            if top and top[0][0] == best:
                if side is Side.BUY:
                    bid_qty += top[0][1]
                else:
                    ask_qty += top[0][1]
    return QuoteSample(day=day, t=t, bid_px=nbbo.bid, bid_qty=bid_qty, ask_px=nbbo.ask, ask_qty=ask_qty)
