"""Option and package pricing: Black-Scholes, the vol surface, package builders, delta hedges, price splits."""

import math
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.enums import PutCall, Side
from venues.sim.options import (
    FairInputs,
    Leg,
    OptionSpec,
    Package,
    StockSpec,
    Structure,
    VolSurface,
    black_scholes,
    bs_price,
    butterfly,
    calendar,
    net_px,
    package_grid,
    package_tick,
    price_leg,
    price_package,
    risk_reversal,
    single_option,
    split_package_px,
    straddle,
    strangle,
    vertical,
    with_delta_hedge,
    year_fraction,
)

D = Decimal
CALL = PutCall.CALL
PUT = PutCall.PUT
BUY = Side.BUY
SELL = Side.SELL
NS = 1_000_000_000
DAY = date(2026, 1, 5)
EXPIRY = date(2026, 6, 19)
FAR_EXPIRY = date(2026, 12, 18)
TEN_AM = 10 * 3600 * NS
SURFACE = VolSurface(atm_term=((0.25, 0.30), (1.0, 0.25)), skew=-0.1, curvature=0.2)
FAIR = FairInputs(spot=D(100), surface=SURFACE, day=DAY)


def four(x: Decimal) -> Decimal:
    return x.quantize(D("0.0001"))


def option(strike: str, put_call: PutCall = CALL, expiry: date = EXPIRY, tick: str = "0.01") -> OptionSpec:
    return OptionSpec("ACME", D(strike), expiry, put_call, tick=D(tick))


# --- Black-Scholes ------------------------------------------------------


def test_black_scholes_matches_the_textbook_call_and_put() -> None:
    # given S=100, K=100, r=5%, q=0, sigma=20%, T=1 (Hull)
    inputs = {"spot": D(100), "strike": D(100), "t_years": 1.0, "vol": 0.2, "rate": 0.05}
    # when
    call = black_scholes(CALL, **inputs)  # type: ignore[arg-type]
    put = black_scholes(PUT, **inputs)  # type: ignore[arg-type]
    # then
    assert four(call.px) == D("10.4506")
    assert four(put.px) == D("5.5735")
    assert call.px == D("10.45058357")  # quantized to the price grid's 8 places
    assert round(call.delta, 4) == 0.6368
    assert round(put.delta, 4) == -0.3632
    assert round(call.gamma, 5) == 0.01876
    assert round(call.vega, 4) == 0.3752  # per vol point: 37.52 per unit of vol
    assert round(call.theta * 365, 3) == -6.414  # per day, here back to a year
    assert round(put.theta * 365, 3) == -1.658


def test_black_scholes_matches_hulls_greeks_example() -> None:
    # given Hull's greeks example: S=49, K=50, r=5%, sigma=20%, 20 weeks
    # when
    call = black_scholes(CALL, spot=D(49), strike=D(50), t_years=0.3846, vol=0.2, rate=0.05)
    # then
    assert call.px.quantize(D("0.01")) == D("2.40")
    assert round(call.delta, 3) == 0.522
    assert round(call.gamma, 3) == 0.066
    assert round(call.vega * 100, 1) == 12.1
    assert round(call.theta * 365, 2) == -4.31


def test_bs_price_is_black_scholes_px() -> None:
    # given / when
    px = bs_price(PUT, spot=D(100), strike=D(110), t_years=0.5, vol=0.3, rate=0.01, dividend=0.02)
    # then
    assert px == black_scholes(PUT, spot=D(100), strike=D(110), t_years=0.5, vol=0.3, rate=0.01, dividend=0.02).px


