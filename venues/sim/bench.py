"""``make bench``: how fast the matching engine and the simulated market run, on one core.

Pure (no Django): ``python -m venues.sim.bench [--quick] [--json PATH] [--only NAME]``.
No test asserts these numbers: they are measured and reported.

Each benchmark is a function registered under a name with ``@benchmark``; it
takes a ``BenchConfig`` and returns a dict of figures: ``setup`` (what was run,
in words and numbers) and ``rows`` (one dict of figures per row label). The
command runs them all in one process pinned to one core, prints one aligned
table and writes the results as JSON.

- ``matching``: a seeded stream of adds around the mid, cancels of live orders
  and marketable orders (the mix is printed with the results), replayed on
  fresh books: flat out for throughput (the best of a few passes, Order
  construction included), then once more with ``time.perf_counter_ns`` around
  each operation for latency, by operation type. Generating the stream runs
  it, so every cancel names an order live when it arrives, and a replay reaches
  the same states.
- ``simulator``: the full background market (three lit venues, two dark pools,
  three instruments) run flat out; simulated seconds per wall-clock second.
"""

import argparse
import gc
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any, Final

from trading.enums import Side, TimeInForce, VenueKind
from venues.sim.background import NS
from venues.sim.book import Order, OrderBook
from venues.sim.lit import Listing, VenueSpec
from venues.sim.market import OPEN_NS, MarketConfig, SimMarket

Figures = dict[str, Any]
Benchmark = Callable[["BenchConfig"], Figures]

BENCHMARKS: dict[str, Benchmark] = {}

DEFAULT_JSON: Final = Path("var/bench/sim.json")
DEFAULT_SEED: Final = 20_240_601


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """How big and which random stream: ``size`` overrides a benchmark's own size (tests use a tiny one)."""

    quick: bool = False
    seed: int = DEFAULT_SEED
    size: int | None = None
    seeds: int | None = None  # how many seeds a benchmark that averages over seeds runs (None: its own default)
    full: bool = False  # a benchmark with a larger grid than make bench's runs all of it


def benchmark(name: str) -> Callable[[Benchmark], Benchmark]:
    """Register ``fn`` under ``name``; the command runs every registered benchmark in registration order."""

    def register(fn: Benchmark) -> Benchmark:
        if name in BENCHMARKS:
            raise ValueError(f"invalid benchmark `name`, was {name!r}: already registered")
        BENCHMARKS[name] = fn
        return fn

    return register


def run(config: BenchConfig, names: list[str] | None = None) -> dict[str, Figures]:
    """Run the named benchmarks (all when None) and return their figures by name."""
    chosen = list(BENCHMARKS) if names is None else names
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        raise ValueError(f"invalid benchmark `names`, was {unknown}: known are {sorted(BENCHMARKS)}")
    return {name: BENCHMARKS[name](config) for name in chosen}


# --- the matching engine ---------------------------------------------------

ADD: Final = 0
CANCEL: Final = 1
TAKE: Final = 2
OP_NAMES: Final = ("add", "cancel", "take")

BUY: Final = Side.BUY
SELL: Final = Side.SELL
DAY: Final = TimeInForce.DAY
IOC: Final = TimeInForce.IOC


@dataclass(frozen=True, slots=True)
class StreamMix:
    """The shape of the matching stream (prices in ticks, quantities in lots).

    Each operation is marketable with probability ``take``; otherwise it
    cancels a uniformly chosen live order with probability n / (n + ``target``)
    (n orders resting, so cancels grow with the book as in queueing models of
    order flow) and adds one otherwise. The book settles below ``target``.
    """

    take: float = 0.08  # half market orders, half IOC limits 0-3 ticks through the touch
    target: int = 5_000
    warmup: int = 5_000  # adds that build the book before timing starts (not timed)
    mid: int = 10_000  # where the book starts, in ticks
    depth_ticks: float = 4.0  # mean distance of an add from the mid, geometric
    add_lots: float = 4.0  # mean add size above one lot, geometric
    take_lots: float = 10.0  # mean marketable size above one lot, geometric
    iceberg: float = 0.05  # share of adds that are icebergs showing ``peak`` lots
    peak: int = 2

    def describe(self) -> str:
        return (
            f"{self.take:.0%} marketable (market or IOC through the touch, 1+{self.take_lots:g} lots on average); "
            f"the rest cancel a random live order with probability n/(n+{self.target}), else add a DAY limit "
            f"(1+{self.add_lots:g} lots, {self.depth_ticks:g} ticks from the mid on average, never crossing, "
            f"{self.iceberg:.0%} icebergs); after {self.warmup} untimed adds"
        )


