"""``make bench``: every measure of speed and quality, in one run, one table, one JSON document.

``python -m ems.bench [--quick] [--only SECTION ...] [--json var/bench/bench.json]``
runs the sections below in this order and prints ONE table: section, what,
figure, and the baseline it is read against (what and figure), measured in the
same run on the same machine, with each section's wall time and the total. It
writes one JSON document (every section's detailed figures under
``sections``, the table's rows under ``rows``). ``--quick`` is a smoke run of
every section (under about two minutes); the full run fits in ten minutes on
two cores. No test asserts these figures: they are measured and reported.

Pure sections (no Django; this process pinned to one core for the first three):

- ``matching`` (``venues.sim.bench``): the order book's operations a second and
  per-operation latency on a seeded mixed stream. Baseline: a trivial Python
  loop of dict and heap operations (``heappush``/``heappop`` and a dict insert
  and delete an operation), timed the same way: the machine's speed.
- ``simulator`` (``venues.sim.bench``): the whole background market's events a
  second. Baseline: the same trivial loop's operations a second.
- ``routing`` (``router.bench``): ``route()`` decision latency on realistic
  markets. Baseline: the simplest decision (everything to the primary venue at
  its best price) over the same scenarios, timed the same way.
- ``sweep_cost`` (``router.bench``): buying at once through the router. Baseline:
  one market order on the primary venue in a twin market.
- ``algo_quality`` (below): the execution-quality scenario table, one row a
  cell: the selected strategy's shortfall. Baselines: the immediate order and
  the plain TWAP on the same seeds (twin markets).

Live sections (``ems.bench_live``: one PostgreSQL database and one Redis
database of their own, set up once; the processes started as sections need
them and stopped at the end; without PostgreSQL or Redis, one line says why
they were skipped and the run goes on):

- ``api`` (``oms.bench_api``): REST order accept with every risk check, web
  server only. Baseline: the trivial authenticated GET in the same run.
- ``e2e`` (``ems.bench_e2e``): submit to first fill on the blotter websocket,
  baseline the REST accept alone; fill to browser, baseline a bare
  channel-layer message to the same websocket.
- ``rfq`` (``ems.bench_rfq``): request to every dealer, baseline a Redis
  stream round trip; quote to ladder, baseline a bare channel-layer message.
- ``lateness`` (``ems.bench_load``): N TWAPs working at once, slice lateness.
  Baseline: a no-op Celery task's ETA lateness on the same (idle) workers.

``algo_quality``: buy orders of 1%, 5%, 10% and 25% of ADV at 10:00, HIGH
urgency (and LOW with ``--full-grid``: its windows run most of the day, three
times the simulated time, too long for ten minutes), in a calm and a volatile
market, on fixed seeds (``SEEDS``, ``--seeds``; one process per core: a seed
and regime is one market). Each is worked three ways
in twin markets (one seeded market deep-copied at 10:00): the strategy the
selection matrix picks (``DEFAULT_RULES``), run tick by tick through the router
(``ems.core.sim.sim_algo``); one market order on the primary venue at once; a
plain TWAP (60 s slices) over the same window on the primary venue only. The
figure is the implementation shortfall against the arrival mid, fees included,
in bps (positive is a cost; what did not fill counts at the mid at the run's
end), averaged over the seeds; with the selected algo's tracking error to its
first schedule (TWAP, VWAP, IS) or its realized participation less the target
rate (POV), and the TWAP baseline's tracking error. One more row (MEDIUM
urgency, where the matrix picks POV) checks POV's participation.
"""

import contextlib
import copy
import math
import os
import random
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any, Final

import router.bench  # noqa: F401 - registers the router's benchmarks, and through it the simulator's, first
from ems.core.algos import NS, AlgoParams, OrderFacts, ParamError, Strategy, params_validate
from ems.core.schedules import ScheduleContext
from ems.core.selection import DEFAULT_RULES, OrderProfile, strategy_select, volatility_regime
from ems.core.sim import AlgoRun, sim_algo
from ems.core.tca import TcaFill, shortfall, tracking_error
from router.core.market import RouterParams
from router.core.sim import sim_single_order
from trading.enums import Side, Urgency
from venues.sim.background import U_SHAPE
from venues.sim.bench import BenchConfig, Figures, benchmark
from venues.sim.history import STANDARD_VENUES
from venues.sim.lit import Listing
from venues.sim.market import CLOSE_NS, OPEN_NS, MarketConfig, SimMarket
from venues.sim.params import Regime

D = Decimal
DEFAULT_JSON: Final = Path("var/bench/bench.json")
ACME: Final = Listing("ACME", D("0.01"), D(1), D("100.00"))
DAY: Final = date(2026, 1, 5)
START_NS: Final = OPEN_NS + 30 * 60 * NS  # 10:00
LAST_END_NS: Final = CLOSE_NS - 5 * 60 * NS  # a window ends by 15:55, so complete_by_end can finish while venues are open
SIDE: Final = Side.BUY
SIZES: Final = (D("0.01"), D("0.05"), D("0.10"), D("0.25"))  # share of ADV
URGENCIES: Final = (Urgency.LOW, Urgency.HIGH)
REGIMES: Final = (Regime.CALM, Regime.VOLATILE)
POV_CHECK: Final = (D("0.05"), Urgency.MEDIUM, Regime.CALM)  # where the matrix picks POV
# Per cell. The seed-to-seed spread of a cell's shortfall is 5 to 10 bps, so three cannot grade it; four (eight
# markets with the two regimes, one a core at a time) keep make bench within ten minutes; --seeds 8 for the
# tighter figures of earlier runs.
SEEDS: Final = 4
GOAL_FROM: Final = D("0.05")
POV_BAND_PP: Final = 2.0
TWAP_SLICE_S: Final = 60
STEP_NS: Final = 250_000_000
BROKEN_SIGMAS: Final = 5  # a mid this many standard deviations from the arrival mid: the simulated market broke (_broke)
JUMP_SIGMAS: Final = 10  # or one this many against the order from one tick to the next


