"""Simulated RFQ dealers: two-way or one-sided quotes from a fair value, and a last look. Pure and seeded.

A dealer sees a request (``QuoteRequest``: an id, an equity block or an option
package, a size, the client's side or None for a two-way price; never who the
client is) and either stays silent or answers after its latency with a quote
that holds for its lifetime. The quote centres on fair value (the mid for a
block; the model price of the package, ``options.price_package``, for
options), widens with size, vega and volatility, and leans against the
dealer's inventory: long, it lowers both prices to sell; short, it raises them.
When the client hits the quote the dealer takes a last look and may still walk
away: at random, and always when the quote has expired or fair value has moved
against it by more than its tolerance.

Time is integer nanoseconds since midnight of ``FairInputs.day`` (the market
simulator's clock). Randomness comes only from the ``random.Random`` each
dealer is given; every draw happens in a fixed order (answer or not, latency,
then at last look the reject draw), so a seed replays a run exactly.
"""

import math
import random
from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Final

from trading.enums import AssetClass, Side
from trading.numbers import ZERO, floor_to, quantize_px, to_decimal
from venues.sim.background import rng_for
from venues.sim.options import FairInputs, OptionSpec, Package, StockSpec, package_grid, price_package, year_fraction

NS_PER_MS: Final = 1_000_000
# Inventory leans the quote by at most this many reference sizes' worth: past it the dealer would rather not quote.
_MAX_SKEW_UNITS: Final = 2.0
_BPS: Final = 1e-4

Quotable = Package | StockSpec


class LastLookReason(StrEnum):
    """Why a dealer walked away from its quote at last look."""

    EXPIRED = "EXPIRED"
    MARKET_MOVED = "MARKET_MOVED"
    DEALER_DECLINED = "DEALER_DECLINED"


