"""Option and multi-leg package pricing for the simulated RFQ dealers. Pure.

The model is European Black-Scholes with a continuous rate ``r`` and dividend
yield ``q`` (both fractions a year, default 0) and a volatility surface (an
at-the-money term structure and a smile in log-moneyness). The model runs on
floats; every price, strike, size and money crossing this module's boundary is
a ``Decimal`` (model prices are quantized to ``PX_DECIMALS``). Greeks are model
sensitivities and stay floats.

Time. An option expires at the close (16:00) of its expiry ``date``; it is
valued at an instant given as a trading ``day`` plus integer nanoseconds since
that day's midnight (the simulator's clock). The year fraction is ACT/365 on
that instant: ``(expiry 16:00 - day + ns) / 365 days``. At the expiry instant
an option is worth its intrinsic value; after it, valuing it is an error.

Packages. A ``Package`` is up to ``max_legs`` legs (4 unless configured) on one
underlying: options and the underlying stock, each bought or sold in a whole
ratio per package unit. Its price is per package unit, in the options' premium
units: ``sum(sign * ratio * multiplier * leg_px) / package multiplier``, a BUY
leg adding cost. A stock leg therefore counts ``ratio / 100`` of its price in a
package of 100-multiplier options (50 shares against one contract is 0.5 x S).
Greeks are the same sums: the derivatives of that package price.
"""

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Final

from trading.enums import PutCall, Side
from trading.numbers import ZERO, quantize_px, round_to, to_decimal

NS_PER_DAY: Final = 86_400 * 1_000_000_000
# Options expire at the close of their expiry date: the simulator's session ends at 16:00.
EXPIRY_NS: Final = 16 * 3_600 * 1_000_000_000
DAYS_PER_YEAR: Final = 365  # ACT/365, and theta is per calendar day
VOL_POINT: Final = 0.01  # vega is per one vol point
MAX_LEGS_DEFAULT: Final = 4
# The breadth-first search that closes a split's last residual stops past this many price units.
_SPLIT_SEARCH_LIMIT: Final = 2_000_000

_SQRT_2: Final = math.sqrt(2.0)
_SQRT_2PI: Final = math.sqrt(2.0 * math.pi)


class Structure(StrEnum):
    """What a package is, for the blotter and the dealers' books."""

    SINGLE = "SINGLE"
    VERTICAL = "VERTICAL"
    CALENDAR = "CALENDAR"
    STRADDLE = "STRADDLE"
    STRANGLE = "STRANGLE"
    RISK_REVERSAL = "RISK_REVERSAL"
    BUTTERFLY = "BUTTERFLY"
    CUSTOM = "CUSTOM"


# --- Black-Scholes ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptionValue:
    """An option's model value: ``px`` per share of underlying; greeks per share.

    ``delta`` per $1 of spot, ``gamma`` per $1 of spot squared, ``vega`` per
    vol point (0.01), ``theta`` per calendar day (negative: value lost a day).
    """

    px: Decimal
    delta: float
    gamma: float
    vega: float
    theta: float


def black_scholes(
    put_call: PutCall,
    *,
    spot: Decimal,
    strike: Decimal,
    t_years: float,
    vol: float,
    rate: float = 0.0,
    dividend: float = 0.0,
) -> OptionValue:
    """Return the European option's Black-Scholes price and greeks.

    ``t_years`` is the time to expiry (0: at expiry, the intrinsic value;
    negative is an error); ``vol``, ``rate`` and ``dividend`` are fractions a
    year. Raise ValueError naming the field for a non-positive spot, strike or
    vol, or a non-finite input.
    """
    spot = _positive_decimal("spot", spot)
    strike = _positive_decimal("strike", strike)
    _check_vol(vol)
    for name, value in (("t_years", t_years), ("rate", rate), ("dividend", dividend)):
        if not math.isfinite(value):
            raise ValueError(f"invalid `{name}`, was {value}: must be finite")
    if t_years < 0:
        raise ValueError(f"invalid `t_years`, was {t_years}: the option has expired")
    call = put_call is PutCall.CALL
    if t_years == 0:
        return _at_expiry(call, spot, strike)
    s, k = float(spot), float(strike)
    root_t = math.sqrt(t_years)
    d1 = (math.log(s / k) + (rate - dividend + 0.5 * vol * vol) * t_years) / (vol * root_t)
    d2 = d1 - vol * root_t
    spot_disc = s * math.exp(-dividend * t_years)  # the forward's present value
    strike_disc = k * math.exp(-rate * t_years)
    density = math.exp(-0.5 * d1 * d1) / _SQRT_2PI
    decay = -spot_disc * density * vol / (2.0 * root_t)
    if call:
        px = spot_disc * _cdf(d1) - strike_disc * _cdf(d2)
        delta = math.exp(-dividend * t_years) * _cdf(d1)
        theta = decay - rate * strike_disc * _cdf(d2) + dividend * spot_disc * _cdf(d1)
    else:
        px = strike_disc * _cdf(-d2) - spot_disc * _cdf(-d1)
        delta = -math.exp(-dividend * t_years) * _cdf(-d1)
        theta = decay + rate * strike_disc * _cdf(-d2) - dividend * spot_disc * _cdf(-d1)
    return OptionValue(
        # Far out of the money the float difference can dip a hair below zero.
        px=_to_px(max(px, 0.0)),
        delta=delta,
        gamma=spot_disc * density / (s * s * vol * root_t),
        vega=spot_disc * density * root_t * VOL_POINT,
        theta=theta / DAYS_PER_YEAR,
    )