@dataclass(frozen=True, slots=True)
class Cell:
    adv_share: Decimal
    urgency: Urgency
    regime: Regime

    @property
    def label(self) -> str:
        return f"{self.adv_share:.0%} {self.urgency.value} {self.regime.value.lower()}"


def _cells(quick: bool, *, full: bool = False) -> list[Cell]:
    """The grid: quick, HIGH urgency at 1% and 5%; make bench's, HIGH urgency at every size and the POV check; ``full``,
    LOW urgency too (its windows run most of the day: about three times the simulated time)."""
    if quick:
        return [Cell(size, Urgency.HIGH, regime) for regime in REGIMES for size in SIZES[:2]]
    urgencies = URGENCIES if full else (Urgency.HIGH,)
    return [Cell(size, urgency, regime) for regime in REGIMES for urgency in urgencies for size in SIZES] + [Cell(*POV_CHECK)]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _stderr(values: list[float]) -> float:
    """The standard error of the mean (sample standard deviation over sqrt(n)); nan below two values."""
    n = len(values)
    if n < 2:
        return float("nan")
    mean = _mean(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


def volume_profile() -> tuple[Decimal, ...]:
    """The simulator's intraday volume profile (``U_SHAPE``) as shares of the day per half hour: what VWAP follows."""
    total = sum(U_SHAPE)
    return tuple(D(repr(share / total)).quantize(D("0.000001")) for share in U_SHAPE)


def _market(seed: int, regime: Regime, adv: int) -> SimMarket:
    """A seeded market of ACME on the standard venues, run to 10:00 with its reports and prints drained."""
    market = SimMarket(config=MarketConfig(seed=seed, regime=regime, adv=adv), venues=STANDARD_VENUES, listings=[ACME], day=DAY)
    market.run_until(START_NS)
    market.drain()
    return market


def _primary(market: SimMarket) -> str:
    """The lit venue with the most liquidity (the highest weight)."""
    return max(market.lit.values(), key=lambda venue: (venue.spec.weight, venue.code)).code


def _shortfall_bps(*, qty: Decimal, arrival_mid: Decimal, end_mid: Decimal, fills: list[TcaFill]) -> float:
    cost = shortfall(side=SIDE, order_qty=qty, arrival_mid=arrival_mid, decision_mid=arrival_mid, fills=fills, end_mid=end_mid)
    return float(cost.total_bps)


def _costs(
    path: Mapping[int, float], *, qty: Decimal, arrival_mid: Decimal, end_ns: int, end_mid: Decimal, fills: list[TcaFill]
) -> tuple[float, float]:
    """The run's shortfall in bps as measured, and net of fair value's path (the control variate).

    ``path`` is fair value's path by time (``FairParts.path``: the seed's draws,
    the same under every order of the seed, no one's impact) at the start, at
    each fill and at ``end_ns``. Each fill's price, and the end mid the rest is
    valued at, is taken less the path's move since the start. What is left is
    the order's own cost (spread, impact, fees, adverse selection, and the
    noise traders' sweeps), with the same mean (the path has no drift in these
    regimes) and without most of the timing noise that swamps it in a few seeds
    (a 90 minute window in the volatile market moves the mid by about 90 bps,
    one standard deviation, against costs of 10 to 50).
    """
    raw = _shortfall_bps(qty=qty, arrival_mid=arrival_mid, end_mid=end_mid, fills=fills)

    def moved(t_ns: int) -> Decimal:
        return D(repr(path[t_ns] - path[START_NS])).quantize(D("0.0001"))

    net = [replace(fill, px=fill.px - moved(fill.t_ns)) for fill in fills]
    return raw, _shortfall_bps(qty=qty, arrival_mid=arrival_mid, end_mid=end_mid - moved(end_ns), fills=net)


def _te_pct(run: AlgoRun, qty: Decimal) -> float | None:
    """Tracking error of the fills to the first schedule, in % of the order (RMS over the slice ends); None without one."""
    schedule = run.schedule(ACME.lot_size)
    if not schedule:
        return None
    points = [point for i, point in enumerate(schedule) if i == 0 or point[0] > schedule[i - 1][0]]
    executed = [(fill.t_ns, fill.qty) for fill in run.fills]
    return float(tracking_error(schedule=points, executed=executed, qty=qty)) * 100


def _broke(run: AlgoRun, arrival_mid: Decimal, volatility_daily: Decimal) -> bool:
    """Whether the simulated market broke under the run: its mid moved further than no price path of the regime does.

    Either the NBBO mid (at a tick, or at the end) went more than
    ``BROKEN_SIGMAS`` standard deviations of the run's length from the arrival
    mid, or it moved against the order between two ticks by more than
    ``JUMP_SIGMAS`` standard deviations of the time between them (at least a
    minute); the standard deviation is the regime's daily volatility scaled by
    the square root of time. A guard: it caught fair value running away under
    a resting order of ours that held the NBBO up (a print's move read from
    that NBBO, then informed sellers moving fair value down into our bid, both
    fixed in ``venues.sim``); a run it flags is counted, not averaged.
    """
    day_ns = 390 * 60 * NS
    points = [(tick.t_ns, (tick.bid + tick.ask) / 2) for tick in run.ticks if tick.bid is not None and tick.ask is not None]
    if run.end_mid is not None:
        points.append((run.stopped_ns, run.end_mid))
    length_ns = max(60 * NS, run.stopped_ns - run.start_ns)
    band = BROKEN_SIGMAS * volatility_daily * (D(length_ns) / day_ns).sqrt()
    if any(abs(mid / arrival_mid - 1) > band for _, mid in points):
        return True
    for (t0, mid0), (t1, mid1) in pairwise(points):
        against = (mid0 - mid1) if run.side is Side.BUY else (mid1 - mid0)
        jump = JUMP_SIGMAS * volatility_daily * (D(max(60 * NS, t1 - t0)) / day_ns).sqrt()
        if against / arrival_mid > jump:
            return True
    return False


def _pov_pp(run: AlgoRun, target_rate: Decimal) -> float | None:
    """Our share of the market's volume while POV worked (from the start to its first switch or its end), less the target, pp."""
    until = run.end_ns if run.end_ns is not None else run.stopped_ns
    if run.switches:
        until = min(until, run.switches[0].t_ns)
    ours = sum((f.qty for f in run.fills if f.t_ns <= until), D(0))
    market = sum((p.qty for p in run.prints if p.t_ns <= until), D(0))
    if not market:
        return None
    return float((ours / market - target_rate) * 100)


def _one_cell(cell: Cell, seed: int, base: SimMarket, *, cap_ns: int | None, params: RouterParams) -> dict[str, Any]:
    """Work one cell three ways in copies of ``base`` (the seed's market at 10:00); return its figures."""
    model = base.config.model(ACME)
    adv = int(model.adv)
    nbbo = base.nbbo(ACME.symbol)
    arrival = nbbo.mid
    if arrival is None or nbbo.bid is None or nbbo.ask is None:
        raise RuntimeError(f"seed {seed}: the market does not quote both sides at 10:00 ({nbbo})")
    qty = (D(adv) * cell.adv_share).quantize(ACME.lot_size)
    sigma_annual = model.volatility * (3.0 if cell.regime is Regime.VOLATILE else 1.0)  # as FairValue moves it
    volatility_daily = D(repr(sigma_annual / math.sqrt(252))).quantize(D("0.000001"))
    spread = max(nbbo.ask - nbbo.bid, ACME.tick_size)
    far_qty = sum(
        (qty for venue in base.lit.values() for px, qty, _ in venue.depth(ACME.symbol, Side.SELL, 1) if px == nbbo.ask), D(0)
    )
    profile = OrderProfile(
        urgency=cell.urgency,
        adv_share=cell.adv_share,
        volatility_regime=volatility_regime(D(repr(sigma_annual))),
        spread_bps=(spread / arrival * 10_000).quantize(D("0.01")),
        depth_multiple=(qty / far_qty).quantize(D("0.01")) if far_qty else None,
    )
    selection = strategy_select(profile, DEFAULT_RULES)
    duration_ns = int(selection.params.get("duration_minutes", 30)) * 60 * NS
    end_ns = min(START_NS + duration_ns, LAST_END_NS, START_NS + cap_ns if cap_ns else LAST_END_NS)
    facts = OrderFacts(side=SIDE, qty=qty, lot=ACME.lot_size, tick=ACME.tick_size, limit_px=None, start_ns=START_NS, end_ns=end_ns)
    strategy = selection.strategy
    try:
        chosen = params_validate(strategy, selection.params, facts)
    except ParamError:  # as the shell does: a rule's choice that cannot run this order is worked IMMEDIATE
        strategy = Strategy.IMMEDIATE
        chosen = params_validate(strategy, {}, facts)
    context = ScheduleContext(
        price=arrival,
        volatility_daily=volatility_daily,
        adv=D(adv),
        spread=spread,
        profile=volume_profile(),
        urgency=cell.urgency.value,
    )

    def work(strategy: Strategy, algo_params: AlgoParams, venues: tuple[str, ...] | None) -> AlgoRun:
        return sim_algo(
            copy.deepcopy(base),
            ACME.symbol,
            strategy=strategy,
            params=algo_params,
            side=SIDE,
            qty=qty,
            lot=ACME.lot_size,
            tick=ACME.tick_size,
            limit_px=None,
            urgency=cell.urgency,
            start_ns=START_NS,
            end_ns=end_ns,
            context=context,
            router_params=params,
            rng=random.Random(seed),
            venues=venues,
            step_ns=STEP_NS,
        )

    selected = work(strategy, chosen, None)
    twap_params = params_validate(Strategy.TWAP, {"slice_seconds": TWAP_SLICE_S}, facts)
    twap = work(Strategy.TWAP, twap_params, (_primary(base),))
    twin = copy.deepcopy(base)
    once = sim_single_order(twin, ACME.symbol, _primary(base), SIDE, qty)
    once_end = twin.nbbo(ACME.symbol).mid or arrival
    once_fills = [TcaFill(qty=f.qty, px=f.px, fee=f.fee, t_ns=twin.now, liquidity="REMOVED") for f in once.fills]
    selected_raw, selected_net = _costs(
        selected.path, qty=qty, arrival_mid=arrival, end_ns=selected.stopped_ns, end_mid=selected.end_mid or arrival,
        fills=selected.tca_fills(),
    )  # fmt: skip
    twap_raw, twap_net = _costs(
        twap.path,
        qty=qty,
        arrival_mid=arrival,
        end_ns=twap.stopped_ns,
        end_mid=twap.end_mid or arrival,
        fills=twap.tca_fills(),
    )
    once_path = {START_NS: base.fair_parts(ACME.symbol).path, twin.now: twin.fair_parts(ACME.symbol).path}
    once_raw, once_net = _costs(once_path, qty=qty, arrival_mid=arrival, end_ns=twin.now, end_mid=once_end, fills=once_fills)
    figures: dict[str, Any] = {
        "cell": cell.label,
        "seed": seed,
        "strategy": strategy.value,
        "rule": selection.rule,
        "window_min": (end_ns - START_NS) / 60 / NS,
        "arrival_mid": float(arrival),
        "selected_bps": selected_net,
        "immediate_bps": once_net,
        "twap_bps": twap_net,
        "selected_raw_bps": selected_raw,
        "immediate_raw_bps": once_raw,
        "twap_raw_bps": twap_raw,
        "selected_broken": _broke(selected, arrival, volatility_daily),
        "twap_broken": _broke(twap, arrival, volatility_daily),
        "selected_filled": float(selected.filled_qty / qty),
        "immediate_filled": float(once.filled_qty / qty),
        "twap_filled": float(twap.filled_qty / qty),
        "switches": [f"{s.from_strategy.value}->{s.to.value}" for s in selected.switches],
        "selected_te_pct": _te_pct(selected, qty) if strategy is not Strategy.POV else None,
        "pov_pp": _pov_pp(selected, chosen["target_rate"]) if strategy is Strategy.POV else None,
        "twap_te_pct": _te_pct(twap, qty),
        "selected_done_min": (selected.stopped_ns - START_NS) / 60 / NS,
    }
    return figures


def _row(runs: list[dict[str, Any]], cell: Cell) -> dict[str, Any]:
    """The cell's means over its seeds; a run whose market broke (``_broke``) is counted, not averaged."""
    sound = [run for run in runs if not run["selected_broken"]]
    sound_twap = [run for run in runs if not run["twap_broken"]]

    def values(key: str, among: list[dict[str, Any]]) -> list[float]:
        return [run[key] for run in among if run[key] is not None]

    selected, twap = values("selected_bps", sound), values("twap_bps", sound_twap)
    row: dict[str, Any] = {
        "count": len(runs),
        "strategy": "/".join(dict.fromkeys(run["strategy"] for run in runs)),
        "window_min": _mean(values("window_min", runs)),
        "selected_bps": _mean(selected),
        "selected_se": _stderr(selected),
        "immediate_bps": _mean(values("immediate_bps", runs)),
        "twap_bps": _mean(twap),
        "twap_se": _stderr(twap),
        "selected_raw_bps": _mean(values("selected_raw_bps", sound)),
        "twap_raw_bps": _mean(values("twap_raw_bps", sound_twap)),
        "selected_filled": _mean(values("selected_filled", sound)),
        "immediate_filled": _mean(values("immediate_filled", runs)),
        "switches": _mean([float(len(run["switches"])) for run in sound]),
        # paired by seed (twin markets): the selected algo less the plain TWAP, and its standard error
        "vs_twap_bps": _mean(paired := [r["selected_bps"] - r["twap_bps"] for r in sound if not r["twap_broken"]]),
        "vs_twap_se": _stderr(paired),
        "broken_selected": len(runs) - len(sound),
        "broken_twap": len(runs) - len(sound_twap),
    }
    if values("selected_te_pct", sound):
        row["selected_te_pct"] = _mean(values("selected_te_pct", sound))
    if values("pov_pp", sound):
        row["pov_pp"] = _mean(values("pov_pp", sound))
    if values("twap_te_pct", sound_twap):
        row["twap_te_pct"] = _mean(values("twap_te_pct", sound_twap))
    if cell.adv_share >= GOAL_FROM and cell.urgency is not Urgency.MEDIUM:
        if not selected or not twap:
            row["goal"] = "n/a"  # every run's market broke
        else:
            met = row["selected_bps"] <= row["immediate_bps"] / 2 and row["selected_bps"] < row["twap_bps"]
            row["goal"] = "met" if met else "missed"
    if "pov_pp" in row:
        row["goal"] = "met" if abs(row["pov_pp"]) <= POV_BAND_PP else "missed"
    return row


def _one_market(unit: tuple[Regime, int], *, cells: list[Cell], cap_ns: int | None) -> list[dict[str, Any]]:
    """Every cell of ``unit``'s regime on its seed: one market run to 10:00, copied for every run."""
    regime, seed = unit
    base = _market(seed, regime, int(MarketConfig().adv))  # the simulator's symbol model takes ADV from its config
    params = RouterParams()
    return [_one_cell(cell, seed, base, cap_ns=cap_ns, params=params) for cell in cells if cell.regime is regime]


def _unpin() -> None:
    """A pool process may use every core the machine allows (the command pins itself, and so its children, to one)."""
    if hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, range(os.cpu_count() or 1))


