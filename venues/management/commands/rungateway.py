"""``manage.py rungateway``: the process that holds the venue sessions."""

import logging
import signal
import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from config.celery import app as celery_app
from config.redis import redis_client
from trading.enums import VenueKind
from trading.messages import ExecutionReport
from venues.gateway import Gateway
from venues.models import Venue
from venues.sim.venue import Listing, SimVenue, VenueSpec

log = logging.getLogger(__name__)

REPORTS_TASK = "ems.reports_apply"


def _listings() -> list[Listing]:
    return [
        Listing(symbol=row["symbol"], tick_size=row["tick_size"], lot_size=row["lot_size"], ref_px=row["ref_px"])
        for row in import_string(settings.GATEWAY_REFDATA)()
    ]


def _send_reports(reports: list[ExecutionReport]) -> None:
    celery_app.send_task(REPORTS_TASK, kwargs={"reports": [report.to_wire() for report in reports]})


class Command(BaseCommand):
    help = "Run the venue gateway: simulated venues fed from the child-order stream."

    def handle(self, *args: Any, **options: Any) -> None:
        session = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        venues = [
            SimVenue(
                VenueSpec(code=v.code, maker_fee=v.maker_fee, taker_fee=v.taker_fee, depth_scale=Decimal(v.depth_scale)),
                [],
                clock=lambda: datetime.now(UTC),
                session=session,
            )
            for v in Venue.objects.filter(kind=VenueKind.LIT, active=True)
        ]
        gateway = Gateway(
            client=redis_client(),
            stream=settings.GATEWAY_ORDER_STREAM,
            venues=venues,
            send_reports=_send_reports,
            session=session,
        )
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        codes = ", ".join(v.code for v in venues) or "none: seed the demo or add lit venues in admin"
        self.stdout.write(f"gateway session {session}: simulated lit venues {codes}")
        gateway.run(stop=stop, refresh_seconds=settings.SIM_REFRESH_SECONDS, listings=_listings)
        self.stdout.write("gateway stopped")