@settings(max_examples=300, deadline=None)
@given(
    spot=st.integers(min_value=1, max_value=5_000),
    strike=st.integers(min_value=1, max_value=5_000),
    t_years=st.floats(min_value=0.001, max_value=5.0),
    vol=st.floats(min_value=0.01, max_value=2.0),
    rate=st.floats(min_value=-0.02, max_value=0.15),
    dividend=st.floats(min_value=0.0, max_value=0.1),
)
def test_put_call_parity(spot: int, strike: int, t_years: float, vol: float, rate: float, dividend: float) -> None:
    # given any option
    inputs = {"spot": D(spot), "strike": D(strike), "t_years": t_years, "vol": vol, "rate": rate, "dividend": dividend}
    # when
    call = black_scholes(CALL, **inputs)  # type: ignore[arg-type]
    put = black_scholes(PUT, **inputs)  # type: ignore[arg-type]
    # then C - P = S e^(-qT) - K e^(-rT), up to the 8-place price grid and float rounding
    forward_pv = spot * math.exp(-dividend * t_years) - strike * math.exp(-rate * t_years)
    assert abs(float(call.px - put.px) - forward_pv) <= 1e-7 + 1e-12 * max(spot, strike)
    assert call.delta - put.delta == pytest.approx(math.exp(-dividend * t_years), abs=1e-12)
    assert call.gamma == pytest.approx(put.gamma)
    assert call.vega == pytest.approx(put.vega)
    assert call.px >= 0
    assert put.px >= 0


@pytest.mark.parametrize(
    ("put_call", "spot", "intrinsic", "delta"),
    [(CALL, "105", "5", 1.0), (CALL, "95", "0", 0.0), (PUT, "95", "5", -1.0), (PUT, "105", "0", 0.0), (CALL, "100", "0", 0.5)],
)
def test_at_expiry_an_option_is_worth_its_intrinsic_value(put_call: PutCall, spot: str, intrinsic: str, delta: float) -> None:
    # given / when
    value = black_scholes(put_call, spot=D(spot), strike=D(100), t_years=0.0, vol=0.2)
    # then
    assert value.px == D(intrinsic)
    assert value.delta == delta
    assert (value.gamma, value.vega, value.theta) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("spot", D(0), "invalid `spot`, was 0: must be positive"),
        ("strike", D(0), "invalid `strike`, was 0: must be positive"),
        ("strike", D(-5), "invalid `strike`, was -5: must be positive"),
        ("vol", 0.0, "invalid `vol`, was 0.0: must be a positive fraction"),
        ("vol", math.nan, "invalid `vol`, was nan"),
        ("t_years", -0.01, "invalid `t_years`, was -0.01: the option has expired"),
        ("spot", 100.0, "invalid `spot`, was 100.0: expected a decimal string"),
    ],
)
def test_black_scholes_rejects_bad_inputs_naming_the_field(field: str, value: object, message: str) -> None:
    # given
    inputs: dict[str, object] = {"spot": D(100), "strike": D(100), "t_years": 1.0, "vol": 0.2, field: value}
    # when / then
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        black_scholes(CALL, **inputs)  # type: ignore[arg-type]


def test_year_fraction_is_act_365_to_the_expiry_close() -> None:
    # given an option expiring at 16:00 on EXPIRY
    # when / then
    assert year_fraction(EXPIRY, EXPIRY, 16 * 3600 * NS) == 0.0
    assert year_fraction(EXPIRY, date(2026, 6, 18), 16 * 3600 * NS) == 1 / 365
    assert year_fraction(EXPIRY, EXPIRY, 4 * 3600 * NS) == 0.5 / 365
    assert year_fraction(EXPIRY, EXPIRY, 17 * 3600 * NS) < 0
    assert year_fraction(date(2027, 1, 5), DAY, 16 * 3600 * NS) == 1.0
    with pytest.raises(ValueError, match=r"^invalid `ns`, was -1"):
        year_fraction(EXPIRY, DAY, -1)


def test_an_option_is_worth_intrinsic_at_the_close_of_expiry_and_cannot_be_valued_after() -> None:
    # given an in-the-money call on its expiry day
    leg = Leg(option("95"), BUY)
    fair = FairInputs(spot=D(100), surface=SURFACE, day=EXPIRY)
    # when
    at_close = price_leg(leg, fair, ns=16 * 3600 * NS)
    # then
    assert at_close.px == D(5)
    with pytest.raises(ValueError, match=r"^invalid `expiry`, was 2026-06-19: ACME 260619C00095000 expired"):
        price_leg(leg, fair, ns=16 * 3600 * NS + 1)