def bs_price(
    put_call: PutCall,
    *,
    spot: Decimal,
    strike: Decimal,
    t_years: float,
    vol: float,
    rate: float = 0.0,
    dividend: float = 0.0,
) -> Decimal:
    """Return the European option's Black-Scholes price per share (see ``black_scholes``)."""
    return black_scholes(put_call, spot=spot, strike=strike, t_years=t_years, vol=vol, rate=rate, dividend=dividend).px


def year_fraction(expiry: date, day: date, ns: int) -> float:
    """Return the ACT/365 years from ``ns`` past midnight of ``day`` to the close (16:00) of ``expiry``.

    Negative once the option has expired.
    """
    if isinstance(ns, bool) or not isinstance(ns, int) or ns < 0:
        raise ValueError(f"invalid `ns`, was {ns!r}: nanoseconds since midnight, >= 0")
    left_ns = (expiry - day).days * NS_PER_DAY + EXPIRY_NS - ns
    return left_ns / (DAYS_PER_YEAR * NS_PER_DAY)


def _cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / _SQRT_2))


def _at_expiry(call: bool, spot: Decimal, strike: Decimal) -> OptionValue:
    intrinsic = max(spot - strike, ZERO) if call else max(strike - spot, ZERO)
    # The limit of the model's delta: 1 in the money, 0 out, 1/2 exactly at the strike.
    moneyness = 1.0 if spot > strike else 0.0 if spot < strike else 0.5
    delta = moneyness if call else moneyness - 1.0
    return OptionValue(px=quantize_px(intrinsic), delta=delta, gamma=0.0, vega=0.0, theta=0.0)


def _to_px(value: float) -> Decimal:
    return quantize_px(Decimal(repr(value)))


# --- volatility surface ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class VolSurface:
    """Implied volatility by strike and time: an ATM term structure and a smile.

    ``atm_term``: ``(t_years, atm_vol)`` points, times strictly increasing and
    positive, total variance ``vol**2 * t`` never decreasing (no calendar
    arbitrage). Between points the ATM vol is interpolated linearly in total
    variance; outside them it is flat (the first point's vol before it, the
    last one's after). The smile, in log-moneyness ``k = ln(strike / spot)``:
    ``atm + skew * k + curvature * k**2``, floored at ``min_vol``.
    """

    atm_term: tuple[tuple[float, float], ...]
    skew: float = 0.0
    curvature: float = 0.0
    min_vol: float = 0.01

    def __post_init__(self) -> None:
        object.__setattr__(self, "atm_term", tuple((float(t), float(v)) for t, v in self.atm_term))
        if not self.atm_term:
            raise ValueError("invalid `atm_term`, was (): needs at least one (t_years, vol) point")
        previous_t, previous_variance = 0.0, 0.0
        for t_years, vol in self.atm_term:
            if not (math.isfinite(t_years) and t_years > previous_t):
                raise ValueError(f"invalid `atm_term`, was {self.atm_term}: times must be positive and increasing")
            _check_vol(vol, "atm_term")
            if vol * vol * t_years < previous_variance:
                raise ValueError(
                    f"invalid `atm_term`, was {self.atm_term}: total variance falls at t={t_years} (calendar arbitrage)"
                )
            previous_t, previous_variance = t_years, vol * vol * t_years
        for name, value in (("skew", self.skew), ("curvature", self.curvature)):
            if not math.isfinite(value):
                raise ValueError(f"invalid `{name}`, was {value}: must be finite")
        _check_vol(self.min_vol, "min_vol")

    @classmethod
    def flat(cls, vol: float) -> "VolSurface":
        """Return a surface with the same vol everywhere."""
        return cls(atm_term=((1.0, vol),))

    def atm_vol(self, t_years: float) -> float:
        """Return the at-the-money vol for ``t_years`` (see the class for interpolation)."""
        points = self.atm_term
        if t_years <= points[0][0]:
            return points[0][1]
        if t_years >= points[-1][0]:
            return points[-1][1]
        for (t0, v0), (t1, v1) in pairwise(points):
            if t_years <= t1:
                w0, w1 = v0 * v0 * t0, v1 * v1 * t1
                variance = w0 + (w1 - w0) * (t_years - t0) / (t1 - t0)
                return math.sqrt(variance / t_years)
        raise AssertionError("unreachable: t_years lies inside the term structure")

    def vol(self, strike: Decimal, spot: Decimal, t_years: float) -> float:
        """Return the implied vol for ``strike`` with the underlying at ``spot``, ``t_years`` out."""
        strike = _positive_decimal("strike", strike)
        spot = _positive_decimal("spot", spot)
        k = math.log(float(strike) / float(spot))
        return max(self.min_vol, self.atm_vol(t_years) + self.skew * k + self.curvature * k * k)

    def shifted(self, vol_points: float) -> "VolSurface":
        """Return this surface moved in parallel by ``vol_points`` (1.0 = one vol point)."""
        shift = vol_points * VOL_POINT
        return VolSurface(
            atm_term=tuple((t, v + shift) for t, v in self.atm_term),
            skew=self.skew,
            curvature=self.curvature,
            min_vol=self.min_vol,
        )


