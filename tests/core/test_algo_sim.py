"""An algo against the simulated market: ticks through the router, complete fills, no over-fill, the limit, determinism."""

import random
from datetime import date
from decimal import Decimal

from ems.core.algos import NS, AlgoParams, OrderFacts, Strategy, params_validate
from ems.core.schedules import ScheduleContext
from ems.core.sim import AlgoRun, sim_algo
from router.core.market import RouterParams
from trading.enums import Side, Urgency
from venues.sim.history import STANDARD_VENUES
from venues.sim.lit import Listing
from venues.sim.market import OPEN_NS, MarketConfig, SimMarket

D = Decimal
ACME = Listing("ACME", D("0.01"), D(1), D("100.00"))
ADV = 2_000_000
START_NS = OPEN_NS + 5 * 60 * NS
TEN_MINUTES_NS = 10 * 60 * NS


def market(seed: int) -> SimMarket:
    """A calm seeded market run to 09:35, its reports and prints so far drained."""
    sim = SimMarket(config=MarketConfig(seed=seed, adv=ADV), venues=STANDARD_VENUES, listings=[ACME], day=date(2026, 1, 5))
    sim.run_until(START_NS)
    sim.drain()
    return sim


def arrival(sim: SimMarket) -> Decimal:
    mid = sim.nbbo("ACME").mid
    assert mid is not None
    return mid


def twap(qty: Decimal, limit: Decimal | None) -> AlgoParams:
    facts = OrderFacts(Side.BUY, qty, D(1), D("0.01"), limit, START_NS, START_NS + TEN_MINUTES_NS)
    return params_validate(Strategy.TWAP, {"slice_seconds": 60, "time_jitter": "0"}, facts)


def work(
    sim: SimMarket,
    *,
    qty: Decimal,
    limit: Decimal | None,
    seed: int,
    strategy: Strategy = Strategy.TWAP,
    params: AlgoParams | None = None,
    urgency: Urgency = Urgency.LOW,
    venues: tuple[str, ...] | None = None,
) -> AlgoRun:
    return sim_algo(
        sim,
        "ACME",
        strategy=strategy,
        params=params or twap(qty, limit),
        side=Side.BUY,
        qty=qty,
        lot=D(1),
        tick=D("0.01"),
        limit_px=limit,
        urgency=urgency,
        start_ns=START_NS,
        end_ns=START_NS + TEN_MINUTES_NS,
        context=ScheduleContext(price=arrival(sim), volatility_daily=D("0.0157"), adv=D(ADV), spread=D("0.01")),
        router_params=RouterParams(),
        rng=random.Random(seed),
        venues=venues,
    )


def test_a_twap_of_one_percent_of_adv_fills_completely_by_the_end_within_its_limit() -> None:
    # given 1% of ADV to buy over 10 minutes in a calm market, limited to 1% above the arrival mid
    sim = market(1)
    limit = (arrival(sim) * D("1.01")).quantize(D("0.01"))
    qty = D(ADV // 100)
    # when
    run = work(sim, qty=qty, limit=limit, seed=1)
    # then it is all filled, exactly, and never past the limit
    assert run.finished
    assert run.outcome == "filled"
    assert run.filled_qty == qty
    assert all(fill.px <= limit for fill in run.fills)
    assert all(fill.qty > 0 for fill in run.fills)
    assert run.stopped_ns <= START_NS + TEN_MINUTES_NS + NS  # the end tick's catch-up fills within a second
    assert run.arrival_mid == arrival(market(1))


def test_never_over_fills_whatever_the_strategy_and_urgency() -> None:
    # given 2% of ADV, urgent, in three markets, worked by IS and by POV (which chase the volume with IOCs)
    qty = D(ADV // 50)
    for seed in (1, 2, 3):
        for strategy in (Strategy.IS, Strategy.POV):
            sim = market(seed)
            facts = OrderFacts(Side.BUY, qty, D(1), D("0.01"), None, START_NS, START_NS + TEN_MINUTES_NS)
            params = params_validate(strategy, {}, facts)
            # when
            run = work(sim, qty=qty, limit=None, seed=seed, strategy=strategy, params=params, urgency=Urgency.HIGH)
            # then
            assert sum((fill.qty for fill in run.fills), D(0)) <= qty
            assert run.filled_qty <= qty


def test_scheduled_ticks_fall_on_the_slice_boundaries() -> None:
    # given a TWAP in 60 s slices without time jitter
    sim = market(11)
    qty = D(ADV // 100)
    # when
    run = work(sim, qty=qty, limit=None, seed=11)
    # then the first tick is at the start and every scheduled one on a boundary; nudged ones come in between
    assert run.ticks[0].trigger == "start"
    assert run.ticks[0].t_ns == START_NS
    scheduled = [tick.t_ns - START_NS for tick in run.ticks if tick.trigger == "schedule"]
    assert scheduled
    assert all(offset % (60 * NS) == 0 for offset in scheduled)
    assert {tick.trigger for tick in run.ticks} <= {"start", "schedule", "nudge"}
    assert len(run.fractions) == 10
    assert run.schedule(D(1))[-1] == (START_NS + TEN_MINUTES_NS, qty)


def test_the_same_seed_gives_the_same_run() -> None:
    # given two identical markets
    qty = D(ADV // 100)
    # when the same order is worked in each with the same seed
    first = work(market(5), qty=qty, limit=None, seed=5)
    second = work(market(5), qty=qty, limit=None, seed=5)
    # then
    assert first.fills == second.fills
    assert first.ticks == second.ticks
    assert first.switches == second.switches
    assert first.prints == second.prints
    assert (first.stopped_ns, first.end_mid, first.outcome) == (second.stopped_ns, second.end_mid, second.outcome)


def test_the_venue_restriction_shows_the_router_only_the_primary() -> None:
    # given a TWAP allowed only on the primary venue
    sim = market(7)
    qty = D(ADV // 100)
    # when
    run = work(sim, qty=qty, limit=None, seed=7, venues=("PRIM",))
    # then every fill is there: no secondary, no dark pool
    assert run.fills
    assert {fill.venue for fill in run.fills} == {"PRIM"}
    assert run.filled_qty == qty


def test_immediate_routes_the_whole_order_now_and_ends_when_nothing_works() -> None:
    # given 2,000 shares at once, no window
    sim = market(3)
    qty = D(2_000)
    params = params_validate(Strategy.IMMEDIATE, {}, OrderFacts(Side.BUY, qty, D(1), D("0.01"), None, START_NS, None))
    # when
    run = work(sim, qty=qty, limit=None, seed=3, strategy=Strategy.IMMEDIATE, params=params, urgency=Urgency.HIGH)
    # then
    assert run.end_ns is None
    assert run.filled_qty == qty
    assert run.finished
    assert run.stopped_ns < START_NS + NS
    assert run.ticks[0].target_qty is None
