"""``manage.py rungateway``: the process that runs the simulated market and holds the venue sessions."""

import logging
import signal
import threading
from datetime import UTC, datetime
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.management.base import BaseCommand

from config.celery import app as celery_app
from config.redis import redis_client
from trading.messages import ExecutionReport
from venues.dealer_desk import DealerDesk, WireMessage
from venues.gateway import Controls, Gateway
from venues.selectors import (
    desk_refdata_read,
    listings_read,
    market_config_read,
    regimes_read,
    venue_specs_read,
    venue_states_read,
)
from venues.sim.market import SimMarket

log = logging.getLogger(__name__)

REPORTS_TASK = "ems.reports_apply"
RFQ_TASK = "ems.rfq_apply"


def _controls() -> Controls:
    return Controls(venue_states=venue_states_read(), regimes=regimes_read())


def _send_reports(reports: list[ExecutionReport]) -> None:
    celery_app.send_task(REPORTS_TASK, kwargs={"reports": [report.to_wire() for report in reports]})


def _send_rfq(messages: list[WireMessage]) -> None:
    """Hand the dealers' quotes, declines and last looks to the workers, in order, as one task."""
    celery_app.send_task(RFQ_TASK, kwargs={"messages": messages})


class Command(BaseCommand):
    help = "Run the venue gateway: the simulated market, fed from the child-order stream, in real time."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--seed", type=int, help="the simulator's seed (default: the one set in admin)")

    def handle(self, *args: Any, **options: Any) -> None:
        started = datetime.now(UTC)
        session = started.strftime("%Y%m%d%H%M%S%f")
        venues = venue_specs_read()
        market = SimMarket(
            config=market_config_read(seed=options.get("seed")),
            venues=venues,
            listings=listings_read(),
            day=started.date(),
            session=session,
            wall_clock=lambda: datetime.now(UTC),
        )
        refdata = desk_refdata_read()
        desk = DealerDesk(market=market, refdata=refdata, session=session)
        gateway = Gateway(
            client=redis_client(),
            stream=settings.GATEWAY_ORDER_STREAM,
            market=market,
            send_reports=_send_reports,
            session=session,
            channel_layer=get_channel_layer(),
            desk=desk,
            send_rfq=_send_rfq,
        )
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        codes = ", ".join(code for _kind, spec in venues for code in [spec.code]) or "none: seed the demo or add venues in admin"
        self.stdout.write(f"gateway session {session}: simulated venues {codes}; seed {market.config.seed}")
        dealers = ", ".join(dealer.code for dealer in refdata.dealers) or "none"
        self.stdout.write(f"dealer desk: {dealers}")
        gateway.run(
            stop=stop,
            publish_seconds=settings.SIM_PUBLISH_SECONDS,
            control_seconds=settings.SIM_CONTROL_SECONDS,
            listings=listings_read,
            controls=_controls,
            desk_refdata=desk_refdata_read,
        )
        self.stdout.write("gateway stopped")
