"""The simulated market as a whole: seeded replay, impact, sessions, latency, regimes, dark liquidity."""

import itertools
import math
import random
import statistics
from datetime import date
from decimal import Decimal

import pytest

from trading.enums import ExecType, OrdType, Peg, Side, TimeInForce, VenueKind
from trading.messages import ExecutionReport, NewOrder
from trading.states import OrdStatus
from venues.sim.background import NS, FairValue, SymbolModel
from venues.sim.book import Order
from venues.sim.clients import RejectCode
from venues.sim.dark import DarkOrder
from venues.sim.lit import Listing, VenueSpec
from venues.sim.market import CLOSE_NS, OPEN_NS, MarketConfig, SimMarket
from venues.sim.params import Regime, SessionState

D = Decimal
ACME = Listing("ACME", D("0.01"), D(1), D("100.00"))
VENUES = (
    (VenueKind.LIT, VenueSpec("PRIM", D("-0.0020"), D("0.0030"), latency_ns=1_000_000, weight=D(3))),
    (VenueKind.LIT, VenueSpec("SEC1", D("-0.0015"), D("0.0025"), latency_ns=2_000_000, weight=D("1.5"))),
    (VenueKind.LIT, VenueSpec("SEC2", D("0.0010"), D("-0.0005"), latency_ns=3_000_000, weight=D(1))),
    (VenueKind.DARK, VenueSpec("DARK", D("0.0010"), D("0.0010"), latency_ns=2_000_000)),
)
ADV = 2_000_000


def market(seed: int = 1, **config) -> SimMarket:
    return SimMarket(config=MarketConfig(seed=seed, adv=ADV, **config), venues=VENUES, listings=[ACME], day=date(2026, 1, 5))


def order(cl_ord_id: str, venue: str, side: Side, qty: int, px: str | None = None, **extra) -> NewOrder:
    return NewOrder(
        cl_ord_id,
        venue,
        "ACME",
        side,
        OrdType.LIMIT if px else OrdType.MARKET,
        D(qty),
        D(px) if px else None,
        extra.pop("tif", TimeInForce.IOC if px is None else TimeInForce.DAY),
        **extra,
    )


def executions(reports) -> list[ExecutionReport]:
    return [r for r in reports if isinstance(r, ExecutionReport)]


def test_the_same_seed_replays_the_same_market_event_for_event():
    # given two markets with one seed and one with another
    runs = []
    for seed in (5, 5, 6):
        sim = market(seed)
        # when each runs ten minutes, with one client order in the middle
        sim.run_until(OPEN_NS + 300 * NS)
        sim.send(order("C1", "PRIM", Side.BUY, 5000))
        sim.run_until(OPEN_NS + 600 * NS)
        reports, prints = sim.drain()
        runs.append(
            (
                [(p.venue, p.px, p.qty, p.aggressor) for p in prints],
                [(r.exec_type, r.last_qty, r.last_px) for r in executions(reports)],
                sim.nbbo("ACME"),
            )
        )
    # then
    assert runs[0] == runs[1]
    assert len(runs[0][0]) > 100  # a real market, not an empty one
    assert runs[0][0] != runs[2][0]


def _sweep_impact(fraction: float, seed: int) -> tuple[float, float, float]:
    """Buy ``fraction`` of ADV at once across the lit venues, split by their depth; return bps moves.

    Returns (average fill vs arrival mid, last fill vs arrival mid, mid two minutes later vs the
    same market without the order).
    """
    shares = {"PRIM": D(3) / D("5.5"), "SEC1": D("1.5") / D("5.5"), "SEC2": D(1) / D("5.5")}
    after = []
    for trade in (False, True):
        sim = market(seed)
        start = OPEN_NS + 3600 * NS
        sim.run_until(start)
        sim.drain()
        arrival = sim.nbbo("ACME").mid
        assert arrival is not None
        if trade:
            total = int(ADV * fraction)
            for code, share in shares.items():
                sim.send(order(f"C-{code}", code, Side.BUY, int(total * share)))
        sim.run_until(start + NS)
        reports, _ = sim.drain()
        fills = [r for r in executions(reports) if r.is_fill]
        sim.run_until(start + 120 * NS)
        mid = sim.nbbo("ACME").mid
        assert mid is not None
        after.append(mid)
    qty = sum(f.last_qty for f in fills)
    vwap = sum(f.last_qty * f.last_px for f in fills) / qty
    last = max(f.last_px for f in fills)
    bps = lambda px: float((px - arrival) / arrival * 10_000)  # noqa: E731
    return bps(vwap), bps(last), float((after[1] - after[0]) / arrival * 10_000)