@benchmark("algo_quality")
def bench_algo_quality(config: BenchConfig) -> Figures:
    """Work the scenario grid three ways on fixed seeds; mean implementation shortfall per cell, tracking, participation."""
    seeds = [config.seed + n for n in range(1 if config.quick or config.size else config.seeds or SEEDS)]
    cells = _cells(config.quick or config.size is not None, full=config.full)
    cap_ns = config.size * NS if config.size else None  # tests: every window at most this many seconds
    units = [(regime, seed) for regime in dict.fromkeys(cell.regime for cell in cells) for seed in seeds]
    work = partial(_one_market, cells=cells, cap_ns=cap_ns)
    if len(units) == 1:
        runs = work(units[0])
    else:  # seeds are independent: one process per core (the figures are costs, not times, so the pin is lifted)
        with ProcessPoolExecutor(max_workers=min(len(units), os.cpu_count() or 1), initializer=_unpin) as pool:
            runs = [run for unit_runs in pool.map(work, units) for run in unit_runs]
    runs.sort(key=lambda run: ([cell.label for cell in cells].index(run["cell"]), run["seed"]))
    adv = int(MarketConfig().adv)
    rows = {cell.label: _row([run for run in runs if run["cell"] == cell.label], cell) for cell in cells}
    graded = [row["goal"] for row in rows.values() if "goal" in row and "pov_pp" not in row]
    broken = sum(row["broken_selected"] + row["broken_twap"] for row in rows.values())
    pov = [row["goal"] for row in rows.values() if "pov_pp" in row]
    return {
        "setup": {
            "orders": (
                f"buy {', '.join(f'{s:.0%}' for s in SIZES)} of ADV ({adv:,}) of {ACME.symbol} at 10:00; urgency "
                f"{' and '.join(dict.fromkeys(cell.urgency.value for cell in cells if cell.urgency is not Urgency.MEDIUM))}; "
                "calm and volatile (fair value at 3x the volatility) markets; count is the seeds"
            ),
            "selected": (
                "the selection matrix's pick (DEFAULT_RULES; window from its duration_minutes, ending by 15:55), "
                "worked by algo_tick through the router on every venue, market steps of "
                f"{STEP_NS // 1_000_000} ms"
            ),
            "immediate": "one market IOC of the whole quantity on the primary venue at 10:00",
            "twap": f"a plain TWAP ({TWAP_SLICE_S} s slices) over the same window, routed to the primary venue only",
            "cost": (
                "implementation shortfall vs the arrival mid, fees included, bps (positive is a cost); the unfilled rest "
                "at the mid when the run ended; mean over the seeds; *_se is its standard error. *_bps is net of fair "
                "value's path (each fill's price less the path's move since the arrival: the seed's draws, the same under "
                "every order, no one's impact), a control variate for the timing noise; *_raw_bps is as measured. The "
                "goal is graded on the net figures; vs_twap_* is the selected less the TWAP seed by seed (twin markets) "
                "with its standard error"
            ),
            "tracking": (
                "selected_te_pct / twap_te_pct: RMS of (filled - scheduled) / qty at each slice end of the first schedule, %; "
                "pov_pp: our share of the volume while POV worked, less the target rate, pp"
            ),
            "goal": (
                f"at >= {GOAL_FROM:.0%} of ADV the selected shortfall <= half the immediate one and below the TWAP's: "
                f"{graded.count('met')} of {len(graded)} cells met; POV within +/-{POV_BAND_PP:g} pp: "
                f"{pov.count('met')} of {len(pov)} met"
            ),
            "broken": (
                f"{broken} of {2 * len(runs)} algo runs counted as broken_* and left out of the means: the NBBO mid went "
                f"more than {BROKEN_SIGMAS} standard deviations of the run from the arrival mid, or moved against the order "
                f"by more than {JUMP_SIGMAS} of the time between two ticks (a guard against the simulator's fair value "
                "running away)"
            ),
            "seeds": ", ".join(str(seed) for seed in seeds),
        },
        "rows": rows,
        "runs": runs,
    }


