"""Speed of the simulated market's hot paths: ``python -m venues.sim.bench [--quick] [--json PATH]``.

Each benchmark is a function registered under a name with ``@benchmark``; it
takes a ``BenchConfig`` and returns a dict of figures: ``setup`` (what was run,
in words and numbers) and ``rows`` (one dict of figures per row label). The
command runs them all on one core, prints one aligned table and writes the
results as JSON.

The matching benchmark generates a seeded stream of adds around the touch,
cancels of live orders and marketable orders, then replays it twice on fresh
books: once flat out for throughput (Order construction included) and once
with ``time.perf_counter_ns`` around each operation for latency. Generating the
stream runs it once, so every cancel in it names an order that is live when the
cancel arrives (a replay of the same stream reaches the same states).
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
from pathlib import Path
from typing import Any, Final

from trading.enums import Side, TimeInForce
from venues.sim.book import Order, OrderBook

Figures = dict[str, Any]
Benchmark = Callable[["BenchConfig"], Figures]

BENCHMARKS: dict[str, Benchmark] = {}

DEFAULT_JSON: Final = Path("var/bench/matching.json")


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """How big and which random stream: ``size`` overrides a benchmark's own size (tests use a tiny one)."""

    quick: bool = False
    seed: int = 20_240_601
    size: int | None = None


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
    """The shape of the matching stream (prices in ticks, quantities in lots)."""

    add: float = 0.55  # passive limit orders, priced off the touch, never crossing on entry
    cancel: float = 0.35  # of a live order chosen uniformly
    take: float = 0.10  # marketable: half market orders, half IOC limits a few ticks through the touch
    mid: int = 10_000  # where the book starts, in ticks
    depth_ticks: float = 4.0  # mean distance of an add behind its own touch (geometric)
    max_depth_ticks: int = 60
    add_lots: float = 4.0  # mean add size above one lot (geometric)
    take_lots: float = 12.0  # mean marketable size above one lot (geometric)
    iceberg: float = 0.05  # share of adds that are icebergs showing ``peak`` lots
    peak: int = 2

    def describe(self) -> str:
        return (
            f"{self.add:.0%} adds (DAY limits 1+{self.depth_ticks:g} ticks behind the touch on average, "
            f"{self.iceberg:.0%} icebergs), {self.cancel:.0%} cancels of random live orders, "
            f"{self.take:.0%} marketable (market or IOC through the touch, 1+{self.take_lots:g} lots on average)"
        )


# (op, order_id, side, px, qty, tif, peak); a cancel uses only op and order_id.
Op = tuple[int, int, Side, int | None, int, TimeInForce, int]


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


def matching_stream(ops: int, seed: int, mix: StreamMix) -> tuple[list[Op], int]:
    """Return a stream of ``ops`` book operations and the largest number of orders resting along it.

    The stream is generated by running it: adds are priced from the book's
    current touch and cancels pick among the orders live at that moment.
    """
    rng = random.Random(seed)
    book = OrderBook("BENCH")
    live = _LiveSet()
    stream: list[Op] = []
    order_ids = iter(range(1, 2 * ops + 2))
    most = 0
    add_cut = mix.add
    cancel_cut = mix.add + mix.cancel
    for _ in range(ops):
        draw = rng.random()
        side = BUY if rng.random() < 0.5 else SELL
        if draw >= add_cut and draw < cancel_cut and len(live):
            order_id = live.ids[rng.randrange(len(live))]
            op: Op = (CANCEL, order_id, side, None, 0, DAY, 0)
            book.cancel(order_id)
            live.remove(order_id)
        elif draw >= cancel_cut:
            qty = 1 + _geometric(rng, mix.take_lots)
            touch = book.best(SELL if side is BUY else BUY)
            px = None
            if touch is not None and rng.random() < 0.5:
                through = rng.randint(0, 3)
                px = touch + through if side is BUY else touch - through
            op = (TAKE, next(order_ids), side, px, qty, IOC, 0)
            outcome = book.add(Order(op[1], side, px, qty, tif=IOC))
            for fill in outcome.fills:
                if fill.passive.leaves == 0:
                    live.remove(fill.passive.order_id)
        else:  # an add, also when a cancel finds nothing live
            bid, ask = book.best(BUY), book.best(SELL)
            behind = 1 + min(_geometric(rng, mix.depth_ticks), mix.max_depth_ticks)
            if side is BUY:
                px = (bid if bid is not None else mix.mid) - behind + 1
                if ask is not None and px >= ask:
                    px = ask - 1  # a maker's add never crosses
            else:
                px = (ask if ask is not None else mix.mid) + behind - 1
                if bid is not None and px <= bid:
                    px = bid + 1
            qty = 1 + _geometric(rng, mix.add_lots)
            peak = mix.peak if qty > mix.peak and rng.random() < mix.iceberg else 0
            op = (ADD, next(order_ids), side, px, qty, DAY, peak)
            outcome = book.add(Order(op[1], side, px, qty, tif=DAY, peak=peak))
            assert not outcome.fills, "a passive add traded"
            live.add(op[1])
        stream.append(op)
        most = max(most, len(live))
    return stream, most