def surface_for(atm_vol: float) -> VolSurface:
    """Return the simulated market's surface for an underlying of annual volatility ``atm_vol``.

    One shape for every underlying: the ATM vol rising a little with time
    (total variance grows), a put skew (lower strikes richer) and some smile.
    The simulated dealers price from it and the EMS's theoretical mid does too,
    each from its own estimate of ``atm_vol``.
    """
    _check_vol(atm_vol, "atm_vol")
    return VolSurface(atm_term=((0.1, atm_vol), (1.0, atm_vol * 1.05)), skew=-0.10, curvature=0.20)


# --- instruments, legs and packages ----------------------------------------


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """A listed European option: premium per share, ``multiplier`` shares a contract, prices on ``tick``."""

    underlying: str
    strike: Decimal
    expiry: date
    put_call: PutCall
    multiplier: Decimal = Decimal(100)
    tick: Decimal = Decimal("0.01")

    def __post_init__(self) -> None:
        _check_symbol("underlying", self.underlying)
        _positive_decimal("strike", self.strike)
        _positive_decimal("multiplier", self.multiplier)
        _positive_decimal("tick", self.tick)
        if not isinstance(self.expiry, date):
            raise ValueError(f"invalid `expiry`, was {self.expiry!r}: expected a date")
        PutCall(self.put_call)

    @property
    def symbol(self) -> str:
        """Return the OCC-style symbol, ``ACME 261218C00100000`` (as the demo seeds them)."""
        return f"{self.underlying} {self.expiry:%y%m%d}{self.put_call.value[0]}{int(self.strike * 1000):08d}"


@dataclass(frozen=True, slots=True)
class StockSpec:
    """The underlying stock as a leg or an equity block: prices on ``tick``, sizes on ``lot``."""

    symbol: str
    tick: Decimal = Decimal("0.01")
    lot: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        _check_symbol("symbol", self.symbol)
        _positive_decimal("tick", self.tick)
        _positive_decimal("lot", self.lot)

    @property
    def multiplier(self) -> Decimal:
        return Decimal(1)

    @property
    def underlying(self) -> str:
        return self.symbol


