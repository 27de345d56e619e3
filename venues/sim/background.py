"""The background market: fair value, market makers, noise traders, informed traders, dark liquidity.

Pure core. Every agent draws from its own ``random.Random`` seeded from the
market's seed and the agent's name, and acts only when the event queue wakes
it, so the same seed replays the same market event for event.

Simulation internals (fair value, rates, sizes before rounding) are floats:
they are model quantities, not money. Every price that reaches a book is an
integer on the venue's grid and every price that leaves the simulator is a
``Decimal``.

Why impact follows the square-root law here: the market makers' ladders hold a
*latent book* whose depth grows linearly with the distance from fair value
(Tóth et al., 2011), so the depth within ``d`` ticks is ``c * d**2`` and an
order of size ``Q`` that walks it moves the price ``sqrt(Q / c)``. ``c`` is set
so that walking it costs ``Y * sigma_daily * sqrt(Q / ADV)``, ``Y`` being the
impact coefficient. The rest of the move decays as the makers refill around
it; a share stays in fair value (permanent impact): of a noise trader's sweep,
its move; of the clients' flow (ours), passive or aggressive, lit or dark, the
permanent share of the square-root law for their net quantity of the day
(``FairValue.metaorder_impact``), as metaorders are measured to move prices
whichever way they trade. An informed trader's trades move nothing: they close
a gap between quotes and fair value, and moving fair value away from the quote
it hit would feed on itself.

Fair value's own path is drawn on a fixed grid, so one seed gives one path
whatever the orders sent into it: strategies compare on the same path.
"""

import math
import random
import zlib
from dataclasses import dataclass
from decimal import Decimal

from trading.enums import Peg, SelfTradePrevention, Side, TimeInForce
from venues.sim.book import Order
from venues.sim.clients import Message
from venues.sim.dark import DarkOrder, DarkPool
from venues.sim.lit import LitVenue
from venues.sim.params import Regime

NS = 1_000_000_000
SESSION_SECONDS = 23_400  # 09:30 to 16:00
# A US large cap's share of the day's volume per half hour from the open.
U_SHAPE = (16.5, 9.5, 7.5, 6.5, 5.5, 5.0, 4.75, 4.75, 5.0, 5.5, 6.5, 8.0, 15.0)
_U_MEAN = sum(U_SHAPE) / len(U_SHAPE)
# The makers' ladder: (first, last) distance from their touch in ticks and the spacing of their levels.
LADDER_BANDS = ((0, 10, 1), (10, 30, 2), (30, 80, 5), (80, 200, 10), (200, 500, 25), (500, 1500, 50), (1500, 5000, 100))
# The ladders hold this much of a day's volume on each side: the primary alone (about half) fills a market order of a quarter.
LATENT_DEPTH_SHARE_OF_ADV = 0.6
NEAR_TICKS = 10  # the near ladder is re-checked at every look, the rest less often
FAR_REFRESH_EVERY = 10
FAR_REFRESH_MOVE = 5  # ticks
FAIR_STEP_NS = 250_000_000  # fair value's path is drawn on this grid


def rng_for(seed: int, name: str) -> random.Random:
    """Return an agent's own random stream: independent of the others, stable across runs."""
    return random.Random(seed * 1_000_003 + zlib.crc32(name.encode()))


