"""``manage.py rungateway``: the process that runs the simulated market and holds the venue sessions."""

import logging
import signal
import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from config.celery import app as celery_app
from config.redis import redis_client
from trading.enums import AssetClass, VenueKind
from trading.messages import ExecutionReport
from venues.gateway import Controls, Gateway
from venues.models import MarketSimulator, SimulatedInstrument, Venue
from venues.sim.lit import Listing, VenueSpec
from venues.sim.market import MarketConfig, SimMarket
from venues.sim.params import Regime, SessionState
from venues.sim.ticks import TickTable

log = logging.getLogger(__name__)

REPORTS_TASK = "ems.reports_apply"
SIMULATED_KINDS = (VenueKind.LIT, VenueKind.DARK)
OPTION_ADV_SHARE = Decimal("0.01")  # an option trades a sliver of a stock's volume


def _rows() -> list[dict[str, Any]]:
    return list(import_string(settings.GATEWAY_REFDATA)())


def _listings() -> list[Listing]:
    return [
        Listing(symbol=row["symbol"], tick_size=row["tick_size"], lot_size=row["lot_size"], ref_px=row["ref_px"]) for row in _rows()
    ]


def _config(seed: int | None) -> MarketConfig:
    sim = MarketSimulator.objects.filter(pk=1).first() or MarketSimulator()
    overrides: dict[str, dict[str, Any]] = {}
    for row in _rows():
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


def _controls() -> Controls:
    sim = MarketSimulator.objects.filter(pk=1).first() or MarketSimulator()
    regimes = {row["symbol"]: Regime(sim.regime) for row in _rows()}
    regimes.update({own.symbol: Regime(own.regime) for own in SimulatedInstrument.objects.exclude(regime="")})
    states = {
        venue.code: SessionState(venue.session_state)
        for venue in Venue.objects.filter(kind__in=SIMULATED_KINDS, active=True)
        if venue.session_state != SessionState.OPEN
    }
    return Controls(venue_states=states, regimes=regimes)


def _send_reports(reports: list[ExecutionReport]) -> None:
    celery_app.send_task(REPORTS_TASK, kwargs={"reports": [report.to_wire() for report in reports]})


class Command(BaseCommand):
    help = "Run the venue gateway: the simulated market, fed from the child-order stream, in real time."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--seed", type=int, help="the simulator's seed (default: the one set in admin)")

    def handle(self, *args: Any, **options: Any) -> None:
        started = datetime.now(UTC)
        session = started.strftime("%Y%m%d%H%M%S%f")
        venues = [
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
        market = SimMarket(
            config=_config(options.get("seed")),
            venues=venues,
            listings=_listings(),
            day=started.date(),
            session=session,
            wall_clock=lambda: datetime.now(UTC),
        )
        gateway = Gateway(
            client=redis_client(),
            stream=settings.GATEWAY_ORDER_STREAM,
            market=market,
            send_reports=_send_reports,
            session=session,
            channel_layer=get_channel_layer(),
        )
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        codes = ", ".join(code for _kind, spec in venues for code in [spec.code]) or "none: seed the demo or add venues in admin"
        self.stdout.write(f"gateway session {session}: simulated venues {codes}; seed {market.config.seed}")
        gateway.run(
            stop=stop,
            publish_seconds=settings.SIM_PUBLISH_SECONDS,
            control_seconds=settings.SIM_CONTROL_SECONDS,
            listings=_listings,
            controls=_controls,
        )
        self.stdout.write("gateway stopped")
