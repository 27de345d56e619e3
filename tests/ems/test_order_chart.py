"""The order detail's chart: the market over the order's window, our fills, the schedule and our participation."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from config.redis import redis_client
from ems import algos
from ems.chart import order_chart
from ems.models import Execution, ExecutionTick
from oms.models import ParentOrder
from oms.services import parent_order_fill
from tests.conftest import api_client_for
from tests.ems.market import market_set
from tests.ems.test_reports import submit
from trading.clock import epoch_ns
from trading.enums import Side
from venues.marketdata import TradePrint, market_publish, price_volume_series, volume_since

pytestmark = pytest.mark.django_db

D = Decimal


def ms(at: datetime) -> int:
    return epoch_ns(at) // 1_000_000


def prints(symbol: str, at: datetime, *trades: tuple[str, str]) -> None:
    """Publish these (px, qty) prints at ``at`` through the gateway's own market-data write, with no book change."""
    ts = at.isoformat()
    tape = [TradePrint(venue="XALP", symbol=symbol, px=D(px), qty=D(qty), aggressor=Side.BUY, ts=ts) for px, qty in trades]
    market_publish(redis_client(), symbol, [], tape)


def started_order() -> tuple[ParentOrder, Execution]:
    """An order of 300 ACME accepted and started on a market at 101.48 / 101.50 (mid 101.49)."""
    market_set()
    order = submit(qty="300")
    algos.execution_start(parent_id=order.pk)
    execution = Execution.objects.get(parent_id=order.pk)
    assert execution.start_at is not None
    return order, execution


def fill(order: ParentOrder, exec_id: str, qty: str, px: str, at: datetime) -> None:
    parent = ParentOrder.objects.locked().get(pk=order.pk)
    parent_order_fill(
        parent=parent, child_cl_ord_id="C1", venue="XALP", exec_id=exec_id, qty=D(qty), px=D(px), fee=D(0),
        liquidity="REMOVED", executed_at=at, actor="test",
    )  # fmt: skip


def test_the_chart_has_the_market_over_the_window_our_fills_the_schedule_and_participation(demo: None) -> None:
    # given a started order, prints before the window, before the start, and after it, and our fill of 100 at +15 s
    order, execution = started_order()
    start = execution.start_at
    assert start is not None
    prints("ACME", start - timedelta(seconds=90), ("101.40", "500"))  # before the window: not shown
    prints("ACME", start - timedelta(seconds=30), ("101.45", "600"), ("101.46", "400"))
    prints("ACME", start + timedelta(seconds=10), ("101.50", "400"))
    fill(order, "E1", "100", "101.50", start + timedelta(seconds=15))
    prints("ACME", start + timedelta(seconds=20), ("101.51", "300"), ("101.52", "300"))

    # when the chart is read a minute after the start, the order still working
    chart = order_chart(parent_id=order.pk, now=start + timedelta(seconds=60))

    # then the market runs from a minute before the start, each point's last print and the mid, our share since the start
    assert (chart["range_start"], chart["range_end"]) == (ms(start) - 60_000, ms(start) + 60_000)
    assert chart["market"] == [
        {"t": ms(start) - 30_000, "px": "101.46", "mid": "101.49", "market_volume": None, "participation": None},
        {"t": ms(start) + 10_000, "px": "101.50", "mid": "101.49", "market_volume": "400", "participation": "0.0000"},
        {"t": ms(start) + 20_000, "px": "101.52", "mid": "101.49", "market_volume": "1000", "participation": "0.1000"},
    ]
    assert chart["fills"] == [
        {
            "t": ms(start) + 15_000, "px": "101.50000000", "qty": "100.0000", "venue": "XALP", "liquidity": "REMOVED",
            "filled_qty": "100.0000",
        }
    ]  # fmt: skip
    # the reference lines
    assert (chart["side"], chart["qty"], chart["limit_px"]) == ("BUY", "300.0000", "101.60000000")
    assert (chart["arrival_mid"], chart["decision_px"]) == ("101.49000000", "101.49000000")
    assert (chart["start_at"], chart["end_at"]) == (ms(start), ms(execution.end_at) if execution.end_at else None)
    assert (chart["filled_qty"], chart["avg_px"], chart["order"], chart["symbol"]) == ("100.0000", "101.50000000", order.pk, "ACME")
    # the schedule is the algo's ticks, as stored
    ticks = list(ExecutionTick.objects.filter(execution=execution).order_by("tick_no"))
    assert ticks
    assert chart["schedule"] == [
        {
            "tick_no": t.tick_no, "due_at": ms(t.due_at), "ran_at": ms(t.ran_at), "strategy": t.strategy,
            "target_qty": None if t.target_qty is None else str(t.target_qty), "filled_qty": str(t.filled_qty),
        }
        for t in ticks
    ]  # fmt: skip


def test_a_done_order_charts_to_a_minute_after_its_last_fill(demo: None) -> None:
    # given an order filled whole 20 s after its start
    order, execution = started_order()
    start = execution.start_at
    assert start is not None
    fill(order, "E1", "300", "101.50", start + timedelta(seconds=20))
    assert ParentOrder.objects.get(pk=order.pk).status == "FILLED"

    # when the chart is read an hour later
    chart = order_chart(parent_id=order.pk, now=start + timedelta(hours=1))

    # then it ends a minute after the fill, or after the last tick if one ran later
    last = max([start + timedelta(seconds=20)] + [t.ran_at for t in ExecutionTick.objects.filter(execution=execution)])
    assert chart["range_end"] == ms(last) + 60_000


