"""The routing loop in the EMS: partial fills routed again, never overfilled; venue learning from our own orders."""

from decimal import Decimal

import pytest

from ems import algos, services
from ems.markouts import DUE_KEY, markout_bps, markouts_due, markouts_record, markouts_schedule
from ems.models import ChildOrder, Execution, FillMarkout, RoutingDecision
from oms.models import Fill, ParentOrder
from router.models import RouterSettings, VenueMarkout, VenueStat
from tests.ems.market import market_set
from tests.ems.test_reports import report, submit
from trading.enums import ExecType, Side

pytestmark = pytest.mark.django_db

ASKS = {"XALP": [("101.50", 500)], "XBET": [("101.52", 500)], "XGAM": [("101.54", 500)]}


def high(order: ParentOrder) -> ParentOrder:
    order.urgency = "HIGH"
    order.save()
    return order


def test_an_ioc_child_partly_filled_has_its_rest_routed_again_with_fresh_books(demo):
    # given a 300 IOC-routed child at XALP
    market_set(asks=ASKS)
    order = high(submit(qty="300", limit_px="101.54"))
    algos.execution_start(parent_id=order.pk)
    child = ChildOrder.objects.get(parent=order)
    assert (child.venue.code, child.tif, child.qty) == ("XALP", "IOC", Decimal(300))

    # when it fills 120 and the venue cancels the rest; meanwhile XALP's offer is gone
    services.reports_apply(
        reports=[
            report(child, 1, ExecType.NEW),
            report(child, 2, ExecType.TRADE, qty="120", px="101.50", cum="120"),
            report(child, 3, ExecType.CANCELED, cum="120", text="IOC: remainder cancelled"),
        ]
    )
    market_set(asks={"XALP": [], "XBET": [("101.52", 500)], "XGAM": [("101.54", 500)]})
    algos.execution_work(parent_id=order.pk, trigger="test")

    # then exactly the 180 left is routed, to the next best offer, by a second decision that says why
    again = ChildOrder.objects.filter(parent=order).exclude(pk=child.pk).get()
    assert (again.venue.code, again.qty, again.limit_px, again.tif) == ("XBET", Decimal(180), Decimal("101.52"), "IOC")
    decision = RoutingDecision.objects.get(parent=order, seq=2)
    assert decision.trigger == "test"
    assert decision.qty == Decimal(180)
    assert Execution.objects.get(parent=order).status == Execution.RUNNING


def test_placing_again_never_routes_more_than_the_leaves_less_what_is_working(demo):
    # given a DAY order of 1200 at HIGH urgency: 500 swept at XALP, 500 at XBET, 200 resting at the limit
    market_set(asks=ASKS)
    order = high(submit(qty="1200", limit_px="101.52"))
    algos.execution_start(parent_id=order.pk)
    routed = sum(c.qty for c in ChildOrder.objects.filter(parent=order))
    assert routed == Decimal(1200)

    # when the worker is asked to place again (a redelivered task), twice
    algos.execution_work(parent_id=order.pk, trigger="redelivered")
    algos.execution_work(parent_id=order.pk, trigger="redelivered")

    # then nothing more is routed: everything is working already, and no empty decision is stored
    assert sum(c.qty for c in ChildOrder.objects.filter(parent=order)) == Decimal(1200)
    assert RoutingDecision.objects.filter(parent=order).count() == 1


def test_a_finished_child_teaches_the_router_its_venues_fill_rate_and_rejects(demo, django_capture_on_commit_callbacks):
    # given two routed children: one sent, acknowledged, half filled and cancelled; one rejected
    market_set(asks=ASKS)
    first = high(submit(qty="300", limit_px="101.50"))
    with django_capture_on_commit_callbacks(execute=True):
        algos.execution_start(parent_id=first.pk)
    filled = ChildOrder.objects.get(parent=first)
    services.reports_apply(
        reports=[
            report(filled, 1, ExecType.NEW),
            report(filled, 2, ExecType.TRADE, qty="150", px="101.50", cum="150"),
            report(filled, 3, ExecType.CANCELED, cum="150"),
        ]
    )
    second = high(submit(qty="300", limit_px="101.50"))
    algos.execution_start(parent_id=second.pk)
    rejected = ChildOrder.objects.get(parent=second)
    services.reports_apply(reports=[report(rejected, 1, ExecType.REJECTED, text="no")])

    # then XALP's statistics count two finished orders, half a fill and one reject, and one acknowledgement
    stat = VenueStat.objects.get(venue__code="XALP")
    assert (stat.orders, stat.filled_share_sum, stat.rejects, stat.acks) == (2, Decimal("0.5"), 1, 1)