# --- the volatility surface --------------------------------------------


def test_atm_vol_interpolates_total_variance_and_extrapolates_flat() -> None:
    # given 30 % at three months and 20 % at a year
    surface = VolSurface(atm_term=((0.25, 0.30), (1.0, 0.20)))
    # when / then: at six months, w = 0.0225 + (0.04 - 0.0225) / 3
    assert surface.atm_vol(0.5) == pytest.approx(math.sqrt((0.0225 + 0.0175 / 3) / 0.5))
    assert round(surface.atm_vol(0.5), 6) == 0.238048
    assert surface.atm_vol(0.25) == 0.30
    assert surface.atm_vol(1.0) == 0.20
    assert surface.atm_vol(0.01) == 0.30
    assert surface.atm_vol(3.0) == 0.20


def test_smile_is_quadratic_in_log_moneyness_with_a_floor() -> None:
    # given a skewed, curved surface
    surface = VolSurface(atm_term=((1.0, 0.25),), skew=-0.2, curvature=0.5, min_vol=0.05)
    k = math.log(110 / 100)
    # when / then
    assert surface.vol(D(100), D(100), 1.0) == 0.25
    assert surface.vol(D(110), D(100), 1.0) == pytest.approx(0.25 - 0.2 * k + 0.5 * k * k)
    assert surface.vol(D(90), D(100), 1.0) > surface.vol(D(110), D(100), 1.0)  # puts richer than calls
    steep = replace(surface, skew=-5.0, curvature=0.0)
    assert steep.vol(D(200), D(100), 1.0) == 0.05


def test_flat_and_shifted_surfaces() -> None:
    # given / when
    surface = VolSurface.flat(0.2).shifted(5.0)
    # then
    assert surface.vol(D(80), D(100), 0.1) == pytest.approx(0.25)
    assert surface.vol(D(120), D(100), 4.0) == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("term", "message"),
    [
        ((), "invalid `atm_term`, was (): needs at least one"),
        (((1.0, 0.2), (0.5, 0.2)), "invalid `atm_term`, was ((1.0, 0.2), (0.5, 0.2)): times must be positive and increasing"),
        (((0.0, 0.2),), "invalid `atm_term`, was ((0.0, 0.2),): times must be positive"),
        (((1.0, -0.2),), "invalid `atm_term`, was -0.2: must be a positive fraction"),
        (((0.25, 0.5), (1.0, 0.2)), "invalid `atm_term`, was ((0.25, 0.5), (1.0, 0.2)): total variance falls at t=1.0"),
    ],
)
def test_surface_rejects_a_bad_term_structure(term: tuple[tuple[float, float], ...], message: str) -> None:
    # when / then
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        VolSurface(atm_term=term)


# --- packages -----------------------------------------------------------


def legs_of(package: Package) -> list[tuple[str, Decimal, date, Side, int]]:
    """Return each leg as (put/call or STOCK, strike, expiry, side, ratio)."""
    rows = []
    for leg in package.legs:
        spec = leg.instrument
        assert isinstance(spec, OptionSpec)
        rows.append((spec.put_call.value, spec.strike, spec.expiry, leg.side, leg.ratio))
    return rows


