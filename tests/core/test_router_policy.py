"""The routing policy on hand-built books: exclusions, RFQ, dark first, the fee-aware sweep, posting, FOK, totals.

Most tests fix the decision with ``exploration=0`` (rank by the mean fill rate)
and ``size_jitter=0`` (no random sizes), so exact plans can be asserted; the
property test at the end keeps the defaults and draws everything else.
"""

import random
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.core.market import RouteRequest, RouterParams, VenueBook
from router.core.policy import Action, BadRequest, RoutePlan, VenueOrder, route, usable_venues
from router.core.scoring import VenueStats
from trading.enums import OrdType, Peg, Side, TimeInForce, Urgency, VenueKind

D = Decimal
BUY = Side.BUY
SELL = Side.SELL
IOC = TimeInForce.IOC
DAY = TimeInForce.DAY
GTC = TimeInForce.GTC
FOK = TimeInForce.FOK
LOW = Urgency.LOW
MEDIUM = Urgency.MEDIUM
HIGH = Urgency.HIGH
FIXED = RouterParams(exploration=D(0), size_jitter=D(0))  # no draw, no jitter: one exact plan
DARK_ACTIONS = (Action.DARK_PING, Action.DARK_REST)

Levels = tuple[tuple[str, int], ...] | list[tuple[str, int]]


def lit(
    code: str,
    *,
    bids: Levels = (),
    asks: Levels = (),
    maker: str = "-0.0020",
    taker: str = "0.0030",
    latency: str = "1",
    age: int | None = 0,
    state: str = "OPEN",
) -> VenueBook:
    return VenueBook(
        code=code,
        kind=VenueKind.LIT,
        state=state,
        maker_fee=D(maker),
        taker_fee=D(taker),
        latency_ms=D(latency),
        age_ms=age,
        bids=tuple((D(px), D(qty)) for px, qty in bids),
        asks=tuple((D(px), D(qty)) for px, qty in asks),
    )


def dark(code: str, *, latency: str = "2", age: int | None = 0, state: str = "OPEN") -> VenueBook:
    return VenueBook(
        code=code,
        kind=VenueKind.DARK,
        state=state,
        maker_fee=D("0.0010"),
        taker_fee=D("0.0010"),
        latency_ms=D(latency),
        age_ms=age,
    )


def request(
    side: Side = BUY,
    qty: int = 100,
    limit: str | None = "100.05",
    urgency: Urgency = HIGH,
    tif: TimeInForce = IOC,
    lot: str = "1",
    **extra: object,
) -> RouteRequest:
    return RouteRequest(
        symbol="ACME",
        side=side,
        qty=D(qty),
        limit_px=None if limit is None else D(limit),
        urgency=urgency,
        tif=tif,
        lot=D(lot),
        tick=D("0.01"),
        **extra,  # type: ignore[arg-type]
    )


def plan_for(
    req: RouteRequest,
    venues: list[VenueBook],
    *,
    params: RouterParams = FIXED,
    stats: Mapping[str, VenueStats] | None = None,
    seed: int = 1,
) -> RoutePlan:
    return route(req, venues, stats=stats or {}, params=params, rng=random.Random(seed))


def legs(plan: RoutePlan) -> list[tuple[str, Action, Decimal, Decimal | None]]:
    """Each order as (venue, action, qty, limit_px), in plan order."""
    return [(o.venue, o.action, o.qty, o.limit_px) for o in plan.orders]


def far(side: Side, code: str, px: str, qty: int, *, taker: str) -> VenueBook:
    """A venue showing ``qty`` at ``px`` on the side an order of ``side`` takes."""
    levels = [(px, qty)]
    return lit(code, asks=levels, taker=taker) if side is BUY else lit(code, bids=levels, taker=taker)


def within(side: Side, px: Decimal, limit: Decimal) -> bool:
    return px <= limit if side is BUY else px >= limit


# --- fees decide the order of venues ------------------------------------------------------


@pytest.mark.parametrize(("side", "px", "limit"), [(BUY, "100.01", "100.05"), (SELL, "99.99", "99.95")])
def test_the_lower_taker_fee_is_taken_first_at_the_same_displayed_price(side: Side, px: str, limit: str) -> None:
    # given two venues showing 500 at the same price; B (last by code) charges less to take
    venues = [far(side, "A", px, 500, taker="0.0030"), far(side, "B", px, 500, taker="0.0010")]
    # when the quantity covers only part of what is shown
    plan = plan_for(request(side, 300, limit), venues)
    # then all of it goes to the cheaper venue
    assert legs(plan) == [("B", Action.SWEEP, D(300), D(px))]
    assert plan.unrouted_qty == 0


