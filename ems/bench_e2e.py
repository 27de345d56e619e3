"""Submit to first fill, and fill to browser, end to end: ``make bench``'s ``e2e`` section.

``python -m ems.bench --only e2e [--orders N]``.

**What it measures**, through the real web server (Daphne), the Celery
workers, the gateway and the websocket, all on the live system
(``ems.bench_live``), over N orders (default 100; quick 10) sent one every
``INTERVAL_S``:

- *submit to first fill*: from just before ``POST /api/orders/`` is sent (pm1's
  token: a marketable limit buy of one to a few lots, ``strategy: IMMEDIATE``,
  2% through the far touch, round-robin over the demo's equities) to the first
  ``fill`` message of that order arriving at a websocket client connected to
  the real Daphne ``/ws/blotter/`` with pm1's logged-in session (a session
  cookie made by Django's ``Client.force_login`` on the bench's database: what
  logging in stores). Baseline: the REST accept alone, the same POST's own
  round trip (sent to the 201 read), same orders;
- *fill to browser*: from the fill's execution, the venue's transact time in
  the gateway (``Fill.executed_at``, carried in the message: the gateway's
  ``datetime.now``, the same machine clock as this process's) to the message
  arriving at the same websocket client; every fill of the orders, first
  arrival each. Baseline: a bare channel-layer message (``group_send`` from this
  process to the PM's portfolio group, the group the fills are published to)
  arriving at the same websocket, one sent between two orders.

p50/p99/max in ms; every figure is wall-clock time on this machine
(``time.time_ns``). No test asserts these figures.

The websocket client is a small RFC 6455 client on the standard library
(``WebSocket``): text frames, the server's pings answered, nothing else.
"""

import base64
import contextlib
import json
import os
import socket
import struct
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from ems.bench_live import SetupFailed
from oms.bench_measure import summary_ms

if TYPE_CHECKING:
    from ems.bench_live import LiveSystem

ORDERS: Final = 100
QUICK_ORDERS: Final = 10
INTERVAL_S: Final = 0.3
LIMIT_THROUGH: Final = Decimal("0.02")
PM: Final = ("pm1", "GROWTH")
TAIL_S: Final = 10.0  # after the last order: its fills arrive
CONNECT_TIMEOUT_S: Final = 10.0


# --- a websocket client on the standard library ------------------------------------------------------