def test_a_venue_that_rejects_a_lot_loses_ties_to_a_clean_one(demo):
    # given XALP and XBET offer the same price at the same fee, and XALP rejected 40 of our last 40 orders
    RouterSettings.objects.filter(pk=1).update(exploration=Decimal(0))
    market_set(asks={"XALP": [("101.50", 500)], "XBET": [("101.50", 500)], "XGAM": []})
    VenueStat.objects.create(venue_id=_venue_id("XALP"), orders=40, rejects=40)
    from venues.models import Venue

    Venue.objects.filter(code__in=["XALP", "XBET"]).update(taker_fee=Decimal("0.0030"), latency_ms=1)

    # when a 300 buy is routed
    order = high(submit(qty="300", limit_px="101.50"))
    algos.execution_start(parent_id=order.pk)

    # then it goes to XBET, and the decision shows the scores it used
    child = ChildOrder.objects.get(parent=order)
    assert child.venue.code == "XBET"
    scores = {v["venue"]: v["score"] for v in child.decision.inputs["venues"]}
    assert Decimal(scores["XALP"]["reject_rate"]) > Decimal("0.9")
    assert Decimal(scores["XALP"]["value"]) < Decimal(scores["XBET"]["value"])


def _venue_id(code: str) -> int:
    from venues.models import Venue

    return Venue.objects.get(code=code).pk


def filled_buy(*fills: str) -> tuple[ParentOrder, ChildOrder]:
    """A HIGH-urgency buy of the fills' total, routed to one child at XALP and filled at 101.50 in those pieces."""
    market_set(asks=ASKS)
    order = high(submit(qty=str(sum(Decimal(qty) for qty in fills)), limit_px="101.50"))
    algos.execution_start(parent_id=order.pk)
    child = ChildOrder.objects.get(parent=order)
    reports, cum = [report(child, 1, ExecType.NEW)], Decimal(0)
    for seq, qty in enumerate(fills, start=2):
        cum += Decimal(qty)
        reports.append(report(child, seq, ExecType.TRADE, qty=qty, px="101.50", cum=str(cum)))
    services.reports_apply(reports=reports)
    return order, child


def test_markouts_are_measured_once_per_fill_and_horizon_and_feed_the_venue(demo):
    # given a buy filled at 101.50 at XALP
    order, _ = filled_buy("300")
    fill = Fill.objects.get(parent=order)

    # when the mid is 101.55 five seconds later (bid 101.54 / ask 101.56), measured twice (a batch run again)
    market_set(asks={v: [("101.56", 100)] for v in ASKS}, bids={v: [("101.54", 100)] for v in ASKS})
    markouts_record([(fill.pk, 5)])
    assert markouts_record([(fill.pk, 5)]) == []

    # then one markout row: +4.9261 bps (the mid rose after our buy), and XALP's 5 s markout counts it once
    markout = FillMarkout.objects.get(fill=fill, horizon_s=5)
    assert (markout.mid_px, markout.bps) == (Decimal("101.55"), Decimal("4.9261"))
    venue_markout = VenueMarkout.objects.get(venue__code="XALP", horizon_s=5)
    assert (venue_markout.qty, venue_markout.bps_qty_sum) == (Decimal(300), Decimal("4.9261") * 300)


def test_a_markout_needs_a_mid(demo):
    # given a fill and a market with no offers (no mid)
    order, _ = filled_buy("300")
    market_set(asks={v: [] for v in ASKS})
    # when / then nothing is recorded rather than a guess
    assert markouts_record([(Fill.objects.get(parent=order).pk, 1)]) == []
    assert not FillMarkout.objects.exists()


