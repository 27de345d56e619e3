"""The gateway: holds the venue sessions and moves orders and reports between them and the EMS.

Child orders arrive on a Redis stream read through a consumer group, so a
message is acknowledged only after its reports were handed on; one that was
read but not acknowledged (a crash) is read again at the next start. The
venues drop a ``cl_ord_id`` they have already seen, so a redelivery never
trades twice. Reports go to the workers as Celery tasks by name (``venues``
imports no EMS code); top of book goes to the market-data cache.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count
from typing import cast

import redis

from trading.enums import ExecType, Side
from trading.messages import ExecutionReport, NewOrder
from trading.numbers import ZERO
from trading.states import OrdStatus
from venues.marketdata import Top, top_publish
from venues.sim.book import Level
from venues.sim.venue import DuplicateOrder, Listing, SimVenue

log = logging.getLogger(__name__)

GROUP = "gateway"
ReportSink = Callable[[list[ExecutionReport]], None]


def _now() -> datetime:
    return datetime.now(UTC)


class Gateway:
    def __init__(
        self,
        *,
        client: redis.Redis,
        stream: str,
        venues: Iterable[SimVenue],
        send_reports: ReportSink,
        session: str,
        consumer: str = "gateway-1",
    ) -> None:
        self._client = client
        self._stream = stream
        self._venues = {venue.code: venue for venue in venues}
        self._send_reports = send_reports
        self._session = session
        self._consumer = consumer
        self._reject_ids = count(1)

    def setup(self) -> None:
        try:
            self._client.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def list_instruments(self, listings: Iterable[Listing]) -> None:
        for listing in listings:
            for venue in self._venues.values():
                venue.list_instrument(listing)

    def refresh_markets(self) -> None:
        """Let every venue's market maker re-quote, then publish every top of book."""
        for venue in self._venues.values():
            for symbol in venue.symbols():
                self._deliver(venue.refresh(symbol))
                self._publish_top(venue, symbol)

    def poll(self, *, block_ms: int) -> int:
        """Handle this consumer's unacknowledged messages, then new ones; return how many."""
        handled = 0
        for start in ("0", ">"):
            response = cast(
                list[tuple[str, list[tuple[str, dict[str, str] | None]]]],
                self._client.xreadgroup(
                    GROUP, self._consumer, {self._stream: start}, count=100, block=None if start == "0" else block_ms
                ),
            )
            for _stream, messages in response or []:
                for message_id, fields in messages:
                    if fields is None:  # acknowledged elsewhere, trimmed since
                        continue
                    self._handle(fields)
                    self._client.xack(self._stream, GROUP, message_id)
                    handled += 1
            if handled:
                break
        return handled

    def run(self, *, stop: threading.Event, refresh_seconds: float, listings: Callable[[], list[Listing]]) -> None:
        self.setup()
        next_refresh = 0.0
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_refresh:
                self.list_instruments(listings())
                self.refresh_markets()
                next_refresh = now + refresh_seconds
            try:
                self.poll(block_ms=max(1, int((next_refresh - time.monotonic()) * 1000)))
            except redis.ConnectionError:
                log.warning("redis unavailable; retrying")
                stop.wait(1.0)

    def _handle(self, fields: dict[str, str]) -> None:
        try:
            order = NewOrder.from_wire(fields)
        except ValueError as exc:
            log.error("dropping malformed order message %s: %s", fields, exc)
            return
        venue = self._venues.get(order.venue)
        if venue is None:
            self._deliver([self._reject(order, f"unknown or inactive venue {order.venue!r}")])
            return
        try:
            reports = venue.submit(order)
        except DuplicateOrder:
            log.info("dropping redelivered order %s", order.cl_ord_id)
            return
        self._deliver(reports)
        self._publish_top(venue, order.symbol)

    def _deliver(self, reports: list[ExecutionReport]) -> None:
        if reports:
            self._send_reports(reports)

    def _publish_top(self, venue: SimVenue, symbol: str) -> None:
        if symbol not in venue.symbols():
            return
        bids = venue.depth(symbol, Side.BUY, 1)
        asks = venue.depth(symbol, Side.SELL, 1)
        top_publish(
            self._client,
            Top(
                venue=venue.code,
                bid_px=_px(bids),
                bid_qty=bids[0].qty if bids else ZERO,
                ask_px=_px(asks),
                ask_qty=asks[0].qty if asks else ZERO,
                ts=_now().isoformat(),
            ),
            symbol,
        )

    def _reject(self, order: NewOrder, text: str) -> ExecutionReport:
        return ExecutionReport(
            venue=order.venue,
            cl_ord_id=order.cl_ord_id,
            venue_order_id="",
            exec_id=f"GW-{self._session}-R{next(self._reject_ids)}",
            seq=1,
            exec_type=ExecType.REJECTED,
            ord_status=OrdStatus.REJECTED,
            symbol=order.symbol,
            side=order.side,
            last_qty=ZERO,
            last_px=ZERO,
            cum_qty=ZERO,
            leaves_qty=ZERO,
            avg_px=ZERO,
            fee=ZERO,
            liquidity=None,
            text=text,
            transact_time=_now().isoformat(),
        )


def _px(levels: list[Level]) -> Decimal | None:
    return levels[0].px if levels else None
