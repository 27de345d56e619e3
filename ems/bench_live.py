"""The live system every live section of ``make bench`` runs on, set up once.

One PostgreSQL database of the bench's own (``BENCH_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/oms_bench``: dropped and created again)
and one Redis database (``BENCH_REDIS_URL``, default
``redis://127.0.0.1:6379/14``: emptied); ``migrate``, ``seed_demo`` and
``analytics_refresh`` (so beat's analytics task finds nothing to do mid-run)
once; Django set up in this process on them (production settings: ``DEBUG``
off). Then the processes, as the Procfile runs them, each started when a
section first needs it and all stopped at the end, on an error or Ctrl-C too:

- ``web``: Daphne serving ``config.asgi`` (HTTP and the websockets) on a free
  loopback port (or ``BENCH_WEB_PORT``);
- ``gateway``: ``manage.py rungateway``, the simulated venues in real time;
- ``workers``: W Celery workers of C pool processes (default 2 x 4), named
  ``bench<i>@host`` and started with ``--app=config`` (a ``pkill -f "celery -A
  config worker"`` aimed at a test run's leftovers does not take them down),
  importing ``ems.bench_tasks`` too (the lateness section's no-op task);
- ``beat``: its sweep resumes stalled executions, as in production.

A section may stop what it must not have running (the API section runs before
any worker starts). Logs go to ``var/bench/live-*.log``. Without PostgreSQL or
Redis, ``unreachable`` says why, and the runner skips every live section with
one line.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from oms.bench_measure import process_cpu_seconds, where

ROOT: Final = Path(__file__).resolve().parent.parent
LOG_DIR: Final = ROOT / "var" / "bench"
DEFAULT_DATABASE_URL: Final = "postgres://postgres@127.0.0.1:5432/oms_bench"
DEFAULT_REDIS_URL: Final = "redis://127.0.0.1:6379/14"
# Four pool processes a worker: a tick spends much of its time waiting on PostgreSQL and Redis
# round trips and on row locks rather than on the CPU, so a worker overlaps a few per core; two
# workers make eight database connections, well within PostgreSQL's default hundred.
DEFAULT_WORKERS: Final = 2
DEFAULT_CONCURRENCY: Final = 4
READY_TIMEOUT_S: Final = 120.0
STOP_TIMEOUT_S: Final = 20.0
_NOT_DROPPED: Final = frozenset({"postgres", "template0", "template1"})
PROCESSES: Final = ("web", "gateway", "workers", "beat")


class SetupFailed(Exception):
    """A step before the measurement failed; the message says which and where its log is."""


@dataclass(frozen=True, slots=True)
class LiveConfig:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = DEFAULT_REDIS_URL
    workers: int = DEFAULT_WORKERS
    concurrency: int = DEFAULT_CONCURRENCY
    web_port: int = 0  # 0: a free port

    def __post_init__(self) -> None:
        if urlsplit(self.database_url).scheme not in ("postgres", "postgresql", "pgsql"):
            raise ValueError(
                f"invalid `database_url`, was {self.database_url}: must be PostgreSQL (the row locks and two writing workers)"
            )
        if self.workers < 1 or self.concurrency < 1:
            raise ValueError(f"invalid `workers` or `concurrency`, was {self.workers} x {self.concurrency}: at least 1")


def live_config(environ: Mapping[str, str], *, workers: int, concurrency: int) -> LiveConfig:
    """The live system's settings: the ``BENCH_*`` URLs and port from ``environ``, the workers from the command line."""
    return LiveConfig(
        database_url=environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL,
        redis_url=environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL,
        workers=workers,
        concurrency=concurrency,
        web_port=int(environ.get("BENCH_WEB_PORT") or 0),
    )


# --- PostgreSQL and Redis -------------------------------------------------------------------------