@dataclass(frozen=True, slots=True)
class DealerProfile:
    """How one dealer quotes. Sizes: shares for blocks, package units for options.

    Half-spread, before rounding outwards to the tick (at least
    ``min_half_spread_ticks`` ticks):

    - block: ``mid * half_spread_bps / 10^4 * size * vol``
    - options: ``half_spread_vol_points * gross vega * size * vega * vol``
      (gross vega per package unit, per vol point, so each leg is charged)

    with the factors ``size = 1 + size_widening * sqrt(qty / reference qty)``,
    ``vega = 1 + vega_widening * |net vega of the whole request, $ per vol
    point| / reference_vega`` and ``vol = 1 + vol_widening * max(0, vol /
    reference_vol - 1)`` (the ATM vol: the front of the curve for a block, the
    nearest leg expiry for options). The centre is fair value shifted by
    ``-inventory_skew * half-spread * inventory / reference qty`` (that ratio
    clamped to +-2). Latency is uniform in ``latency_ms +- latency_jitter_ms``.
    ``last_look_tolerance`` is in half-spreads of adverse fair value move.
    A request above the max size is quoted for the max size.
    """

    code: str
    name: str = ""
    covers: frozenset[AssetClass] = frozenset({AssetClass.EQUITY, AssetClass.OPTION})
    half_spread_bps: float = 5.0
    half_spread_vol_points: float = 0.5
    min_half_spread_ticks: int = 1
    reference_block_qty: Decimal = Decimal(10_000)
    reference_option_qty: Decimal = Decimal(100)
    size_widening: float = 0.5
    reference_vega: float = 10_000.0
    vega_widening: float = 0.5
    reference_vol: float = 0.25
    vol_widening: float = 1.0
    inventory_skew: float = 0.5
    latency_ms: float = 100.0
    latency_jitter_ms: float = 20.0
    no_answer_prob: float = 0.1
    last_look_reject_prob: float = 0.05
    last_look_tolerance: float = 1.0
    quote_lifetime_ms: float = 3_000.0
    max_block_qty: Decimal = Decimal(500_000)
    max_option_qty: Decimal = Decimal(1_000)

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise ValueError(f"invalid `code`, was {self.code!r}: must be a non-empty dealer code")
        object.__setattr__(self, "covers", frozenset(AssetClass(kind) for kind in self.covers))
        positive = {
            "half_spread_bps": self.half_spread_bps,
            "half_spread_vol_points": self.half_spread_vol_points,
            "reference_vega": self.reference_vega,
            "reference_vol": self.reference_vol,
            "quote_lifetime_ms": self.quote_lifetime_ms,
        }
        for name, value in positive.items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"invalid `{name}`, was {value}: must be positive")
        non_negative = {
            "size_widening": self.size_widening,
            "vega_widening": self.vega_widening,
            "vol_widening": self.vol_widening,
            "inventory_skew": self.inventory_skew,
            "latency_ms": self.latency_ms,
            "latency_jitter_ms": self.latency_jitter_ms,
            "last_look_tolerance": self.last_look_tolerance,
        }
        for name, value in non_negative.items():
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"invalid `{name}`, was {value}: must be >= 0")
        for name, value in (("no_answer_prob", self.no_answer_prob), ("last_look_reject_prob", self.last_look_reject_prob)):
            if not (0.0 <= value <= 1.0):
                raise ValueError(f"invalid `{name}`, was {value}: must be a probability in [0, 1]")
        if self.latency_jitter_ms > self.latency_ms:
            raise ValueError(
                f"invalid `latency_jitter_ms`, was {self.latency_jitter_ms}: more than `latency_ms` ({self.latency_ms})"
            )
        if (
            isinstance(self.min_half_spread_ticks, bool)
            or not isinstance(self.min_half_spread_ticks, int)
            or self.min_half_spread_ticks < 1
        ):
            raise ValueError(f"invalid `min_half_spread_ticks`, was {self.min_half_spread_ticks!r}: must be a whole number >= 1")
        for name, qty in (
            ("reference_block_qty", self.reference_block_qty),
            ("reference_option_qty", self.reference_option_qty),
            ("max_block_qty", self.max_block_qty),
            ("max_option_qty", self.max_option_qty),
        ):
            if to_decimal(qty) <= 0:
                raise ValueError(f"invalid `{name}`, was {qty}: must be positive")


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    """What a dealer sees of an RFQ: no client identity.

    ``instrument``: a ``StockSpec`` for an equity block (``qty`` in shares, on
    its lot) or a ``Package`` with options (``qty`` whole package units; a
    single option is a one-leg package). ``side`` is the client's: BUY wants an
    offer, SELL a bid, None a two-way price.
    """

    quote_req_id: str
    instrument: Quotable
    qty: Decimal
    side: Side | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.quote_req_id, str) or not self.quote_req_id:
            raise ValueError(f"invalid `quote_req_id`, was {self.quote_req_id!r}: must be a non-empty id")
        qty = to_decimal(self.qty)
        if qty <= 0:
            raise ValueError(f"invalid `qty`, was {qty}: must be positive")
        if isinstance(self.instrument, StockSpec):
            if qty % self.instrument.lot != 0:
                raise ValueError(f"invalid `qty`, was {qty}: not a multiple of the lot {self.instrument.lot}")
        elif isinstance(self.instrument, Package):
            if not self.instrument.has_options:
                raise ValueError("invalid `instrument`: a package without options is asked for as a StockSpec block")
            if qty != qty.to_integral_value():
                raise ValueError(f"invalid `qty`, was {qty}: packages trade in whole units")
        else:
            raise ValueError(f"invalid `instrument`, was {self.instrument!r}: expected a StockSpec or a Package")
        if self.side is not None:
            Side(self.side)

    @property
    def asset_class(self) -> AssetClass:
        return AssetClass.EQUITY if isinstance(self.instrument, StockSpec) else AssetClass.OPTION


@dataclass(frozen=True, slots=True)
class DealerQuote:
    """A dealer's answer: prices on the instrument's tick, or a package's grid (``options.package_grid``).

    A one-sided request gets only the side the client needs (an offer for a
    buyer, a bid for a seller); a two-way request gets both. It reaches the
    client at ``arrives_ns`` and can be hit until just before ``expires_ns``.
    ``fair_px`` and ``half_spread`` are the dealer's own view, kept for its
    last look and for analysis; the client is not shown them. For a package,
    ``fair_leg_px`` are the fair leg prices the grid was built from: split a
    fill into leg prices with ``options.split_package_px(package, px,
    quote.fair_leg_px)`` (a stock leg then prints at the tie price it was
    quoted with).
    """

    dealer: str
    request: QuoteRequest
    bid_px: Decimal | None
    offer_px: Decimal | None
    qty: Decimal
    sent_ns: int
    arrives_ns: int
    expires_ns: int
    fair_px: Decimal
    half_spread: Decimal
    fair_leg_px: tuple[Decimal, ...] = ()

    @property
    def quote_req_id(self) -> str:
        return self.request.quote_req_id

    def px_for(self, side: Side) -> Decimal | None:
        """Return the price a client trading ``side`` gets: the offer for a buy, the bid for a sell."""
        return self.offer_px if side is Side.BUY else self.bid_px