def test_the_market_series_is_downsampled_keeping_each_buckets_low_high_and_last() -> None:
    # given 60 publishes a second apart, a price zig-zag with one spike up and one down, 10 a publish
    symbol = "T" + uuid.uuid4().hex[:8].upper()
    t0 = datetime(2025, 1, 2, 14, 30, tzinfo=UTC)
    pxs = [D("100") + D(i % 5) / 100 for i in range(60)]
    pxs[17], pxs[42] = D("105"), D("95")
    for i, px in enumerate(pxs):
        prints(symbol, t0 + timedelta(seconds=i), (str(px), "10"))
    client = redis_client()

    # when read whole, and at most 12, 2 and 1 points
    whole = price_volume_series(client, symbol, t0, t0 + timedelta(minutes=1), 100)
    twelve = price_volume_series(client, symbol, t0, t0 + timedelta(minutes=1), 12)
    two = price_volume_series(client, symbol, t0, t0 + timedelta(minutes=1), 2)
    one = price_volume_series(client, symbol, t0, t0 + timedelta(minutes=1), 1)

    # then: whole, every publish; downsampled, within the bound, in time order, keeping the extremes and the last point
    assert [p.px for p in whole] == pxs
    assert [p.volume for p in whole] == [D(10)] * 60
    for series, bound in ((twelve, 12), (two, 2), (one, 1)):
        assert 0 < len(series) <= bound
        assert [p.at_ms for p in series] == sorted({p.at_ms for p in series})
        assert series[-1].at_ms == whole[-1].at_ms
        assert series[-1].cumulative == whole[-1].cumulative
        assert sum((p.volume for p in series), D(0)) == D(600)  # each point's volume: since the point before it
    assert {D("105"), D("95")} <= {p.px for p in twelve}
    with pytest.raises(ValueError, match="max_points"):
        price_volume_series(client, symbol, t0, t0 + timedelta(minutes=1), 0)


def test_a_points_time_is_its_prints_time_to_the_millisecond_cut_as_a_fills_is() -> None:
    # given prints a microsecond either side of a millisecond, and on one (scores are float seconds)
    symbol = "T" + uuid.uuid4().hex[:8].upper()
    t0 = datetime(2026, 11, 21, 14, 30, 1, tzinfo=UTC)
    times = [t0 + timedelta(microseconds=us) for us in (866_999, 867_000, 867_001, 999_999, 1_000_500)]
    for at in times:
        prints(symbol, at, ("10", "1"))

    # when read
    series = price_volume_series(redis_client(), symbol, t0, t0 + timedelta(seconds=2), 10)

    # then each is cut to its millisecond as the chart cuts a fill's time (epoch ns // 10**6), never rounded up
    assert [p.at_ms for p in series] == [ms(at) for at in times]


def test_volume_members_written_before_prices_were_kept_still_read(demo: None) -> None:
    # given an old member (seq|cumulative|volume) and then a publish by today's code
    symbol = "T" + uuid.uuid4().hex[:8].upper()
    t0 = datetime(2025, 1, 2, 14, 30, tzinfo=UTC)
    client = redis_client()
    client.zadd(f"md:volume:{symbol}", {"7|1000|200": t0.timestamp()})
    prints(symbol, t0 + timedelta(seconds=1), ("10.05", "50"))

    # when / then: the volume count goes on from it, and the series shows it without a price
    assert volume_since(client, symbol, t0) == D(250)
    series = price_volume_series(client, symbol, t0 - timedelta(seconds=1), t0 + timedelta(seconds=2), 10)
    assert [(p.at_ms, p.px, p.mid, p.cumulative, p.volume) for p in series] == [
        (ms(t0), None, None, D(1000), D(200)),
        (ms(t0) + 1000, D("10.05"), None, D(1050), D(50)),  # no book cached: no mid
    ]


def test_the_endpoint_shows_the_chart_to_those_who_may_see_the_order_only(demo: None) -> None:
    # given pm1's started order with a fill
    order, _ = started_order()
    fill(order, "E1", "100", "101.50", datetime.now(UTC))

    # when pm1, a trader and pm2 (another portfolio's manager) ask for its chart
    mine = api_client_for("pm1").get(f"/api/orders/{order.pk}/chart/")
    desk = api_client_for("trader1").get(f"/api/orders/{order.pk}/chart/")
    other = api_client_for("pm2").get(f"/api/orders/{order.pk}/chart/")
    missing = api_client_for("pm1").get(f"/api/orders/{order.pk + 1000}/chart/")

    # then the owner and the desk get it; pm2 and an unknown id get the API's one 404
    assert mine.status_code == 200
    assert desk.status_code == 200
    body = mine.json()
    assert (body["order"], body["side"], [f["qty"] for f in body["fills"]]) == (order.pk, "BUY", ["100.0000"])
    assert isinstance(body["range_start"], int)
    assert other.status_code == 404
    assert other.json()["error"]["status"] == 404
    assert missing.status_code == 404