def _conninfo(database_url: str, *, dbname: str | None = None) -> tuple[str, str]:
    """The conninfo of the benchmark database (or ``dbname`` on its server), and the benchmark database's name."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(database_url)
    name = str(params.get("dbname") or "")
    return make_conninfo("", **{**params, "dbname": dbname or name}), name


def unreachable(config: LiveConfig) -> str | None:
    """Why the live system cannot run here (PostgreSQL or Redis not answering), or None."""
    import psycopg
    import redis

    admin, _ = _conninfo(config.database_url, dbname="postgres")
    try:
        psycopg.connect(admin, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {where(config.database_url)} is not reachable ({str(exc).strip().splitlines()[0]})"
    try:
        redis.Redis.from_url(config.redis_url, socket_connect_timeout=3, socket_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis at {where(config.redis_url)} is not reachable ({exc})"
    return None


def database_recreate(database_url: str) -> None:
    """Drop the benchmark database (closing its sessions) and create it empty."""
    import psycopg
    from psycopg import sql

    admin, name = _conninfo(database_url, dbname="postgres")
    if not name or name in _NOT_DROPPED:
        raise SetupFailed(f"BENCH_DATABASE_URL must name a database of its own to drop and create, was {name!r}")
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def process_env(config: LiveConfig) -> dict[str, str]:
    """The environment of every process of the run, this one's too: production settings on the bench's database and Redis."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=config.database_url,
        REDIS_URL=config.redis_url,
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-only-not-secret",
        DEBUG="false",  # DEBUG keeps every query in memory
        DB_POOL_MAX_SIZE=os.environ.get("DB_POOL_MAX_SIZE") or "20",  # as the Procfile's web process runs
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(args: list[str], *, env: Mapping[str, str], log: Path) -> None:
    """Run ``manage.py <args>`` to the end, its output appended to ``log``; raise ``SetupFailed`` if it fails."""
    with log.open("ab") as out:
        out.write(f"\n$ manage.py {' '.join(args)}\n".encode())
        out.flush()
        command = [sys.executable, "manage.py", *args]
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    if done.returncode != 0:
        raise SetupFailed(f"manage.py {args[0]} failed (exit {done.returncode}); see {log}")


def analytics_refresh(*, env: Mapping[str, str], log: Path) -> None:
    """Store every instrument's analytics as beat's task would (one simulated day), in two halves at once.

    Done before the run, so beat's ``venues.analytics_refresh`` finds nothing
    missing and spends no worker time on it mid-measurement.
    """
    from oms.models import Instrument

    symbols = sorted(Instrument.objects.filter(active=True).values_list("symbol", flat=True))
    with log.open("ab") as out:
        out.write(b"\n$ manage.py analytics_refresh --days 1 (two halves at once)\n")
        out.flush()
        procs = [
            subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
                [sys.executable, "manage.py", "analytics_refresh", "--days", "1", "--symbols", ",".join(half)],
                cwd=ROOT,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            for half in (symbols[0::2], symbols[1::2])
            if half
        ]
        codes = [proc.wait() for proc in procs]
    if any(codes):
        raise SetupFailed(f"manage.py analytics_refresh failed (exits {codes}); see {log}")


def free_port() -> int:
    """A TCP port free on the loopback now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the processes --------------------------------------------------------------------------------


class Fleet:
    """The processes this run started, stopped together (or by name).

    Each runs in its own session: Ctrl-C reaches only the benchmark, which
    stops them in order, and one that does not stop is killed with its pool
    (its process group), by its id.
    """

    def __init__(self, *, env: Mapping[str, str], log_dir: Path) -> None:
        self._env = dict(env)
        self._log_dir = log_dir
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, Any] = {}

    def start(self, name: str, args: list[str]) -> None:
        log = (self._log_dir / f"live-{name}.log").open("ab")
        self._logs[name] = log
        self._procs[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            [sys.executable, *args], cwd=ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def pid(self, name: str) -> int:
        return self._procs[name].pid

    def running(self) -> list[str]:
        return [name for name, proc in self._procs.items() if proc.poll() is None]

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each process and its pool have used so far (Linux's /proc; empty elsewhere)."""
        used = {name: process_cpu_seconds(proc.pid) for name, proc in self._procs.items()}
        return {name: round(seconds, 1) for name, seconds in used.items() if seconds is not None}

    def exited(self) -> dict[str, int]:
        """The processes that have ended, with their exit codes: none should before ``stop``."""
        return {name: code for name, proc in self._procs.items() if (code := proc.poll()) is not None}

    def stop(self, names: Sequence[str] | None = None) -> None:
        """Stop ``names`` (every process when None), each asked to end, then killed with its group if it does not."""
        chosen = {name: proc for name, proc in self._procs.items() if names is None or name in names}
        for proc in chosen.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in chosen.values():
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for name in chosen:
            del self._procs[name]
            self._logs.pop(name).close()