def _replay(stream: list[Op]) -> tuple[int, int, int, int]:
    """Run ``stream`` on a fresh book; return (ns elapsed, ops, fills, cancels that found no order)."""
    book = OrderBook("BENCH")
    add = book.add
    cancel = book.cancel
    fills = 0
    misses = 0
    clock = time.perf_counter_ns
    start = clock()
    for op, order_id, side, px, qty, tif, peak in stream:
        if op == CANCEL:
            if cancel(order_id) is None:
                misses += 1
        else:
            fills += len(add(Order(order_id, side, px, qty, tif=tif, peak=peak)).fills)
    elapsed = clock() - start
    return elapsed, len(stream), fills, misses


def _latencies(stream: list[Op]) -> list[list[int]]:
    """Run ``stream`` on a fresh book timing each operation; return the ns of each, by op type."""
    book = OrderBook("BENCH")
    add = book.add
    cancel = book.cancel
    clock = time.perf_counter_ns
    by_op: list[list[int]] = [[], [], []]
    for op, order_id, side, px, qty, tif, peak in stream:
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


@benchmark("matching")
def bench_matching(config: BenchConfig) -> Figures:
    """Time the order book on a mixed stream: throughput over the best of a few passes, then per-op latency."""
    ops = config.size or (20_000 if config.quick else 300_000)
    repeats = 2 if config.quick else 3
    mix = StreamMix()
    stream, most_resting = matching_stream(ops, config.seed, mix)
    passes = []
    for _ in range(repeats):
        gc.collect()  # each pass starts from the same heap; the collector stays on, as in the simulator
        passes.append(_replay(stream))
    elapsed_ns, counted, fills, misses = min(passes)
    gc.collect()
    by_op = _latencies(stream)
    every = [ns for samples in by_op for ns in samples]
    all_row = {"ops_per_s": counted / (elapsed_ns / 1e9), **_latency_row(every)}
    rows: dict[str, dict[str, float]] = {"all": all_row}
    for op, name in enumerate(OP_NAMES):
        rows[name] = _latency_row(by_op[op])
    return {
        "setup": {
            "mix": mix.describe(),
            "stream_ops": len(stream),
            "ops": counted,
            "fills": fills,
            "cancel_misses": misses,
            "most_resting": most_resting,
            "seed": config.seed,
            "throughput": f"best of {repeats} passes, Order construction included",
            "latency": "one pass, perf_counter_ns around each op (its own ~50 ns included)",
        },
        "rows": rows,
    }


# --- the command -----------------------------------------------------------

COLUMNS: Final = ("count", "ops_per_s", "mean_us", "p50_us", "p99_us", "p999_us", "max_us")


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
            lines.append(f"{name} {key}: {_cell(value)}")
    columns = [column for column in COLUMNS if any(column in row for f in results.values() for row in f["rows"].values())]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m venues.sim.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run (about 2 s)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the results (default {DEFAULT_JSON})")
    parser.add_argument("--seed", type=int, default=BenchConfig.seed)
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only this benchmark (repeatable)")
    args = parser.parse_args(argv)
    cores = _pin_to_one_core()
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
        "benchmarks": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(f"\nwrote {args.json}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