Instrument = OptionSpec | StockSpec


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg of a package: ``ratio`` units of ``instrument`` (contracts or shares) per package unit."""

    instrument: Instrument
    side: Side
    ratio: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.instrument, OptionSpec | StockSpec):
            raise ValueError(f"invalid `instrument`, was {self.instrument!r}: expected an OptionSpec or a StockSpec")
        Side(self.side)
        if isinstance(self.ratio, bool) or not isinstance(self.ratio, int) or self.ratio < 1:
            raise ValueError(f"invalid `ratio`, was {self.ratio!r}: must be a whole number >= 1")

    @property
    def sign(self) -> int:
        """Return +1 for a bought leg (it costs), -1 for a sold one."""
        return self.side.sign

    @property
    def is_option(self) -> bool:
        return isinstance(self.instrument, OptionSpec)

    def flipped(self) -> "Leg":
        return Leg(self.instrument, self.side.opposite, self.ratio)


@dataclass(frozen=True, slots=True)
class Package:
    """Legs traded together at one net price, on one underlying; at most ``max_legs`` legs.

    All option legs share one multiplier, the package's; a package without
    options has multiplier 1. ``legs`` may be given as any sequence and is
    kept as a tuple.
    """

    legs: tuple[Leg, ...]
    structure: Structure = Structure.CUSTOM
    max_legs: int = MAX_LEGS_DEFAULT

    def __post_init__(self) -> None:
        object.__setattr__(self, "legs", tuple(self.legs))
        if isinstance(self.max_legs, bool) or not isinstance(self.max_legs, int) or self.max_legs < 1:
            raise ValueError(f"invalid `max_legs`, was {self.max_legs!r}: must be a whole number >= 1")
        if not self.legs:
            raise ValueError("invalid `legs`, was (): a package needs at least one leg")
        if len(self.legs) > self.max_legs:
            raise ValueError(f"invalid `legs`, was {len(self.legs)} legs: at most {self.max_legs} (`max_legs`)")
        for leg in self.legs:
            if not isinstance(leg, Leg):
                raise ValueError(f"invalid `legs`, had {leg!r}: expected Leg values")
        underlyings = sorted({leg.instrument.underlying for leg in self.legs})
        if len(underlyings) > 1:
            raise ValueError(f"invalid `legs`, were on {underlyings}: a package has one underlying")
        multipliers = sorted({leg.instrument.multiplier for leg in self.legs if leg.is_option})
        if len(multipliers) > 1:
            raise ValueError(f"invalid `legs`, had multipliers {multipliers}: the options must share one")

    @property
    def underlying(self) -> str:
        return self.legs[0].instrument.underlying

    @property
    def multiplier(self) -> Decimal:
        """Return the shares one package unit's price is quoted for: the options' multiplier, or 1."""
        for leg in self.legs:
            if leg.is_option:
                return leg.instrument.multiplier
        return Decimal(1)

    @property
    def has_options(self) -> bool:
        return any(leg.is_option for leg in self.legs)

    def flipped(self) -> "Package":
        """Return the other side of this package: every leg's side reversed."""
        return Package(tuple(leg.flipped() for leg in self.legs), self.structure, self.max_legs)


def single_option(option: OptionSpec, side: Side = Side.BUY) -> Package:
    """Return a one-leg package: how an RFQ for a single option is priced and quoted."""
    return Package((Leg(option, side),), Structure.SINGLE)


def vertical(
    underlying: str,
    *,
    expiry: date,
    put_call: PutCall,
    low_strike: Decimal,
    high_strike: Decimal,
    side: Side = Side.BUY,
    multiplier: Decimal = Decimal(100),
    tick: Decimal = Decimal("0.01"),
) -> Package:
    """Return a call or put spread. BUY is the debit spread.

    Call spread: buy the low strike, sell the high. Put spread: buy the high
    strike, sell the low. SELL reverses both legs.
    """
    _check_increasing(low_strike=low_strike, high_strike=high_strike)
    low = OptionSpec(underlying, low_strike, expiry, put_call, multiplier, tick)
    high = OptionSpec(underlying, high_strike, expiry, put_call, multiplier, tick)
    bought, sold = (low, high) if put_call is PutCall.CALL else (high, low)
    return _sided(Package((Leg(bought, Side.BUY), Leg(sold, Side.SELL)), Structure.VERTICAL), side)


def calendar(
    underlying: str,
    *,
    put_call: PutCall,
    strike: Decimal,
    near_expiry: date,
    far_expiry: date,
    side: Side = Side.BUY,
    multiplier: Decimal = Decimal(100),
    tick: Decimal = Decimal("0.01"),
) -> Package:
    """Return a calendar spread at one strike. BUY sells the near expiry and buys the far (a debit)."""
    if not far_expiry > near_expiry:
        raise ValueError(f"invalid `far_expiry`, was {far_expiry}: must be after `near_expiry` ({near_expiry})")
    near = OptionSpec(underlying, strike, near_expiry, put_call, multiplier, tick)
    far = OptionSpec(underlying, strike, far_expiry, put_call, multiplier, tick)
    return _sided(Package((Leg(near, Side.SELL), Leg(far, Side.BUY)), Structure.CALENDAR), side)