@dataclass(frozen=True, slots=True)
class LastLook:
    """The dealer's last word on a hit quote: on accept, the trade at ``px`` for ``qty`` (the client's ``side``)."""

    accepted: bool
    reason: LastLookReason | None
    side: Side
    px: Decimal
    qty: Decimal


@dataclass(slots=True)
class SimDealer:
    """One dealer: its profile, its own random stream and its inventory (positive: long).

    Inventory is kept per equity symbol and per package; a package and its
    flipped twin (every side reversed) share one book with opposite signs.
    """

    profile: DealerProfile
    rng: random.Random
    inventory: dict[Hashable, Decimal] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.profile.code

    def position(self, instrument: Quotable) -> Decimal:
        """Return the dealer's inventory in ``instrument`` (shares or package units; negative: short)."""
        key, sign = inventory_key(instrument)
        return sign * self.inventory.get(key, ZERO)

    def add_position(self, instrument: Quotable, qty: Decimal) -> None:
        """Add ``qty`` (negative to reduce) to the dealer's inventory in ``instrument``."""
        key, sign = inventory_key(instrument)
        self.inventory[key] = self.inventory.get(key, ZERO) + sign * to_decimal(qty)

    def quote(self, request: QuoteRequest, fair: FairInputs, now_ns: int) -> DealerQuote | None:
        """Return the dealer's quote for ``request`` asked at ``now_ns``, or None if it does not answer.

        No answer: the asset class is not covered, the no-answer draw says so,
        or the price the client needs would not be a valid one (a bid at or
        below zero for something that cannot be worth less).
        """
        profile = self.profile
        if request.asset_class not in profile.covers:
            return None
        if self.rng.random() < profile.no_answer_prob:
            return None
        latency_ms = self.rng.uniform(
            profile.latency_ms - profile.latency_jitter_ms, profile.latency_ms + profile.latency_jitter_ms
        )
        arrives_ns = now_ns + round(latency_ms * NS_PER_MS)
        qty = self._quote_qty(request)
        if qty <= 0:
            return None
        fair_px, half, grid, fair_leg_px = self._price(request, fair, now_ns, qty)
        origin, tick = grid
        units = self.position(request.instrument) / self._reference_qty(request)
        skew = -profile.inventory_skew * float(half) * max(-_MAX_SKEW_UNITS, min(_MAX_SKEW_UNITS, float(units)))
        centre = fair_px + _to_px(skew)
        # Outwards to the grid: the dealer never gives away the rounding.
        bid: Decimal | None = origin + _floor_to(centre - half - origin, tick)
        offer: Decimal | None = origin + _ceil_to(centre + half - origin, tick)
        lowest, highest = _price_bounds(request.instrument, tick)
        if lowest is not None and bid is not None and bid < lowest:
            bid = None
        if highest is not None and offer is not None and offer > highest:
            offer = None
        if request.side is Side.BUY:
            bid = None
        elif request.side is Side.SELL:
            offer = None
        if (request.side is None and (bid is None or offer is None)) or (bid is None and offer is None):
            return None
        return DealerQuote(
            dealer=profile.code,
            request=request,
            bid_px=bid,
            offer_px=offer,
            qty=qty,
            sent_ns=now_ns,
            arrives_ns=arrives_ns,
            expires_ns=arrives_ns + round(profile.quote_lifetime_ms * NS_PER_MS),
            fair_px=fair_px,
            half_spread=half,
            fair_leg_px=fair_leg_px,
        )

    def last_look(
        self, quote: DealerQuote, fair_now: FairInputs, now_ns: int, *, side: Side | None = None, qty: Decimal | None = None
    ) -> LastLook:
        """Accept or reject a client hitting ``quote`` at ``now_ns``; on accept, book the trade in the inventory.

        ``side`` is the client's (needed only for a two-way quote); ``qty``
        defaults to the quoted size. Reject when the quote has expired
        (``now_ns >= expires_ns``), when fair value has moved against the dealer
        by more than ``last_look_tolerance`` half-spreads, or else with the
        profile's probability. Raise ValueError for a hit the client could not
        send: another dealer's quote, before it arrived, a side not quoted, a
        size above the quote's.
        """
        if quote.dealer != self.code:
            raise ValueError(f"invalid `quote`, was from {quote.dealer!r}: this dealer is {self.code!r}")
        side = _hit_side(quote, side)
        px = quote.px_for(side)
        if px is None:
            raise ValueError(f"invalid `side`, was {side}: the quote has no price for it")
        qty = quote.qty if qty is None else to_decimal(qty)
        if not 0 < qty <= quote.qty:
            raise ValueError(f"invalid `qty`, was {qty}: must be positive and at most the quoted {quote.qty}")
        if now_ns < quote.arrives_ns:
            raise ValueError(f"invalid `now_ns`, was {now_ns}: the quote arrives at {quote.arrives_ns}")

        def reject(reason: LastLookReason) -> LastLook:
            return LastLook(accepted=False, reason=reason, side=side, px=px, qty=qty)

        if now_ns >= quote.expires_ns:
            return reject(LastLookReason.EXPIRED)
        fair_px = self._fair_px(quote.request, fair_now, now_ns)
        # The dealer sold at the offer to a buyer: a higher fair value costs it; it bought from a seller: a lower one.
        adverse = (fair_px - quote.fair_px) * side.sign
        if adverse > quote.half_spread * _to_px(self.profile.last_look_tolerance):
            return reject(LastLookReason.MARKET_MOVED)
        if self.rng.random() < self.profile.last_look_reject_prob:
            return reject(LastLookReason.DEALER_DECLINED)
        self.add_position(quote.request.instrument, -side.sign * qty)
        return LastLook(accepted=True, reason=None, side=side, px=px, qty=qty)

    # --- internals ----------------------------------------------------

    def _reference_qty(self, request: QuoteRequest) -> Decimal:
        block = request.asset_class is AssetClass.EQUITY
        return self.profile.reference_block_qty if block else self.profile.reference_option_qty

    def _quote_qty(self, request: QuoteRequest) -> Decimal:
        if isinstance(request.instrument, StockSpec):
            return floor_to(min(request.qty, self.profile.max_block_qty), request.instrument.lot)
        return floor_to(min(request.qty, self.profile.max_option_qty), Decimal(1))

    def _fair_px(self, request: QuoteRequest, fair: FairInputs, now_ns: int) -> Decimal:
        if isinstance(request.instrument, StockSpec):
            return fair.spot
        return price_package(request.instrument, fair, ns=now_ns).px

    def _price(
        self, request: QuoteRequest, fair: FairInputs, now_ns: int, qty: Decimal
    ) -> tuple[Decimal, Decimal, tuple[Decimal, Decimal], tuple[Decimal, ...]]:
        """Return the fair price, the half-spread (at least the minimum ticks), the price grid and the fair leg prices."""
        profile = self.profile
        size = 1.0 + profile.size_widening * math.sqrt(float(qty / self._reference_qty(request)))
        instrument = request.instrument
        fair_leg_px: tuple[Decimal, ...] = ()
        if isinstance(instrument, StockSpec):
            fair_px, grid = fair.spot, (ZERO, instrument.tick)
            vol = fair.surface.atm_vol(0.0)
            half = float(fair.spot) * profile.half_spread_bps * _BPS * size
        else:
            value = price_package(instrument, fair, ns=now_ns)
            fair_px, fair_leg_px = value.px, tuple(leg.px for leg in value.legs)
            grid = package_grid(instrument, fair_leg_px)
            nearest = min(year_fraction(option.expiry, fair.day, now_ns) for option in _option_legs(instrument))
            vol = fair.surface.atm_vol(nearest)
            risk_vega = abs(value.vega) * float(qty * value.multiplier)  # $ per vol point
            vega = 1.0 + profile.vega_widening * risk_vega / profile.reference_vega
            half = profile.half_spread_vol_points * value.gross_vega * size * vega
        half *= 1.0 + profile.vol_widening * max(0.0, vol / profile.reference_vol - 1.0)
        return fair_px, max(_to_px(half), profile.min_half_spread_ticks * grid[1]), grid, fair_leg_px