# --- the runner: every section, one table --------------------------------------------------------

PURE_SECTIONS: Final = ("matching", "simulator", "routing", "sweep_cost", "algo_quality")
LIVE_SECTIONS: Final = ("api", "e2e", "rfq", "lateness")
SECTIONS: Final = PURE_SECTIONS + LIVE_SECTIONS
PINNED: Final = frozenset({"matching", "simulator", "routing"})  # micro-benchmarks: one core, no migration
QUICK_LOAD: Final = {"executions": 40, "minutes": 0.5, "slice_seconds": 15}  # two slices, a 30 s window


@dataclass(frozen=True, slots=True)
class Options:
    quick: bool
    only: tuple[str, ...]
    json_path: Path
    seed: int
    seeds: int
    full_grid: bool
    pin: bool
    clients: int
    requests: int
    orders: int
    rfq_requests: int
    rfq_interval_ms: int
    load: Any  # ems.bench_load.LoadConfig
    live: Any  # ems.bench_live.LiveConfig


def parse_args(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> Options:
    """Read the command line (and the ``BENCH_*`` settings from ``environ``); exit 2 naming the argument and the reason."""
    import argparse

    from ems.bench_live import DEFAULT_CONCURRENCY, DEFAULT_WORKERS, live_config
    from ems.bench_load import EXECUTIONS, MINUTES, LoadConfig
    from oms.bench_api import CLIENTS, QUICK_CLIENTS, QUICK_REQUESTS, REQUESTS
    from venues.sim.bench import DEFAULT_SEED

    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="python -m ems.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every section, small: a smoke run (about 2 minutes)")
    parser.add_argument("--only", nargs="+", action="extend", choices=SECTIONS, metavar="SECTION", help=f"of {', '.join(SECTIONS)}")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the report (default {DEFAULT_JSON})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the pure sections' seed")
    parser.add_argument("--no-pin", action="store_true", help="leave the micro-benchmarks free to move between cores")
    parser.add_argument("--seeds", type=int, default=SEEDS, help=f"algo_quality: seeds a cell (default {SEEDS}; quick 1)")
    parser.add_argument(
        "--full-grid", action="store_true", help="algo_quality: LOW urgency too (17 cells, about 3x the time of the default 9)"
    )
    live = parser.add_argument_group("live sections")
    live.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help=f"Celery workers (default {DEFAULT_WORKERS})")
    live.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY, help=f"pool processes a worker ({DEFAULT_CONCURRENCY})"
    )
    live.add_argument("--clients", type=int, help=f"api: clients at once (default {CLIENTS}; quick {QUICK_CLIENTS})")
    live.add_argument("--requests", type=int, help=f"api: orders, and as many GETs (default {REQUESTS}; quick {QUICK_REQUESTS})")
    live.add_argument("--orders", type=int, help="e2e: orders (default 100; quick 10)")
    live.add_argument("--rfq-requests", type=int, help="rfq: requests (default 40; quick 8)")
    live.add_argument("--rfq-interval-ms", type=int, default=250, help="rfq: one request every this many ms (default 250)")
    live.add_argument("--executions", type=int, help="lateness: TWAPs working at once (default 300; quick 40)")
    live.add_argument("--minutes", type=float, help="lateness: each TWAP's window, minutes (default 1.5; quick 0.5)")
    live.add_argument("--slice-seconds", type=int, help="lateness: the TWAP's slice (default 60; quick 15)")
    live.add_argument("--lead-seconds", type=float, help="lateness: the common start, this far after submitting begins")
    live.add_argument("--grace-seconds", type=int, default=30, help="lateness: how long to wait past the window (default 30)")
    args = parser.parse_args(argv)
    from ems import bench_e2e, bench_rfq

    def pick(value: Any, full: Any, quick: Any) -> Any:
        return value if value is not None else quick if args.quick else full

    try:
        load = LoadConfig(
            executions=pick(args.executions, EXECUTIONS, QUICK_LOAD["executions"]),
            minutes=pick(args.minutes, MINUTES, QUICK_LOAD["minutes"]),
            slice_seconds=pick(args.slice_seconds, 60, QUICK_LOAD["slice_seconds"]),
            lead_seconds=args.lead_seconds,
            grace_seconds=args.grace_seconds,
            workers=args.workers,
            concurrency=args.concurrency,
        )
        config = live_config(environ, workers=args.workers, concurrency=args.concurrency)
    except ValueError as exc:
        parser.error(str(exc))
    options = Options(
        quick=args.quick,
        only=tuple(name for name in SECTIONS if name in (args.only or SECTIONS)),
        json_path=args.json,
        seed=args.seed,
        seeds=args.seeds,
        full_grid=args.full_grid,
        pin=not args.no_pin,
        clients=pick(args.clients, CLIENTS, QUICK_CLIENTS),
        requests=pick(args.requests, REQUESTS, QUICK_REQUESTS),
        orders=pick(args.orders, bench_e2e.ORDERS, bench_e2e.QUICK_ORDERS),
        rfq_requests=pick(args.rfq_requests, bench_rfq.REQUESTS, bench_rfq.QUICK_REQUESTS),
        rfq_interval_ms=args.rfq_interval_ms,
        load=load,
        live=config,
    )
    if options.clients < 2 or options.requests < options.clients:
        parser.error(
            f"argument --clients/--requests: at least 2 clients and one request a client, was {options.clients}/{options.requests}"
        )
    if min(options.orders, options.rfq_requests, options.rfq_interval_ms, options.seeds) < 1:
        parser.error("argument --orders/--rfq-requests/--rfq-interval-ms/--seeds: at least 1")
    return options


