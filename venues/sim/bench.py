"""``make bench``: how fast the matching engine and the simulated market run, on one core.

Pure (no Django): ``python -m venues.sim.bench [--quick] [--json PATH]``. Each
benchmark is a function returning named figures; the table and the JSON list
them all. No test asserts these numbers: they are measured and reported.

- ``matching``: a seeded mixed stream on one book, 55% adds resting around the
  touch (prices drawn closer to the touch more often), 30% cancels of random
  live orders, 15% marketable orders (market IOC or limits through the touch).
  Throughput counts the construction of each order too; latency is each
  operation timed on its own in a second pass, by kind.
- ``simulator``: the full background market (three lit venues, two dark pools,
  three instruments) run flat out; simulated seconds per wall-clock second.
"""

import argparse
import json
import random
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from trading.enums import Side, TimeInForce, VenueKind
from venues.sim.background import NS
from venues.sim.book import Order, OrderBook
from venues.sim.lit import Listing, VenueSpec
from venues.sim.market import OPEN_NS, MarketConfig, SimMarket

Figures = dict[str, Any]
BENCHMARKS: dict[str, Callable[[bool], Figures]] = {}


def benchmark(name: str) -> Callable[[Callable[[bool], Figures]], Callable[[bool], Figures]]:
    def register(fn: Callable[[bool], Figures]) -> Callable[[bool], Figures]:
        BENCHMARKS[name] = fn
        return fn

    return register


Op = tuple[str, int, Side, int | None, int, TimeInForce]


def mixed_stream(n: int, seed: int = 1) -> list[Op]:
    """Return ``n`` operations: ('add' | 'cancel', order id, side, px or None, lots, tif)."""
    rng = random.Random(seed)
    mid = 10_000
    live: list[int] = []
    ops: list[Op] = []
    next_id = 1
    for _ in range(n):
        roll = rng.random()
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        if roll < 0.30 and live:
            ops.append(("cancel", live.pop(rng.randrange(len(live))), side, None, 0, TimeInForce.DAY))
            continue
        if roll < 0.45:  # marketable
            px = None if rng.random() < 0.5 else mid + side.sign * rng.randint(1, 5)
            ops.append(("add", next_id, side, px, rng.randint(1, 20), TimeInForce.IOC))
        else:  # resting, mostly near the touch
            distance = int(rng.expovariate(0.3)) + 1
            ops.append(("add", next_id, side, mid - side.sign * distance, rng.randint(1, 10), TimeInForce.DAY))
            live.append(next_id)
        next_id += 1
    return ops


def _apply(book: OrderBook, op: Op) -> None:
    kind, order_id, side, px, lots, tif = op
    if kind == "cancel":
        book.cancel(order_id)
    else:
        book.add(Order(order_id, side, px, lots, tif=tif))


def _percentile(sorted_ns: list[int], q: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1000  # microseconds


@benchmark("matching")
def matching(quick: bool) -> Figures:
    n = 20_000 if quick else 1_000_000
    ops = mixed_stream(n)
    book = OrderBook("BENCH")
    started = time.perf_counter()
    for op in ops:
        _apply(book, op)
    elapsed = time.perf_counter() - started
    timings: dict[str, list[int]] = {"add": [], "cancel": [], "match": []}
    book = OrderBook("BENCH")
    clock = time.perf_counter_ns
    for op in ops:
        kind = "match" if op[0] == "add" and op[5] is TimeInForce.IOC else op[0]
        t0 = clock()
        _apply(book, op)
        timings[kind].append(clock() - t0)
    every = sorted(ns for series in timings.values() for ns in series)
    figures: Figures = {
        "ops": n,
        "ops_per_s": round(n / elapsed),
        "p50_us": round(_percentile(every, 0.50), 2),
        "p99_us": round(_percentile(every, 0.99), 2),
        "resting_at_end": len(book),
    }
    for kind, series in timings.items():
        series.sort()
        figures[f"{kind}_p50_us"] = round(_percentile(series, 0.50), 2)
        figures[f"{kind}_p99_us"] = round(_percentile(series, 0.99), 2)
    return figures


@benchmark("simulator")
def simulator(quick: bool) -> Figures:
    seconds = 300 if quick else 3600
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
    market = SimMarket(config=MarketConfig(seed=7), venues=venues, listings=listings, day=date(2026, 1, 5))
    started = time.perf_counter()
    events = market.run_until(OPEN_NS + seconds * NS)
    elapsed = time.perf_counter() - started
    _reports, prints = market.drain()
    return {
        "simulated_s": seconds,
        "instruments": len(listings),
        "events": events,
        "trades": len(prints),
        "sim_s_per_wall_s": round(seconds / elapsed, 1),
    }


def run(*, quick: bool, only: list[str] | None = None) -> dict[str, Figures]:
    return {name: fn(quick) for name, fn in BENCHMARKS.items() if not only or name in only}


def table(results: dict[str, Figures]) -> str:
    rows = [(name, key, value) for name, figures in results.items() for key, value in figures.items()]
    width = max(len(f"{name}.{key}") for name, key, _ in rows)
    return "\n".join(f"{f'{name}.{key}':<{width}}  {value:>14,}" for name, key, value in rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run in seconds")
    parser.add_argument("--json", default="var/bench/sim.json", help="where to write the figures")
    parser.add_argument("--only", action="append", help="run only this benchmark (repeatable)")
    args = parser.parse_args(argv)
    results = run(quick=args.quick, only=args.only)
    print(table(results))  # noqa: T201
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"quick": args.quick, "results": results}, indent=2))


if __name__ == "__main__":
    main()