def inventory_key(instrument: Quotable) -> tuple[Hashable, int]:
    """Return the inventory book of ``instrument`` and the sign of one unit of it in that book.

    A package is booked in its form whose first leg is bought, so a package
    and its flipped twin net against each other.
    """
    if isinstance(instrument, StockSpec):
        return ("STOCK", instrument.symbol), 1
    if instrument.legs[0].side is Side.SELL:
        return ("PACKAGE", instrument.flipped().legs), -1
    return ("PACKAGE", instrument.legs), 1


# The dealers ``seed_demo`` creates, with varied behaviour so an RFQ has a real choice to make.
DEMO_PROFILES: Final = (
    # Tight and fast but often silent; holds its price briefly.
    DealerProfile(
        code="DLR-NB",
        name="Northbridge Securities",
        half_spread_bps=2.0,
        half_spread_vol_points=0.25,
        latency_ms=50.0,
        latency_jitter_ms=15.0,
        no_answer_prob=0.40,
        last_look_reject_prob=0.03,
        quote_lifetime_ms=1_500.0,
        max_block_qty=Decimal(200_000),
        max_option_qty=Decimal(500),
        inventory_skew=0.3,
    ),
    # Wide but reliable: nearly always answers, rarely walks away, big size, long-lived quotes.
    DealerProfile(
        code="DLR-KF",
        name="Kestrel Flow Trading",
        half_spread_bps=8.0,
        half_spread_vol_points=1.0,
        size_widening=0.3,
        latency_ms=80.0,
        latency_jitter_ms=10.0,
        no_answer_prob=0.02,
        last_look_reject_prob=0.01,
        last_look_tolerance=2.0,
        quote_lifetime_ms=5_000.0,
        max_block_qty=Decimal(1_000_000),
        max_option_qty=Decimal(2_000),
    ),
    # Middling prices, a heavy last look: rejects often and on small moves.
    DealerProfile(
        code="DLR-HM",
        name="Harbor Markets",
        half_spread_bps=4.0,
        half_spread_vol_points=0.5,
        latency_ms=120.0,
        latency_jitter_ms=40.0,
        no_answer_prob=0.10,
        last_look_reject_prob=0.25,
        last_look_tolerance=0.5,
        quote_lifetime_ms=2_000.0,
    ),
    # An options specialist: tight in vol, leans hard on its inventory, charges for big vega.
    DealerProfile(
        code="DLR-SL",
        name="Summit Liquidity",
        covers=frozenset({AssetClass.OPTION}),
        half_spread_vol_points=0.35,
        vega_widening=1.0,
        inventory_skew=1.0,
        latency_ms=60.0,
        latency_jitter_ms=20.0,
        no_answer_prob=0.08,
        last_look_reject_prob=0.05,
        quote_lifetime_ms=3_000.0,
    ),
    # An equity block house: slow, takes size without much widening, but nervous when markets are.
    DealerProfile(
        code="DLR-OC",
        name="Orchard Capital Markets",
        covers=frozenset({AssetClass.EQUITY}),
        half_spread_bps=5.0,
        size_widening=0.15,
        vol_widening=2.0,
        latency_ms=200.0,
        latency_jitter_ms=60.0,
        no_answer_prob=0.15,
        last_look_reject_prob=0.08,
        quote_lifetime_ms=8_000.0,
        max_block_qty=Decimal(2_000_000),
    ),
)