@pytest.mark.parametrize(("side", "px", "limit"), [(BUY, "100.01", "100.05"), (SELL, "99.99", "99.95")])
def test_the_lower_taker_fee_is_taken_first_and_the_dearer_venue_gets_the_rest(side: Side, px: str, limit: str) -> None:
    # given
    venues = [far(side, "A", px, 500, taker="0.0030"), far(side, "B", px, 500, taker="0.0010")]
    # when
    plan = plan_for(request(side, 700, limit), venues)
    # then
    assert legs(plan) == [("B", Action.SWEEP, D(500), D(px)), ("A", Action.SWEEP, D(200), D(px))]


@pytest.mark.parametrize(
    ("side", "good_px", "worse_px", "limit"),
    [(BUY, "100.01", "100.02", "100.05"), (SELL, "99.99", "99.98", "99.95")],
)
def test_a_worse_price_with_a_big_taker_rebate_comes_first(side: Side, good_px: str, worse_px: str, limit: str) -> None:
    # given A at the better price charging 0.30 c to take (all-in 100.0130 for a buy),
    # B a cent worse paying 0.80 c to take (all-in 100.0120)
    venues = [far(side, "A", good_px, 500, taker="0.0030"), far(side, "B", worse_px, 500, taker="-0.0080")]
    # when
    plan = plan_for(request(side, 300, limit), venues)
    # then
    assert legs(plan) == [("B", Action.SWEEP, D(300), D(worse_px))]


@pytest.mark.parametrize(
    ("side", "good_px", "worse_px", "limit"),
    [(BUY, "100.01", "100.02", "100.05"), (SELL, "99.99", "99.98", "99.95")],
)
def test_a_small_rebate_does_not_make_up_for_a_worse_price(side: Side, good_px: str, worse_px: str, limit: str) -> None:
    # given B's rebate (0.05 c) is far less than the cent it gives away
    venues = [far(side, "A", good_px, 500, taker="0.0030"), far(side, "B", worse_px, 500, taker="-0.0005")]
    # when
    plan = plan_for(request(side, 300, limit), venues)
    # then
    assert legs(plan) == [("A", Action.SWEEP, D(300), D(good_px))]


# --- venues that cannot take an order ------------------------------------------------------


def test_unusable_venues_are_skipped_with_a_reason_and_the_quantity_goes_elsewhere() -> None:
    # given five venues at a better price that cannot take an order now, and one that can
    better = [("100.01", 1000)]
    venues = [
        lit("STAL", asks=better, age=6000),
        lit("NONE", asks=better, age=None),
        lit("HALT", asks=better, state="HALTED"),
        lit("CLSD", asks=better, state="CLOSED"),
        lit("AVOI", asks=better),
        dark("DSTL", age=9000),
        lit("GOOD", asks=[("100.02", 1000)]),
    ]
    req = request(BUY, 500, avoid=MappingProxyType({"AVOI": "rejected: unknown symbol"}))
    # when
    plan = plan_for(req, venues)
    # then
    assert legs(plan) == [("GOOD", Action.SWEEP, D(500), D("100.02"))]
    assert dict(plan.excluded) == {
        "STAL": "stale: last update 6.0 s ago (limit 5.0 s)",
        "NONE": "no market data",
        "HALT": "session halted",
        "CLSD": "session closed",
        "AVOI": "avoided: rejected: unknown symbol",
        "DSTL": "stale: last update 9.0 s ago (limit 5.0 s)",
    }
    assert set(plan.scores) == {"GOOD"}


def test_a_venue_exactly_at_the_staleness_limit_is_still_used() -> None:
    # given
    venues = [lit("EDGE", age=5000), lit("OVER", age=5001)]
    # when
    usable, excluded = usable_venues(venues, avoid={}, params=FIXED)
    # then
    assert [v.code for v in usable] == ["EDGE"]
    assert list(excluded) == ["OVER"]


def test_with_every_venue_excluded_nothing_is_routed() -> None:
    # given
    venues = [lit("HALT", asks=[("100.01", 1000)], state="HALTED"), lit("NONE", asks=[("100.01", 1000)], age=None)]
    # when
    plan = plan_for(request(BUY, 500, tif=DAY), venues)
    # then
    assert plan.orders == ()
    assert plan.unrouted_qty == 500
    assert set(plan.excluded) == {"HALT", "NONE"}


# --- never past the limit, never more than the request ------------------------------------