def straddle(
    underlying: str,
    *,
    expiry: date,
    strike: Decimal,
    side: Side = Side.BUY,
    multiplier: Decimal = Decimal(100),
    tick: Decimal = Decimal("0.01"),
) -> Package:
    """Return a straddle: the call and the put at one strike, both bought (BUY) or both sold (SELL)."""
    call = OptionSpec(underlying, strike, expiry, PutCall.CALL, multiplier, tick)
    put = OptionSpec(underlying, strike, expiry, PutCall.PUT, multiplier, tick)
    return _sided(Package((Leg(call, Side.BUY), Leg(put, Side.BUY)), Structure.STRADDLE), side)


def strangle(
    underlying: str,
    *,
    expiry: date,
    put_strike: Decimal,
    call_strike: Decimal,
    side: Side = Side.BUY,
    multiplier: Decimal = Decimal(100),
    tick: Decimal = Decimal("0.01"),
) -> Package:
    """Return a strangle: a lower-strike put and a higher-strike call, both bought (BUY) or sold (SELL)."""
    put, call = _put_and_call(underlying, expiry, put_strike, call_strike, multiplier, tick)
    return _sided(Package((Leg(put, Side.BUY), Leg(call, Side.BUY)), Structure.STRANGLE), side)


def _put_and_call(  # noqa: PLR0917 - the two legs' terms, passed on by strangle and risk_reversal
    underlying: str, expiry: date, put_strike: Decimal, call_strike: Decimal, multiplier: Decimal, tick: Decimal
) -> tuple[OptionSpec, OptionSpec]:
    """Return the put below and the call above (a strangle's or a risk reversal's legs); raise if the strikes are not."""
    _check_increasing(put_strike=put_strike, call_strike=call_strike)
    return (
        OptionSpec(underlying, put_strike, expiry, PutCall.PUT, multiplier, tick),
        OptionSpec(underlying, call_strike, expiry, PutCall.CALL, multiplier, tick),
    )


def risk_reversal(
    underlying: str,
    *,
    expiry: date,
    put_strike: Decimal,
    call_strike: Decimal,
    side: Side = Side.BUY,
    multiplier: Decimal = Decimal(100),
    tick: Decimal = Decimal("0.01"),
) -> Package:
    """Return a risk reversal. BUY (bullish) sells the lower-strike put and buys the higher-strike call."""
    put, call = _put_and_call(underlying, expiry, put_strike, call_strike, multiplier, tick)
    return _sided(Package((Leg(put, Side.SELL), Leg(call, Side.BUY)), Structure.RISK_REVERSAL), side)


def butterfly(
    underlying: str,
    *,
    expiry: date,
    put_call: PutCall,
    low_strike: Decimal,
    mid_strike: Decimal,
    high_strike: Decimal,
    side: Side = Side.BUY,
    multiplier: Decimal = Decimal(100),
    tick: Decimal = Decimal("0.01"),
) -> Package:
    """Return a 1x2x1 butterfly. BUY buys one low and one high strike and sells two of the middle one."""
    _check_increasing(low_strike=low_strike, mid_strike=mid_strike)
    _check_increasing(mid_strike=mid_strike, high_strike=high_strike)
    legs = (
        Leg(OptionSpec(underlying, low_strike, expiry, put_call, multiplier, tick), Side.BUY),
        Leg(OptionSpec(underlying, mid_strike, expiry, put_call, multiplier, tick), Side.SELL, 2),
        Leg(OptionSpec(underlying, high_strike, expiry, put_call, multiplier, tick), Side.BUY),
    )
    return _sided(Package(legs, Structure.BUTTERFLY), side)


def _sided(package: Package, side: Side) -> Package:
    return package if Side(side) is Side.BUY else package.flipped()


def _check_increasing(**strikes: Decimal) -> None:
    (low_name, low), (high_name, high) = strikes.items()
    _positive_decimal(low_name, low)
    _positive_decimal(high_name, high)
    if not low < high:
        raise ValueError(f"invalid `{high_name}`, was {high}: must be above `{low_name}` ({low})")


# --- package pricing --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FairInputs:
    """What fair value is computed from: the underlying's ``spot`` (an equity block's mid), vols and rates.

    ``day`` is the trading day; the instant within it (ns since midnight) is
    passed with each valuation. ``rate`` and ``dividend`` are continuous, a year.
    """

    spot: Decimal
    surface: VolSurface
    day: date
    rate: float = 0.0
    dividend: float = 0.0

    def __post_init__(self) -> None:
        _positive_decimal("spot", self.spot)
        for name, value in (("rate", self.rate), ("dividend", self.dividend)):
            if not math.isfinite(value):
                raise ValueError(f"invalid `{name}`, was {value}: must be finite")