def demo_dealers(seed: int) -> dict[str, SimDealer]:
    """Return the five demo dealers (``DEMO_PROFILES``), each with its own random stream from ``seed``."""
    return {profile.code: SimDealer(profile, rng_for(seed, profile.code)) for profile in DEMO_PROFILES}


def _option_legs(package: Package) -> list[OptionSpec]:
    return [leg.instrument for leg in package.legs if isinstance(leg.instrument, OptionSpec)]


def _hit_side(quote: DealerQuote, side: Side | None) -> Side:
    asked = quote.request.side
    if asked is None:
        if side is None:
            raise ValueError("invalid `side`, was None: a two-way quote needs the client's side")
        return Side(side)
    if side is not None and side is not asked:
        raise ValueError(f"invalid `side`, was {side}: the request was to {asked}")
    return asked


def _price_bounds(instrument: Quotable, tick: Decimal) -> tuple[Decimal | None, Decimal | None]:
    """Return the lowest valid bid and highest valid offer, when the instrument's price has a sign."""
    if isinstance(instrument, StockSpec):
        return tick, None
    sides = {leg.side for leg in instrument.legs}
    if sides == {Side.BUY}:  # all bought: worth more than nothing
        return tick, None
    if sides == {Side.SELL}:  # all sold: a credit
        return None, -tick
    return None, None


def _floor_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def _ceil_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def _to_px(value: float) -> Decimal:
    return quantize_px(Decimal(repr(value)))
