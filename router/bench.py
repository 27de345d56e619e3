"""``make bench``: the router's decision latency and what its sweeps save, with the simulator's benchmarks.

Pure (no Django): ``python -m router.bench [--quick] [--json PATH] [--only NAME]``
runs every benchmark registered in ``venues.sim.bench`` (the matching engine and
the simulator, then these), with that module's command line and table. No test
asserts these numbers: they are measured and reported.

- ``routing``: ``route()`` on seeded, realistic markets (five lit venues with
  ten levels a side, two dark pools, venue statistics with history) for a mix
  of sides, sizes, limits, urgencies and time in force; ``perf_counter_ns``
  around each decision. The goal is a p99 under 200 µs.
- ``sweep_cost``: buy at market at once, an hour after the open, through the
  router (HIGH urgency, IOC, no RFQ; re-routing what did not fill) and, in an
  identical market, as one market IOC on the primary venue; the cost of each
  (average price with fees against the arrival mid) and the saving, in bps.
"""

import copy
import gc
import math
import random
import sys
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Final

from router.core.market import RouteRequest, RouterParams, VenueBook
from router.core.policy import Action, route
from router.core.scoring import VenueStats
from router.core.sim import sim_route, sim_single_order
from trading.enums import Side, TimeInForce, Urgency, VenueKind
from venues.sim.background import NS
from venues.sim.bench import BenchConfig, Figures, _latency_row, benchmark, main
from venues.sim.history import STANDARD_VENUES
from venues.sim.lit import Listing
from venues.sim.market import OPEN_NS, MarketConfig, SimMarket

D = Decimal
DEFAULT_JSON: Final = Path("var/bench/bench.json")
TICK: Final = D("0.01")
LOT: Final = D(1)

# --- routing: decision latency ---------------------------------------------

# (code, maker fee, taker fee, latency ms, share of the displayed liquidity)
LIT_VENUES: Final = (
    ("PRIM", "-0.0020", "0.0030", "1.0", 3.0),
    ("SEC1", "-0.0015", "0.0025", "2.0", 1.5),
    ("SEC2", "0.0010", "-0.0005", "3.0", 1.0),
    ("SEC3", "-0.0025", "0.0030", "1.5", 1.0),
    ("SEC4", "0.0000", "0.0010", "4.0", 0.5),
)
DARK_POOLS: Final = (("DRK1", "0.0010", "2.0"), ("DRK2", "0.0008", "1.5"))
LEVELS: Final = 10
SCENARIOS: Final = 500  # distinct markets and requests, cycled through
URGENCIES: Final = (Urgency.LOW, Urgency.MEDIUM, Urgency.MEDIUM, Urgency.HIGH, Urgency.HIGH)
Scenario = tuple[RouteRequest, list[VenueBook], dict[str, VenueStats]]


def _levels(rng: random.Random, top: int, step: int, weight: float) -> tuple[tuple[Decimal, Decimal], ...]:
    """Ten levels from ``top`` (ticks) away from the mid by ``step``, sizes lognormal in round lots, scaled by ``weight``."""
    levels = []
    px = top
    for _ in range(LEVELS):
        lots = max(1, round(rng.lognormvariate(math.log(4), 0.8) * weight))
        levels.append((px * TICK, D(lots * 100)))
        px += step * (1 if rng.random() < 0.8 else 2)  # now and then an empty tick
    return tuple(levels)