@dataclass(frozen=True, slots=True)
class LegValue:
    """One leg's model value per unit of its instrument: ``px`` per share, greeks per share (a stock: delta 1)."""

    leg: Leg
    px: Decimal
    delta: float
    gamma: float
    vega: float
    theta: float


@dataclass(frozen=True, slots=True)
class PackageValue:
    """A package's model value per package unit, in premium units (see the module docstring).

    ``px`` and the greeks are ``sum(sign * ratio * multiplier * leg value) /
    multiplier``; ``gross_vega`` sums the legs' vega without the signs (the
    vega a dealer must trade across). ``legs`` holds each leg's own value.
    """

    px: Decimal
    delta: float
    gamma: float
    vega: float
    theta: float
    gross_vega: float
    multiplier: Decimal
    legs: tuple[LegValue, ...]

    @property
    def delta_shares(self) -> float:
        """Return the package's delta in shares of the underlying per package unit."""
        return self.delta * float(self.multiplier)


def price_leg(leg: Leg, fair: FairInputs, *, ns: int) -> LegValue:
    """Return one leg's model value at ``ns`` past midnight of ``fair.day``."""
    instrument = leg.instrument
    if isinstance(instrument, StockSpec):
        return LegValue(leg, quantize_px(fair.spot), 1.0, 0.0, 0.0, 0.0)
    t_years = year_fraction(instrument.expiry, fair.day, ns)
    if t_years < 0:
        raise ValueError(f"invalid `expiry`, was {instrument.expiry}: {instrument.symbol} expired before {fair.day}")
    value = black_scholes(
        instrument.put_call,
        spot=fair.spot,
        strike=instrument.strike,
        t_years=t_years,
        vol=fair.surface.vol(instrument.strike, fair.spot, t_years),
        rate=fair.rate,
        dividend=fair.dividend,
    )
    return LegValue(leg, value.px, value.delta, value.gamma, value.vega, value.theta)


def price_package(package: Package, fair: FairInputs, *, ns: int) -> PackageValue:
    """Return the package's net model price and greeks per package unit, with each leg's value."""
    legs = tuple(price_leg(leg, fair, ns=ns) for leg in package.legs)
    multiplier = package.multiplier
    weights = [leg.sign * leg.ratio * float(leg.instrument.multiplier / multiplier) for leg in package.legs]
    return PackageValue(
        px=quantize_px(net_px(package, [value.px for value in legs])),
        delta=math.fsum(w * value.delta for w, value in zip(weights, legs, strict=True)),
        gamma=math.fsum(w * value.gamma for w, value in zip(weights, legs, strict=True)),
        vega=math.fsum(w * value.vega for w, value in zip(weights, legs, strict=True)),
        theta=math.fsum(w * value.theta for w, value in zip(weights, legs, strict=True)),
        gross_vega=math.fsum(abs(w * value.vega) for w, value in zip(weights, legs, strict=True)),
        multiplier=multiplier,
        legs=legs,
    )


def net_px(package: Package, leg_px: Sequence[Decimal]) -> Decimal:
    """Return the package price of these leg prices: ``sum(sign * ratio * multiplier * px) / multiplier``."""
    _check_leg_count(package, leg_px, "leg_px")
    return _money(package, leg_px) / package.multiplier


def _money(package: Package, leg_px: Sequence[Decimal]) -> Decimal:
    """Return what one package unit costs at these leg prices (negative: a credit), exactly."""
    return sum((_leg_money(leg, px) for leg, px in zip(package.legs, leg_px, strict=True)), ZERO)


def with_delta_hedge(package: Package, fair: FairInputs, *, ns: int, stock: StockSpec | None = None) -> Package:
    """Return ``package`` with a stock leg that makes it delta-neutral per package unit, to the nearest lot.

    The shares are ``-delta_shares`` rounded to ``stock.lot`` (default: the
    underlying, tick 0.01, lot 1); the lot must be whole shares. A package
    already delta-neutral within half a lot is returned unchanged. The stock
    leg counts against ``max_legs``; a package that already has one is an error.
    """
    stock = stock or StockSpec(package.underlying)
    if stock.symbol != package.underlying:
        raise ValueError(f"invalid `stock`, was {stock.symbol!r}: the package's underlying is {package.underlying!r}")
    if stock.lot != stock.lot.to_integral_value():
        raise ValueError(f"invalid `lot`, was {stock.lot}: a hedge leg needs whole shares")
    if any(not leg.is_option for leg in package.legs):
        raise ValueError("invalid `package`: it already has a stock leg")
    delta_shares = price_package(package, fair, ns=ns).delta_shares
    shares = round_to(Decimal(repr(-delta_shares)), stock.lot)
    if shares == 0:
        return package
    hedge = Leg(stock, Side.BUY if shares > 0 else Side.SELL, int(abs(shares)))
    return Package((*package.legs, hedge), package.structure, package.max_legs)