def test_markouts_are_recorded_when_due_in_one_batch_summed_per_venue_and_horizon(demo):
    # given two fills of one child (300 at 101.50, then 200 at 101.50), the second booked half a second after the first
    order, child = filled_buy("300", "200")
    first, second = Fill.objects.filter(parent=order).order_by("pk")
    markouts_schedule(fill_id=first.pk, now=1000.0)
    markouts_schedule(fill_id=second.pk, now=1000.5)
    market_set(asks={v: [("101.56", 100)] for v in ASKS}, bids={v: [("101.54", 100)] for v in ASKS})

    # when the batch runs 0.9 s after the first fill: nothing is due yet
    assert markouts_due(now=1000.9) == 0
    # when it runs 1.2 s after: the first fill's 1 s markout only
    assert markouts_due(now=1001.2) == 1
    # when it runs 6 s after, and again: the second's 1 s and both 5 s markouts, once
    assert markouts_due(now=1006.0) == 3
    assert markouts_due(now=1006.0) == 0

    # then each pair once, at +4.9261 bps, and the venue's 5 s markout sums both fills by quantity
    got = sorted(FillMarkout.objects.values_list("fill_id", "horizon_s", "bps"))
    mark = Decimal("4.9261")
    assert got == [(first.pk, 1, mark), (first.pk, 5, mark), (second.pk, 1, mark), (second.pk, 5, mark)]
    five = VenueMarkout.objects.get(venue=child.venue, horizon_s=5)
    assert (five.qty, five.bps_qty_sum) == (Decimal(500), mark * 500)
    # and the 30 s and 60 s pairs still wait
    from config.redis import redis_client

    assert sorted(redis_client().zrange(DUE_KEY, 0, -1)) == sorted(f"{f.pk}:{h}" for f in (first, second) for h in (30, 60))


@pytest.mark.parametrize(
    ("side", "fill_px", "mid_px", "bps"),
    [
        (Side.BUY, "100", "100.10", "10.0000"),
        (Side.BUY, "100", "99.90", "-10.0000"),
        (Side.SELL, "100", "99.90", "10.0000"),
        (Side.SELL, "100", "100.10", "-10.0000"),
    ],
)
def test_markout_sign_is_good_for_us_when_positive(side, fill_px, mid_px, bps):
    assert markout_bps(side=side, fill_px=Decimal(fill_px), mid_px=Decimal(mid_px)) == Decimal(bps)


def test_a_block_is_handed_to_rfq_and_until_rfq_exists_routed_to_the_markets_by_a_second_decision(demo):
    # given ACME trades 20,000 a day and a PM buys 2,000 (10% of ADV, over the 5% RFQ threshold)
    from django.utils import timezone

    from venues.models import InstrumentAnalytics

    InstrumentAnalytics.objects.create(
        symbol="ACME", as_of=timezone.now(), days=1, adv=Decimal(20_000), volatility_annual=Decimal("0.25"),
        volatility_daily=Decimal("0.0157"), spread_bps=Decimal(2), spread_px=Decimal("0.02"), depth=Decimal(500),
        bucket_minutes=30, volume_profile=[],
    )  # fmt: skip
    market_set(asks=ASKS)
    order = high(submit(qty="2000", limit_px="101.54"))
    ParentOrder.objects.filter(pk=order.pk).update(strategy="IMMEDIATE")  # the PM's choice: the router works it whole
    # when
    algos.execution_start(parent_id=order.pk)
    # then the first decision is the RFQ hand-off, with no orders; the second routes the block to the lit markets
    first, second = RoutingDecision.objects.filter(parent=order).order_by("seq")
    assert (first.rfq, first.actions, first.routed_qty, first.orders) == (True, ["RFQ"], Decimal(0), [])
    assert first.reasons == ["block: 10.0% of ADV (RFQ from 5.0%); ask dealers for a price"]
    assert second.rfq is False
    assert second.trigger == "the RFQ workflow is not available yet: route the block to the lit and dark markets"
    assert second.inputs["allow_rfq"] is False
    assert sum(c.qty for c in ChildOrder.objects.filter(parent=order)) == Decimal(2000)
    assert list(order.events.filter(kind__startswith="ROUTE").values_list("kind", flat=True)) == ["ROUTE_RFQ", "ROUTED"]