class LiveSystem:
    """The bench's live system: ``prepare`` once, then ``start`` what a section needs; ``stop`` ends everything."""

    def __init__(self, config: LiveConfig, *, log_dir: Path = LOG_DIR) -> None:
        self.config = config
        self.log_dir = log_dir
        self.env = process_env(config)
        self.fleet = Fleet(env=self.env, log_dir=log_dir)
        self.web_port = 0
        self.timings: dict[str, float] = {}

    def prepare(self) -> None:
        """An empty database and Redis of the run's own, migrated, seeded and analysed, and Django set up here."""
        import redis

        began = time.monotonic()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.log_dir.glob("live-*.log"):
            stale.unlink()
        log = self.log_dir / "live-setup.log"
        database_recreate(self.config.database_url)
        redis.Redis.from_url(self.config.redis_url).flushdb()
        manage(["migrate", "--noinput"], env=self.env, log=log)
        manage(["seed_demo"], env=self.env, log=log)
        os.environ.update(self.env)
        import django

        django.setup()
        analytics_refresh(env=self.env, log=log)
        self.timings["prepare_s"] = round(time.monotonic() - began, 1)

    def start(self, *names: str) -> None:
        """Start the named processes not running yet (``web``, ``gateway``, ``workers``, ``beat``) and wait until ready."""
        unknown = set(names) - set(PROCESSES)
        if unknown:
            raise ValueError(f"invalid process `names`, was {sorted(unknown)}: known are {PROCESSES}")
        running = set(self.fleet.running())
        if "web" in names and "web" not in running:
            self.web_port = self.config.web_port or free_port()
            self.fleet.start("web", ["-m", "daphne", "-b", "127.0.0.1", "-p", str(self.web_port), "config.asgi:application"])
        if "gateway" in names and "gateway" not in running:
            self.fleet.start("gateway", ["manage.py", "rungateway"])
        if "workers" in names and "worker-1" not in running:
            worker = ["-m", "celery", "--app=config", "worker", "--loglevel=INFO", f"--concurrency={self.config.concurrency}"]
            for i in range(1, self.config.workers + 1):
                self.fleet.start(f"worker-{i}", [*worker, "--include=ems.bench_tasks", "-n", f"bench{i}@%h"])
        if "beat" in names and "beat" not in running:
            schedule = self.log_dir / "celerybeat-schedule"
            for stale in self.log_dir.glob("celerybeat-schedule*"):
                stale.unlink()
            self.fleet.start("beat", ["-m", "celery", "--app=config", "beat", "--loglevel=INFO", f"--schedule={schedule}"])
        self.wait_ready(names)

    def stop(self, *names: str) -> None:
        """Stop the named processes (``workers`` is every worker); every process when none is named."""
        if not names:
            self.fleet.stop()
            return
        chosen = [n for n in self.fleet.running() if n in names or (n.startswith("worker-") and "workers" in names)]
        self.fleet.stop(chosen)

    def wait_ready(self, names: Sequence[str]) -> None:
        """Wait until the web server answers, every worker answers a ping and the gateway has published every NBBO."""
        from config.celery import app
        from config.redis import redis_client
        from oms.models import Instrument
        from trading.enums import AssetClass
        from venues.marketdata import nbbo_read

        symbols = list(Instrument.objects.filter(active=True, asset_class=AssetClass.EQUITY).values_list("symbol", flat=True))
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if exited := self.fleet.exited():
                raise SetupFailed(f"processes ended during start-up: {exited}; see {self.log_dir}/live-*.log")
            missing = []
            if "web" in names and not self._web_answers():
                missing.append("the web server does not answer")
            if "workers" in names:
                answering = [n for reply in app.control.ping(timeout=1.0) or [] for n in reply if n.startswith("bench")]
                if len(answering) < self.config.workers:
                    missing.append(f"{len(answering)} of {self.config.workers} workers answer")
            if "gateway" in names:
                quoted = [s for s in symbols if nbbo_read(redis_client(), s) is not None]
                if len(quoted) < len(symbols):
                    missing.append(f"{len(quoted)} of {len(symbols)} symbols quoted")
            if not missing:
                return
            if time.monotonic() > deadline:
                raise SetupFailed(f"not ready after {READY_TIMEOUT_S:.0f} s: {'; '.join(missing)}; see {self.log_dir}/live-*.log")
            time.sleep(0.3)

    def _web_answers(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=5)
        try:
            conn.request("GET", "/accounts/login/")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()