@pytest.mark.parametrize(
    ("package", "structure", "expected"),
    [
        (
            vertical("ACME", expiry=EXPIRY, put_call=CALL, low_strike=D(95), high_strike=D(105)),
            Structure.VERTICAL,
            [("CALL", D(95), EXPIRY, BUY, 1), ("CALL", D(105), EXPIRY, SELL, 1)],
        ),
        (
            vertical("ACME", expiry=EXPIRY, put_call=PUT, low_strike=D(95), high_strike=D(105)),
            Structure.VERTICAL,
            [("PUT", D(105), EXPIRY, BUY, 1), ("PUT", D(95), EXPIRY, SELL, 1)],
        ),
        (
            calendar("ACME", put_call=CALL, strike=D(100), near_expiry=EXPIRY, far_expiry=FAR_EXPIRY),
            Structure.CALENDAR,
            [("CALL", D(100), EXPIRY, SELL, 1), ("CALL", D(100), FAR_EXPIRY, BUY, 1)],
        ),
        (
            straddle("ACME", expiry=EXPIRY, strike=D(100)),
            Structure.STRADDLE,
            [("CALL", D(100), EXPIRY, BUY, 1), ("PUT", D(100), EXPIRY, BUY, 1)],
        ),
        (
            strangle("ACME", expiry=EXPIRY, put_strike=D(90), call_strike=D(110)),
            Structure.STRANGLE,
            [("PUT", D(90), EXPIRY, BUY, 1), ("CALL", D(110), EXPIRY, BUY, 1)],
        ),
        (
            risk_reversal("ACME", expiry=EXPIRY, put_strike=D(90), call_strike=D(110)),
            Structure.RISK_REVERSAL,
            [("PUT", D(90), EXPIRY, SELL, 1), ("CALL", D(110), EXPIRY, BUY, 1)],
        ),
        (
            butterfly("ACME", expiry=EXPIRY, put_call=CALL, low_strike=D(90), mid_strike=D(100), high_strike=D(110)),
            Structure.BUTTERFLY,
            [("CALL", D(90), EXPIRY, BUY, 1), ("CALL", D(100), EXPIRY, SELL, 2), ("CALL", D(110), EXPIRY, BUY, 1)],
        ),
        (
            single_option(option("100", PUT), SELL),
            Structure.SINGLE,
            [("PUT", D(100), EXPIRY, SELL, 1)],
        ),
    ],
)
def test_each_builder_makes_its_legs_and_the_net_price_sums_them(
    package: Package, structure: Structure, expected: list[tuple[str, Decimal, date, Side, int]]
) -> None:
    # when
    value = price_package(package, FAIR, ns=TEN_AM)
    sold = package.flipped()
    sold_value = price_package(sold, FAIR, ns=TEN_AM)
    # then
    assert package.structure is structure
    assert legs_of(package) == expected
    assert legs_of(sold) == [(pc, k, e, side.opposite, r) for pc, k, e, side, r in expected]
    assert value.px == sum(
        (leg.sign * leg.ratio * leg_value.px for leg, leg_value in zip(package.legs, value.legs, strict=True)), D(0)
    )
    assert value.px == net_px(package, [leg_value.px for leg_value in value.legs])
    assert sold_value.px == -value.px
    assert value.delta == pytest.approx(
        math.fsum(leg.sign * leg.ratio * lv.delta for leg, lv in zip(package.legs, value.legs, strict=True))
    )
    assert value.vega == pytest.approx(
        math.fsum(leg.sign * leg.ratio * lv.vega for leg, lv in zip(package.legs, value.legs, strict=True))
    )
    assert value.gross_vega == pytest.approx(
        math.fsum(leg.ratio * abs(lv.vega) for leg, lv in zip(package.legs, value.legs, strict=True))
    )


def test_builder_prices_respect_no_arbitrage_bounds() -> None:
    # given
    call_spread = vertical("ACME", expiry=EXPIRY, put_call=CALL, low_strike=D(95), high_strike=D(105))
    fly = butterfly("ACME", expiry=EXPIRY, put_call=PUT, low_strike=D(90), mid_strike=D(100), high_strike=D(110))
    straddle_ = straddle("ACME", expiry=EXPIRY, strike=D(100))
    # when
    spread_px = price_package(call_spread, FAIR, ns=TEN_AM).px
    fly_px = price_package(fly, FAIR, ns=TEN_AM).px
    straddle_value = price_package(straddle_, FAIR, ns=TEN_AM)
    # then
    assert 0 < spread_px < 10
    assert 0 < fly_px < 10
    assert straddle_value.px == straddle_value.legs[0].px + straddle_value.legs[1].px
    assert abs(straddle_value.delta) < 0.15