@pytest.mark.parametrize(
    ("side", "a_levels", "b_levels", "limit"),
    [
        (
            BUY,
            [("100.01", 100), ("100.02", 100), ("100.03", 100), ("100.04", 100)],
            [("100.02", 50), ("100.03", 50), ("100.05", 500)],
            "100.03",
        ),
        (
            SELL,
            [("99.99", 100), ("99.98", 100), ("99.97", 100), ("99.96", 100)],
            [("99.98", 50), ("99.97", 50), ("99.95", 500)],
            "99.97",
        ),
    ],
)
def test_levels_beyond_the_limit_are_not_taken(side: Side, a_levels: Levels, b_levels: Levels, limit: str) -> None:
    # given
    if side is BUY:
        venues = [lit("A", asks=a_levels), lit("B", asks=b_levels)]
    else:
        venues = [lit("A", bids=a_levels), lit("B", bids=b_levels)]
    # when a sweep wants far more than the book shows within the limit
    plan = plan_for(request(side, 1000, limit), venues)
    # then each venue is taken up to the limit, no further
    assert legs(plan) == [("A", Action.SWEEP, D(300), D(limit)), ("B", Action.SWEEP, D(100), D(limit))]
    assert plan.unrouted_qty == 600


@pytest.mark.parametrize(("side", "limit"), [(BUY, "100.03"), (SELL, "99.97")])
def test_a_high_urgency_day_order_sweeps_then_rests_at_its_limit_not_past_it(side: Side, limit: str) -> None:
    # given
    levels = [("100.01", 100), ("100.02", 100), ("100.04", 900)]
    mirrored = [("99.99", 100), ("99.98", 100), ("99.96", 900)]
    venue = lit("A", asks=levels) if side is BUY else lit("A", bids=mirrored)
    # when
    plan = plan_for(request(side, 1000, limit, HIGH, DAY), [venue])
    # then
    worst = "100.02" if side is BUY else "99.98"
    assert legs(plan) == [("A", Action.SWEEP, D(200), D(worst)), ("A", Action.POST, D(800), D(limit))]
    assert all(o.limit_px is not None and within(side, o.limit_px, D(limit)) for o in plan.orders)


@pytest.mark.parametrize("urgency", [LOW, MEDIUM, HIGH])
@pytest.mark.parametrize("tif", [IOC, DAY, GTC, FOK])
def test_orders_never_add_up_to_more_than_the_request(urgency: Urgency, tif: TimeInForce) -> None:
    # given far more displayed than wanted, on both lit venues, and two dark pools
    venues = [
        lit("A", bids=[("100.00", 5000)], asks=[("100.01", 5000), ("100.02", 5000)]),
        lit("B", bids=[("100.00", 5000)], asks=[("100.01", 5000)]),
        dark("D1"),
        dark("D2"),
    ]
    # when
    plan = plan_for(request(BUY, 250, "100.02", urgency, tif), venues, params=RouterParams(), seed=7)
    # then everything is placed, once
    assert plan.routed_qty == 250
    assert plan.unrouted_qty == 0


def _depth_at_post(venues: list[VenueBook], order: VenueOrder, side: Side) -> Decimal:
    """The depth a posted order's display is capped by: the queue at its price, or the venue's touch if larger."""
    venue = next(v for v in venues if v.code == order.venue)
    assert order.limit_px is not None
    touch = venue.near(side)[0][1] if venue.near(side) else D(0)
    return max(venue.shown_at(side, order.limit_px), touch)