def test_impact_grows_like_the_square_root_of_size_and_part_of_it_stays():
    # given orders of 1%, 4% and 16% of daily volume, each in three seeded markets
    seeds = (1, 2, 3)
    # when
    results = {f: [_sweep_impact(f, seed) for seed in seeds] for f in (0.01, 0.04, 0.16)}
    impact = {f: statistics.mean(r[0] for r in runs) for f, runs in results.items()}
    # then each fourfold size roughly doubles the cost (square-root law: exactly 2)
    assert impact[0.01] > 0
    assert 1.6 < impact[0.04] / impact[0.01] < 2.5
    assert 1.6 < impact[0.16] / impact[0.04] < 2.5
    # and a share of the peak move is still in the price two minutes later, but not all of it
    peak = statistics.mean(r[1] for r in results[0.16])
    permanent = statistics.mean(r[2] for r in results[0.16])
    assert 0.1 * peak < permanent < 0.9 * peak


def test_an_order_reaches_its_venue_after_the_venue_latency():
    # given
    sim = market(background=False)
    sim.run_until(OPEN_NS + NS)
    # when
    sim.send(order("C1", "SEC2", Side.BUY, 100, "99.00"))
    sim.run_until(OPEN_NS + NS + 2_999_999)
    early, _ = sim.drain()
    sim.run_until(OPEN_NS + NS + 3_000_000)
    late, _ = sim.drain()
    # then
    assert early == []
    assert [r.exec_type for r in executions(late)] == [ExecType.NEW]
    assert executions(late)[0].transact_time == "2026-01-05T09:30:01.003000+00:00"


def test_a_held_order_reaches_its_venue_after_its_delay_plus_the_latency_and_is_known_in_flight():
    # given
    sim = market(background=False)
    sim.run_until(OPEN_NS + NS)
    # when an order is held 2 ms before it goes to a venue 3 ms away
    sim.send(order("C1", "SEC2", Side.BUY, 100, "99.00", delay_us=2_000))
    # then the market knows it at once (a redelivery is dropped), and the venue acknowledges it 5 ms later
    assert sim.knows("SEC2", "C1")
    assert not sim.knows("PRIM", "C1")
    sim.run_until(OPEN_NS + NS + 4_999_999)
    early, _ = sim.drain()
    sim.run_until(OPEN_NS + NS + 5_000_000)
    late, _ = sim.drain()
    assert early == []
    assert [r.exec_type for r in executions(late)] == [ExecType.NEW]
    assert sim.knows("SEC2", "C1")


def test_day_orders_expire_at_the_close_gtc_orders_carry_over_and_a_closed_venue_rejects():
    # given a DAY and a GTC order resting far from the market
    sim = market()
    sim.send(order("DAY-1", "PRIM", Side.BUY, 100, "50.00"))
    sim.send(order("GTC-1", "PRIM", Side.BUY, 100, "50.00", tif=TimeInForce.GTC))
    sim.run_until(OPEN_NS + NS)
    sim.drain()
    # when the day ends
    sim.run_until(CLOSE_NS)
    at_close, _ = sim.drain()
    sim.send(order("LATE-1", "PRIM", Side.BUY, 100, "50.00"))
    sim.run_until(CLOSE_NS + NS)
    late, _ = sim.drain()
    # then
    assert [(r.cl_ord_id, r.exec_type) for r in executions(at_close)] == [("DAY-1", ExecType.EXPIRED)]
    assert [(r.exec_type, r.reason) for r in executions(late)] == [(ExecType.REJECTED, RejectCode.VENUE_CLOSED)]
    # and the GTC order is still working the next day
    sim.next_day(date(2026, 1, 6))
    assert sim.lit["PRIM"].clients.get("GTC-1").leaves_qty == D(100)
    sim.send(order("NEXT-1", "PRIM", Side.BUY, 100, "50.00"))
    sim.run_until(OPEN_NS + NS)
    assert [r.exec_type for r in executions(sim.drain()[0])] == [ExecType.NEW]