# --- splitting a package price into leg prices -------------------------------


def package_tick(package: Package) -> Decimal:
    """Return the step of the package's price grid (see ``package_grid``).

    One tick on a leg moves the package price by ``ratio * tick * leg
    multiplier / package multiplier``; the package tick is the greatest common
    divisor of those steps over the option legs (over all legs when there are
    no options): 0.05 for a 1x2x1 butterfly of nickel-tick options, 0.01 for
    penny ones.
    """
    steps = [_money_step(package.legs[i]) for i in _movable(package)]
    exponent = min(_exponent(step) for step in steps)
    divisor = 0
    for step in steps:
        divisor = math.gcd(divisor, int(step.scaleb(-exponent)))
    return _per_unit(package, Decimal(divisor).scaleb(exponent))


def package_grid(package: Package, fair_leg_px: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """Return ``(origin, tick)``: the package prices ``origin + n * tick`` are the ones that split exactly.

    A stock leg of an option package prints at its tie price, its fair price
    rounded to its tick (as in a tied-to-stock trade): ``origin`` is what the
    stock legs add to the package price at their ties, 0 without stock legs.
    The option legs move on ``package_tick``. Quote a package on this grid and
    split its fills with the same ``fair_leg_px``.
    """
    _check_leg_count(package, fair_leg_px, "fair_leg_px")
    ties = _start_prices(package, fair_leg_px)
    fixed = set(range(len(package.legs))) - set(_movable(package))
    origin_money = sum((_leg_money(package.legs[i], ties[i]) for i in sorted(fixed)), ZERO)
    return _per_unit(package, origin_money), package_tick(package)


def split_package_px(package: Package, package_px: Decimal, fair_leg_px: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """Return leg prices, each on its leg's tick and at least one tick, that make exactly ``package_px``.

    Exactly: ``net_px(package, result) == package_px``; with options of one
    multiplier and no stock leg that is ``sum(sign * ratio * px) ==
    package_px``. The rule, from the fair leg prices (``PackageValue.legs``):

    1. Round each fair price to its leg's tick (at least one tick).
    2. A stock leg of an option package stays there: it is the tie price, as in
       a tied-to-stock trade. The option legs (every leg of a stock-only
       package) take the difference.
    3. Spread the difference one tick at a time, visiting the legs in order
       round and round, each moving the way that closes it (a bought leg up to
       raise the package price, a sold leg down); a leg is skipped when its
       step would overshoot or its price would fall below one tick.
    4. Close what is left (smaller than every step still usable: legs of
       different ticks or ratios) with the fewest further tick moves, earlier
       legs first on a tie.

    Raise ValueError if ``package_px`` is off ``package_grid`` (off the package
    tick when there is no stock leg), or if no split keeps every leg at one
    tick or more.
    """
    _check_leg_count(package, fair_leg_px, "fair_leg_px")
    package_px = to_decimal(package_px)
    origin, tick = package_grid(package, fair_leg_px)
    if (package_px - origin) % tick != 0:
        where = f"the package tick {tick}" if origin == 0 else f"the package grid {origin} + n x {tick} (stock legs at their tie)"
        raise ValueError(f"invalid `package_px`, was {package_px}: not on {where}")
    legs = package.legs
    prices = _start_prices(package, fair_leg_px)
    target = package_px * package.multiplier
    movable = _movable(package)
    steps = {i: _money_step(legs[i]) for i in movable}

    def residual() -> Decimal:
        return target - _money(package, prices)

    # Step 3: one tick per leg per round; each move takes a whole step off the residual.
    left = residual()
    moved = True
    while left and moved:
        moved = False
        for i in movable:
            if not left or steps[i] > abs(left):
                continue
            direction = legs[i].sign if left > 0 else -legs[i].sign  # the price move that closes the residual
            new_px = prices[i] + direction * legs[i].instrument.tick
            if new_px < legs[i].instrument.tick:
                continue
            prices[i] = new_px
            left -= legs[i].sign * direction * steps[i]
            moved = True
    # Step 4: what is left needs a combination of steps (different ticks or ratios).
    if left:
        for i, count in _fewest_moves(left, [(i, legs[i].sign * steps[i]) for i in movable]).items():
            prices[i] += count * legs[i].instrument.tick
    if any(px < leg.instrument.tick for leg, px in zip(legs, prices, strict=True)):
        raise ValueError(f"invalid `package_px`, was {package_px}: no split keeps every leg at one tick or more")
    assert residual() == 0, "the leg prices must make the package price exactly"
    return tuple(prices)


def _start_prices(package: Package, fair_leg_px: Sequence[Decimal]) -> list[Decimal]:
    """Return each fair leg price rounded to its tick, at least one tick."""
    return [
        max(round_to(to_decimal(px), leg.instrument.tick), leg.instrument.tick)
        for leg, px in zip(package.legs, fair_leg_px, strict=True)
    ]


def _leg_money(leg: Leg, px: Decimal) -> Decimal:
    return leg.sign * leg.ratio * leg.instrument.multiplier * px


def _per_unit(package: Package, money: Decimal) -> Decimal:
    """Return ``money`` per package unit as a package price; it must be an exact decimal."""
    px = money / package.multiplier
    if px * package.multiplier != money:
        raise ValueError(f"invalid `multiplier`, was {package.multiplier}: {money} / it is not a finite decimal")
    return px


def _fewest_moves(left: Decimal, signed_steps: list[tuple[int, Decimal]]) -> dict[int, int]:
    """Return ticks per leg (signed) whose signed steps sum to ``left``, with the fewest moves in all.

    Breadth-first over the running sum, which never needs to leave
    ``[-(|left| + max step), |left| + max step]``: any solution can be reordered
    to stay there (step up while below the target, down while above).
    """
    exponent = min(_exponent(left), *(_exponent(step) for _, step in signed_steps))
    goal = int(left.scaleb(-exponent))
    moves = [(i, int(step.scaleb(-exponent))) for i, step in signed_steps]
    bound = abs(goal) + max(abs(step) for _, step in moves)
    if bound > _SPLIT_SEARCH_LIMIT:
        raise ValueError(f"invalid `package_px`: the split's residual {left} is too far from the fair leg prices")
    came_from: dict[int, tuple[int, int, int]] = {0: (0, -1, 0)}
    frontier = deque([0])
    while frontier and goal not in came_from:
        at = frontier.popleft()
        for i, step in moves:
            for direction in (1, -1):
                nxt = at + direction * step
                if abs(nxt) <= bound and nxt not in came_from:
                    came_from[nxt] = (at, i, direction)
                    frontier.append(nxt)
    if goal not in came_from:
        raise ValueError(f"invalid `package_px`: the residual {left} cannot be made of the legs' ticks")
    ticks: dict[int, int] = {}
    at = goal
    while at != 0:
        at, i, direction = came_from[at]
        ticks[i] = ticks.get(i, 0) + direction
    return ticks


def _movable(package: Package) -> list[int]:
    legs = package.legs
    return [i for i, leg in enumerate(legs) if leg.is_option] if package.has_options else list(range(len(legs)))


def _money_step(leg: Leg) -> Decimal:
    """Return how much one tick on ``leg`` moves a package unit's money (price x multiplier)."""
    return leg.ratio * leg.instrument.tick * leg.instrument.multiplier


def _exponent(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int), "finite decimals have an integer exponent"
    return exponent


def _check_leg_count(package: Package, values: Sequence[Decimal], name: str) -> None:
    if len(values) != len(package.legs):
        raise ValueError(f"invalid `{name}`, had {len(values)} prices: expected one per leg ({len(package.legs)})")


# --- validation -------------------------------------------------------------


def _positive_decimal(name: str, value: Decimal) -> Decimal:
    try:
        number = to_decimal(value)
    except ValueError as exc:
        raise ValueError(f"invalid `{name}`, was {value!r}: {exc}") from None
    if number <= 0:
        raise ValueError(f"invalid `{name}`, was {value}: must be positive")
    return number


def _check_vol(vol: float, name: str = "vol") -> None:
    if isinstance(vol, bool) or not isinstance(vol, int | float) or not math.isfinite(vol) or vol <= 0:
        raise ValueError(f"invalid `{name}`, was {vol!r}: must be a positive fraction a year (0.2 for 20 %)")


def _check_symbol(name: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"invalid `{name}`, was {value!r}: must be a non-empty symbol")
