"""What the router sees: venues with their books, fees, latency and health; the request; its settings.

Pure: no Django, no Redis. The shell (``ems.routing``) builds these from the
market-data cache, the venue table and the venue statistics.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from trading.enums import Side, TimeInForce, Urgency, VenueKind
from venues.composite import OPEN as SESSION_OPEN

OPEN: Final = SESSION_OPEN  # the one spelling, from the consolidated market view

# (px, displayed qty), best first
Level = tuple[Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class VenueBook:
    """One venue for one symbol, as of the last market data: its book (lit only), fees, latency and health."""

    code: str
    kind: VenueKind  # LIT or DARK
    state: str  # OPEN | HALTED | CLOSED (the venue's session, from its heartbeat)
    maker_fee: Decimal  # per share; negative is a rebate
    taker_fee: Decimal
    latency_ms: Decimal  # one-way, order to venue
    age_ms: int | None  # since the venue's last heartbeat; None: never heard from
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()

    def far(self, side: Side) -> tuple[Level, ...]:
        """The levels an order of ``side`` would take (asks for a buy)."""
        return self.asks if side is Side.BUY else self.bids

    def near(self, side: Side) -> tuple[Level, ...]:
        """The levels an order of ``side`` would join (bids for a buy)."""
        return self.bids if side is Side.BUY else self.asks

    def shown_at(self, side: Side, px: Decimal) -> Decimal:
        """Displayed quantity on ``side``'s own side of the book at ``px`` (the queue a new order joins)."""
        return next((qty for level_px, qty in self.near(side) if level_px == px), Decimal(0))


@dataclass(frozen=True, slots=True)
class RouteRequest:
    """A quantity to place now, from the algo: side, size, limit, urgency and what has been tried."""

    symbol: str
    side: Side
    qty: Decimal
    limit_px: Decimal | None  # None: a market order (it never rests)
    urgency: Urgency
    tif: TimeInForce
    lot: Decimal
    tick: Decimal
    adv: Decimal | None = None  # average daily volume, shares
    volatility_daily: Decimal | None = None  # as a fraction (0.016 is 1.6%)
    dark_tried: bool = False  # the dark pools were pinged for this quantity already
    allow_rfq: bool = True
    avoid: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # venue -> why
    dark_only: bool = False  # liquidity seeking: rest it all in the dark pools, nothing lit
    dark_min_qty: Decimal | None = None  # the algo's minimum dark fill; None: the router's setting


@dataclass(frozen=True, slots=True)
class RouterParams:
    """The router's settings; ``router.models.RouterSettings`` holds the live values, edited in admin."""

    stale_ms: int = 5_000  # a venue silent longer is not routed to
    max_display_share: Decimal = Decimal("0.25")  # of the displayed depth at our price on the venue
    size_jitter: Decimal = Decimal("0.20")  # child sizes vary by up to this share
    max_delay_ms: int = 250  # passive and resting dark orders wait a random time up to this
    dark_min_qty: Decimal = Decimal(200)  # smallest execution accepted in a dark pool
    dark_rest_share: Decimal = Decimal("0.50")  # LOW urgency: share of the quantity resting in the dark
    rfq_adv_share: Decimal = Decimal("0.05")  # a block: at least this share of ADV ...
    rfq_impact_bps: Decimal = Decimal(50)  # ... or an expected impact at least this
    rfq_depth_multiple: Decimal = Decimal(20)  # without ADV: more than this many times the displayed depth
    impact_coefficient: Decimal = Decimal("0.7")  # Y in impact = Y * sigma_daily * sqrt(Q / ADV)
    exploration: Decimal = Decimal(1)  # 0: rank by the mean fill rate; 1: Thompson sampling
    markout_weight: Decimal = Decimal("0.02")  # score per bp of markout
    reject_weight: Decimal = Decimal(1)  # score per unit of reject rate
    latency_weight: Decimal = Decimal("0.001")  # score per ms of acknowledgement latency
    fee_weight: Decimal = Decimal("0.05")  # score per bp of maker fee (a rebate adds)