# (op, order_id, side, px, qty, tif, peak); a cancel uses only op and order_id.
Op = tuple[int, int, Side, int | None, int, TimeInForce, int]


@dataclass(frozen=True, slots=True)
class Stream:
    warmup: list[Op]  # builds the book; replayed untimed
    ops: list[Op]  # the timed operations
    counts: tuple[int, int, int]  # timed ops by type: adds, cancels, takes
    mean_resting: float  # orders resting, averaged over the timed ops
    fills: int


def _geometric(rng: random.Random, mean: float) -> int:
    """Return a draw of a geometric count with the given mean (0 with probability 1 / (1 + mean))."""
    return int(rng.expovariate(1.0 / mean)) if mean > 0 else 0


class _LiveSet:
    """Order ids resting in the book, with O(1) add, remove and uniform choice."""

    __slots__ = ("ids", "where")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.where: dict[int, int] = {}

    def add(self, order_id: int) -> None:
        self.where[order_id] = len(self.ids)
        self.ids.append(order_id)

    def remove(self, order_id: int) -> None:
        at = self.where.pop(order_id)
        last = self.ids.pop()
        if last != order_id:
            self.ids[at] = last
            self.where[last] = at

    def __len__(self) -> int:
        return len(self.ids)


def matching_stream(ops: int, seed: int, mix: StreamMix) -> Stream:
    """Return ``mix.warmup`` adds then ``ops`` mixed book operations, seeded by ``seed``.

    The stream is generated by running it: adds are priced from the book's
    current mid and cancels pick among the orders live at that moment, so a
    replay on a fresh book cancels only live orders.
    """
    rng = random.Random(seed)
    book = OrderBook("BENCH")
    live = _LiveSet()
    warmup: list[Op] = []
    stream: list[Op] = []
    counts = [0, 0, 0]
    order_ids = count(1)
    resting = 0
    fills = 0
    for n in range(mix.warmup + ops):
        timed = n >= mix.warmup
        side = BUY if rng.random() < 0.5 else SELL
        if timed and rng.random() < mix.take:
            qty = 1 + _geometric(rng, mix.take_lots)
            touch = book.best(SELL if side is BUY else BUY)
            px = None
            if touch is not None and rng.random() < 0.5:
                through = rng.randint(0, 3)
                px = touch + through if side is BUY else touch - through
            op: Op = (TAKE, next(order_ids), side, px, qty, IOC, 0)
            outcome = book.add(Order(op[1], side, px, qty, tif=IOC))
            fills += len(outcome.fills)
            for order_id in {fill.passive.order_id for fill in outcome.fills if fill.passive.leaves == 0}:
                live.remove(order_id)  # an iceberg may appear in several fills
        elif timed and len(live) and rng.random() < len(live) / (len(live) + mix.target):
            order_id = live.ids[rng.randrange(len(live))]
            op = (CANCEL, order_id, side, None, 0, DAY, 0)
            book.cancel(order_id)
            live.remove(order_id)
        else:
            bid, ask = book.best(BUY), book.best(SELL)
            if bid is not None and ask is not None:
                low, high = (bid + ask) // 2, (bid + ask + 1) // 2
            else:
                low = high = bid if bid is not None else ask if ask is not None else mix.mid
            away = _geometric(rng, mix.depth_ticks)
            if side is BUY:
                px = low - away
                if ask is not None and px >= ask:
                    px = ask - 1  # a maker's add never crosses
            else:
                px = high + away
                if bid is not None and px <= bid:
                    px = bid + 1
            qty = 1 + _geometric(rng, mix.add_lots)
            peak = mix.peak if qty > mix.peak and rng.random() < mix.iceberg else 0
            op = (ADD, next(order_ids), side, px, qty, DAY, peak)
            outcome = book.add(Order(op[1], side, px, qty, tif=DAY, peak=peak))
            assert not outcome.fills, "a passive add traded"
            live.add(op[1])
        if timed:
            stream.append(op)
            counts[op[0]] += 1
            resting += len(live)
        else:
            warmup.append(op)
    return Stream(warmup, stream, (counts[0], counts[1], counts[2]), resting / max(1, ops), fills)


def _book_after(warmup: list[Op]) -> OrderBook:
    book = OrderBook("BENCH")
    for _op, order_id, side, px, qty, tif, peak in warmup:
        book.add(Order(order_id, side, px, qty, tif=tif, peak=peak))
    return book


