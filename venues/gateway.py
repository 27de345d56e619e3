"""The gateway: runs the simulated market in real time and moves orders, reports and market data.

Child orders arrive on a Redis stream read through a consumer group, so a
message is acknowledged only after the market took it; one read but not
acknowledged (a crash) is read again at the next start, and a ``cl_ord_id`` the
venue already knows is dropped, so a redelivery never trades twice. Reports go
to the workers as Celery tasks by name (``venues`` imports no EMS code). Books
and trades go to the market-data cache and the market views a few times a
second.

The market keeps its own trading day: the gateway starts it at the open and
runs it at wall-clock speed; at the close DAY orders expire and the next day
opens at once, so the demo always has a market.

The simulated RFQ dealers live here too (``venues.dealer_desk``): requests,
hits and quote outcomes (msg_type R, AJ, AI) come on the same stream as child
orders and go to the desk; the dealers' quotes, declines and last looks go back
to the workers as the Celery task ``ems.rfq_apply``. The stream is read no longer
than until the desk's next message is due, so a quote leaves on time.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any, cast

import redis

from trading.enums import ExecType, Side
from trading.messages import CancelRequest, ExecutionReport, NewOrder, ReplaceRequest
from trading.numbers import ZERO
from trading.states import OrdStatus
from venues.dealer_desk import DealerDesk, DeskRefdata, WireMessage
from venues.marketdata import BookView, TradePrint, VenueHealth, market_clock_publish, market_publish, venue_health_publish
from venues.sim.background import NS
from venues.sim.lit import Listing, Print
from venues.sim.market import CLOSE_NS, SimMarket
from venues.sim.params import Regime, SessionState

log = logging.getLogger(__name__)

GROUP = "gateway"
ReportSink = Callable[[list[ExecutionReport]], None]
RfqSink = Callable[[list[WireMessage]], None]  # the dealers' messages, each a wire dict plus ``msg_type``
# The RFQ messages the stream carries to the dealer desk (FIX MsgType: QuoteRequest, QuoteResponse, QuoteStatusReport).
RFQ_IN: frozenset[str] = frozenset({"R", "AJ", "AI"})
# The stream's message types, by FIX MsgType; a message without one is a NewOrderSingle.
_DECODERS: dict[str, type[NewOrder] | type[CancelRequest] | type[ReplaceRequest]] = {
    "D": NewOrder,
    "F": CancelRequest,
    "G": ReplaceRequest,
}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Controls:
    """What the operator sets in admin: each venue's forced state and each symbol's regime."""

    venue_states: dict[str, SessionState] = field(default_factory=dict)
    regimes: dict[str, Regime] = field(default_factory=dict)


class Gateway:
    def __init__(
        self,
        *,
        client: redis.Redis,
        stream: str,
        market: SimMarket,
        send_reports: ReportSink,
        session: str,
        consumer: str = "gateway-1",
        channel_layer: Any = None,
        clock: Callable[[], float] = time.monotonic,
        desk: DealerDesk | None = None,
        send_rfq: RfqSink | None = None,
    ) -> None:
        if (desk is None) != (send_rfq is None):
            raise ValueError("invalid `send_rfq`: a dealer desk and its sink go together")
        self._client = client
        self._stream = stream
        self.market = market
        self._send_reports = send_reports
        self._session = session
        self._consumer = consumer
        self._channel_layer = channel_layer
        self._clock = clock
        # The market's time is its start time plus the wall-clock time since then.
        self._day_started = clock()
        self._day_offset_ns = market.now
        self._reject_ids = count(1)
        self._published: dict[str, tuple[BookView, ...]] = {}
        self._pending_prints: list[Print] = []
        self._desk = desk
        self._send_rfq = send_rfq

    def setup(self) -> None:
        try:
            self._client.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def list_instruments(self, listings: Iterable[Listing]) -> None:
        for listing in listings:
            self.market.list_instrument(listing)

    def apply(self, controls: Controls) -> None:
        """Apply the operator's venue states and regimes (idempotent)."""
        for code in [*self.market.lit, *self.market.dark]:
            wanted = controls.venue_states.get(code, SessionState.OPEN)
            if self.market.overrides.get(code, SessionState.OPEN) is not wanted:
                log.info("venue %s set %s by the operator", code, wanted)
                self.market.set_venue_state(code, wanted)
        for symbol in self.market.symbols():
            regime = controls.regimes.get(symbol)
            if regime is not None:
                self.market.set_regime(symbol, regime)
        if self._desk is not None:
            self._desk.set_regimes(controls.regimes)

    # --- the clock ------------------------------------------------------

    def _target(self) -> int:
        """Return where the market's clock should be now: its start plus the wall-clock time since."""
        return self._day_offset_ns + int((self._clock() - self._day_started) * NS)

    def advance(self) -> None:
        """Run the market up to the wall clock; roll to the next day at the close; hand on the reports and quotes."""
        target = self._target()
        if target >= CLOSE_NS:
            self.market.run_until(CLOSE_NS)
            self._deliver()
            self._deliver_rfq()  # what the dealers owe by the close leaves on the closing day
            self.market.next_day(self.market.day + timedelta(days=1))
            self._day_started = self._clock()
            self._day_offset_ns = self.market.now
            target = self.market.now
        self.market.run_until(target)
        self._deliver()
        self._deliver_rfq()

    def _deliver_rfq(self) -> None:
        if self._desk is None or self._send_rfq is None:
            return
        messages = self._desk.advance(self.market.now)
        if messages:
            self._send_rfq(messages)

    def _block_ms(self, block_ms: int) -> int:
        """Return ``block_ms``, shortened so the read ends when the desk's next message is due (at least 1 ms)."""
        due = self._desk.next_due_ns() if self._desk is not None else None
        if due is None:
            return block_ms
        wait_ms = -(-(due - self._target()) // 1_000_000)  # rounded up: waking early only spins the loop
        return max(1, min(block_ms, wait_ms))

    # --- orders ---------------------------------------------------------

    def poll(self, *, block_ms: int) -> int:
        """Hand this consumer's unacknowledged messages, then new ones, to the market; return how many."""
        handled = 0
        for start in ("0", ">"):
            response = cast(
                list[tuple[str, list[tuple[str, dict[str, str] | None]]]],
                self._client.xreadgroup(
                    GROUP,
                    self._consumer,
                    {self._stream: start},
                    count=100,
                    block=None if start == "0" else self._block_ms(block_ms),
                ),
            )
            for _stream, messages in response or []:
                for message_id, fields in messages:
                    if fields is not None:  # None: acknowledged elsewhere, trimmed since
                        self.advance()
                        self._handle(fields)
                    self._client.xack(self._stream, GROUP, message_id)
                    handled += 1
            if handled:
                break
        return handled

    def _handle(self, fields: dict[str, str]) -> None:
        kind = fields.get("msg_type", "D")
        if kind in RFQ_IN:
            self._handle_rfq(fields)
            return
        decoder = _DECODERS.get(kind)
        try:
            if decoder is None:
                raise ValueError(f"invalid `msg_type`, was {kind!r}")
            msg = decoder.from_wire(fields)
        except ValueError as exc:
            log.error("dropping malformed order message %s: %s", fields, exc)
            return
        if msg.venue not in self.market.lit and msg.venue not in self.market.dark:
            if isinstance(msg, NewOrder):
                self._send_reports([self._reject(msg, f"unknown or inactive venue {msg.venue!r}")])
            else:
                log.error("dropping %s for unknown venue %r", kind, msg.venue)
            return
        if isinstance(msg, NewOrder):
            if self.market.knows(msg.venue, msg.cl_ord_id):
                log.info("dropping redelivered order %s", msg.cl_ord_id)
                return
            self.market.send(msg)
        elif isinstance(msg, CancelRequest):
            self.market.cancel(msg)
        else:
            self.market.replace(msg)

    def _handle_rfq(self, fields: dict[str, str]) -> None:
        if self._desk is None:
            log.error("dropping RFQ message %s: this gateway runs no dealer desk", fields)
            return
        try:
            self._desk.handle(fields)
        except ValueError as exc:
            log.error("dropping malformed RFQ message %s: %s", fields, exc)

    def _deliver(self) -> None:
        reports, prints = self.market.drain()
        executions = [report for report in reports if isinstance(report, ExecutionReport)]
        for refusal in reports:
            if not isinstance(refusal, ExecutionReport):
                log.warning("cancel/replace refused by %s: %s %s", refusal.venue, refusal.reason, refusal.text)
        if executions:
            self._send_reports(executions)
        self._pending_prints.extend(prints)

    # --- market data ----------------------------------------------------

    def publish(self) -> int:
        """Vouch for every venue; publish every symbol whose books changed or that traded; return how many symbols."""
        prints, self._pending_prints = self._pending_prints, []
        wall = _now()
        ts = wall.isoformat()
        market_clock_publish(self._client, market_ns=self.market.now, wall=wall)
        venue_health_publish(
            self._client,
            [VenueHealth(code, venue.state.value, ts) for code, venue in self.market.lit.items()]
            + [VenueHealth(code, pool.state.value, ts) for code, pool in self.market.dark.items()],
        )
        trades: dict[str, list[TradePrint]] = {}
        for item in prints:
            trades.setdefault(item.symbol, []).append(
                TradePrint(venue=item.venue, symbol=item.symbol, px=item.px, qty=item.qty, aggressor=item.aggressor, ts=ts)
            )
        published = 0
        for symbol in self.market.symbols():
            books = tuple(
                BookView(
                    venue=venue.code,
                    symbol=symbol,
                    bids=tuple(venue.depth(symbol, Side.BUY, 10)),
                    asks=tuple(venue.depth(symbol, Side.SELL, 10)),
                    state=venue.state.value,
                    ts=ts,
                )
                for venue in self.market.lit.values()
            )
            unchanged = _shape(books) == _shape(self._published.get(symbol, ()))
            if unchanged and symbol not in trades:
                continue
            market_publish(self._client, symbol, list(books), trades.get(symbol, []), channel_layer=self._channel_layer)
            self._published[symbol] = books
            published += 1
        return published

    # --- the loop -------------------------------------------------------

    def run(
        self,
        *,
        stop: threading.Event,
        publish_seconds: float,
        control_seconds: float,
        listings: Callable[[], list[Listing]],
        controls: Callable[[], Controls],
        desk_refdata: Callable[[], DeskRefdata] | None = None,
    ) -> None:
        """Run until ``stop``: every control period re-read the listings, the operator's controls and the dealers."""
        self.setup()
        next_control = next_publish = 0.0
        while not stop.is_set():
            try:
                now = self._clock()
                if now >= next_control:
                    self.list_instruments(listings())
                    self.apply(controls())
                    if self._desk is not None and desk_refdata is not None:
                        self._desk.refresh(desk_refdata())
                    next_control = now + control_seconds
                self.advance()
                if now >= next_publish:
                    self.publish()
                    next_publish = now + publish_seconds
                self.poll(block_ms=max(1, int((next_publish - self._clock()) * 1000)))
            except redis.ConnectionError:
                log.warning("redis unavailable; retrying")
                stop.wait(1.0)

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
            reason="UNKNOWN_VENUE",
        )


def _shape(books: tuple[BookView, ...]) -> tuple[Any, ...]:
    return tuple((book.venue, book.bids, book.asks, book.state) for book in books)