def intraday_intensity(t_open_ns: int) -> float:
    """Return the U-shaped volume rate at ``t_open_ns`` after the open, 1.0 being the day's average."""
    bucket = min(len(U_SHAPE) - 1, max(0, t_open_ns // (1800 * NS)))
    return U_SHAPE[bucket] / _U_MEAN


@dataclass(frozen=True, slots=True)
class SymbolModel:
    """The background market's parameters for one instrument (floats: model inputs, not money)."""

    symbol: str
    ref_px: float
    tick: float  # price of one tick at the reference price
    lot: float  # shares per lot
    adv: float  # target daily volume, shares
    volatility: float  # annualised, of fair value
    regime: Regime = Regime.CALM
    trend_bps_per_hour: float = 20.0
    impact_coefficient: float = 0.7
    permanent_share: float = 0.4

    @property
    def sigma_daily(self) -> float:
        return self.volatility / math.sqrt(252)

    @property
    def depth_per_tick2(self) -> float:
        """``c``: shares within ``d`` ticks of fair value, both venues together, over ``d**2``."""
        move_ticks = self.impact_coefficient * self.sigma_daily * self.ref_px / self.tick
        return self.adv / max(move_ticks, 1.0) ** 2


@dataclass(frozen=True, slots=True)
class FairParts:
    """Fair value in parts (price): the path the seed drew, the background traders' permanent impact, the clients'.

    ``path`` is the same under any orders of one seed: benchmarks take its move
    out of a fill's price as a control variate for timing noise. The
    background's impact is not: our orders shape the books the noise traders
    sweep, and what they move because of us is part of our cost.
    """

    path: float
    background: float
    clients: float


class FairValue:
    """The instrument's unobserved value: geometric Brownian motion, per regime, plus permanent impact.

    The path is drawn on a fixed grid (``FAIR_STEP_NS`` from the start) and
    holds between its points, so it depends on the seed only, never on when or
    how often it is looked at: runs of one seed that send different orders see
    the same path, and their costs compare pair by pair. Impact is kept apart
    from it (``shift``) and added on top.
    """

    def __init__(self, model: SymbolModel, rng: random.Random, *, start_ns: int) -> None:
        self.model = model
        self.regime = model.regime
        self._path = model.ref_px
        self._background = 0.0  # the background traders' permanent impact so far
        self._clients = 0.0  # the clients' (ours)
        self._rng = rng
        self._t = start_ns  # the last grid point drawn
        self._trend_sign = 1.0 if rng.random() < 0.5 else -1.0

    def set_regime(self, regime: Regime) -> None:
        self.regime = regime

    @property
    def value(self) -> float:
        return max(self.model.tick, self._path + self._background + self._clients)

    @property
    def parts(self) -> "FairParts":
        """Fair value as of the last look, in its parts."""
        return FairParts(self._path, self._background, self._clients)

    def at(self, t_ns: int) -> float:
        """Return fair value at ``t_ns``: the path drawn up to the last grid point at or before it, plus impact."""
        steps = (t_ns - self._t) // FAIR_STEP_NS
        if steps > 0:
            dt = FAIR_STEP_NS / NS / SESSION_SECONDS / 252  # in years of trading time
            sigma = self.model.volatility * (3.0 if self.regime is Regime.VOLATILE else 1.0)
            drift = 0.0
            if self.regime is Regime.TRENDING:
                drift = self._trend_sign * self.model.trend_bps_per_hour / 10_000 * 6.5 * 252
            mean, scale, gauss = (drift - 0.5 * sigma * sigma) * dt, sigma * math.sqrt(dt), self._rng.gauss
            path = self._path
            for _ in range(steps):
                path *= math.exp(mean + scale * gauss(0.0, 1.0))
            self._path = path
            self._t += steps * FAIR_STEP_NS
        return self.value

    def restart(self, t_ns: int) -> None:
        """Continue from ``t_ns`` (a new day's open) without a move: overnight gaps are not modelled."""
        self._t = t_ns

    def shift(self, by: float, *, clients: bool) -> None:
        """Move fair value by ``by`` (price): the permanent part of a trade's impact, the clients' or the background's."""
        if clients:
            self._clients += by
        else:
            self._background += by

    def metaorder_impact(self, net_qty: float) -> float:
        """The permanent move (price) that a net ``net_qty`` shares bought (negative: sold) leaves: the permanent share
        of the square-root law the latent book is built to (``Y * sigma_daily * sqrt(|Q| / ADV)``, in price)."""
        model = self.model
        move = model.impact_coefficient * model.sigma_daily * model.ref_px * math.sqrt(abs(net_qty) / model.adv)
        return math.copysign(model.permanent_share * move, net_qty)


class MarketMaker:
    """Quotes a ladder on one venue around fair value, skewed against its inventory, never taking."""

    def __init__(self, venue: LitVenue, model: SymbolModel, fair: FairValue, *, share: float, rng: random.Random) -> None:
        self.venue = venue
        self.model = model
        self.fair = fair
        self.owner = f"mm:{venue.code}:{model.symbol}"
        self.rng = rng
        self.inventory = 0.0
        self.dirty = True
        market = venue.markets[model.symbol]
        self._grid = market.grid
        self._units_per_tick = market.grid.units_per_tick(market.listing.ref_px)
        self._c = model.depth_per_tick2 * share / model.lot  # lots per tick**2 on this venue
        self._max_ticks = math.sqrt(LATENT_DEPTH_SHARE_OF_ADV * model.adv * share / model.lot / self._c)
        self._inventory_limit = max(model.adv * share * 0.02, model.lot)
        self._resting: dict[tuple[Side, int], int] = {}  # (side, tick) -> book order id
        self._last_touch: tuple[int, int] | None = None
        # Each level of the ladder by distance from the touch: (ticks, spacing, lots), while it has size.
        self._template = [
            (k, step, int(2.0 * self._c * (k + 1) * step))
            for first, last, step in LADDER_BANDS
            for k in range(first, min(last, int(self._max_ticks) + 1))
            if int(2.0 * self._c * (k + 1) * step) > 0
        ]
        self._near = sum(1 for k, _step, _lots in self._template if k < NEAR_TICKS)
        self._far_countdown = 0
        self._far_anchor = 0

    def on_fill(self, side: Side, lots: int) -> None:
        self.inventory += side.sign * lots * self.model.lot
        self.dirty = True

    def quote(self, t_ns: int, *, away: tuple[int | None, int | None] = (None, None)) -> list[Message]:
        """Re-quote around fair value; return our reports its adds caused (none: they are post-only).

        ``away`` is the best bid and ask elsewhere, in this venue's price units:
        the maker does not lock or cross them (Reg NMS Rule 610).
        """
        tick_px = self.model.tick
        skew = 1.5 * max(-1.0, min(1.0, self.inventory / self._inventory_limit))
        center = self.fair.at(t_ns) / tick_px - skew
        half = 1.5 if self.fair.regime is Regime.VOLATILE else 0.5
        bid_tick = math.floor(center - half)
        ask_tick = math.ceil(center + half)
        if ask_tick <= bid_tick:
            ask_tick = bid_tick + 1
        away_bid, away_ask = away
        if away_ask is not None:
            bid_tick = min(bid_tick, -(-away_ask // self._units_per_tick) - 1)
        if away_bid is not None:
            ask_tick = max(ask_tick, away_bid // self._units_per_tick + 1)
        if not self.dirty and self._last_touch == (bid_tick, ask_tick):
            return []
        self._last_touch = (bid_tick, ask_tick)
        self.dirty = False
        # The deep ladder changes little from one look to the next: redo it every tenth time or after a jump.
        far = self._far_countdown <= 0 or abs(bid_tick - self._far_anchor) >= FAR_REFRESH_MOVE
        self._far_countdown = FAR_REFRESH_EVERY if far else self._far_countdown - 1
        if far:
            self._far_anchor = bid_tick
        reach = len(self._template) if far else self._near
        wanted: dict[tuple[Side, int], int] = {}
        for side, touch, direction in ((Side.BUY, bid_tick, -1), (Side.SELL, ask_tick, 1)):
            for k, step, lots in self._template[:reach]:
                tick = touch + direction * k
                if tick <= 0:
                    break
                if not tick % step:
                    wanted[(side, tick)] = lots
        book = self.venue.markets[self.model.symbol].book
        reports: list[Message] = []
        for key, order_id in list(self._resting.items()):
            side, tick = key
            if not far and (bid_tick - tick if side is Side.BUY else tick - ask_tick) >= NEAR_TICKS:
                continue
            resting = book.get(order_id)
            size = wanted.get(key)
            # Keep a queue place while its size is about right; the far levels drift into the near ones.
            if resting is None or size is None or not size <= 2 * resting.leaves <= 4 * size:
                if resting is not None:
                    self.venue.agent_cancel(self.model.symbol, order_id)
                del self._resting[key]
        for key, lots in wanted.items():
            if key in self._resting:
                continue
            side, tick = key
            order = Order(
                self.venue.next_id(),
                side,
                tick * self._units_per_tick,
                lots,
                owner=self.owner,
                post_only=True,
                stp=SelfTradePrevention.CANCEL_NEWEST,
            )
            _outcome, caused = self.venue.agent_add(self.model.symbol, order)
            reports += caused
            if order.live:
                self._resting[key] = order.order_id
        return reports


class NoiseTrader:
    """Uninformed flow: market orders and short-lived limit orders at the touch, U-shaped over the day."""

    MARKET_SHARE = 0.6
    ORDERS_PER_DAY_FACTOR = 0.8  # market orders carry this share of ADV; informed and dark flow the rest

    def __init__(self, model: SymbolModel, venues: list[LitVenue], weights: list[float], rng: random.Random) -> None:
        self.model = model
        self.venues = venues
        self.weights = weights
        self.rng = rng
        self.mean_lots = max(1.0, model.adv / 8000 / model.lot)
        market_orders_per_day = self.ORDERS_PER_DAY_FACTOR * model.adv / (self.mean_lots * model.lot)
        self.rate_per_s = market_orders_per_day / self.MARKET_SHARE / SESSION_SECONDS

    def next_wait_ns(self, t_open_ns: int) -> int:
        rate = self.rate_per_s * intraday_intensity(t_open_ns)
        return max(1, int(self.rng.expovariate(rate) * NS))

    def size_lots(self) -> int:
        return max(1, int(self.rng.lognormvariate(math.log(self.mean_lots) - 0.5, 1.0)))

    def pick_venue(self) -> LitVenue:
        return self.rng.choices(self.venues, self.weights)[0]


class InformedTrader:
    """Trades when the lit quotes lag fair value by more than a threshold: the adverse selection makers face."""

    def __init__(self, model: SymbolModel, fair: FairValue, rng: random.Random) -> None:
        self.model = model
        self.fair = fair
        self.rng = rng
        self.rate_per_s = 0.5
        self.edge_ticks = 1.0
        self.max_lots = max(1, int(model.adv / 4000 / model.lot))

    def next_wait_ns(self) -> int:
        return max(1, int(self.rng.expovariate(self.rate_per_s) * NS))


class DarkLiquidity:
    """Institutional orders resting in dark pools at the midpoint, with a minimum size and a lifetime."""

    def __init__(self, model: SymbolModel, pools: list[DarkPool], rng: random.Random) -> None:
        self.model = model
        self.pools = pools
        self.rng = rng
        self.lot = Decimal(str(model.lot)).normalize()
        self.mean_lots = max(1.0, model.adv / 2000 / model.lot)
        self.rate_per_s = 0.01 * model.adv / 1_000_000 if pools else 0.0
        self.mean_life_s = 180.0

    def next_wait_ns(self) -> int:
        return max(1, int(self.rng.expovariate(self.rate_per_s) * NS)) if self.rate_per_s else 0

    def order(self, order_id: int) -> DarkOrder:
        lots = max(1, int(self.rng.lognormvariate(math.log(self.mean_lots), 0.8)))
        min_lots = max(1, lots // 10)
        side = Side.BUY if self.rng.random() < 0.5 else Side.SELL
        return DarkOrder(
            order_id,
            side,
            lots * self.lot,
            peg=Peg.MID,
            min_qty=min_lots * self.lot,
            tif=TimeInForce.DAY,
            owner="dark",
        )