def test_a_calendar_is_a_debit_when_bought() -> None:
    # given a flat surface (no term-structure effects)
    fair = FairInputs(spot=D(100), surface=VolSurface.flat(0.25), day=DAY)
    # when
    value = price_package(
        calendar("ACME", put_call=CALL, strike=D(100), near_expiry=EXPIRY, far_expiry=FAR_EXPIRY), fair, ns=TEN_AM
    )
    # then
    assert value.px > 0
    assert value.vega > 0


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: vertical("ACME", expiry=EXPIRY, put_call=CALL, low_strike=D(105), high_strike=D(95)),
            "invalid `high_strike`, was 95",
        ),
        (lambda: strangle("ACME", expiry=EXPIRY, put_strike=D(110), call_strike=D(90)), "invalid `call_strike`, was 90"),
        (
            lambda: butterfly("ACME", expiry=EXPIRY, put_call=CALL, low_strike=D(90), mid_strike=D(110), high_strike=D(100)),
            "invalid `high_strike`, was 100: must be above `mid_strike` (110)",
        ),
        (
            lambda: calendar("ACME", put_call=CALL, strike=D(100), near_expiry=FAR_EXPIRY, far_expiry=EXPIRY),
            "invalid `far_expiry`, was 2026-06-19",
        ),
        (lambda: straddle("ACME", expiry=EXPIRY, strike=D(0)), "invalid `strike`, was 0"),
        (lambda: Leg(option("100"), BUY, 0), "invalid `ratio`, was 0"),
        (
            lambda: Package((Leg(option("100"), BUY), Leg(OptionSpec("GLOBX", D(40), EXPIRY, CALL), SELL))),
            "invalid `legs`, were on ['ACME', 'GLOBX']: a package has one underlying",
        ),
    ],
)
def test_bad_packages_are_rejected_naming_the_field(build: object, message: str) -> None:
    # when / then
    assert callable(build)
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        build()


def strip(count: int) -> tuple[Leg, ...]:
    """Return ``count`` call legs at strikes 80, 81, ..."""
    return tuple(Leg(option(str(80 + i)), BUY if i % 2 == 0 else SELL) for i in range(count))


def test_a_package_has_at_most_four_legs_by_default() -> None:
    # given / when
    package = Package(strip(4))
    # then
    assert len(package.legs) == 4
    with pytest.raises(ValueError, match=r"^invalid `legs`, was 5 legs: at most 4 \(`max_legs`\)"):
        Package(strip(5))


def test_a_package_takes_up_to_max_legs_when_configured() -> None:
    # given / when
    package = Package(strip(25), max_legs=25)
    value = price_package(package, FAIR, ns=TEN_AM)
    # then
    assert len(value.legs) == 25
    with pytest.raises(ValueError, match=r"^invalid `legs`, was 26 legs: at most 25 \(`max_legs`\)"):
        Package(strip(26), max_legs=25)
    with pytest.raises(ValueError, match=r"^invalid `max_legs`, was 0"):
        Package(strip(1), max_legs=0)


# --- delta hedge --------------------------------------------------------


def test_delta_hedge_sells_the_calls_delta_in_shares() -> None:
    # given one call contract with delta 0.6368 (the textbook option)
    fair = FairInputs(spot=D(100), surface=VolSurface.flat(0.2), day=date(2026, 1, 5), rate=0.05)
    call = single_option(OptionSpec("ACME", D(100), date(2027, 1, 5), CALL))
    # when
    hedged = with_delta_hedge(call, fair, ns=16 * 3600 * NS)
    # then
    assert hedged.legs[:1] == call.legs
    assert hedged.legs[1] == Leg(StockSpec("ACME"), SELL, 64)
    value = price_package(hedged, fair, ns=16 * 3600 * NS)
    assert value.delta_shares == pytest.approx(63.683065 - 64, abs=1e-6)
    assert value.px == value.legs[0].px - D(64) * D(100) / D(100)


@settings(max_examples=200, deadline=None)
@given(
    spot=st.integers(min_value=50, max_value=200),
    lot=st.sampled_from([D(1), D(10), D(100)]),
    side=st.sampled_from([BUY, SELL]),
    kind=st.sampled_from(["straddle", "risk_reversal", "vertical", "butterfly"]),
)
def test_delta_hedge_makes_the_package_delta_neutral_within_half_a_lot(spot: int, lot: Decimal, side: Side, kind: str) -> None:
    # given a package on a skewed surface, and the stock on its lot
    builders = {
        "straddle": lambda: straddle("ACME", expiry=EXPIRY, strike=D(100), side=side),
        "risk_reversal": lambda: risk_reversal("ACME", expiry=EXPIRY, put_strike=D(90), call_strike=D(110), side=side),
        "vertical": lambda: vertical("ACME", expiry=EXPIRY, put_call=PUT, low_strike=D(95), high_strike=D(105), side=side),
        "butterfly": lambda: butterfly(
            "ACME", expiry=EXPIRY, put_call=CALL, low_strike=D(90), mid_strike=D(100), high_strike=D(110), side=side
        ),
    }
    fair = FairInputs(spot=D(spot), surface=SURFACE, day=DAY)
    # when
    hedged = with_delta_hedge(builders[kind](), fair, ns=TEN_AM, stock=StockSpec("ACME", lot=lot))
    # then
    assert abs(price_package(hedged, fair, ns=TEN_AM).delta_shares) <= float(lot) / 2 + 1e-9
    for leg in hedged.legs[:-1]:
        assert leg.is_option


def test_delta_hedge_counts_against_max_legs_and_is_added_once() -> None:
    # given a four-leg package and an already hedged one
    condor = Package(strip(4))
    hedged = with_delta_hedge(single_option(option("100")), FAIR, ns=TEN_AM)
    # when / then
    with pytest.raises(ValueError, match=r"^invalid `legs`, was 5 legs: at most 4"):
        with_delta_hedge(condor, FAIR, ns=TEN_AM)
    assert len(with_delta_hedge(replace(condor, max_legs=5), FAIR, ns=TEN_AM).legs) == 5
    with pytest.raises(ValueError, match=r"^invalid `package`: it already has a stock leg"):
        with_delta_hedge(hedged, FAIR, ns=TEN_AM)


# --- splitting a package price into leg prices ---------------------------


def test_package_tick_is_the_finest_step_the_option_legs_can_make() -> None:
    # given
    fly_nickels = butterfly(
        "ACME", expiry=EXPIRY, put_call=CALL, low_strike=D(90), mid_strike=D(100), high_strike=D(110), tick=D("0.05")
    )
    mixed = Package((Leg(option("95", tick="0.05"), BUY), Leg(option("105"), SELL, 3)))
    hedged = Package((*fly_nickels.legs, Leg(StockSpec("ACME"), SELL, 53)))
    # when / then
    assert package_tick(fly_nickels) == D("0.05")
    assert package_tick(mixed) == D("0.01")
    assert package_tick(hedged) == D("0.05")  # the stock leg prints at its tie price
    assert package_tick(Package((Leg(StockSpec("ACME"), BUY, 3),))) == D("0.03")


def test_split_spreads_the_difference_a_tick_at_a_time_from_fair() -> None:
    # given a call spread with fair legs 10.0086 and 5.1007 (net 4.91 on the tick)
    spread = vertical("ACME", expiry=EXPIRY, put_call=CALL, low_strike=D(95), high_strike=D(105))
    fair = [D("10.00856977"), D("5.10070899")]
    # when it trades 0.37 above
    legs = split_package_px(spread, D("5.28"), fair)
    # then each leg gave up about half: 19 ticks up on the bought leg, 18 down on the sold one
    assert legs == (D("10.20"), D("4.92"))
    assert legs[0] - legs[1] == D("5.28")
    assert split_package_px(spread, D("4.91"), fair) == (D("10.01"), D("5.10"))


def test_split_keeps_the_stock_leg_at_its_tie_price() -> None:
    # given a call hedged with 53 shares, the stock's fair price 101.237 (tie 101.24)
    hedged = Package((Leg(option("100"), BUY), Leg(StockSpec("ACME"), SELL, 53)))
    fair = [D("6.123"), D("101.237")]
    # when
    origin, tick = package_grid(hedged, fair)
    legs = split_package_px(hedged, origin + D("6.20"), fair)
    # then the package grid starts at the stock's part at its tie, and the option takes the rest
    assert (origin, tick) == (D("-53.6572"), D("0.01"))
    assert legs == (D("6.20"), D("101.24"))
    assert net_px(hedged, legs) == D("-47.4572")
    with pytest.raises(ValueError, match=r"^invalid `package_px`, was -47.45: not on the package grid -53.6572 \+ n x 0.01"):
        split_package_px(hedged, D("-47.45"), fair)


