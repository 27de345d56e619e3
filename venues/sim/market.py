"""The simulated market: lit venues, dark pools and the background market on one discrete-event clock.

Pure core. Time is integer nanoseconds since midnight of the market's trading
day; nothing happens between events, so the same seed gives the same run event
for event, and a run goes as fast as the CPU allows (``run_until``). The gateway
drives it in real time by running it up to the wall clock's position in the
session; backtests and benchmarks run it flat out.

What a client sees: ``send`` (or ``cancel``/``replace``) puts a message on the
wire; it reaches the venue after the venue's latency, and the reports it causes
(and any caused later by background orders trading against ours) collect in
``outbox`` in the order they happened. Trades collect in ``tape``.
"""

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

from trading.enums import Side, TimeInForce, VenueKind
from trading.messages import CancelRequest, NewOrder, ReplaceRequest
from venues.sim.background import (
    NS,
    SESSION_SECONDS,
    DarkLiquidity,
    FairParts,
    FairValue,
    InformedTrader,
    MarketMaker,
    NoiseTrader,
    SymbolModel,
    rng_for,
)
from venues.sim.book import Fill, Order
from venues.sim.clients import CLIENT, Message
from venues.sim.dark import DarkPool
from venues.sim.lit import Listing, LitVenue, Print, VenueSpec
from venues.sim.params import Regime, SessionState

OPEN_NS = (9 * 3600 + 30 * 60) * NS
NOISE = "noise"  # the background agents' order owners
INFORMED = "informed"
CLOSE_NS = OPEN_NS + SESSION_SECONDS * NS


@dataclass(frozen=True, slots=True)
class MarketConfig:
    seed: int = 7
    regime: Regime = Regime.CALM
    volatility: float = 0.25
    trend_bps_per_hour: float = 20.0
    impact_coefficient: float = 0.7
    permanent_share: float = 0.4
    adv: float = 2_000_000.0
    refresh_ns: int = NS  # how often each market maker re-quotes
    background: bool = True  # False: venues only, no agents (tests of the venues alone)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # per symbol: regime, volatility, adv

    def model(self, listing: Listing) -> SymbolModel:
        own = self.overrides.get(listing.symbol, {})
        return SymbolModel(
            symbol=listing.symbol,
            ref_px=float(listing.ref_px),
            tick=float(listing.tick_size),
            lot=float(listing.lot_size),
            adv=float(own.get("adv") or self.adv),
            volatility=float(own.get("volatility") or self.volatility),
            regime=Regime(own.get("regime") or self.regime),
            trend_bps_per_hour=self.trend_bps_per_hour,
            impact_coefficient=self.impact_coefficient,
            permanent_share=self.permanent_share,
        )


@dataclass(frozen=True, slots=True)
class Nbbo:
    bid: Decimal | None
    ask: Decimal | None

    @property
    def mid(self) -> Decimal | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2


@dataclass(slots=True)
class _Symbol:
    listing: Listing
    model: SymbolModel
    fair: FairValue
    makers: list[MarketMaker]
    noise: NoiseTrader | None
    informed: InformedTrader | None
    dark: DarkLiquidity | None
    nbbo: Nbbo = field(default_factory=lambda: Nbbo(None, None))
    client_net: float = 0.0  # shares the clients bought (negative: sold) on the lit venues today, net