def _stats(rng: random.Random) -> VenueStats:
    orders = rng.randint(0, 400)
    acks = max(0, orders - rng.randint(0, 5))
    return VenueStats(
        orders=orders,
        filled_share_sum=D(str(round(orders * rng.uniform(0.2, 0.9), 2))),
        rejects=rng.randint(0, max(0, orders // 50)),
        acks=acks,
        ack_ms_sum=D(str(round(acks * rng.uniform(0.5, 5.0), 3))),
        markouts=MappingProxyType({h: (D(q := rng.randint(0, 50_000)), D(str(round(q * rng.gauss(0, 2), 1)))) for h in (1, 5, 60)}),
    )


def routing_scenario(rng: random.Random) -> Scenario:
    """Return one seeded market (5 lit venues, 10 levels a side, 2 dark pools, statistics) and a request against it."""
    anchor = rng.randint(9_800, 10_200)  # the best bid, in ticks; venues quote at or behind the NBBO, never crossed
    venues = []
    for code, maker, taker, latency, weight in LIT_VENUES:
        stale = rng.random() < 0.02
        venues.append(
            VenueBook(
                code=code,
                kind=VenueKind.LIT,
                state="HALTED" if rng.random() < 0.03 else "OPEN",
                maker_fee=D(maker),
                taker_fee=D(taker),
                latency_ms=D(latency),
                age_ms=6_000 if stale else rng.randint(0, 800),
                bids=_levels(rng, anchor - rng.choice((0, 0, 0, 1, 2)), -1, weight),
                asks=_levels(rng, anchor + 1 + rng.choice((0, 0, 0, 1, 2)), 1, weight),
            )
        )
    for code, fee, latency in DARK_POOLS:
        venues.append(
            VenueBook(
                code=code,
                kind=VenueKind.DARK,
                state="OPEN",
                maker_fee=D(fee),
                taker_fee=D(fee),
                latency_ms=D(latency),
                age_ms=rng.randint(0, 800),
            )
        )
    side = rng.choice((Side.BUY, Side.SELL))
    qty = D(100 * max(1, round(rng.lognormvariate(math.log(20), 1.2))))
    if rng.random() < 0.1:
        limit = None
    else:
        through = rng.randint(-3, 6)  # ticks past the near touch: from passive to a few ticks through the far touch
        limit = (anchor + through) * TICK if side is Side.BUY else (anchor + 1 - through) * TICK
    req = RouteRequest(
        symbol="ACME",
        side=side,
        qty=qty,
        limit_px=limit,
        urgency=rng.choice(URGENCIES),
        tif=rng.choice((TimeInForce.IOC, TimeInForce.DAY, TimeInForce.DAY)),
        lot=LOT,
        tick=TICK,
        adv=D(2_000_000),
        volatility_daily=D("0.016"),
        dark_tried=rng.random() < 0.3,
    )
    stats = {v.code: _stats(rng) for v in venues}
    return req, venues, stats


def all_to_primary(req: RouteRequest, venues: list[VenueBook]) -> tuple[str, Decimal, Decimal | None]:
    """The simplest decision, the routing benchmark's baseline: everything to the primary venue, at its far touch."""
    primary = venues[0]
    far = primary.asks if req.side is Side.BUY else primary.bids
    return primary.code, req.qty, far[0][0] if far else req.limit_px


@benchmark("routing")
def bench_routing(config: BenchConfig) -> Figures:
    """Time ``route()`` decision by decision over seeded scenarios; latency by urgency and decisions per second."""
    decisions = config.size or (2_000 if config.quick else 20_000)
    rng = random.Random(config.seed)
    scenarios = [routing_scenario(rng) for _ in range(min(SCENARIOS, decisions))]
    params = RouterParams()
    decide = random.Random(config.seed + 1)  # the router's own draws: Thompson sampling, jitter, delays
    for req, venues, stats in scenarios[:200]:  # warm-up, untimed
        route(req, venues, stats=stats, params=params, rng=decide)
    clock = time.perf_counter_ns
    by_urgency: dict[Urgency, list[int]] = {u: [] for u in Urgency}
    actions: Counter[str] = Counter()
    gc.collect()
    for n in range(decisions):
        req, venues, stats = scenarios[n % len(scenarios)]
        start = clock()
        plan = route(req, venues, stats=stats, params=params, rng=decide)
        by_urgency[req.urgency].append(clock() - start)
        actions.update(plan.actions or ("NONE",))
    everything = [ns for samples in by_urgency.values() for ns in samples]
    simplest: list[int] = []
    for n in range(decisions):
        req, venues, _stats = scenarios[n % len(scenarios)]
        start = clock()
        all_to_primary(req, venues)
        simplest.append(clock() - start)
    rows: dict[str, dict[str, float]] = {
        "all": {"ops_per_s": len(everything) / (sum(everything) / 1e9), **_latency_row(everything)}
    }
    for urgency, samples in by_urgency.items():
        rows[urgency.value] = _latency_row(samples)
    rows["baseline"] = {"ops_per_s": len(simplest) / (sum(simplest) / 1e9), **_latency_row(simplest)}
    p99 = rows["all"]["p99_us"]
    order = [*(a.value for a in Action), "NONE"]
    return {
        "setup": {
            "market": (
                f"{len(LIT_VENUES)} lit venues ({LEVELS} levels a side, lognormal sizes in round lots), "
                f"{len(DARK_POOLS)} dark pools, venue statistics with history; 3% halted, 2% stale"
            ),
            "requests": "buys and sells of 100 to ~100,000 (lognormal), 10% at market, limits from passive to 6 ticks through",
            "scenarios": len(scenarios),
            "decisions": decisions,
            "plans": ", ".join(f"{actions[a] / decisions:.0%} {a.lower()}" for a in order if actions[a]),
            "latency": "perf_counter_ns around each route() call (scoring included); ops_per_s is decisions per second",
            "baseline": "all_to_primary: the whole quantity to the primary (first lit) venue at its best price, same scenarios",
            "goal": f"p99 < 200 us: {'met' if p99 < 200 else 'missed'} ({p99:.1f} us)",
            "seed": config.seed,
        },
        "rows": rows,
    }


# --- sweep_cost: the router against one order on the primary ------------------

ACME: Final = Listing("ACME", TICK, LOT, D("100.00"))
ADV: Final = 2_000_000
SIZES: Final = (2_000, 10_000, 40_000)
PRIMARY: Final = "PRIM"


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


@benchmark("sweep_cost")
def bench_sweep_cost(config: BenchConfig) -> Figures:
    """Buy each size at once through the router and as one order on the primary, in twin markets; cost in bps."""
    seconds = config.size or 3600  # from the open to the order
    seeds = [config.seed + n for n in range(2 if config.quick else 8)]
    params = RouterParams()
    costs: dict[int, dict[str, list[float]]] = {size: {"router": [], "primary": []} for size in SIZES}
    filled: dict[int, dict[str, list[float]]] = {size: {"router": [], "primary": []} for size in SIZES}
    rounds: dict[int, list[int]] = {size: [] for size in SIZES}
    for seed in seeds:
        market = SimMarket(config=MarketConfig(seed=seed, adv=ADV), venues=STANDARD_VENUES, listings=[ACME], day=date(2026, 1, 5))
        market.run_until(OPEN_NS + seconds * NS)
        market.drain()
        arrival = market.nbbo(ACME.symbol).mid
        if arrival is None:
            continue
        for size in SIZES:
            qty = D(size)
            request = RouteRequest(
                symbol=ACME.symbol,
                side=Side.BUY,
                qty=qty,
                limit_px=None,
                urgency=Urgency.HIGH,
                tif=TimeInForce.IOC,
                lot=LOT,
                tick=TICK,
                adv=D(ADV),
                allow_rfq=False,
            )
            routed = sim_route(copy.deepcopy(market), request, params=params, rng=random.Random(seed))
            single = sim_single_order(copy.deepcopy(market), ACME.symbol, PRIMARY, Side.BUY, qty)
            rounds[size].append(len(routed.plans))
            for name, run in (("router", routed), ("primary", single)):
                filled[size][name].append(float(run.filled_qty / qty))
                if run.filled_qty:
                    costs[size][name].append(float(run.cost_bps(side=Side.BUY, arrival_mid=arrival)))
    rows = {
        f"{size:,} shares": {
            "count": len(rounds[size]),
            "router_bps": _mean(costs[size]["router"]),
            "primary_bps": _mean(costs[size]["primary"]),
            "saving_bps": _mean(costs[size]["primary"]) - _mean(costs[size]["router"]),
            "router_filled": _mean(filled[size]["router"]),
            "primary_filled": _mean(filled[size]["primary"]),
            "router_rounds": _mean([float(r) for r in rounds[size]]),
        }
        for size in SIZES
    }
    return {
        "setup": {
            "order": f"buy at market at once, {seconds} s after the open, ADV {ADV:,}; count is the seeds",
            "router": "sim_route: HIGH urgency, IOC, no RFQ, re-routing what did not fill (up to 5 decisions)",
            "primary": f"one market IOC of the same quantity on {PRIMARY}",
            "markets": "one seeded market per seed run to the order, deep-copied for each run (a copy replays event for event)",
            "cost": "average price with fees against the arrival mid, bps (positive is a cost); saving = primary - router",
            "seeds": ", ".join(str(seed) for seed in seeds),
        },
        "rows": rows,
    }


if __name__ == "__main__":
    sys.exit(main(prog="python -m router.bench", description=__doc__.split("\n\n")[0], default_json=DEFAULT_JSON))
