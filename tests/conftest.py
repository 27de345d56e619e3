"""Shared fixtures: the real Redis for the run, users and demo data, process helpers."""

import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.redis import redis_client

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def redis_server() -> Iterator[None]:
    """Run the embedded Redis when no REDIS_URL is given; either way, start from an empty database."""
    process = None
    if settings.EMBEDDED_REDIS:
        try:
            redis.Redis.from_url(settings.REDIS_URL).ping()
        except redis.ConnectionError:
            from config.embedded_redis import start

            process = start(port=settings.EMBEDDED_REDIS_PORT, data_dir=Path(tempfile.mkdtemp(prefix="test-redis-")))
    redis_client().flushdb()
    yield
    if process is not None:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def demo(db: Any) -> None:
    """The demo data set: users, instruments, venues, dealers, portfolios; and no market data left by another test."""
    client = redis_client()
    stale = list(client.scan_iter("md:*"))
    if stale:
        client.delete(*stale)
    call_command("seed_demo", stdout=io.StringIO())


def api_client_for(username: str) -> APIClient:
    """Return an API client authenticated with ``username``'s token, as a PM's script would be."""
    token, _ = Token.objects.get_or_create(user=User.objects.get(username=username))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def wait_for(predicate: Callable[[], Any], *, timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def database_url() -> str:
    """Return a DATABASE_URL for the test database, for processes the tests start."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.test_settings",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        SIM_PUBLISH_SECONDS="0.1",
        SIM_CONTROL_SECONDS="0.5",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_process(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=process_env(), stdout=log.open("wb"), stderr=subprocess.STDOUT)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