class WebSocket:
    """One websocket connection (client side): ``connect``, then ``receive`` text messages; pings are answered."""

    def __init__(self, host: str, port: int, path: str, *, headers: Mapping[str, str]) -> None:
        self.sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._buffer = b""
        head = self._read_until(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise SetupFailed(f"the websocket upgrade was answered {status.decode(errors='replace')}")
        self.sock.settimeout(None)

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self._buffer += chunk
        head, self._buffer = self._buffer.split(marker, 1)
        return head

    def _read(self, n: int) -> bytes:
        while len(self._buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self._buffer += chunk
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def receive(self) -> str | None:
        """The next text message (fragments joined), or None once the server closed."""
        parts: list[bytes] = []
        while True:
            first, second = self._read(2)
            opcode, n = first & 0x0F, second & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", self._read(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", self._read(8))
            payload = self._read(n)  # a server does not mask
            if opcode == 0x8:
                return None
            if opcode == 0x9:
                self._send(0xA, payload)
                continue
            if opcode in (0x1, 0x0, 0x2):
                parts.append(payload)
                if first & 0x80:
                    return b"".join(parts).decode()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._send(0x8, struct.pack("!H", 1000))
        self.sock.close()


class _Listener(threading.Thread):
    """Reads the blotter socket: when each message arrived (``time.time_ns``), with the message."""

    def __init__(self, socket_: WebSocket) -> None:
        super().__init__(daemon=True, name="bench-e2e-socket")
        self.socket = socket_
        self.heard: list[tuple[int, dict[str, Any]]] = []

    def run(self) -> None:
        try:
            while (text := self.socket.receive()) is not None:
                self.heard.append((time.time_ns(), json.loads(text)))
        except (OSError, ConnectionError, ValueError):
            return


# --- pure: from what was sent and heard, the figures ----------------------------------------------------


def _epoch_ns(iso: str) -> int:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def figures(*, sent: Mapping[int, int], accepted_ms: list[float], heard: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    """Return the section's figures from ``sent`` (order id -> ns the POST was sent), the POSTs' own round trips and what
    the socket heard (ns arrived, message)."""
    first_fill: dict[int, int] = {}
    fill_seen: dict[Any, float] = {}
    probes: list[float] = []
    for arrived, message in heard:
        kind = message.get("type")
        if kind == "fill":
            fill = message["fill"]
            if fill["parent"] in sent:
                first_fill.setdefault(fill["parent"], arrived)
                fill_seen.setdefault(fill["id"], (arrived - _epoch_ns(fill["executed_at"])) / 1e6)
        elif kind == "bench.probe":
            probes.append((arrived - int(message["sent_ns"])) / 1e6)
    to_fill = [(first_fill[order] - at) / 1e6 for order, at in sent.items() if order in first_fill]
    return {
        "orders": len(sent),
        "orders_without_a_fill": len(sent) - len(first_fill),
        "submit_to_first_fill": summary_ms(to_fill),
        "rest_accept": summary_ms(accepted_ms),
        "fill_to_browser": summary_ms(list(fill_seen.values())),
        "channel_layer_to_browser": summary_ms(probes),
    }


# --- the section --------------------------------------------------------------------------------


def _session_cookie(username: str) -> str:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(username=username))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def run(live: "LiveSystem", *, orders: int) -> dict[str, Any]:
    """Run the section on ``live`` (prepared): the web server, gateway, workers and beat started if they are not."""
    import http.client

    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from config.layer import group_send
    from config.redis import redis_client
    from ems.publish import portfolio_group
    from oms.models import Instrument, Portfolio
    from trading.enums import AssetClass
    from trading.numbers import round_to
    from venues.marketdata import nbbo_read

    if orders < 1:
        raise ValueError(f"invalid `orders`, was {orders}: at least 1")
    live.start("web", "gateway", "workers", "beat")
    username, code = PM
    token = Token.objects.get(user=User.objects.get(username=username)).key
    group = portfolio_group(Portfolio.objects.get(code=code).pk)
    equities = list(Instrument.objects.filter(active=True, asset_class=AssetClass.EQUITY, structure="").order_by("symbol"))
    port = live.web_port
    ws = WebSocket(
        "127.0.0.1", port, "/ws/blotter/", headers={"Cookie": _session_cookie(username), "Origin": f"http://127.0.0.1:{port}"}
    )
    listener = _Listener(ws)
    listener.start()
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while not any(m.get("type") == "hello" for _, m in listener.heard):
        if time.monotonic() > deadline:
            raise SetupFailed("the blotter socket said no hello (was the session refused?)")
        time.sleep(0.05)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"}
    sent: dict[int, int] = {}
    accepted_ms: list[float] = []
    refused: list[str] = []
    try:
        for n in range(orders):
            instrument = equities[n % len(equities)]
            nbbo = nbbo_read(redis_client(), instrument.symbol)
            far = nbbo.ask_px if nbbo is not None and nbbo.ask_px is not None else instrument.ref_px
            body = {
                "cl_ord_id": f"e2e-{n + 1}",
                "portfolio": code,
                "instrument": instrument.symbol,
                "side": "BUY",
                "ord_type": "LIMIT",
                "qty": format(instrument.lot_size * (1 + (n // len(equities)) % 5), "f"),
                "limit_px": format(round_to(far * (1 + LIMIT_THROUGH), instrument.tick_size), "f"),
                "tif": "DAY",
                "strategy": "IMMEDIATE",
                "allow_duplicate": True,  # the api section's duplicate window (60 s) is longer than the cycle of terms
            }
            started = time.time_ns()
            conn.request("POST", "/api/orders/", body=json.dumps(body).encode(), headers=headers)
            response = conn.getresponse()
            raw = response.read()
            answered = time.time_ns()
            if response.status == 201:
                sent[int(json.loads(raw)["id"])] = started
                accepted_ms.append((answered - started) / 1e6)
            else:
                refused.append(f"{response.status}: {raw[:200].decode(errors='replace')}")
            time.sleep(INTERVAL_S / 2)
            group_send((group,), {"type": "blotter.message", "message": {"type": "bench.probe", "sent_ns": time.time_ns()}})
            time.sleep(INTERVAL_S / 2)
        tail = time.monotonic() + TAIL_S
        while time.monotonic() < tail:
            filled = {m["fill"]["parent"] for _, m in list(listener.heard) if m.get("type") == "fill"}
            if set(sent) <= filled:
                time.sleep(1.0)  # the other fills of the last orders
                break
            time.sleep(0.2)
    finally:
        conn.close()
        ws.close()
        listener.join(timeout=5)
    report = figures(sent=sent, accepted_ms=accepted_ms, heard=list(listener.heard))
    report["refused"] = refused[:5]
    report["refused_count"] = len(refused)
    report["interval_s"] = INTERVAL_S
    return report
