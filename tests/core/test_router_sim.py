"""The router against the simulated market: cheaper sweeps, re-routing partial fills, halts, the dark minimum."""

import random
from datetime import date
from decimal import Decimal

from router.core.market import RouteRequest, RouterParams
from router.core.policy import Action
from router.core.sim import SimExecution, sim_route, sim_single_order
from trading.enums import ExecType, Side, TimeInForce, Urgency, VenueKind
from venues.sim.background import NS
from venues.sim.history import STANDARD_VENUES
from venues.sim.lit import Listing, VenueSpec
from venues.sim.market import OPEN_NS, MarketConfig, SimMarket
from venues.sim.params import SessionState

D = Decimal
ACME = Listing("ACME", D("0.01"), D(1), D("100.00"))
ADV = 2_000_000
# The standard venues and a second, faster dark pool, so that pings are split.
VENUES = (*STANDARD_VENUES, (VenueKind.DARK, VenueSpec("DRK2", D("0.0008"), D("0.0008"), latency_ns=1_500_000)))
DARK_POOLS = ("DARK", "DRK2")


def market(seed: int, *, minutes: int = 10) -> SimMarket:
    """A seeded market run ``minutes`` past the open, its reports and prints so far drained."""
    sim = SimMarket(config=MarketConfig(seed=seed, adv=ADV), venues=VENUES, listings=[ACME], day=date(2026, 1, 5))
    sim.run_until(OPEN_NS + minutes * 60 * NS)
    sim.drain()
    return sim


def request(side: Side, qty: int, limit: Decimal | None, urgency: Urgency, **extra: object) -> RouteRequest:
    return RouteRequest(
        symbol="ACME",
        side=side,
        qty=D(qty),
        limit_px=limit,
        urgency=urgency,
        tif=TimeInForce.IOC,
        lot=D(1),
        tick=D("0.01"),
        adv=D(ADV),
        allow_rfq=False,
        **extra,  # type: ignore[arg-type]
    )


def fills_by_round(run: SimExecution) -> list[Decimal]:
    """The quantity filled by each round's orders (``sim_send`` numbers orders in the order they are sent)."""
    ids = sorted({r.cl_ord_id for r in run.reports}, key=lambda cl: int(cl[1:]))
    assert len(ids) == len(run.sent)  # every order sent was heard from
    filled = []
    start = 0
    for plan in run.plans:
        mine = set(ids[start : start + len(plan.orders)])
        start += len(plan.orders)
        filled.append(sum((r.last_qty for r in run.reports if r.cl_ord_id in mine and r.exec_type is ExecType.TRADE), D(0)))
    return filled


def test_a_sweep_through_the_router_costs_less_than_one_order_on_the_primary() -> None:
    # given 10,000 shares (0.5% of ADV) to buy at once, an hour after the open, in three seeded markets
    qty = 10_000
    routed, single = [], []
    for seed in (1, 2, 3):
        sim = market(seed, minutes=60)
        twin = market(seed, minutes=60)
        arrival = sim.nbbo("ACME").mid
        assert arrival is not None
        assert twin.nbbo("ACME").mid == arrival  # the same market
        # when one is worked by the router and the other is one market order on the primary
        run = sim_route(sim, request(Side.BUY, qty, None, Urgency.HIGH), params=RouterParams(), rng=random.Random(seed))
        one = sim_single_order(twin, "ACME", "PRIM", Side.BUY, D(qty))
        # then both filled the whole quantity
        assert run.filled_qty == qty
        assert one.filled_qty == qty
        assert {f.venue for f in run.fills} > {"PRIM"}  # spread over the lit venues
        routed.append(run.cost_bps(side=Side.BUY, arrival_mid=arrival))
        single.append(one.cost_bps(side=Side.BUY, arrival_mid=arrival))
    # and the router's cost (price and fees against the arrival mid) is lower on average
    assert sum(routed) / 3 < sum(single) / 3


def test_what_an_ioc_round_leaves_unfilled_is_routed_again_never_filling_more() -> None:
    # given 20,000 to buy at 3 cents through the offer, far more than shows within that limit
    for seed in (2, 3):
        sim = market(seed)
        ask = sim.nbbo("ACME").ask
        assert ask is not None
        limit = ask + D("0.03")
        req = request(Side.BUY, 20_000, limit, Urgency.HIGH)
        # when the makers re-quote between rounds (they refresh every second)
        run = sim_route(sim, req, params=RouterParams(exploration=D(0)), rng=random.Random(seed), wait_ns=2 * NS)
        # then the first round fills part, and each later decision routes exactly what is left
        filled = fills_by_round(run)
        assert 0 < filled[0] < 20_000
        assert len(run.plans) > 1
        assert sum(p.routed_qty for p in run.plans[1:]) > 0
        left = D(20_000)
        for plan, done in zip(run.plans, filled, strict=True):
            assert plan.routed_qty + plan.unrouted_qty == left
            left -= done
        assert run.filled_qty == sum(filled) <= 20_000
        assert all(f.px <= limit for f in run.fills)


def test_a_halted_venue_gets_no_order() -> None:
    # given the primary halted by the operator
    sim = market(4)
    sim.set_venue_state("PRIM", SessionState.HALTED)
    # when
    run = sim_route(sim, request(Side.BUY, 5000, None, Urgency.HIGH), params=RouterParams(), rng=random.Random(4))
    # then the order is worked on the other venues only
    assert run.plans[0].excluded["PRIM"] == "session halted"
    assert run.sent
    assert all(o.venue != "PRIM" for o in run.sent)
    assert all(r.venue != "PRIM" for r in run.reports)
    assert run.filled_qty == 5000


def test_every_dark_execution_is_at_least_the_minimum_the_router_set() -> None:
    # given a 500 minimum and mid-sized orders pinged into two pools first
    params = RouterParams(dark_min_qty=D(500))
    dark_fills = []
    for seed, side in ((1, Side.BUY), (1, Side.SELL), (2, Side.SELL), (4, Side.SELL)):
        sim = market(seed)
        # when
        run = sim_route(sim, request(side, 3000, None, Urgency.MEDIUM), params=params, rng=random.Random(seed))
        # then the first round is dark pings, one per pool, each with the minimum
        pings = {o.venue: o for o in run.sent if o.action is Action.DARK_PING}
        assert run.plans[0].actions == (Action.DARK_PING,)
        assert len(pings) == len(run.plans[0].orders)
        assert all(o.min_qty == 500 for o in pings.values())
        fills = [r for r in run.reports if r.venue in DARK_POOLS and r.exec_type is ExecType.TRADE]
        assert all(r.last_qty >= pings[r.venue].min_qty for r in fills)
        assert run.filled_qty <= 3000
        dark_fills += fills
    assert dark_fills  # the pools did cross some of it