def test_a_halted_venue_rejects_orders_and_leaves_the_nbbo():
    # given a running market
    sim = market()
    sim.run_until(OPEN_NS + 60 * NS)
    sim.drain()
    # when the operator halts the primary
    sim.set_venue_state("PRIM", SessionState.HALTED)
    sim.send(order("C1", "PRIM", Side.BUY, 100, "99.00"))
    sim.run_until(OPEN_NS + 61 * NS)
    reports, prints = sim.drain()
    # then
    assert [(r.exec_type, r.reason) for r in executions(reports)] == [(ExecType.REJECTED, RejectCode.VENUE_CLOSED)]
    assert not [p for p in prints if p.venue == "PRIM"]
    nbbo = sim.nbbo("ACME")
    others = [sim.lit[code].depth("ACME", Side.BUY, 1)[0][0] for code in ("SEC1", "SEC2")]
    assert nbbo.bid == max(others)
    # and resuming opens it again
    sim.set_venue_state("PRIM", SessionState.OPEN)
    sim.send(order("C2", "PRIM", Side.BUY, 100, "99.00"))
    sim.run_until(OPEN_NS + 62 * NS)
    assert executions(sim.drain()[0])[0].exec_type is ExecType.NEW


def test_a_resting_midpoint_order_in_the_dark_pool_meets_background_liquidity():
    # given our buy resting at the midpoint with a minimum fill size
    sim = market(seed=3)
    sim.run_until(OPEN_NS + 60 * NS)
    sim.send(order("D1", "DARK", Side.BUY, 20_000, None, tif=TimeInForce.DAY, peg=Peg.MID, min_qty=D(500)))
    # when an hour passes
    sim.run_until(OPEN_NS + 3660 * NS)
    reports, _ = sim.drain()
    # then it filled at midpoints only, never below its minimum size
    fills = [r for r in executions(reports) if r.is_fill]
    assert fills
    assert all(f.last_qty >= 500 or f.ord_status is OrdStatus.FILLED for f in fills)
    assert all(f.last_px % D("0.005") == 0 for f in fills)


def test_market_makers_skew_their_quotes_against_inventory():
    # given a quiet market
    sim = market(seed=2)
    sim.run_until(OPEN_NS + 60 * NS)
    fair = sim.fair_value("ACME")
    # when we buy a block from the makers on the primary
    sim.send(order("C1", "PRIM", Side.BUY, 60_000))
    sim.run_until(OPEN_NS + 62 * NS)
    # then the primary's makers are short and quote above fair value to buy back less eagerly... and sell dearer
    maker = next(m for m in sim._makers_by_owner.values() if m.venue.code == "PRIM")
    assert maker.inventory < 0
    mid = sim.nbbo("ACME").mid
    assert mid is not None
    assert float(mid) > fair


@pytest.mark.parametrize(("regime", "ratio"), [(Regime.CALM, 1.0), (Regime.VOLATILE, 3.0)])
def test_the_regime_sets_how_fast_fair_value_moves(regime, ratio):
    # given
    model = SymbolModel("ACME", 100.0, 0.01, 1.0, 1e6, 0.25, regime=regime)
    fair = FairValue(model, random.Random(11), start_ns=OPEN_NS)
    # when we look once a minute for a day
    values = [fair.at(OPEN_NS + minute * 60 * NS) for minute in range(391)]
    returns = [math.log(b / a) for a, b in itertools.pairwise(values)]
    # then the annualised volatility is the model's times the regime's multiple
    annual = statistics.pstdev(returns) * math.sqrt(390 * 252)
    assert annual == pytest.approx(0.25 * ratio, rel=0.15)


def test_a_trending_regime_drifts():
    # given
    model = SymbolModel("ACME", 100.0, 0.01, 1.0, 1e6, 0.01, regime=Regime.TRENDING, trend_bps_per_hour=50)
    fair = FairValue(model, random.Random(4), start_ns=OPEN_NS)
    # when a day passes
    end = fair.at(CLOSE_NS)
    # then it moved about 6.5 hours of trend, in one direction
    assert abs(math.log(end / 100.0)) == pytest.approx(6.5 * 50 / 10_000, rel=0.3)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_resting_bid_of_ours_holding_up_the_nbbo_does_not_run_fair_value_away(seed):
    # given a calm market at 10:00 and our large bid one tick under the ask on the smallest venue (the NBBO bid now)
    sim = market(seed=seed)
    sim.run_until(OPEN_NS + 1800 * NS)
    start = sim.fair_value("ACME")
    sim.send(order("OURS", "SEC2", Side.BUY, 300_000, str(sim.nbbo("ACME").ask - D("0.01"))))
    # when the background market trades around it for twenty minutes
    sim.run_until(OPEN_NS + 3000 * NS)
    # then fair value moves as a calm market does: a print below our bid on another venue is measured from that
    # venue's own mid, not from the NBBO our bid holds up (which read as a deep sweep and fed on itself, down to $0.01)
    assert abs(sim.fair_value("ACME") / start - 1) < 0.02


