"""Browser tests: the whole system live (web server, Celery worker, gateway) driven through headless Chromium.

The browser is the machine's own Chromium (Debian's package at /usr/bin/chromium, or CHROMIUM), driven by
Playwright; Playwright's own browser download is never used. Without that binary the tests skip, saying
so; `.ci/run` installs it. A failed test leaves a full-page screenshot and the page's console under
``var/browser-failures/``.
"""

import os
import re
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, start_process, stop_process
from tests.e2e.test_order_to_fill import live_system  # noqa: F401 - the fixture: a worker and the gateway

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FAILURES = ROOT / "var" / "browser-failures"
# As the machine's probe runs it: no sandbox (root), and no calls home (the network is closed).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PASSWORDS = {"pm1": "pm1-demo", "pm2": "pm2-demo", "trader1": "trader1-demo", "risk1": "risk1-demo", "admin": "admin-demo"}

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)  # the page fixture's teardown reads report_call
    return report


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Chromium, for this package's tests only.

    Playwright's sync API keeps an event loop on this thread while it runs, so it must be gone before the
    rest of the suite (``async_to_sync`` refuses to run beside a loop). Meanwhile Django's async-safety check
    is off: the tests' ORM calls are plain blocking calls between browser steps, never inside that loop.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's `chromium` (`.ci/run` does)")
    from playwright.sync_api import sync_playwright

    unsafe = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if unsafe is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = unsafe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def web(live_system: Path) -> Iterator[str]:  # noqa: F811
    """The real web server (Daphne: HTTP and the Channels websockets) on a free port; yields its base URL."""
    port = _free_port()
    server = start_process(["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"], live_system / "web.log")
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the web server did not start:\n" + (live_system / "web.log").read_text(errors="replace"))
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(server)


class Session:
    """One user's browser context: pages share its cookies (the login)."""

    def __init__(self, browser: Any, base: str, request: pytest.FixtureRequest, logs: Path) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=base)
        self.context.set_default_timeout(30_000)
        self.pages: list[Any] = []
        self.console: list[str] = []
        self.request = request
        self.logs = logs

    def page(self) -> Any:
        page = self.context.new_page()
        page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"[pageerror] {e}"))
        self.pages.append(page)
        return page

    def login(self, username: str, path: str = "/") -> Any:
        page = self.page()
        page.goto(f"/accounts/login/?next={path}")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORDS[username])
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_url(re.compile(re.escape(self.base + path) + r"$"))
        return page

    def close(self, name: str) -> None:
        report = getattr(self.request.node, "report_call", None)
        if report is not None and report.failed:
            FAILURES.mkdir(parents=True, exist_ok=True)
            for n, page in enumerate(self.pages):
                if not page.is_closed():
                    page.screenshot(path=str(FAILURES / f"{self.request.node.name}-{name}-{n}.png"), full_page=True)
            (FAILURES / f"{self.request.node.name}-{name}-console.log").write_text("\n".join(self.console))
            for log in self.logs.glob("*.log"):
                shutil.copy(log, FAILURES / f"{self.request.node.name}-{log.name}")
        self.context.close()


@pytest.fixture
def session(browser: Any, web: str, live_system: Path, request: pytest.FixtureRequest) -> Iterator[Any]:  # noqa: F811
    """Make browser sessions (one per user) on the live system; screenshots of their pages if the test fails."""
    made: list[tuple[str, Session]] = []

    def make(name: str = "user") -> Session:
        s = Session(browser, web, request, live_system)
        made.append((name, s))
        return s

    yield make
    for name, s in made:
        s.close(name)