# --- the table's rows: each section's headline figures, with their baselines -------------------------


def _table_row(section: str, what: str, figure: str, baseline: str, baseline_figure: str) -> dict[str, str]:
    return {"section": section, "what": what, "figure": figure, "baseline": baseline, "baseline_figure": baseline_figure}


def _us(row: Mapping[str, Any]) -> str:
    return f"p50 {row['p50_us']:,.2f} us, p99 {row['p99_us']:,.2f} us"


def _ms(s: Mapping[str, Any]) -> str:
    return "nothing measured" if not s.get("n") else f"p50 {s['p50_ms']:,.1f} ms, p99 {s['p99_ms']:,.1f} ms (n {s['n']})"


def _bps(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.1f} bps"  # nan: nothing to average


def headline(name: str, figures: Mapping[str, Any]) -> list[dict[str, str]]:  # noqa: PLR0911 - one branch a section
    """The table's rows of one section's figures: what, figure, baseline, baseline figure."""
    rows = figures.get("rows", {})
    if name == "matching":
        base = rows["baseline"]
        return [
            _table_row(
                name,
                "order book, mixed stream",
                f"{rows['all']['ops_per_s']:,.0f} ops/s",
                "dict + heap loop",
                f"{base['ops_per_s']:,.0f} ops/s",
            ),
            _table_row(name, "order book, per operation", _us(rows["all"]), "dict + heap loop", _us(base)),
        ]
    if name == "simulator":
        market, base = rows["market"], rows["baseline"]
        return [
            _table_row(
                name,
                "background market, events",
                f"{market['ops_per_s']:,.0f} events/s ({market['sim_s_per_wall_s']:,.0f} sim s/s)",
                "dict + heap loop",
                f"{base['ops_per_s']:,.0f} ops/s",
            )
        ]
    if name == "routing":
        return [_table_row(name, "route() decision", _us(rows["all"]), "all to the primary", _us(rows["baseline"]))]
    if name == "sweep_cost":
        return [
            _table_row(
                name, f"buy {label} at once, router", _bps(row["router_bps"]), "one order on the primary", _bps(row["primary_bps"])
            )
            for label, row in rows.items()
        ]
    if name == "algo_quality":
        out = []
        for label, row in rows.items():
            extra = f", POV {row['pov_pp']:+.2f} pp" if "pov_pp" in row else ""
            goal = f" [{row['goal']}]" if "goal" in row else ""
            out.append(
                _table_row(
                    name,
                    label,
                    f"{row['strategy']} {_bps(row['selected_bps'])}{extra}{goal}",
                    "immediate / TWAP",
                    f"{_bps(row['immediate_bps'])} / {_bps(row['twap_bps'])}",
                )
            )
        graded = [row["goal"] for row in rows.values() if "goal" in row and "pov_pp" not in row]
        out.append(
            _table_row(
                name,
                f"goal: >= {GOAL_FROM:.0%} ADV, selected <= immediate / 2 and < TWAP",
                f"{graded.count('met')} of {len(graded)} cells met",
                "",
                "",
            )
        )
        return out
    if name == "api":
        api_rows = figures["results"]["api"]["rows"]
        accept, trivial = api_rows["order accept"], api_rows["GET /api/portfolios/"]

        def api(row: Mapping[str, Any]) -> str:
            return f"{row['ops_per_s']:,.1f}/s, p50 {row['p50_ms']:,.1f} ms, p99 {row['p99_ms']:,.1f} ms"

        return [_table_row(name, "POST /api/orders/, every risk check", api(accept), "GET /api/portfolios/", api(trivial))]
    if name == "e2e":
        return [
            _table_row(
                name,
                "submit to first fill (websocket)",
                _ms(figures["submit_to_first_fill"]),
                "REST accept alone",
                _ms(figures["rest_accept"]),
            ),
            _table_row(
                name,
                "fill (venue time) to browser",
                _ms(figures["fill_to_browser"]),
                "channel layer to browser",
                _ms(figures["channel_layer_to_browser"]),
            ),
        ]
    if name == "rfq":
        f = figures["figures"]
        return [
            _table_row(
                name,
                "request to every dealer",
                _ms(f["request_to_all_dealers_notified"]),
                "Redis stream round trip",
                _ms(f["redis_stream_round_trip"]),
            ),
            _table_row(
                name, "quote to ladder", _ms(f["quote_to_ladder"]), "channel layer to consumer", _ms(f["channel_layer_to_consumer"])
            ),
        ]
    if name == "lateness":
        f, c = figures["figures"], figures["config"]
        late, noop, ex = f["lateness"], f["noop_idle"], f["executions"]

        def lateness(s: Mapping[str, Any]) -> str:
            return "nothing measured" if not s["count"] else f"p50 {s['p50_ms']:,} ms, p99 {s['p99_ms']:,} ms (n {s['count']:,})"

        return [
            _table_row(
                name,
                f"{c['executions']:,} TWAPs x {c['slices']} slices of {c['slice_seconds']} s, slice lateness",
                f"{lateness(late)}; {ex['done']:,} done, {f['duplicates']['count']} slices sent twice",
                f"no-op task, {NOOP_ROWS} due at once, idle workers",
                lateness(noop),
            )
        ]
    raise ValueError(f"invalid section `name`, was {name!r}")


