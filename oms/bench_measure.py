"""What every live benchmark of ``make bench`` measures with: percentiles, CPU readings, where a URL points.

Plain Python (no Django). It sits in ``oms`` so the OMS's own bench
(``oms.bench_api``) and the EMS's live harness (``ems.bench_live``, which runs
every live section) share it: ``oms`` imports nothing of ``ems`` (the import
contract).
"""

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def percentile(values: Sequence[int] | Sequence[float], pct: float) -> Any:
    """Return the ``pct`` percentile (0 < pct <= 100) by nearest rank: a value that was observed, never interpolated."""
    if not values:
        raise ValueError("no values")
    if not 0 < pct <= 100:
        raise ValueError(f"invalid `pct`, was {pct}")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def summary_ms(values_ms: Sequence[float]) -> dict[str, Any]:
    """Count, p50, p99 and max of latencies in ms (rounded to 0.1 ms); ``{"n": 0}`` when nothing was measured."""
    if not values_ms:
        return {"n": 0}
    return {
        "n": len(values_ms),
        "p50_ms": round(percentile(values_ms, 50), 1),
        "p99_ms": round(percentile(values_ms, 99), 1),
        "max_ms": round(max(values_ms), 1),
    }


def where(url: str) -> str:
    """``host:port/path`` of a database or Redis URL, for messages (no credentials)."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or ''}{parts.path}"


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time of ``pid``, of the children it has reaped and of those still running (a worker's pool); None off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = [int(child) for task in Path(f"/proc/{pid}/task").iterdir() for child in (task / "children").read_text().split()]
    except (OSError, IndexError, ValueError):
        return None
    own = sum(int(ticks) for ticks in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime, stime, cutime, cstime
    return own + sum(process_cpu_seconds(child) or 0.0 for child in children)


def process_threads(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("Threads:")), None)


def machine_cpu() -> tuple[int, int] | None:
    """The machine's busy and total CPU time so far, in clock ticks (every process, not only ours); None off Linux."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, IndexError, ValueError):
        return None
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle, iowait
    return sum(ticks) - idle, sum(ticks)


def busy_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of the machine's CPU that was busy between two ``machine_cpu`` readings."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round((after[0] - before[0]) / (after[1] - before[1]), 3)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []
