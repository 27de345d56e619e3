"""The venues app's reads: stored analytics, and the simulator's inputs as the admin set them."""

import logging
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from trading.enums import AssetClass, PutCall, VenueKind
from trading.numbers import plain, to_decimal
from venues.dealer_desk import DealerVenue, DeskRefdata, Terms
from venues.models import InstrumentAnalytics, MarketSimulator, SimulatedInstrument, Venue
from venues.sim.lit import Listing, VenueSpec
from venues.sim.market import MarketConfig
from venues.sim.options import OptionSpec, StockSpec
from venues.sim.params import Regime, SessionState
from venues.sim.ticks import TickTable

log = logging.getLogger(__name__)

SIMULATED_KINDS = (VenueKind.LIT, VenueKind.DARK)
OPTION_ADV_SHARE = Decimal("0.01")  # an option trades a sliver of a stock's volume


def analytics_get(symbol: str) -> InstrumentAnalytics | None:
    """Return the symbol's stored analytics, or None if none were computed yet."""
    return InstrumentAnalytics.objects.filter(symbol=symbol).first()


def _refdata() -> list[dict[str, Any]]:
    return list(import_string(settings.GATEWAY_REFDATA)())


def listings_read() -> list[Listing]:
    """Return every active instrument as the venues see it (through ``GATEWAY_REFDATA``: venues import no OMS code)."""
    return [
        Listing(symbol=row["symbol"], tick_size=row["tick_size"], lot_size=row["lot_size"], ref_px=row["ref_px"])
        for row in _refdata()
    ]


def simulator_get() -> MarketSimulator:
    """Return the simulator's settings row, or the defaults when none was saved."""
    return MarketSimulator.objects.filter(pk=1).first() or MarketSimulator()


def market_config_read(*, seed: int | None = None) -> MarketConfig:
    """Return the simulator's configuration: admin's settings, per-instrument overrides, thin options."""
    sim = simulator_get()
    overrides: dict[str, dict[str, Any]] = {}
    for row in _refdata():
        if row.get("asset_class") == AssetClass.OPTION:
            overrides[row["symbol"]] = {"adv": sim.adv_shares * OPTION_ADV_SHARE}
    for own in SimulatedInstrument.objects.all():
        entry = overrides.setdefault(own.symbol, {})
        entry.update({k: v for k, v in (("regime", own.regime), ("volatility", own.volatility), ("adv", own.adv_shares)) if v})
    return MarketConfig(
        seed=sim.seed if seed is None else seed,
        regime=Regime(sim.regime),
        volatility=float(sim.volatility),
        trend_bps_per_hour=float(sim.trend_bps_per_hour),
        impact_coefficient=float(sim.impact_coefficient),
        permanent_share=float(sim.permanent_impact_share),
        adv=float(sim.adv_shares),
        overrides=overrides,
    )


def regimes_read() -> dict[str, Regime]:
    """Return each listed symbol's regime: its own override, else the simulator's."""
    sim = simulator_get()
    regimes = {row["symbol"]: Regime(sim.regime) for row in _refdata()}
    regimes.update({own.symbol: Regime(own.regime) for own in SimulatedInstrument.objects.exclude(regime="")})
    return regimes


def venue_specs_read() -> list[tuple[VenueKind, VenueSpec]]:
    """Return the active simulated venues (lit and dark) as the simulator takes them."""
    return [
        (
            VenueKind(v.kind),
            VenueSpec(
                code=v.code,
                maker_fee=v.maker_fee,
                taker_fee=v.taker_fee,
                latency_ns=v.latency_ms * 1_000_000,
                tick_table=TickTable.from_rows(v.tick_table),
                weight=Decimal(v.depth_scale),
            ),
        )
        for v in Venue.objects.filter(kind__in=SIMULATED_KINDS, active=True)
    ]


def venue_states_read() -> dict[str, SessionState]:
    """Return the venues the operator halted or closed."""
    return {
        venue.code: SessionState(venue.session_state)
        for venue in Venue.objects.filter(kind__in=SIMULATED_KINDS, active=True).exclude(session_state=SessionState.OPEN)
    }


def rfq_dealers_read() -> list[DealerVenue]:
    """Return the active RFQ dealer venues: code, name, latency and the asset classes admin says each quotes."""
    dealers = []
    for venue in Venue.objects.filter(kind=VenueKind.RFQ_DEALER, active=True).order_by("code"):
        # ``covers`` is admin's list of asset classes; an empty list leaves the dealer's profile to decide.
        covers = getattr(venue, "covers", None) or None
        dealers.append(
            DealerVenue(
                code=venue.code,
                name=venue.name,
                latency_ms=venue.latency_ms,
                covers=frozenset(AssetClass(kind) for kind in covers) if covers else None,
            )
        )
    return dealers


def rfq_instruments_read() -> dict[str, Terms]:
    """Return every active instrument's terms as a dealer prices them, by symbol (through ``GATEWAY_REFDATA``).

    A stock: tick and lot. An option: underlying, strike, expiry, put/call,
    multiplier and tick. Numbers come without the database's trailing zeros,
    so the prices built on them print as the tick does (``101.55``, not
    ``101.55000000``). A row that does not make valid terms (an option missing
    one) is logged and left out: a dealer then declines it as an unknown symbol.
    A package instrument is left out too: a request for it carries its legs,
    and the dealer prices those.
    """
    terms: dict[str, Terms] = {}
    for row in _refdata():
        if row.get("structure"):
            continue
        try:
            terms[row["symbol"]] = _terms(row)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("instrument %s left out of the dealers' reference data: %s", row.get("symbol"), exc)
    return terms


def desk_refdata_read() -> DeskRefdata:
    """Return what the dealer desk needs: the active dealers and every instrument's terms."""
    return DeskRefdata(dealers=tuple(rfq_dealers_read()), instruments=rfq_instruments_read())


def _terms(row: dict[str, Any]) -> Terms:
    tick = plain(to_decimal(row["tick_size"]))
    if row.get("asset_class") != AssetClass.OPTION:
        return StockSpec(symbol=row["symbol"], tick=tick, lot=plain(to_decimal(row["lot_size"])))
    expiry = row["expiry"]
    return OptionSpec(
        underlying=row["underlying__symbol"],
        strike=plain(to_decimal(row["strike"])),
        expiry=expiry if isinstance(expiry, date) else date.fromisoformat(expiry),
        put_call=PutCall(row["put_call"]),
        multiplier=plain(to_decimal(row.get("multiplier") or 1)),
        tick=tick,
    )