def _replay(stream: Stream) -> tuple[int, int, int, int]:
    """Run ``stream`` on a fresh book; return (ns elapsed for the timed ops, ops, fills, cancels that found nothing)."""
    book = _book_after(stream.warmup)
    add = book.add
    cancel = book.cancel
    fills = 0
    misses = 0
    clock = time.perf_counter_ns
    start = clock()
    for op, order_id, side, px, qty, tif, peak in stream.ops:
        if op == CANCEL:
            if cancel(order_id) is None:
                misses += 1
        else:
            fills += len(add(Order(order_id, side, px, qty, tif=tif, peak=peak)).fills)
    elapsed = clock() - start
    return elapsed, len(stream.ops), fills, misses


def _latencies(stream: Stream) -> list[list[int]]:
    """Run ``stream`` on a fresh book timing each operation; return the ns of each, by op type."""
    book = _book_after(stream.warmup)
    add = book.add
    cancel = book.cancel
    clock = time.perf_counter_ns
    by_op: list[list[int]] = [[], [], []]
    for op, order_id, side, px, qty, tif, peak in stream.ops:
        if op == CANCEL:
            start = clock()
            cancel(order_id)
            by_op[CANCEL].append(clock() - start)
        else:
            start = clock()
            add(Order(order_id, side, px, qty, tif=tif, peak=peak))
            by_op[op].append(clock() - start)
    return by_op


def _percentile(sorted_ns: list[int], q: float) -> float:
    """Return the ``q`` quantile (0..1) of already sorted samples, nearest rank, in microseconds."""
    if not sorted_ns:
        return 0.0
    rank = min(len(sorted_ns) - 1, max(0, round(q * len(sorted_ns)) - 1))
    return sorted_ns[rank] / 1000


def _latency_row(samples: list[int]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "count": len(ordered),
        "mean_us": (sum(ordered) / len(ordered) / 1000) if ordered else 0.0,
        "p50_us": _percentile(ordered, 0.50),
        "p99_us": _percentile(ordered, 0.99),
        "p999_us": _percentile(ordered, 0.999),
        "max_us": ordered[-1] / 1000 if ordered else 0.0,
    }


def trivial_loop(ops: int) -> tuple[int, list[int]]:
    """The baseline: ``ops`` trivial Python operations (a ``heappush`` and a dict insert, or a ``heappop`` and a dict
    delete, alternating); return the ns of a flat-out pass and each operation's ns in a timed pass: the machine's speed."""
    import heapq

    clock = time.perf_counter_ns

    def one_pass(timed: list[int] | None) -> int:
        heap: list[int] = []
        live: dict[int, int] = {}
        start = clock()
        for n in range(ops):
            began = clock() if timed is not None else 0
            if n % 2 == 0 or not heap:
                heapq.heappush(heap, (n * 7919) % 10_007)
                live[n] = n
            else:
                heapq.heappop(heap)
                live.pop(n - 1, None)
            if timed is not None:
                timed.append(clock() - began)
        return clock() - start

    elapsed = min(one_pass(None) for _ in range(2))
    samples: list[int] = []
    one_pass(samples)
    return elapsed, samples


@benchmark("matching")
def bench_matching(config: BenchConfig) -> Figures:
    """Time the order book on a mixed stream: throughput over the best of a few passes, then per-op latency."""
    size = config.size or (20_000 if config.quick else 300_000)
    repeats = 2 if config.quick else 3
    mix = StreamMix()
    stream = matching_stream(size, config.seed, mix)
    passes = []
    for _ in range(repeats):
        gc.collect()  # each pass starts from a collected heap; the collector stays on, as in the simulator
        passes.append(_replay(stream))
    elapsed_ns, ops, fills, misses = min(passes)
    gc.collect()
    by_op = _latencies(stream)
    rows: dict[str, dict[str, float]] = {
        "all": {"ops_per_s": ops / (elapsed_ns / 1e9), **_latency_row([ns for samples in by_op for ns in samples])}
    }
    for op, name in enumerate(OP_NAMES):
        rows[name] = _latency_row(by_op[op])
    base_ns, base_samples = trivial_loop(ops)
    rows["baseline"] = {"ops_per_s": ops / (base_ns / 1e9), **_latency_row(base_samples)}
    adds, cancels, takes = stream.counts
    return {
        "setup": {
            "mix": mix.describe(),
            "realized": f"{adds / ops:.1%} adds, {cancels / ops:.1%} cancels, {takes / ops:.1%} marketable",
            "stream_ops": len(stream.ops),
            "ops": ops,
            "fills": fills,
            "replay_matches_stream": fills == stream.fills and misses == 0,
            "mean_resting": round(stream.mean_resting),
            "seed": config.seed,
            "throughput": f"best of {repeats} passes, Order construction included",
            "latency": "one more pass, perf_counter_ns around each op (its own cost included)",
            "baseline": "as many trivial operations (heappush + dict insert, or heappop + dict delete), timed the same way",
        },
        "rows": rows,
    }