def test_split_combines_steps_when_no_single_leg_makes_the_difference() -> None:
    # given a nickel-tick leg and a penny leg bought three at a time: a one-cent package move needs both
    package = Package((Leg(option("95", tick="0.05"), BUY), Leg(option("105"), SELL, 3)))
    fair = [D("7.00"), D("2.00")]
    # when
    legs = split_package_px(package, D("0.99"), fair)
    # then 7.05 - 3 x 2.02 = 0.99: one tick up on the first leg, two up on the second
    assert legs == (D("7.05"), D("2.02"))
    assert net_px(package, legs) == D("0.99")


def test_split_rejects_a_price_off_the_package_tick_or_out_of_reach() -> None:
    # given
    fly = butterfly("ACME", expiry=EXPIRY, put_call=CALL, low_strike=D(90), mid_strike=D(100), high_strike=D(110), tick=D("0.05"))
    strangle_ = strangle("ACME", expiry=EXPIRY, put_strike=D(90), call_strike=D(110))
    # when / then
    with pytest.raises(ValueError, match=r"^invalid `package_px`, was 1.02: not on the package tick 0.05"):
        split_package_px(fly, D("1.02"), [D("12"), D("5"), D("1")])
    with pytest.raises(ValueError, match=r"^invalid `package_px`, was 0.01: no split keeps every leg at one tick or more"):
        split_package_px(strangle_, D("0.01"), [D("3"), D("2")])
    with pytest.raises(ValueError, match=r"^invalid `fair_leg_px`, had 2 prices: expected one per leg \(3\)"):
        split_package_px(fly, D("1.00"), [D("12"), D("5")])


leg_shapes = st.lists(
    st.tuples(
        st.integers(min_value=60, max_value=140),  # strike
        st.sampled_from([CALL, PUT]),
        st.sampled_from([BUY, SELL]),
        st.integers(min_value=1, max_value=3),  # ratio
        st.sampled_from(["0.01", "0.05"]),  # tick
        st.integers(min_value=500, max_value=5_000),  # fair value in cents
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=400, deadline=None)
@given(shapes=leg_shapes, ticks_away=st.integers(min_value=-40, max_value=40), hedge_shares=st.integers(min_value=0, max_value=99))
def test_split_leg_prices_sum_exactly_to_the_package_price(
    shapes: list[tuple[int, PutCall, Side, int, str, int]], ticks_away: int, hedge_shares: int
) -> None:
    # given any package, fair leg prices at least 5.00, and a price some package ticks from fair
    legs = [Leg(option(str(strike), put_call, tick=tick), side, ratio) for strike, put_call, side, ratio, tick, _ in shapes]
    fair = [D(cents) / 100 + D("0.003") for *_, cents in shapes]
    if hedge_shares:
        legs.append(Leg(StockSpec("ACME"), SELL, hedge_shares))
        fair.append(D("101.237"))
    package = Package(tuple(legs), max_legs=7)
    origin, tick = package_grid(package, fair)
    package_px = origin + ((net_px(package, fair) - origin) / tick).to_integral_value() * tick + ticks_away * tick
    # when
    prices = split_package_px(package, package_px, fair)
    # then the legs make the package price exactly, each on its tick and at least one tick
    assert net_px(package, prices) == package_px
    for leg, px in zip(package.legs, prices, strict=True):
        assert px % leg.instrument.tick == 0
        assert px >= leg.instrument.tick
    if hedge_shares:
        assert prices[-1] == D("101.24")
    if not hedge_shares and all(leg.ratio == 1 for leg in legs) and len({leg.instrument.tick for leg in legs}) == 1:
        assert sum((leg.sign * px for leg, px in zip(package.legs, prices, strict=True)), D(0)) == package_px
