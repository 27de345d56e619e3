"""The order's detail carries its transaction cost analysis: shortfall against the decision price and its parts."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ems import algos
from ems.models import Execution
from oms.models import ParentOrder
from oms.services import parent_order_fill
from tests.conftest import api_client_for
from tests.ems.market import market_set
from tests.ems.test_reports import submit

pytestmark = pytest.mark.django_db


def test_the_detail_shows_the_shortfall_decomposed_against_the_decision_price(demo: None) -> None:
    # given a market at 101.48 / 101.50, an order of 300 accepted there (decision = mid 101.49) and started
    market_set()
    order = submit(qty="300")
    algos.execution_start(parent_id=order.pk)
    assert ParentOrder.objects.get(pk=order.pk).decision_px == Decimal("101.49")
    assert Execution.objects.get(parent_id=order.pk).arrival_mid == Decimal("101.49")

    # when 200 fill at 101.50 with a 0.60 fee, and the market is unchanged
    parent = ParentOrder.objects.locked().get(pk=order.pk)
    parent_order_fill(
        parent=parent, child_cl_ord_id="C1", venue="XALP", exec_id="E1", qty=Decimal(200), px=Decimal("101.50"),
        fee=Decimal("0.60"), liquidity="REMOVED", executed_at=datetime.now(UTC), actor="test",
    )  # fmt: skip
    tca = api_client_for("pm1").get(f"/api/orders/{order.pk}/").json()["tca"]

    # then: impact 200 x 0.01 = 2.00, fees 0.60, no delay, nothing missed on the rest; in bps of 300 x 101.49
    assert {Decimal(tca[key]) for key in ("decision_px", "arrival_mid", "end_mid")} == {Decimal("101.49")}
    assert tca["end_mid_source"] == "NBBO"
    parts = [Decimal(tca[key]) for key in ("impact_bps", "fees_bps", "delay_bps", "opportunity_bps")]
    # 2.60 / 30,447 = 0.854 bps in all: impact 0.657 and fees 0.197, apportioned so they add up to the rounded total
    assert parts == [Decimal("0.65"), Decimal("0.20"), 0, 0]
    assert Decimal(tca["shortfall_bps"]) == Decimal("0.85")
    assert (Decimal(tca["avg_px"]), Decimal(tca["filled_qty"])) == (Decimal("101.50"), 200)


def test_an_order_not_yet_started_has_no_tca(demo: None) -> None:
    # given / when an order whose execution has not started
    order = submit(qty="300")
    # then its detail says so
    assert api_client_for("pm1").get(f"/api/orders/{order.pk}/").json()["tca"] is None