# --- the simulated market --------------------------------------------------


@benchmark("simulator")
def bench_simulator(config: BenchConfig) -> Figures:
    """Run the whole background market flat out: events handled and simulated seconds per wall-clock second."""
    seconds = config.size or (300 if config.quick else 3600)
    d = Decimal
    venues = (
        (VenueKind.LIT, VenueSpec("PRIM", d("-0.0020"), d("0.0030"), latency_ns=1_000_000, weight=d(3))),
        (VenueKind.LIT, VenueSpec("SEC1", d("-0.0015"), d("0.0025"), latency_ns=2_000_000, weight=d("1.5"))),
        (VenueKind.LIT, VenueSpec("SEC2", d("0.0010"), d("-0.0005"), latency_ns=3_000_000, weight=d(1))),
        (VenueKind.DARK, VenueSpec("DRK1", d("0.0010"), d("0.0010"))),
        (VenueKind.DARK, VenueSpec("DRK2", d("0.0008"), d("0.0008"))),
    )
    listings = [
        Listing("AAA", d("0.01"), d(1), d("101.50")),
        Listing("BBB", d("0.01"), d(1), d("44.20")),
        Listing("CCC", d("0.01"), d(100), d("18.75")),
    ]
    market = SimMarket(config=MarketConfig(seed=config.seed), venues=venues, listings=listings, day=date(2026, 1, 5))
    gc.collect()
    started = time.perf_counter_ns()
    events = market.run_until(OPEN_NS + seconds * NS)
    elapsed_s = (time.perf_counter_ns() - started) / 1e9
    _reports, prints = market.drain()
    return {
        "setup": {
            "market": f"{len(venues)} venues (3 lit, 2 dark), {len(listings)} instruments, background traders from the open",
            "simulated_s": seconds,
            "trades": len(prints),
            "seed": config.seed,
        },
        "rows": {
            "market": {"count": events, "ops_per_s": events / elapsed_s, "sim_s_per_wall_s": seconds / elapsed_s},
            "baseline": {"count": events, "ops_per_s": events / (trivial_loop(events)[0] / 1e9)},
        },
    }


# --- the command -----------------------------------------------------------

# Columns in this order; a row shows those it has. ``count`` and ``ops_per_s`` are operations (or events).
COLUMNS: Final = ("count", "ops_per_s", "mean_us", "p50_us", "p99_us", "p999_us", "max_us", "sim_s_per_wall_s")


def _cell(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or value >= 10_000:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def table(results: dict[str, Figures]) -> str:
    """Return every benchmark's rows as one aligned table, each benchmark's setup above it."""
    lines = []
    for name, figures in results.items():
        for key, value in figures.get("setup", {}).items():
            lines.append(f"{name} {key}: {value}")
    rows = [row for f in results.values() for row in f["rows"].values()]
    columns = [column for column in COLUMNS if any(column in row for row in rows)]
    columns += [column for column in dict.fromkeys(key for row in rows for key in row) if column not in COLUMNS]  # others after
    header = ["benchmark", "row", *columns]
    body = [
        [name, label, *(_cell(row[column]) if column in row else "" for column in columns)]
        for name, figures in results.items()
        for label, row in figures["rows"].items()
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines.append("")
    for line in [header, *body]:
        cells = [cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(line)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _pin_to_one_core() -> str:
    """Keep the process on the core it is on, where the OS allows it; return what was done."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to core {core}"


def main(
    argv: list[str] | None = None,
    *,
    prog: str = "python -m venues.sim.bench",
    description: str = __doc__.split("\n\n")[0],
    default_json: Path = DEFAULT_JSON,
) -> int:
    """Run the registered benchmarks from the command line; other modules that register more call this with their own name."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run (about 2 s)")
    parser.add_argument("--json", type=Path, default=default_json, help=f"where to write the results (default {default_json})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only this benchmark (repeatable)")
    parser.add_argument("--no-pin", action="store_true", help="leave the process free to move between cores")
    args = parser.parse_args(argv)
    cores = "not pinned" if args.no_pin else _pin_to_one_core()
    config = BenchConfig(quick=args.quick, seed=args.seed)
    results = run(config, args.only)
    sys.stdout.write(table(results) + "\n")
    report = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "cores": cores,
        "quick": args.quick,
        "seed": args.seed,
        "results": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(f"\nwrote {args.json}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
