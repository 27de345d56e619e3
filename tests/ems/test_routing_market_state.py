"""The EMS routes from the market-data cache and skips venues it shows halted or closed."""

from decimal import Decimal

import pytest

from config.redis import redis_client
from ems import services
from ems.models import ChildOrder
from tests.ems.test_reports import submit
from trading.enums import Side
from venues.marketdata import BookView, market_publish

pytestmark = pytest.mark.django_db


def book(venue: str, ask: str, state: str = "OPEN") -> BookView:
    return BookView(
        venue=venue,
        symbol="ACME",
        bids=((Decimal(ask) - Decimal("0.02"), Decimal(500), 1),),
        asks=((Decimal(ask), Decimal(500), 1),),
        state=state,
        ts="2026-01-05T14:30:00+00:00",
    )


@pytest.mark.parametrize(("xalp_state", "venue"), [("OPEN", "XALP"), ("HALTED", "XBET"), ("CLOSED", "XBET")])
def test_a_halted_or_closed_venue_is_not_routed_to_even_with_the_best_price(demo, xalp_state, venue):
    # given XALP shows the best offer, in the given session state, and XBET a worse one
    client = redis_client()
    client.delete("md:top:ACME", "md:book:ACME")
    market_publish(client, "ACME", [book("XALP", "101.50", xalp_state), book("XBET", "101.55"), book("XGAM", "101.60")], [])
    order = submit(side=Side.BUY, limit_px="101.60")
    # when
    services.execution_start(parent_id=order.pk)
    # then
    assert ChildOrder.objects.get(parent=order).venue.code == venue
