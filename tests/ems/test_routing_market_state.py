"""The EMS routes from the market-data cache: halted, closed, stale and silent venues are skipped; decisions are stored."""

from decimal import Decimal

import pytest

from ems import algos
from ems.models import ChildOrder, RoutingDecision
from tests.ems.market import market_set
from tests.ems.test_reports import submit
from trading.enums import Side

pytestmark = pytest.mark.django_db

ASKS = {"XALP": [("101.50", 500)], "XBET": [("101.55", 500)], "XGAM": [("101.60", 500)]}


@pytest.mark.parametrize(("xalp_state", "venue"), [("OPEN", "XALP"), ("HALTED", "XBET"), ("CLOSED", "XBET")])
def test_a_halted_or_closed_venue_is_not_routed_to_even_with_the_best_price(demo, xalp_state, venue):
    # given XALP shows the best offer, in the given session state, and XBET a worse one
    market_set(asks=ASKS, states={"XALP": xalp_state})
    order = submit(side=Side.BUY, qty="300", limit_px="101.60")
    # when
    algos.execution_start(parent_id=order.pk)
    # then
    child = ChildOrder.objects.get(parent=order)
    assert child.venue.code == venue
    if xalp_state != "OPEN":
        assert child.decision.excluded == {"XALP": f"session {xalp_state.lower()}"}


def test_a_stale_venue_is_skipped_and_the_decision_says_so(demo):
    # given XALP shows the best offer but the gateway has not vouched for it for 30 s
    market_set(asks=ASKS, ages_s={"XALP": 30})
    order = submit(side=Side.BUY, qty="300", limit_px="101.60")
    # when
    algos.execution_start(parent_id=order.pk)
    # then
    child = ChildOrder.objects.get(parent=order)
    assert child.venue.code == "XBET"
    assert child.decision.excluded["XALP"].startswith("stale: last update 30.")


def test_a_venue_the_gateway_never_reported_is_skipped(demo):
    # given XALP's health is missing (its session never came up)
    market_set(asks=ASKS, ages_s={"XALP": -1})
    order = submit(side=Side.BUY, qty="300", limit_px="101.60")
    # when
    algos.execution_start(parent_id=order.pk)
    # then
    child = ChildOrder.objects.get(parent=order)
    assert child.venue.code == "XBET"
    assert child.decision.excluded["XALP"] == "no market data"


def test_a_sweep_splits_across_venues_within_the_limit_and_stores_the_decision(demo):
    # given 500 at each of three prices, on three venues
    market_set(asks=ASKS)
    order = submit(side=Side.BUY, qty="1200", limit_px="101.55")
    order.urgency = "HIGH"
    order.save()
    # when
    algos.execution_start(parent_id=order.pk)
    # then 1000 is taken within the limit (XALP 500 @ 101.50, XBET 500 @ 101.55) and 200 rests at the limit
    children = {(c.venue.code, c.action): c for c in ChildOrder.objects.filter(parent=order)}
    sweep_alp, sweep_bet = children["XALP", "SWEEP"], children["XBET", "SWEEP"]
    assert (sweep_alp.qty, sweep_alp.limit_px, sweep_alp.tif) == (Decimal(500), Decimal("101.50"), "IOC")
    assert (sweep_bet.qty, sweep_bet.limit_px, sweep_bet.tif) == (Decimal(500), Decimal("101.55"), "IOC")
    posts = [c for (code, action), c in children.items() if action == "POST"]
    assert [(p.qty, p.limit_px, p.tif) for p in posts] == [(Decimal(200), Decimal("101.55"), "DAY")]
    assert sum(c.qty for c in children.values()) == Decimal(1200)
    # the slower venue's order waits so both arrive together (XALP 1 ms, XBET 2 ms)
    assert (sweep_alp.delay_us, sweep_bet.delay_us) == (1000, 0)
    decision = RoutingDecision.objects.get(parent=order)
    assert decision.actions == ["SWEEP", "POST"]
    assert (decision.qty, decision.routed_qty, decision.unrouted_qty) == (Decimal(1200), Decimal(1200), Decimal(0))
    assert {v["venue"] for v in decision.inputs["venues"]} == {"XALP", "XBET", "XGAM", "DKAL", "DKSG"}
    assert all(c.decision_id == decision.pk for c in children.values())