NOOP_ROWS: Final = 100  # ems.bench_load.NOOP_BURST, named here for the table without importing Django's side


def skipped_row(name: str, why: str) -> dict[str, str]:
    return _table_row(name, f"skipped: {why}", "-", "-", "-")


def table(rows: Sequence[Mapping[str, str]], *, walls: Mapping[str, float], total_s: float) -> str:
    """One aligned table: section, what, figure, baseline, baseline figure, and the section's wall time (on its first row)."""
    header = ["section", "what", "figure", "baseline", "baseline figure", "wall s"]
    body: list[list[str]] = []
    seen: set[str] = set()
    for row in rows:
        section = row["section"]
        wall = f"{walls[section]:,.1f}" if section in walls and section not in seen else ""
        seen.add(section)
        body.append([section, row["what"], row["figure"], row["baseline"], row["baseline_figure"], wall])
    body.append(["total", "", "", "", "", f"{total_s:,.1f}"])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = []
    for n, line in enumerate([header, *body]):
        lines.append("  ".join(cell.rjust(widths[i]) if i == 5 else cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


# --- running -------------------------------------------------------------------------------------


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def run_pure(options: Options, names: Sequence[str]) -> tuple[dict[str, Figures], dict[str, float]]:
    """Run the pure sections named; the micro-benchmarks pinned to one core (unless told not to)."""
    import time

    from venues.sim.bench import run

    results: dict[str, Figures] = {}
    walls: dict[str, float] = {}
    config = BenchConfig(quick=options.quick, seed=options.seed, seeds=options.seeds, full=options.full_grid)
    for name in names:
        _say(f"[bench] {name} ...")
        if options.pin and name in PINNED:
            _pin_to_one_core()
        else:
            _unpin()
        began = time.monotonic()
        results[name] = run(config, [name])[name]
        walls[name] = round(time.monotonic() - began, 1)
    _unpin()  # the live system's processes inherit this process's cores
    return results, walls


def run_live(options: Options, names: Sequence[str]) -> tuple[dict[str, Any], dict[str, float], dict[str, str]]:
    """Set the live system up once and run the live sections named; every process is stopped before this returns.

    Return the sections' reports, their wall times and the sections skipped with why.
    """
    import logging
    import time
    import traceback

    from ems import bench_e2e, bench_load, bench_rfq
    from ems.bench_live import LiveSystem, SetupFailed, unreachable

    why = unreachable(options.live)
    if why is not None:
        _say(f"[bench] live sections skipped: {why}")
        return {}, {}, dict.fromkeys(names, why)
    results: dict[str, Any] = {}
    walls: dict[str, float] = {}
    skipped: dict[str, str] = {}
    live = LiveSystem(options.live)
    # The rfq section's in-process websocket consumer stays in the desk group after its section (its test communicator
    # cannot leave it); the orders published after that say so on every publish: not the bench's figures.
    logging.getLogger("channels_redis.core").setLevel(logging.WARNING)
    try:
        began = time.monotonic()
        _say(f"[bench] live system: preparing {options.live.database_url.rsplit('/', 1)[-1]} (migrate, seed, analytics) ...")
        live.prepare()
        walls["live setup"] = round(time.monotonic() - began, 1)
        for name in names:
            _say(f"[bench] {name} ...")
            began = time.monotonic()
            try:
                if name == "api":
                    results[name] = _run_api(live, options)
                elif name == "e2e":
                    results[name] = bench_e2e.run(live, orders=options.orders)
                elif name == "rfq":
                    results[name] = bench_rfq.run(live, requests=options.rfq_requests, interval_ms=options.rfq_interval_ms)
                elif name == "lateness":
                    results[name] = bench_load.run(live, options.load)
            except SetupFailed as exc:
                skipped[name] = f"failed: {exc}"
                _say(f"[bench] {name} failed: {exc}")
            except Exception as exc:  # one section's failure is reported; the others still run
                skipped[name] = f"failed: {type(exc).__name__}: {exc}"
                _say(f"[bench] {name} failed:\n{traceback.format_exc()}")
            walls[name] = round(time.monotonic() - began, 1)
    finally:
        live.stop()
    return results, walls, skipped


def _run_api(live: Any, options: Options) -> dict[str, Any]:
    from oms import bench_api

    live.stop("workers", "beat")  # accept, not trading: nothing drains the queue
    live.start("web")
    report = bench_api.measure(
        bench_api.WebServer(port=live.web_port, pid=live.fleet.pid("web")),
        database_url=options.live.database_url,
        redis_url=options.live.redis_url,
        clients=options.clients,
        requests=options.requests,
    )
    report["retired_orders"] = bench_api.orders_retire()
    return report


def main(argv: list[str] | None = None) -> int:
    """Run every section (or those named), print one table, write one JSON document; 1 if a section did not add up."""
    import json
    import platform
    import signal
    import time

    options = parse_args(argv)
    began = time.monotonic()

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds through run_live's finally: every process is stopped

    signal.signal(signal.SIGTERM, terminate)
    pure = [name for name in options.only if name in PURE_SECTIONS]
    live = [name for name in options.only if name in LIVE_SECTIONS]
    try:
        results, walls = run_pure(options, pure)
        live_results, live_walls, skipped = run_live(options, live) if live else ({}, {}, {})
    except KeyboardInterrupt:
        sys.stderr.write("bench interrupted; every process it started was stopped\n")
        return 130
    results.update(live_results)
    walls.update(live_walls)
    rows = []
    for name in options.only:
        if name in results:
            try:
                rows.extend(headline(name, results[name]))
            except (KeyError, TypeError, ValueError) as exc:  # the figures are in the JSON all the same
                rows.append(_table_row(name, f"figures unreadable ({type(exc).__name__}: {exc}); see the JSON", "-", "-", "-"))
        elif name in skipped:
            rows.append(skipped_row(name, skipped[name]))
    if "live setup" in walls:
        rows.insert(
            len([r for r in rows if r["section"] in PURE_SECTIONS]),
            _table_row("live setup", "database, migrate, seed, analytics", "-", "-", "-"),
        )
    total_s = round(time.monotonic() - began, 1)
    _say("")
    _say(table(rows, walls=walls, total_s=total_s))
    api_ok = results.get("api", {}).get("verified", {}).get("ok", True)
    report = {
        "python": platform.python_version(),
        "machine": {"cores": os.cpu_count(), "machine": platform.machine()},
        "quick": options.quick,
        "seed": options.seed,
        "sections": list(options.only),
        "wall_s": {**walls, "total": total_s},
        "rows": rows,
        "skipped": skipped,
        "results": results,
    }
    options.json_path.parent.mkdir(parents=True, exist_ok=True)
    options.json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    _say(f"\nwrote {options.json_path}")
    if not api_ok:
        sys.stderr.write(f"bench: the api section does not add up: {results['api']['verified']}\n")
        return 1
    return 0


def _pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


if __name__ == "__main__":
    sys.exit(main())