class SimMarket:
    def __init__(
        self,
        *,
        config: MarketConfig,
        venues: Iterable[tuple[VenueKind, VenueSpec]],
        listings: Iterable[Listing],
        day: date,
        session: str = "sim",
        wall_clock: Callable[[], datetime] | None = None,
        start_ns: int = OPEN_NS,
    ) -> None:
        self.config = config
        self.day = day
        self.now = start_ns
        self._session = session
        self._events: list[tuple[int, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = count()
        clock = wall_clock or self.sim_time
        self.lit: dict[str, LitVenue] = {}
        self.dark: dict[str, DarkPool] = {}
        for kind, spec in venues:
            if kind is VenueKind.LIT:
                self.lit[spec.code] = LitVenue(spec, clock=clock, session=session)
            elif kind is VenueKind.DARK:
                self.dark[spec.code] = DarkPool(spec, clock=clock, session=session)
        total_weight = sum(float(venue.spec.weight) for venue in self.lit.values()) or 1.0
        self._liquidity_share = {code: float(venue.spec.weight) / total_weight for code, venue in self.lit.items()}
        for venue in self.lit.values():
            venue.fill_listener = self._on_fill
        for pool in self.dark.values():
            pool.fill_listener = self._client_traded  # a bound method: a deep copy of the market rebinds it
        self.outbox: list[Message] = []
        self._in_flight: set[tuple[str, str]] = set()  # (venue, cl_ord_id) of new orders sent, not yet arrived
        self.tape: list[Print] = []
        self._symbols: dict[str, _Symbol] = {}
        self._makers_by_owner: dict[str, MarketMaker] = {}
        self._sweep: tuple[str, Side, int, LitVenue] | None = None
        self._noise_orders = count(1)
        self.overrides: dict[str, SessionState] = {}  # venue code -> HALTED/CLOSED set by the operator
        for listing in listings:
            self.list_instrument(listing)
        self.schedule(CLOSE_NS, self._close)

    # --- time ---------------------------------------------------------

    def sim_time(self) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC) + timedelta(microseconds=self.now // 1000)

    def schedule(self, t_ns: int, action: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._events, (t_ns, next(self._seq), action, args))

    def run_until(self, t_ns: int) -> int:
        """Process every event up to ``t_ns`` in time order; return how many."""
        events = self._events
        done = 0
        while events and events[0][0] <= t_ns:
            t, _seq, action, args = heapq.heappop(events)
            self.now = t
            action(*args)
            done += 1
        self.now = max(self.now, t_ns)
        return done

    @property
    def is_open(self) -> bool:
        return OPEN_NS <= self.now < CLOSE_NS

    # --- set-up -------------------------------------------------------

    def list_instrument(self, listing: Listing) -> None:
        """Trade ``listing`` on every venue and start its background market (no-op when listed)."""
        if listing.symbol in self._symbols:
            return
        model = self.config.model(listing)
        seed = self.config.seed
        fair = FairValue(model, rng_for(seed, f"fair:{listing.symbol}"), start_ns=self.now)
        for venue in self.lit.values():
            venue.list_instrument(listing)
        for pool in self.dark.values():
            pool.list_instrument(listing)
        lit = list(self.lit.values())
        weights = [float(venue.spec.weight) for venue in lit]
        total = sum(weights) or 1.0
        makers, noise, informed, dark = [], None, None, None
        if self.config.background and lit:
            makers = [
                MarketMaker(venue, model, fair, share=weight / total, rng=rng_for(seed, f"mm:{venue.code}:{listing.symbol}"))
                for venue, weight in zip(lit, weights, strict=True)
            ]
            noise = NoiseTrader(model, lit, weights, rng_for(seed, f"noise:{listing.symbol}"))
            informed = InformedTrader(model, fair, rng_for(seed, f"informed:{listing.symbol}"))
            dark = DarkLiquidity(model, list(self.dark.values()), rng_for(seed, f"dark:{listing.symbol}"))
        state = _Symbol(listing, model, fair, makers, noise, informed, dark)
        self._symbols[listing.symbol] = state
        for maker in makers:
            self._makers_by_owner[maker.owner] = maker
            offset = maker.rng.randrange(self.config.refresh_ns)
            self.schedule(self.now, self._requote, maker)
            self.schedule(self.now + offset, self._requote_loop, maker)
        if noise is not None:
            self.schedule(self.now + noise.next_wait_ns(self._since_open()), self._noise, state)
        if informed is not None:
            self.schedule(self.now + informed.next_wait_ns(), self._informed, state)
        if dark is not None and dark.rate_per_s:
            self.schedule(self.now + dark.next_wait_ns(), self._dark_arrival, state)

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def set_regime(self, symbol: str, regime: Regime) -> None:
        self._symbols[symbol].fair.set_regime(regime)

    def fair_value(self, symbol: str) -> float:
        return self._symbols[symbol].fair.at(self.now)

    def fair_parts(self, symbol: str) -> FairParts:
        """Fair value now, in its parts: the seed's path, the background's impact, ours."""
        fair = self._symbols[symbol].fair
        fair.at(self.now)
        return fair.parts

    def set_venue_state(self, code: str, state: SessionState) -> None:
        """Apply the operator's HALTED/CLOSED (or OPEN: follow the session) to a venue at once."""
        venue = self.lit.get(code) or self.dark.get(code)
        if venue is None:
            return
        if state is SessionState.OPEN:
            self.overrides.pop(code, None)
            venue.set_state(SessionState.OPEN if self.is_open else SessionState.CLOSED)
        else:
            self.overrides[code] = state
            venue.set_state(state)
        self._refresh_nbbo(list(self._symbols))

    # --- client orders ------------------------------------------------

    def send(self, msg: NewOrder) -> None:
        """Put a client order on the wire; it reaches its venue ``msg.delay_us`` plus the venue's latency later."""
        self._in_flight.add((msg.venue, msg.cl_ord_id))
        self._deliver(msg.venue, msg.symbol, "submit", msg, delay_ns=msg.delay_us * 1_000)

    def cancel(self, req: CancelRequest) -> None:
        self._deliver(req.venue, req.symbol, "cancel", req)

    def replace(self, req: ReplaceRequest) -> None:
        self._deliver(req.venue, req.symbol, "replace", req)

    def knows(self, venue: str, cl_ord_id: str) -> bool:
        """Whether ``cl_ord_id`` reached ``venue`` or is on its way there."""
        target = self.lit.get(venue) or self.dark.get(venue)
        return (venue, cl_ord_id) in self._in_flight or (target is not None and target.clients.knows(cl_ord_id))

    def _deliver(self, code: str, symbol: str, verb: str, msg: Any, *, delay_ns: int = 0) -> None:
        target = self.lit.get(code) or self.dark.get(code)
        if target is None:
            raise KeyError(code)
        self.schedule(self.now + delay_ns + target.spec.latency_ns, self._arrive, target, symbol, verb, msg)

    def _arrive(self, target: LitVenue | DarkPool, symbol: str, verb: str, msg: Any) -> None:
        if verb == "submit":
            self._in_flight.discard((target.spec.code, msg.cl_ord_id))
        pre = self._symbols.get(symbol)
        mid_before = self._mid_at(target, symbol) if isinstance(target, LitVenue) and pre is not None else None
        self._sweep = None
        self.outbox += getattr(target, verb)(msg)
        self._after_trading(symbol, mid_before)

    # --- market data --------------------------------------------------

    def nbbo(self, symbol: str) -> Nbbo:
        return self._symbols[symbol].nbbo

    def drain(self) -> tuple[list[Message], list[Print]]:
        """Hand over the reports and trades collected since the last drain."""
        reports, self.outbox = self.outbox, []
        prints, self.tape = self.tape, []
        return reports, prints

    # --- the background market ----------------------------------------

    def _since_open(self) -> int:
        return max(0, self.now - OPEN_NS)

    def _requote_loop(self, maker: MarketMaker) -> None:
        self._requote(maker)
        self.schedule(self.now + self.config.refresh_ns, self._requote_loop, maker)

    def _requote(self, maker: MarketMaker) -> None:
        if not maker.venue.is_open:
            return
        symbol = maker.model.symbol
        nbbo = self._symbols[symbol].nbbo
        grid = maker.venue.markets[symbol].grid
        away = (None if nbbo.bid is None else grid.px_int(nbbo.bid), None if nbbo.ask is None else grid.px_int(nbbo.ask))
        mid_before = self._mid_at(maker.venue, symbol)
        self.outbox += maker.quote(self.now, away=away)
        self._after_trading(symbol, mid_before)

    def _noise(self, state: _Symbol) -> None:
        noise = state.noise
        assert noise is not None
        self.schedule(self.now + noise.next_wait_ns(self._since_open()), self._noise, state)
        venue = noise.pick_venue()
        if not venue.is_open:
            return
        book = venue.markets[state.listing.symbol].book
        side = Side.BUY if noise.rng.random() < 0.5 else Side.SELL
        lots = noise.size_lots()
        if noise.rng.random() < noise.MARKET_SHARE:
            order = Order(venue.next_id(), side, None, lots, owner=NOISE, tif=TimeInForce.IOC)
        else:
            near = book.best(side)
            away = state.nbbo.ask if side is Side.BUY else state.nbbo.bid
            if near is None or away is None:
                return
            grid = venue.markets[state.listing.symbol].grid
            far = grid.px_int(away)
            # Join or improve the touch by a tick, never locking or crossing the NBBO.
            px = near + side.sign * grid.units_per_tick(state.listing.ref_px) * noise.rng.randrange(2)
            if (px >= far) if side is Side.BUY else (px <= far):
                px = near
            if (px >= far) if side is Side.BUY else (px <= far):
                return
            order = Order(venue.next_id(), side, px, lots, owner=NOISE, tif=TimeInForce.DAY)
            life = int(noise.rng.expovariate(1 / 30.0) * NS)
            self.schedule(self.now + life, venue.agent_cancel, state.listing.symbol, order.order_id)
        self._agent_trade(venue, state, order)

    def _informed(self, state: _Symbol) -> None:
        informed = state.informed
        assert informed is not None
        self.schedule(self.now + informed.next_wait_ns(), self._informed, state)
        nbbo = state.nbbo
        if nbbo.bid is None or nbbo.ask is None:
            return
        value = state.fair.at(self.now)
        edge = informed.edge_ticks * state.model.tick
        if value - float(nbbo.ask) > edge:
            side, px = Side.BUY, nbbo.ask
        elif float(nbbo.bid) - value > edge:
            side, px = Side.SELL, nbbo.bid
        else:
            return
        for venue in self.lit.values():
            if not venue.is_open:
                continue
            market = venue.markets[state.listing.symbol]
            touch = market.book.best(side.opposite)
            if touch is not None and market.grid.px(touch) == px:
                lots = 1 + informed.rng.randrange(informed.max_lots)
                order = Order(venue.next_id(), side, touch, lots, owner=INFORMED, tif=TimeInForce.IOC)
                self._agent_trade(venue, state, order)
                return

    def _dark_arrival(self, state: _Symbol) -> None:
        dark = state.dark
        assert dark is not None
        self.schedule(self.now + dark.next_wait_ns(), self._dark_arrival, state)
        pool = dark.rng.choice(dark.pools)
        order = dark.order(pool.next_id())
        self.outbox += pool.agent_add(state.listing.symbol, order)
        self.tape += _take(pool.prints)
        if order.live:
            life = int(dark.rng.expovariate(1 / dark.mean_life_s) * NS)
            self.schedule(self.now + life, pool.agent_cancel, state.listing.symbol, order.order_id)

    def _agent_trade(self, venue: LitVenue, state: _Symbol, order: Order) -> None:
        mid_before = self._mid_at(venue, state.listing.symbol)
        self._sweep = None
        _outcome, reports = venue.agent_add(state.listing.symbol, order)
        self.outbox += reports
        self._after_trading(state.listing.symbol, mid_before)

    # --- after every book change --------------------------------------

    def _on_fill(self, venue: LitVenue, symbol: str, fill: Fill) -> None:
        """Tell the maker, and move fair value for the trade: a client's by its metaorder, a noise trader's by its sweep.

        Who moves fair value, and how much:

        - the clients' net quantity of the day, passive or aggressive, lit or
          dark, by the square-root law's permanent share
          (``FairValue.metaorder_impact``): a buyer resting bids moves the
          price as one lifting offers does, the way metaorders of either kind
          are measured to;
        - a noise trader's market order by the permanent share of its sweep
          (``_after_trading``);
        - never an informed trader: it trades because the quotes lag fair
          value, and moving fair value away from the quote it hit would feed
          on itself under a resting order of ours that holds the quote up.
        """
        aggressor, passive = fill.aggressor, fill.passive
        maker = self._makers_by_owner.get(passive.owner)
        if maker is not None:
            maker.on_fill(passive.side, fill.qty)
        if aggressor.owner == NOISE:
            self._sweep = (symbol, aggressor.side, fill.px, venue)
        client = aggressor if aggressor.owner == CLIENT else passive if passive.owner == CLIENT else None
        if client is not None and aggressor.owner != passive.owner:
            self._client_traded(symbol, client.side, fill.qty * self._symbols[symbol].model.lot)

    def _client_traded(self, symbol: str, side: Side, shares: Decimal | float) -> None:
        """Add a client's fill, lit or dark, to the clients' net flow of the day, and fair value the change in its
        permanent impact: a dark cross hides the order, not the demand, and moves the price as a lit one does."""
        state = self._symbols[symbol]
        before = state.fair.metaorder_impact(state.client_net)
        state.client_net += side.sign * float(shares)
        state.fair.at(self.now)
        state.fair.shift(state.fair.metaorder_impact(state.client_net) - before, clients=True)

    def _mid_at(self, venue: LitVenue, symbol: str) -> Decimal | None:
        """The venue's own mid before a trade there, else the NBBO mid: a sweep's move is measured where it traded.

        Measured from the NBBO mid instead, a print on a venue whose book sits
        below a price held up elsewhere (say by a resting order of ours) would
        read as a deep sweep, move fair value, and feed on itself.
        """
        market = venue.markets[symbol]
        bid, ask = market.book.best(Side.BUY), market.book.best(Side.SELL)
        if bid is not None and ask is not None:
            return (market.grid.px(bid) + market.grid.px(ask)) / 2
        return self._symbols[symbol].nbbo.mid

    def _after_trading(self, symbol: str, mid_before: Decimal | None) -> None:
        """Collect prints, keep a share of a noise trader's sweep in fair value (its move from the traded venue's own mid
        before), and pass a new NBBO to the pools."""
        for venue in self.lit.values():
            if venue.prints:
                self.tape += _take(venue.prints)
        for pool in self.dark.values():
            if pool.prints:
                self.tape += _take(pool.prints)
        sweep, self._sweep = self._sweep, None
        state = self._symbols.get(symbol)
        if state is None:
            return
        if sweep is not None and mid_before is not None:
            _symbol, _side, last_px, venue = sweep
            # Weighted by the venue's share of liquidity: the same order split across every venue in
            # proportion moves each by the same distance, and fair value by the permanent share of it once.
            moved = float(venue.markets[symbol].grid.px(last_px) - mid_before) * self._liquidity_share[venue.code]
            state.fair.at(self.now)
            state.fair.shift(state.model.permanent_share * moved, clients=False)
        self._refresh_nbbo([symbol])

    def _refresh_nbbo(self, symbols: list[str]) -> None:
        for symbol in symbols:
            state = self._symbols[symbol]
            bids, asks = [], []
            for venue in self.lit.values():
                if not venue.is_open:
                    continue
                market = venue.markets[symbol]
                bid = market.book.best(Side.BUY)
                ask = market.book.best(Side.SELL)
                if bid is not None:
                    bids.append(market.grid.px(bid))
                if ask is not None:
                    asks.append(market.grid.px(ask))
            nbbo = Nbbo(max(bids) if bids else None, min(asks) if asks else None)
            if nbbo != state.nbbo:
                state.nbbo = nbbo
                for pool in self.dark.values():
                    self.outbox += pool.set_nbbo(symbol, nbbo.bid, nbbo.ask)
                    if pool.prints:
                        self.tape += _take(pool.prints)

    # --- sessions -----------------------------------------------------

    def _close(self) -> None:
        """End the day: DAY orders expire, venues close."""
        venues: list[LitVenue | DarkPool] = [*self.lit.values(), *self.dark.values()]
        for venue in venues:
            self.outbox += venue.expire()
            venue.set_state(SessionState.CLOSED)
        self._refresh_nbbo(list(self._symbols))

    def next_day(self, day: date) -> None:
        """Open a new trading day: the clock goes back to the open, GTC orders carry over, venues reopen."""
        self.day = day
        self._events = [
            (OPEN_NS + (t - self.now if t > self.now else 0), s, a, args) for t, s, a, args in self._events if a != self._close
        ]
        heapq.heapify(self._events)
        self.now = OPEN_NS
        venues: list[tuple[str, LitVenue | DarkPool]] = [*self.lit.items(), *self.dark.items()]
        for code, venue in venues:
            venue.set_state(self.overrides.get(code, SessionState.OPEN))
        for state in self._symbols.values():
            state.fair.restart(OPEN_NS)
            state.client_net = 0.0
            for maker in state.makers:
                maker.dirty = True
        self.schedule(CLOSE_NS, self._close)
        self._refresh_nbbo(list(self._symbols))


def _take(items: list[Print]) -> list[Print]:
    out = items[:]
    items.clear()
    return out