Scenario = tuple[RouteRequest, list[VenueBook], RouterParams, int]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A random market (1-5 lit venues, 0-2 dark pools) and a random request against it."""
    lot = draw(st.sampled_from([D(1), D(100)]))
    tick = D("0.01")
    mid_ticks = 10_000
    venues = []
    for n in range(draw(st.integers(1, 5))):
        centre = mid_ticks + draw(st.integers(-3, 3))  # venues may lock or cross each other
        spread = draw(st.integers(1, 4))
        books = []
        for direction, start in ((-1, centre - spread // 2 - 1), (1, centre + (spread + 1) // 2)):
            levels, px = [], start
            for _ in range(draw(st.integers(0, 10))):
                levels.append((px * tick, D(draw(st.integers(1, 3000)))))
                px += direction * draw(st.integers(1, 3))
            books.append(tuple(levels))
        venues.append(
            VenueBook(
                code=f"L{n}",
                kind=VenueKind.LIT,
                state=draw(st.sampled_from(["OPEN", "OPEN", "OPEN", "OPEN", "HALTED", "CLOSED"])),
                maker_fee=D(draw(st.integers(-30, 30))) / 10_000,
                taker_fee=D(draw(st.integers(-30, 30))) / 10_000,
                latency_ms=D(draw(st.integers(0, 5000))) / 1000,
                age_ms=draw(st.sampled_from([0, 0, 0, 100, 4999, 5000, 5001, None])),
                bids=books[0],
                asks=books[1],
            )
        )
    for n in range(draw(st.integers(0, 2))):
        venues.append(
            VenueBook(
                code=f"D{n}",
                kind=VenueKind.DARK,
                state=draw(st.sampled_from(["OPEN", "OPEN", "OPEN", "HALTED"])),
                maker_fee=D("0.0010"),
                taker_fee=D("0.0010"),
                latency_ms=D(draw(st.integers(0, 5000))) / 1000,
                age_ms=draw(st.sampled_from([0, 0, 100, 6000, None])),
            )
        )
    side = draw(st.sampled_from([BUY, SELL]))
    limit_ticks = draw(st.one_of(st.none(), st.integers(mid_ticks - 30, mid_ticks + 30)))
    codes = [v.code for v in venues]
    avoided = draw(st.one_of(st.none(), st.sampled_from(codes)))
    req = RouteRequest(
        symbol="ACME",
        side=side,
        qty=draw(st.integers(1, 40_000 // int(lot))) * lot,
        limit_px=None if limit_ticks is None else limit_ticks * tick,
        urgency=draw(st.sampled_from(list(Urgency))),
        tif=draw(st.sampled_from(list(TimeInForce))),
        lot=lot,
        tick=tick,
        adv=draw(st.sampled_from([None, D(100_000), D(2_000_000)])),
        volatility_daily=draw(st.sampled_from([None, D("0.02")])),
        dark_tried=draw(st.booleans()),
        allow_rfq=draw(st.booleans()),
        avoid=MappingProxyType({} if avoided is None else {avoided: "rejected"}),
    )
    params = RouterParams(
        exploration=draw(st.sampled_from([D(0), D(1)])),
        dark_min_qty=draw(st.sampled_from([D(0), D(200), D(250), D(1000)])),
    )
    return req, venues, params, draw(st.integers(0, 2**32))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_every_plan_keeps_the_totals_lots_limits_and_leakage_rules(scenario: Scenario) -> None:
    # given
    req, venues, params, seed = scenario
    # when
    plan = route(req, venues, stats={}, params=params, rng=random.Random(seed))
    # then the request is accounted for exactly, or handed to RFQ whole
    if plan.rfq:
        assert plan.orders == ()
        assert plan.unrouted_qty == req.qty
    else:
        assert plan.routed_qty + plan.unrouted_qty == req.qty
    assert plan.routed_qty <= req.qty
    usable, excluded = usable_venues(venues, avoid=req.avoid, params=params)
    assert dict(plan.excluded) == excluded
    by_code = {v.code: v for v in venues}
    far_touch = [v.far(req.side)[0][0] for v in usable if v.kind is VenueKind.LIT and v.far(req.side)]
    for order in plan.orders:
        assert order.venue not in plan.excluded
        assert order.qty > 0
        assert order.qty % req.lot == 0
        assert order.delay_us >= 0
        if req.limit_px is not None:
            assert order.limit_px is not None
            assert within(req.side, order.limit_px, req.limit_px)
        else:
            assert order.tif is IOC or order.tif is FOK  # a market order never rests
        if order.action in DARK_ACTIONS:
            assert by_code[order.venue].kind is VenueKind.DARK
            assert order.min_qty >= min(params.dark_min_qty, order.qty)
            assert order.min_qty >= req.lot
            assert order.min_qty <= order.qty  # else it can never fill (and venues reject it)
        else:
            assert by_code[order.venue].kind is VenueKind.LIT
        if order.post_only and order.limit_px is not None:  # a passive order never locks or crosses the far side
            assert all(within(req.side, order.limit_px, touch) and order.limit_px != touch for touch in far_touch)
        if order.display_qty is not None:
            depth = _depth_at_post(venues, order, req.side)
            assert 0 < order.display_qty < order.qty
            assert order.display_qty % req.lot == 0
            assert order.display_qty <= max(req.lot, params.max_display_share * depth)


# --- the dark minimum ----------------------------------------------------------------------


def test_below_the_dark_minimum_no_dark_order_is_sent() -> None:
    # given 150 to buy (under the 200 minimum), more than the far touch shows
    venues = [lit("A", bids=[("100.00", 500)], asks=[("100.01", 100), ("100.02", 500)]), dark("D1"), dark("D2")]
    # when
    plans = [plan_for(request(BUY, 150, "100.05", urgency, tif), venues) for urgency in (LOW, MEDIUM) for tif in (IOC, DAY)]
    # then
    assert [o.action for p in plans for o in p.orders if o.action in DARK_ACTIONS] == []
    assert [p.routed_qty + p.unrouted_qty for p in plans] == [150, 150, 150, 150]


def test_a_low_urgency_share_under_the_dark_minimum_stays_out_of_the_dark() -> None:
    # given 300 to buy: half of it (150) is under the 200 minimum
    venues = [lit("A", bids=[("100.00", 500)], asks=[("100.01", 100)]), dark("D1")]
    # when
    plan = plan_for(request(BUY, 300, "100.05", LOW, DAY), venues)
    # then all of it rests on the lit book
    assert legs(plan) == [("A", Action.POST, D(300), D("100.00"))]


@pytest.mark.parametrize("qty", [400, 600, 700, 1000, 3000])
def test_dark_pieces_are_each_at_least_the_dark_minimum_and_add_up_to_what_went_dark(qty: int) -> None:
    # given three pools and a lit touch smaller than the order
    venues = [lit("A", asks=[("100.01", 200)]), dark("D1", latency="1"), dark("D2", latency="2"), dark("D3", latency="3")]
    for seed in range(40):
        # when sizes are jittered and scores drawn (the defaults)
        plan = plan_for(request(BUY, qty, "100.05", MEDIUM, IOC), venues, params=RouterParams(), seed=seed)
        # then
        assert plan.actions == (Action.DARK_PING,)
        assert all(o.qty >= 200 for o in plan.orders), (seed, legs(plan))
        assert all(o.min_qty == 200 for o in plan.orders)
        assert plan.routed_qty == qty
        assert len({o.venue for o in plan.orders}) == len(plan.orders)


def test_the_dark_minimum_is_rounded_up_to_the_lot() -> None:
    # given a 250 minimum and round lots of 100
    venues = [lit("A", asks=[("100.01", 100)]), dark("D1")]
    params = RouterParams(exploration=D(0), size_jitter=D(0), dark_min_qty=D(250))
    # when
    plan = plan_for(request(BUY, 1000, "100.05", MEDIUM, IOC, lot="100"), venues, params=params)
    # then an execution of 200 would be under the minimum: the smallest accepted is 300
    assert [(o.venue, o.qty, o.min_qty) for o in plan.orders] == [("D1", D(1000), D(300))]


# --- dark first, by urgency ----------------------------------------------------------------

MID_SIZED = [lit("A", bids=[("100.00", 400)], asks=[("100.01", 500)]), dark("D1", latency="2"), dark("D2", latency="1")]


def test_a_mid_sized_medium_order_pings_the_dark_pools_first() -> None:
    # given 2000 to buy, more than the 500 at the far touch
    # when
    plan = plan_for(request(BUY, 2000, "100.05", MEDIUM, DAY), MID_SIZED)
    # then only IOC pings at the mid, split by score (D2 is faster), held back to arrive together
    assert [(o.venue, o.action, o.qty, o.tif, o.peg, o.min_qty, o.delay_us) for o in plan.orders] == [
        ("D2", Action.DARK_PING, D(1002), IOC, Peg.MID, D(200), 1000),
        ("D1", Action.DARK_PING, D(998), IOC, Peg.MID, D(200), 0),
    ]
    assert all(o.ord_type is OrdType.LIMIT and o.limit_px == D("100.05") for o in plan.orders)
    assert plan.unrouted_qty == 0


def test_once_the_dark_was_tried_a_medium_order_sweeps_and_posts_the_rest() -> None:
    # given
    req = request(BUY, 2000, "100.05", MEDIUM, DAY, dark_tried=True)
    # when
    plan = plan_for(req, MID_SIZED)
    # then it takes the touch and joins the bid, showing a quarter of the 400 there
    assert legs(plan) == [("A", Action.SWEEP, D(500), D("100.01")), ("A", Action.POST, D(1500), D("100.00"))]
    assert plan.orders[1].display_qty == 100
    assert plan.orders[1].post_only is True


def test_once_the_dark_was_tried_a_medium_ioc_order_only_sweeps() -> None:
    # given
    req = request(BUY, 2000, "100.05", MEDIUM, IOC, dark_tried=True)
    # when
    plan = plan_for(req, MID_SIZED)
    # then
    assert legs(plan) == [("A", Action.SWEEP, D(500), D("100.01"))]
    assert plan.unrouted_qty == 1500


@pytest.mark.parametrize("tif", [IOC, DAY])
def test_high_urgency_never_goes_dark(tif: TimeInForce) -> None:
    # given
    req = request(BUY, 2000, "100.05", HIGH, tif)
    # when
    plan = plan_for(req, MID_SIZED)
    # then
    assert [o.action for o in plan.orders if o.action in DARK_ACTIONS] == []
    assert plan.orders[0].action is Action.SWEEP
    assert plan.orders[0].qty == 500


def test_low_urgency_day_rests_a_share_in_the_dark_and_posts_the_rest() -> None:
    # given
    req = request(BUY, 2000, "100.05", LOW, DAY)
    # when
    plan = plan_for(req, MID_SIZED)
    # then half rests in the pools (split by score), the other half joins the bid; nothing crosses
    assert legs(plan) == [
        ("D2", Action.DARK_REST, D(501), D("100.05")),
        ("D1", Action.DARK_REST, D(499), D("100.05")),
        ("A", Action.POST, D(1000), D("100.00")),
    ]
    rest = plan.orders[:2]
    assert all(o.tif is DAY and o.peg is Peg.MID and o.min_qty == 200 for o in rest)
    assert all(0 <= o.delay_us <= 250_000 for o in plan.orders)


def test_a_quantity_the_far_touch_covers_does_not_go_dark() -> None:
    # given 400 to buy with 500 at the touch
    # when
    plan = plan_for(request(BUY, 400, "100.05", MEDIUM, IOC), MID_SIZED)
    # then
    assert legs(plan) == [("A", Action.SWEEP, D(400), D("100.01"))]


# --- sweep timing --------------------------------------------------------------------------


def test_sweep_children_are_held_back_so_they_arrive_together() -> None:
    # given venues 1, 2.5 and 3 ms away, and a 4 ms venue with nothing within the limit
    venues = [
        lit("A", asks=[("100.01", 100)], latency="1"),
        lit("B", asks=[("100.01", 100)], latency="2.5"),
        lit("C", asks=[("100.09", 100)], latency="4"),
        lit("D", asks=[("100.02", 100)], latency="3"),
    ]
    # when
    plan = plan_for(request(BUY, 1000, "100.05"), venues)
    # then each waits for the slowest venue used (D), not for C
    assert [(o.venue, o.qty, o.delay_us) for o in plan.orders] == [("A", D(100), 2000), ("B", D(100), 500), ("D", D(100), 0)]


# --- RFQ -----------------------------------------------------------------------------------

BOOK = [lit("A", bids=[("100.00", 500)], asks=[("100.01", 300), ("100.02", 200)]), lit("B", asks=[("100.01", 500)])]


def test_a_block_of_five_percent_of_adv_goes_to_rfq() -> None:
    # given
    req = request(BUY, 100_000, adv=D(2_000_000))
    # when
    plan = plan_for(req, BOOK)
    # then
    assert plan.rfq is True
    assert plan.orders == ()
    assert plan.unrouted_qty == 100_000
    assert plan.actions == (Action.RFQ,)
    assert plan.reasons == ("block: 5.0% of ADV (RFQ from 5.0%); ask dealers for a price",)


def test_just_under_the_adv_share_is_routed() -> None:
    # given
    req = request(BUY, 99_999, adv=D(2_000_000))
    # when
    plan = plan_for(req, BOOK)
    # then
    assert plan.rfq is False
    assert plan.routed_qty == 1000


def test_a_large_expected_impact_goes_to_rfq() -> None:
    # given 4% of ADV: at 4% daily volatility the square-root law says 0.7 * 0.04 * 0.2 = 56 bps
    req = request(BUY, 80_000, adv=D(2_000_000), volatility_daily=D("0.04"))
    # when
    plan = plan_for(req, BOOK)
    # then
    assert plan.rfq is True
    assert plan.orders == ()
    assert plan.reasons == ("block: expected impact 56 bps (RFQ from 50 bps); ask dealers",)


def test_an_expected_impact_under_the_threshold_is_routed() -> None:
    # given 0.7 * 0.035 * 0.2 = 49 bps
    req = request(BUY, 80_000, adv=D(2_000_000), volatility_daily=D("0.035"))
    # when
    plan = plan_for(req, BOOK)
    # then
    assert plan.rfq is False
    assert plan.routed_qty == 1000


def test_without_adv_more_than_twenty_times_the_displayed_depth_goes_to_rfq() -> None:
    # given 1000 displayed on the far side in all
    # when
    over = plan_for(request(BUY, 20_001), BOOK)
    at = plan_for(request(BUY, 20_000), BOOK)
    # then
    assert over.rfq is True
    assert over.reasons == ("block: 20x the displayed depth (RFQ from 20x); ask dealers",)
    assert at.rfq is False
    assert at.routed_qty == 1000


def test_allow_rfq_false_routes_a_block_as_usual() -> None:
    # given
    req = request(BUY, 100_000, adv=D(2_000_000), volatility_daily=D("0.04"), allow_rfq=False)
    # when
    plan = plan_for(req, BOOK)
    # then
    assert plan.rfq is False
    assert legs(plan) == [("A", Action.SWEEP, D(500), D("100.02")), ("B", Action.SWEEP, D(500), D("100.01"))]
    assert plan.unrouted_qty == 99_000


# --- passive posting -----------------------------------------------------------------------


def test_the_posted_display_is_at_most_the_share_of_the_depth_at_the_level() -> None:
    # given 2000 bid at 100.00 on the only venue
    venues = [lit("A", bids=[("100.00", 2000)], asks=[("100.02", 100)])]
    req = request(BUY, 1000, "100.05", LOW, DAY)
    # when
    exact = plan_for(req, venues)
    jittered = [plan_for(req, venues, params=RouterParams(), seed=seed) for seed in range(30)]
    # then a quarter of 2000 is shown, less up to 20% when jittered
    assert exact.orders[0].display_qty == 500
    shown = {p.orders[0].display_qty for p in jittered}
    assert all(q is not None and 400 <= q <= 500 for q in shown)
    assert len(shown) > 1


def test_the_shorter_queue_wins_the_post_and_its_touch_caps_the_display() -> None:
    # given the bid of 100.00 has 2000 ahead on B; A's best bid is 99.99 (800)
    venues = [lit("A", bids=[("99.99", 800)], asks=[("100.02", 100)]), lit("B", bids=[("100.00", 2000)], asks=[("100.02", 100)])]
    # when
    plan = plan_for(request(BUY, 1000, "100.05", LOW, DAY), venues)
    # then A is first in its queue at 100.00, showing a quarter of its touch
    assert legs(plan) == [("A", Action.POST, D(1000), D("100.00"))]
    assert plan.orders[0].display_qty == 200


def test_the_better_rebate_wins_the_post() -> None:
    # given equal queues; A pays 0.20 c to add, B charges 0.10 c
    bids = [("100.00", 1000)]
    venues = [lit("A", bids=bids, maker="-0.0020"), lit("B", bids=bids, maker="0.0010")]
    # when
    plan = plan_for(request(BUY, 500, "100.05", LOW, DAY), venues)
    # then
    assert legs(plan) == [("A", Action.POST, D(500), D("100.00"))]


def test_the_better_scored_venue_wins_the_post() -> None:
    # given equal queues and fees; A fills our orders more often
    bids = [("100.00", 1000)]
    venues = [lit("A", bids=bids), lit("B", bids=bids)]
    stats = {"A": VenueStats(orders=10, filled_share_sum=D(8)), "B": VenueStats(orders=10, filled_share_sum=D(2))}
    # when
    plan = plan_for(request(BUY, 500, "100.05", LOW, DAY), venues, stats=stats)
    # then
    assert legs(plan) == [("A", Action.POST, D(500), D("100.00"))]


@pytest.mark.parametrize("urgency", [LOW, MEDIUM])
@pytest.mark.parametrize(
    ("side", "limit", "expected_px"),
    [(BUY, "100.02", "100.00"), (BUY, "99.98", "99.98"), (SELL, "100.01", "100.03"), (SELL, "100.05", "100.05")],
)
def test_low_and_medium_urgency_join_the_near_touch_within_the_limit_post_only(
    urgency: Urgency, side: Side, limit: str, expected_px: str
) -> None:
    # given a 100.00 / 100.03 market with nothing displayed within the buy limits or the sell limits
    venues = [lit("A", bids=[("100.00", 400)], asks=[("100.03", 400)])]
    # when
    plan = plan_for(request(side, 500, limit, urgency, DAY), venues)
    # then
    assert legs(plan) == [("A", Action.POST, D(500), D(expected_px))]
    assert plan.orders[0].post_only is True
    assert plan.orders[0].tif is DAY


def test_a_passive_order_on_a_one_sided_book_rests_off_the_far_side() -> None:
    # given no offers anywhere, a bid at 99.99, and a sell limit well under it
    venues = [lit("A", bids=[("99.99", 100)])]
    # when
    plan = plan_for(request(SELL, 300, "99.70", LOW, DAY), venues)
    # then it offers a tick above the bid, not at its limit (a post-only order there would be rejected)
    assert legs(plan) == [("A", Action.POST, D(300), D("100.00"))]
    assert plan.orders[0].post_only is True


def test_a_passive_order_does_not_join_a_locked_market() -> None:
    # given A bids 100.01 where B offers 100.01
    venues = [lit("A", bids=[("100.01", 100)], asks=[("100.03", 100)]), lit("B", bids=[("99.99", 100)], asks=[("100.01", 100)])]
    # when
    plan = plan_for(request(BUY, 300, "100.05", LOW, DAY), venues)
    # then it bids a tick under the offer
    assert [(o.action, o.limit_px, o.post_only) for o in plan.orders] == [(Action.POST, D("100.00"), True)]


def test_high_urgency_posts_the_remainder_at_the_limit() -> None:
    # given
    venues = [lit("A", bids=[("100.00", 400)], asks=[("100.01", 100), ("100.03", 400)])]
    # when
    plan = plan_for(request(BUY, 500, "100.02", HIGH, GTC), venues)
    # then
    assert legs(plan) == [("A", Action.SWEEP, D(100), D("100.01")), ("A", Action.POST, D(400), D("100.02"))]
    assert plan.orders[1].post_only is False
    assert plan.orders[1].tif is GTC


# --- FOK -----------------------------------------------------------------------------------


def test_fok_goes_whole_to_one_venue_showing_enough() -> None:
    # given A shows 600 within the limit over two levels, B 500
    venues = [lit("A", asks=[("100.01", 300), ("100.02", 300)]), lit("B", asks=[("100.01", 500)])]
    # when
    plan = plan_for(request(BUY, 550, "100.05", HIGH, FOK), venues)
    # then
    assert [(o.venue, o.qty, o.limit_px, o.tif) for o in plan.orders] == [("A", D(550), D("100.02"), FOK)]
    assert plan.unrouted_qty == 0


def test_fok_sends_nothing_when_no_single_venue_shows_enough() -> None:
    # given 1100 shown in all, but at most 600 on one venue
    venues = [lit("A", asks=[("100.01", 300), ("100.02", 300)]), lit("B", asks=[("100.01", 500)])]
    # when
    plan = plan_for(request(BUY, 700, "100.05", HIGH, FOK), venues)
    # then
    assert plan.orders == ()
    assert plan.unrouted_qty == 700
    assert plan.reasons == ("fill or kill: no single venue shows 700 within the limit",)


# --- bad requests and market orders ---------------------------------------------------------


@pytest.mark.parametrize(("qty", "lot"), [(0, "1"), (-100, "100"), (150, "100")])
def test_a_quantity_not_positive_or_off_the_lot_is_a_bad_request(qty: int, lot: str) -> None:
    # given
    req = request(BUY, qty, lot=lot)
    # when / then
    with pytest.raises(BadRequest, match=rf"invalid `qty`, was {qty}"):
        plan_for(req, BOOK)


@pytest.mark.parametrize("urgency", [LOW, MEDIUM, HIGH])
@pytest.mark.parametrize("tif", [DAY, GTC, IOC])
def test_a_market_order_never_rests(urgency: Urgency, tif: TimeInForce) -> None:
    # given 1000 to buy at any price, 300 on offer, no dark pool
    venues = [lit("A", bids=[("100.00", 500)], asks=[("100.01", 100), ("100.02", 200)])]
    # when
    plan = plan_for(request(BUY, 1000, None, urgency, tif), venues)
    # then it takes what is shown with one IOC and leaves the rest for the next decision
    assert [(o.venue, o.action, o.qty, o.limit_px, o.tif) for o in plan.orders] == [("A", Action.SWEEP, D(300), D("100.02"), IOC)]
    assert plan.unrouted_qty == 700


def test_a_market_order_pings_the_dark_with_market_iocs() -> None:
    # given
    req = request(BUY, 2000, None, MEDIUM, DAY)
    # when
    plan = plan_for(req, MID_SIZED)
    # then
    assert [(o.venue, o.ord_type, o.limit_px, o.tif) for o in plan.orders] == [
        ("D2", OrdType.MARKET, None, IOC),
        ("D1", OrdType.MARKET, None, IOC),
    ]


# --- dark only (the liquidity-seeking algo) -------------------------------------------------


def test_dark_only_rests_the_whole_quantity_in_the_pools_at_the_mid_with_the_algos_minimum():
    # given lit liquidity at the touch and two pools, and a liquidity-seeking slice of 1,000 with a minimum fill of 300
    req = request(qty=1000, urgency=LOW, tif=DAY, dark_only=True, dark_min_qty=D(300))
    # when
    plan = plan_for(req, MID_SIZED)
    # then all of it rests in the dark, pegged to the mid, each piece with the algo's minimum; nothing lit
    assert {o.action for o in plan.orders} == {Action.DARK_REST}
    assert {o.venue for o in plan.orders} <= {"D1", "D2"}
    assert sum(o.qty for o in plan.orders) == D(1000)
    assert all(o.min_qty == D(300) and o.peg is Peg.MID and o.tif is DAY for o in plan.orders)
    assert all(o.limit_px == D("100.05") for o in plan.orders)
    assert plan.unrouted_qty == 0


def test_dark_only_below_the_minimum_goes_whole_to_the_best_pool():
    # given a slice of 150, under the router's dark minimum of 200
    req = request(qty=150, urgency=LOW, tif=DAY, dark_only=True)
    # when
    plan = plan_for(req, MID_SIZED)
    # then one dark order takes it all, its minimum capped at its size
    (order,) = plan.orders
    assert (order.action, order.qty, order.min_qty) == (Action.DARK_REST, D(150), D(150))


def test_dark_only_without_a_pool_routes_nothing_and_says_why():
    # given only lit venues
    req = request(qty=500, urgency=LOW, tif=DAY, dark_only=True)
    # when
    plan = plan_for(req, [lit("A", bids=[("100.00", 400)], asks=[("100.01", 500)])])
    # then
    assert plan.orders == ()
    assert plan.unrouted_qty == D(500)
    assert plan.reasons[0] == "dark only: no dark pool can take an order now (see the excluded venues)"