def test_fair_values_path_is_the_seeds_however_often_it_is_looked_at():
    # given two fair values of one seed
    model = SymbolModel("ACME", 100.0, 0.01, 1.0, 1e6, 0.25)
    often = FairValue(model, random.Random(5), start_ns=OPEN_NS)
    seldom = FairValue(model, random.Random(5), start_ns=OPEN_NS)
    # when one is looked at every 100 ms (and at odd times) for four minutes, the other once at the end
    for k in range(1, 2401):
        often.at(OPEN_NS + k * 100_000_000 + k % 7)
    seldom.at(OPEN_NS + 240 * NS)
    # then both drew the same path: looks do not draw
    assert often.parts.path == seldom.parts.path
    assert often.parts.path != 100.0


def test_the_path_under_a_market_is_the_same_whatever_we_trade():
    # given two markets of one seed at 10:00
    quiet, busy = market(seed=2), market(seed=2)
    for sim in (quiet, busy):
        sim.run_until(OPEN_NS + 1800 * NS)
    # when we buy 100,000 in one of them over ten minutes, and nothing in the other
    for minute in range(10):
        busy.send(order(f"B{minute}", "PRIM", Side.BUY, 10_000))
        for sim in (quiet, busy):
            sim.run_until(OPEN_NS + (1800 + 60 * (minute + 1)) * NS)
    # then the exogenous path is the same in both; fair value itself is not: our buying lifted it
    assert quiet.now == busy.now
    assert quiet.fair_parts("ACME").path == busy.fair_parts("ACME").path
    assert quiet.fair_parts("ACME").clients == 0 < busy.fair_parts("ACME").clients
    assert busy.fair_value("ACME") > quiet.fair_value("ACME")


def _impact(shares: float) -> float:
    """The permanent share (0.4) of the square-root law (0.7 sigma_daily sqrt(Q / ADV)) at $100, the defaults."""
    return 0.4 * 0.7 * 0.25 / math.sqrt(252) * 100 * math.sqrt(shares / ADV)


def test_our_fills_lit_or_dark_passive_or_not_move_fair_value_by_our_net_flow():
    # given a market of the venues alone, and quotes of another owner on PRIM: 99.95 bid, 100.05 offered
    sim = market(background=False)
    prim = sim.lit["PRIM"]
    grid = prim.markets["ACME"].grid
    for side, px in ((Side.BUY, "99.95"), (Side.SELL, "100.05")):
        prim.agent_add("ACME", Order(prim.next_id(), side, grid.px_int(D(px)), 50_000, owner="mm:test"))

    def impact() -> float:
        parts = sim.fair_parts("ACME")
        assert parts.background == 0  # no background traders here
        assert sim.fair_value("ACME") == parts.path + parts.clients
        return parts.clients

    # when we lift 10,000 of the offer
    sim.send(order("L1", "PRIM", Side.BUY, 10_000, "100.05", tif=TimeInForce.IOC))
    sim.run_until(OPEN_NS + NS)
    # then fair value keeps the permanent share of the square-root law for 10,000
    assert impact() == pytest.approx(_impact(10_000))
    # when 10,000 more of ours rest on the bid and another owner's sell hits them
    sim.send(order("P1", "PRIM", Side.BUY, 10_000, "99.96"))
    sim.run_until(OPEN_NS + 2 * NS)
    prim.agent_add("ACME", Order(prim.next_id(), Side.SELL, grid.px_int(D("99.96")), 10_000, owner="mm:test", tif=TimeInForce.IOC))
    # then it counts as ours: 20,000 bought, passive or not
    assert impact() == pytest.approx(_impact(20_000))
    # when we buy 20,000 more at the midpoint in the dark from a resting block
    dark = sim.dark["DARK"]
    dark.agent_add("ACME", DarkOrder(dark.next_id(), Side.SELL, D(20_000), owner="dark"))
    sim.send(order("D1", "DARK", Side.BUY, 20_000, None, tif=TimeInForce.IOC, peg=Peg.MID))
    sim.run_until(OPEN_NS + 3 * NS)
    assert [r.last_qty for r in executions(sim.drain()[0]) if r.is_fill and r.venue == "DARK"] == [D(20_000)]
    # then a dark cross moves it as a lit one does: 40,000 in all
    assert impact() == pytest.approx(_impact(40_000))
    # and selling 40,000 back leaves no impact: the flow is net
    sim.send(order("S1", "PRIM", Side.SELL, 40_000, "99.90", tif=TimeInForce.IOC))
    sim.run_until(OPEN_NS + 4 * NS)
    assert impact() == pytest.approx(0.0, abs=1e-9)
