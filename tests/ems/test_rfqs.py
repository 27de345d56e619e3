"""The RFQ workflow's shell: start, dissemination, quotes on the ladder, click, last look, fills per leg, expiry, cancel.

Dealers are played by hand here: the tests send the wire messages the
gateway's dealer desk would (``ems.rfqs.rfq_apply``) and read what the EMS
sent them from the gateway's stream. The live loop with the simulated dealers
is in tests/e2e.
"""

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from config.redis import redis_client
from ems import algos, rfqs
from ems.markouts import DUE_KEY, markouts_record
from ems.models import DealerScore, Execution, Rfq
from oms.models import Fill, FillLeg, Instrument, OrderEvent, ParentOrder, Portfolio, Position
from oms.services import OrderTerms, parent_order_cancel, parent_order_submit
from router.models import VenueMarkout
from tests.conftest import api_client_for
from tests.ems.market import market_set
from trading.clock import epoch_ns
from trading.enums import OrdType, Side, TimeInForce, Urgency
from trading.rfq import LastLookReport, Quote, QuoteRequestReject

pytestmark = pytest.mark.django_db

D = Decimal
OPTION_DEALERS = {"DLR-NB", "DLR-KF", "DLR-HM", "DLR-SL"}  # DLR-OC quotes equities only


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Iterator[Callable[[Callable[[], Any]], Any]]:
    """Run ``action`` and then its on-commit work (sends to the dealers, publishes), as a real commit would.

    What that work left in Redis (the stream, fills' markouts due) goes afterwards: the database rolls back, Redis does not.
    """

    def run(action: Callable[[], Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    yield run
    redis_client().delete(settings.GATEWAY_ORDER_STREAM, DUE_KEY)


def sent() -> list[dict[str, str]]:
    """Every message on the gateway's stream, oldest first."""
    return [fields for _, fields in redis_client().xrange(settings.GATEWAY_ORDER_STREAM)]


def sent_of(kind: str) -> list[dict[str, str]]:
    return [m for m in sent() if m.get("msg_type") == kind]


def option(put_call: str = "C", strike: int = 100) -> Instrument:
    return Instrument.objects.get(symbol__regex=rf"^ACME \d{{6}}{put_call}{strike * 1000:08d}$")


def order_for(instrument: Instrument, *, qty: str = "50", side: Side = Side.BUY, limit: str | None = None,
              strategy: str = "", params: dict[str, Any] | None = None, user: str = "pm1") -> ParentOrder:  # fmt: skip
    order, _ = parent_order_submit(
        user=User.objects.get(username=user),
        terms=OrderTerms(
            portfolio=Portfolio.objects.get(code="GROWTH"),
            instrument=instrument,
            side=side,
            ord_type=OrdType.LIMIT if limit else OrdType.MARKET,
            qty=D(qty),
            limit_px=D(limit) if limit else None,
            tif=TimeInForce.DAY,
            urgency=Urgency.MEDIUM,
            strategy=strategy,
            strategy_params=params or {},
        ),
    )
    return order


def started(commit: Callable[..., Any], order: ParentOrder) -> Rfq:
    redis_client().delete(settings.GATEWAY_ORDER_STREAM)
    commit(lambda: algos.execution_start(parent_id=order.pk))
    return Rfq.objects.get(parent=order)


def quote(rfq: Rfq, dealer: str, *, bid: str | None = None, offer: str | None = None, size: str = "50",
          life_s: float = 10, qid: str | None = None) -> dict[str, str]:  # fmt: skip
    now = epoch_ns(timezone.now())
    message = Quote(
        quote_id=qid or f"{dealer}-{rfq.pk}-{bid}-{offer}",
        quote_req_id=rfq.quote_req_id,
        dealer=dealer,
        symbol=rfq.parent.instrument.symbol,
        bid_px=D(bid) if bid else None,
        offer_px=D(offer) if offer else None,
        bid_size=D(size) if bid else D(0),
        offer_size=D(size) if offer else D(0),
        valid_until_ns=now + int(life_s * 1e9),
        transact_time_ns=now,
    )
    return {"msg_type": "S", **message.to_wire()}


def last_look(hit: dict[str, str], *, accepted: bool = True, leg_px: str = "", text: str = "") -> dict[str, str]:
    report = LastLookReport(
        quote_resp_id=hit["quote_resp_id"],
        quote_req_id=hit["quote_req_id"],
        quote_id=hit["quote_id"],
        dealer=hit["dealer"],
        accepted=accepted,
        last_qty=D(hit["order_qty"]),
        last_px=D(hit["price"]),
        exec_id=f"X-{hit['quote_resp_id']}",
        leg_px=leg_px,
        text=text,
    )
    return {"msg_type": "8", **report.to_wire()}


def apply(commit: Callable[..., Any], *messages: dict[str, str]) -> int:
    return int(commit(lambda: rfqs.rfq_apply(list(messages))))


def snapshot(rfq: Rfq) -> dict[str, Any]:
    rfq.refresh_from_db()
    return rfqs.rfq_snapshot(rfq)


# --- initiation and dissemination ------------------------------------------------------------------


def test_an_option_order_goes_to_rfq_and_each_covering_dealer_gets_only_its_own_anonymous_request(demo: None, commit: Any) -> None:
    # given a PM's order for 50 calls, left to the selection matrix
    market_set()
    order = order_for(option())

    # when its execution starts
    rfq = started(commit, order)

    # then the matrix chose RFQ, and the request went to the four dealers that quote options, not the equity house
    execution = Execution.objects.get(parent=order)
    assert (execution.strategy, execution.rule, execution.next_tick_at) == ("RFQ", "options", None)
    assert (rfq.state, rfq.initiator, rfq.qty) == ("OPEN", "MATRIX", D(50))
    assert set(rfq.dealers) == OPTION_DEALERS
    assert "does not cover OPTION" in rfq.selection["excluded"]["DLR-OC"]
    requests = sent_of("R")
    assert sorted(r["dealer"] for r in requests) == sorted(rfq.dealers)
    # each request names one dealer, the side and the size; never the portfolio, the PM or a rival
    for request in requests:
        text = json.dumps(request)
        assert "GROWTH" not in text
        assert "pm1" not in text
        assert not any(other in text for other in rfq.dealers if other != request["dealer"])
        assert (request["side"], request["order_qty"], request["firm"], request["legs"]) == ("BUY", "50", "", "[]")
        assert request["dealers_in_competition"] == "4"
    assert OrderEvent.objects.filter(parent=order, kind="RFQ_OPENED").exists()


def test_a_two_way_request_hides_the_side_and_a_package_sends_its_legs(demo: None, commit: Any) -> None:
    # given an order for the 100/110 call vertical, asked two-way
    market_set()
    vertical = Instrument.objects.get(structure="VERTICAL")
    order = order_for(vertical, qty="20", strategy="RFQ", params={"two_way": True})

    # when it starts
    rfq = started(commit, order)

    # then the dealers see no side, and the package's two legs as bought
    request = sent_of("R")[0]
    assert (request["side"], request["no_legs"]) == ("", "2")
    legs = json.loads(request["legs"])
    assert [(leg["leg_side"], leg["leg_ratio_qty"]) for leg in legs] == [("BUY", "1"), ("SELL", "1")]
    assert rfq.side == "TWO_WAY"


def test_an_rfq_that_cannot_open_stops_the_execution_with_the_reason_and_sends_nothing(demo: None, commit: Any) -> None:
    # given an option order that names only two dealers for an anonymous request (three are needed)
    market_set()
    order = order_for(option(), strategy="RFQ", params={"dealers": ["DLR-NB", "DLR-KF"]})

    # when it starts
    redis_client().delete(settings.GATEWAY_ORDER_STREAM)
    commit(lambda: algos.execution_start(parent_id=order.pk))

    # then nothing was asked and the execution says why
    execution = Execution.objects.get(parent=order)
    assert execution.status == Execution.STOPPED
    assert not Rfq.objects.filter(parent=order).exists()
    assert sent_of("R") == []
    assert OrderEvent.objects.get(parent=order, kind="EXECUTION_STOPPED").reason.startswith("cannot ask dealers: too few dealers")


# --- the ladder, the click and the last look ----------------------------------------------------------


def test_quotes_build_the_ladder_best_first_and_a_click_trades_the_whole_order_with_that_dealer(demo: None, commit: Any) -> None:
    # given an open request for 50 calls and three offers, one dealer declining
    market_set()
    order = order_for(option())
    rfq = started(commit, order)
    applied = apply(
        commit,
        quote(rfq, "DLR-KF", offer="5.10"),
        quote(rfq, "DLR-NB", offer="4.95"),
        quote(rfq, "DLR-HM", offer="5.00"),
        {"msg_type": "AG", **QuoteRequestReject(rfq.quote_req_id, "DLR-SL", "PASS", "no axe").to_wire()},
    )
    assert applied == 4

    # then the ladder shows the offers lowest first, with the theoretical mid and each quote's time left
    ladder = snapshot(rfq)["ladder"]
    assert [(row["dealer"], row["px"]) for row in ladder["offers"]] == [("DLR-NB", "4.95"), ("DLR-HM", "5.00"), ("DLR-KF", "5.10")]
    assert (ladder["bids"], ladder["mid_source"]) == ([], "THEORETICAL")
    assert ladder["mid"] is not None
    assert all(0 < row["time_left_ms"] <= 10_000 for row in ladder["offers"])
    assert snapshot(rfq)["declines"][0]["dealer"] == "DLR-SL"

    # when the trader clicks the best offer
    client = api_client_for("trader1")
    best = ladder["offers"][0]["quote_id"]
    response = commit(lambda: client.post(f"/api/rfqs/{rfq.pk}/hit/", {"quote_id": best}, format="json"))
    assert response.status_code == 202, response.content
    hits = sent_of("AJ")
    assert [(h["dealer"], h["quote_id"], h["side"], h["order_qty"], h["price"]) for h in hits] == [
        ("DLR-NB", best, "BUY", "50", "4.95")
    ]

    # and the dealer accepts on last look
    apply(commit, last_look(hits[0]))

    # then the order is filled with that dealer, booked once, and the rest are told they were traded away
    order.refresh_from_db()
    rfq.refresh_from_db()
    assert (order.status, order.filled_qty, order.avg_px) == ("FILLED", D(50), D("4.95"))
    assert (rfq.state, rfq.filled_qty) == ("FILLED", D(50))
    fill = Fill.objects.get(parent=order)
    assert (fill.venue, fill.qty, fill.px) == ("DLR-NB", D(50), D("4.95"))
    # with the option's theoretical value as its mid, the benchmark of the fill's effective spread
    assert fill.mid_px is not None
    assert D("4") < fill.mid_px < D("6"), fill.mid_px
    position = Position.objects.get(portfolio__code="GROWTH", instrument=option())
    assert (position.qty, position.cost_basis) == (D(50), D("247.50"))
    assert Execution.objects.get(parent=order).status == Execution.DONE
    statuses = {m["dealer"]: m["quote_status"] for m in sent_of("AI")}
    assert statuses == {"DLR-NB": "EXECUTED", "DLR-KF": "TRADED_AWAY", "DLR-HM": "TRADED_AWAY"}
    # and each dealer asked has one more request on its record; the winner one more win
    records = {s.venue.code: s for s in DealerScore.objects.select_related("venue")}
    assert {code: r.requests for code, r in records.items()} == dict.fromkeys(OPTION_DEALERS, 1)
    assert (records["DLR-NB"].wins, records["DLR-KF"].wins, records["DLR-SL"].responses) == (1, 0, 0)

    # and a redelivered last look changes nothing
    assert apply(commit, last_look(hits[0])) == 0
    assert Fill.objects.filter(parent=order).count() == 1

    # and the fill's markouts are due; the 30-second one joins the winner's record, not the router's venue scores
    due = {m.decode() if isinstance(m, bytes) else m for m in redis_client().zrange(DUE_KEY, 0, -1)}
    assert due >= {f"{fill.pk}:{h}" for h in (1, 5, 30, 60)}
    markouts_record([(fill.pk, 30)])
    score = DealerScore.objects.get(venue__code="DLR-NB")
    assert score.markouts == 1
    assert not VenueMarkout.objects.filter(venue__code="DLR-NB").exists()


def test_a_click_on_an_expired_quote_is_refused_with_the_reason_and_sends_nothing(demo: None, commit: Any) -> None:
    # given an open request whose only quote lived 200 ms, now past
    market_set()
    rfq = started(commit, order_for(option()))
    apply(commit, quote(rfq, "DLR-KF", offer="5.10", life_s=0.2, qid="Q-SHORT"))
    time.sleep(0.3)
    before = snapshot(rfq)
    stream_before = len(sent())

    # when the trader clicks it
    response = api_client_for("trader1").post(f"/api/rfqs/{rfq.pk}/hit/", {"quote_id": "Q-SHORT"}, format="json")

    # then it is refused, saying why; nothing went to the dealer and the request is as it was
    assert response.status_code == 409
    assert "expired" in response.json()["error"]["message"]
    assert len(sent()) == stream_before
    after = snapshot(rfq)
    assert (after["version"], after["hits"], after["state"]) == (before["version"], [], "OPEN")


def test_a_click_past_the_orders_limit_is_refused(demo: None, commit: Any) -> None:
    market_set()
    rfq = started(commit, order_for(option(), limit="5.00"))
    apply(commit, quote(rfq, "DLR-KF", offer="5.10", qid="Q-HIGH"))
    response = api_client_for("trader1").post(f"/api/rfqs/{rfq.pk}/hit/", {"quote_id": "Q-HIGH"}, format="json")
    assert response.status_code == 409
    assert "past the order's limit 5" in response.json()["error"]["message"]
    assert sent_of("AJ") == []


def test_the_best_quote_reaching_the_threshold_executes_at_once(demo: None, commit: Any) -> None:
    # given a request that executes automatically at 5.00 or better
    market_set()
    rfq = started(commit, order_for(option(), strategy="RFQ", params={"threshold_px": "5.00"}))

    # when a quote above it lands, nothing trades; when one at it lands, it is lifted
    apply(commit, quote(rfq, "DLR-KF", offer="5.10"))
    assert sent_of("AJ") == []
    apply(commit, quote(rfq, "DLR-HM", offer="5.00"))
    hits = sent_of("AJ")
    assert [(h["dealer"], h["price"], h["order_qty"]) for h in hits] == [("DLR-HM", "5.00", "50")]
    rfq.refresh_from_db()
    assert rfq.state == "EXECUTING"


def test_a_last_look_reject_reopens_the_request_and_books_nothing(demo: None, commit: Any) -> None:
    # given a hit on the best of two quotes
    market_set()
    order = order_for(option())
    rfq = started(commit, order)
    apply(commit, quote(rfq, "DLR-HM", offer="4.95", qid="Q-HM"), quote(rfq, "DLR-KF", offer="5.10", qid="Q-KF"))
    commit(lambda: rfqs.rfq_hit(rfq_id=rfq.pk, quote_id="Q-HM", actor="trader1"))
    hit = sent_of("AJ")[-1]

    # when the dealer rejects it on last look
    apply(commit, last_look(hit, accepted=False, text="MARKET_MOVED"))

    # then nothing is booked, the request is open again with the other quote still on the ladder
    order.refresh_from_db()
    view = snapshot(rfq)
    assert (order.filled_qty, Fill.objects.filter(parent=order).count()) == (D(0), 0)
    assert view["state"] == "OPEN"
    assert [row["quote_id"] for row in view["ladder"]["offers"]] == ["Q-KF"]
    assert [(h["accepted"], h["reason"]) for h in view["hits"]] == [(False, "MARKET_MOVED")]
    assert DealerScore.objects.count() == 0  # scored once the request ends


def test_a_request_allowing_partial_fills_fills_across_two_dealers(demo: None, commit: Any) -> None:
    # given a request for 50 that may fill in parts, and two offers of 30
    market_set()
    order = order_for(option(), strategy="RFQ", params={"allow_partial": True})
    rfq = started(commit, order)
    apply(
        commit,
        quote(rfq, "DLR-NB", offer="4.95", size="30", qid="Q-NB"),
        quote(rfq, "DLR-KF", offer="5.00", size="30", qid="Q-KF"),
    )

    # when the trader takes the best for its 30, then the next for the 20 left
    client = api_client_for("trader1")
    assert commit(lambda: client.post(f"/api/rfqs/{rfq.pk}/hit/", {"quote_id": "Q-NB"}, format="json")).status_code == 202
    apply(commit, last_look(sent_of("AJ")[-1]))
    assert commit(lambda: client.post(f"/api/rfqs/{rfq.pk}/hit/", {"quote_id": "Q-KF"}, format="json")).status_code == 202
    second = sent_of("AJ")[-1]
    assert second["order_qty"] == "20"
    apply(commit, last_look(second))

    # then the order is filled from both, at the size-weighted price
    order.refresh_from_db()
    fills = [(f.venue, f.qty, f.px) for f in Fill.objects.filter(parent=order)]
    assert fills == [("DLR-NB", D(30), D("4.95")), ("DLR-KF", D(20), D("5.00"))]
    assert (order.status, order.avg_px) == ("FILLED", D("4.97"))
    assert Rfq.objects.get(pk=rfq.pk).state == "FILLED"


# --- packages: fills book to each leg ---------------------------------------------------------------


def test_a_package_fill_books_each_leg_exactly(demo: None, commit: Any) -> None:
    # given 20 of the butterfly (buy C95, sell 2 C100, buy C105) filled at 1.45
    market_set()
    fly = Instrument.objects.get(structure="BUTTERFLY")
    order = order_for(fly, qty="20")
    rfq = started(commit, order)
    apply(commit, quote(rfq, "DLR-SL", offer="1.45", size="20", qid="Q-FLY"))
    commit(lambda: rfqs.rfq_hit(rfq_id=rfq.pk, quote_id="Q-FLY", actor="trader1"))
    hit = sent_of("AJ")[-1]
    cash_before = Portfolio.objects.get(code="GROWTH").cash

    # when the dealer fills it with leg prices 8.05, 4.20, 1.80 (8.05 - 2 x 4.20 + 1.80 = 1.45)
    apply(commit, last_look(hit, leg_px="8.05 4.20 1.80"))

    # then the fill is one package fill, its three legs booked to three positions, and cash moved by the package price
    order.refresh_from_db()
    assert (order.status, order.avg_px) == ("FILLED", D("1.45"))
    legs = list(FillLeg.objects.filter(fill__parent=order).select_related("instrument"))
    assert [(leg.instrument.strike, leg.side, leg.qty, leg.px) for leg in legs] == [
        (D(95), "BUY", D(20), D("8.05")),
        (D(100), "SELL", D(40), D("4.20")),
        (D(105), "BUY", D(20), D("1.80")),
    ]
    held = Position.objects.filter(portfolio__code="GROWTH", instrument__asset_class="OPTION")
    positions = {p.instrument.strike: p.qty for p in held}
    assert positions == {D(95): D(20), D(100): D(-40), D(105): D(20)}
    assert not Position.objects.filter(instrument=fly).exists()
    assert Portfolio.objects.get(code="GROWTH").cash == cash_before - D("1.45") * 20 * 100


def test_leg_prices_that_do_not_make_the_package_price_are_not_booked(demo: None, commit: Any) -> None:
    market_set()
    order = order_for(Instrument.objects.get(structure="VERTICAL"), qty="10")
    rfq = started(commit, order)
    apply(commit, quote(rfq, "DLR-SL", offer="3.10", size="10", qid="Q-V"))
    commit(lambda: rfqs.rfq_hit(rfq_id=rfq.pk, quote_id="Q-V", actor="trader1"))

    # when the dealer reports legs that make 3.05, not the 3.10 agreed
    apply(commit, last_look(sent_of("AJ")[-1], leg_px="4.00 0.95"))

    # then nothing is booked and the hit counts as not filled
    order.refresh_from_db()
    assert (order.filled_qty, Fill.objects.filter(parent=order).count(), FillLeg.objects.count()) == (D(0), 0, 0)
    assert "not the price 3.10" in snapshot(rfq)["hits"][0]["reason"]


# --- time, cancel and asking again -------------------------------------------------------------------


def test_the_window_expires_the_request_and_the_trader_may_ask_again(demo: None, commit: Any) -> None:
    # given an open request with one quote good for a minute, its window of 30 s
    market_set()
    order = order_for(option())
    rfq = started(commit, order)
    apply(commit, quote(rfq, "DLR-KF", offer="5.10", life_s=60))

    # when its wake-up runs after the window
    commit(lambda: rfqs.rfq_wake(rfq_id=rfq.pk, now=timezone.now() + timedelta(seconds=31)))

    # then it expired, the quote passed, the execution stopped saying what is left; the order still works
    rfq.refresh_from_db()
    order.refresh_from_db()
    assert (rfq.state, order.status) == ("EXPIRED", "NEW")
    assert [m["quote_status"] for m in sent_of("AI")] == ["PASSED"]
    assert "50 left: ask again or cancel" in OrderEvent.objects.get(parent=order, kind="EXECUTION_STOPPED").reason

    # when the trader asks again with their own choice of dealers
    response = api_client_for("trader1").post(
        "/api/rfqs/", {"order": order.pk, "dealers": ["DLR-SL", "DLR-KF", "DLR-NB"], "window_seconds": 20}, format="json"
    )

    # then a second request opens, the trader's
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["initiator"], body["dealers"], body["state"]) == ("TRADER", ["DLR-SL", "DLR-KF", "DLR-NB"], "OPEN")
    assert Execution.objects.get(parent=order).status == Execution.RUNNING


def test_the_api_refuses_bad_rfq_input_with_the_field_and_stores_nothing(demo: None, commit: Any) -> None:
    market_set()
    order = order_for(option(), strategy="RFQ", params={"dealers": ["DLR-NB", "DLR-KF"]})  # stops: too few
    commit(lambda: algos.execution_start(parent_id=order.pk))
    client = api_client_for("trader1")
    cases = [
        ({"order": order.pk, "window_seconds": 0}, "window_seconds"),
        ({"order": order.pk, "threshold_px": "5.03"}, None),  # off the 0.05 tick
        ({"order": order.pk, "dealers": ["DLR-XX", "DLR-KF", "DLR-NB"]}, None),
        ({"order": order.pk, "dealers": ["DLR-OC", "DLR-KF", "DLR-NB"]}, None),  # no options
    ]
    for body, field in cases:
        response = client.post("/api/rfqs/", body, format="json")
        assert response.status_code == 400, (body, response.content)
        error = response.json()["error"]
        if field:
            assert field in error["fields"]
    assert not Rfq.objects.exists()
    # another PM's order is not theirs to quote
    response = api_client_for("pm2").post("/api/rfqs/", {"order": order.pk}, format="json")
    assert response.status_code == 400
    assert "order" in response.json()["error"]["fields"]


def test_a_pm_sees_only_the_requests_of_their_portfolios(demo: None, commit: Any) -> None:
    market_set()
    rfq = started(commit, order_for(option()))
    assert api_client_for("pm2").get(f"/api/rfqs/{rfq.pk}/").status_code == 404
    mine = api_client_for("pm1").get("/api/rfqs/?active=true").json()
    rows = mine["results"] if isinstance(mine, dict) else mine
    assert [row["id"] for row in rows] == [rfq.pk]


def test_cancelling_the_order_withdraws_its_open_request(demo: None, commit: Any) -> None:
    market_set()
    order = order_for(option())
    rfq = started(commit, order)
    apply(commit, quote(rfq, "DLR-KF", offer="5.10"))

    commit(lambda: parent_order_cancel(parent_id=order.pk, actor="trader1"))
    commit(lambda: algos.execution_cancel(parent_id=order.pk, actor="trader1"))

    rfq.refresh_from_db()
    order.refresh_from_db()
    assert (rfq.state, order.status) == ("CANCELLED", "CANCELED")
    assert [m["quote_status"] for m in sent_of("AI")] == ["PASSED"]


def test_a_cancel_waits_for_a_pending_last_look_and_a_fill_it_brings_is_booked(demo: None, commit: Any) -> None:
    # given a hit waiting for the dealer's last look
    market_set()
    order = order_for(option())
    rfq = started(commit, order)
    apply(commit, quote(rfq, "DLR-KF", offer="5.10", qid="Q-KF"))
    commit(lambda: rfqs.rfq_hit(rfq_id=rfq.pk, quote_id="Q-KF", actor="trader1"))

    # when the order is cancelled meanwhile, it waits
    commit(lambda: parent_order_cancel(parent_id=order.pk, actor="trader1"))
    commit(lambda: algos.execution_cancel(parent_id=order.pk, actor="trader1"))
    order.refresh_from_db()
    assert order.status == "PENDING_CANCEL"

    # and when the dealer fills, the fill is booked and the order ends filled
    apply(commit, last_look(sent_of("AJ")[-1]))
    order.refresh_from_db()
    assert (order.status, order.filled_qty) == ("FILLED", D(50))


def test_a_lost_wake_up_is_repaired_by_the_sweep(demo: None, commit: Any) -> None:
    market_set()
    rfq = started(commit, order_for(option()))
    Rfq.objects.filter(pk=rfq.pk).update(wakeup_at=timezone.now() - timedelta(minutes=1))
    woken = rfqs.rfqs_overdue(now=timezone.now() + timedelta(seconds=40), late_s=5)
    assert woken == 1
    assert Rfq.objects.get(pk=rfq.pk).state == "EXPIRED"


def test_an_rfq_fill_streams_to_the_blotter_with_the_order_row(demo: None, commit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # given what the blotters would hear, and an open request with one offer
    heard: list[dict[str, Any]] = []
    monkeypatch.setattr("ems.publish._send", lambda portfolio_id, message: heard.append(message))
    market_set()
    order = order_for(option())
    rfq = started(commit, order)
    apply(commit, quote(rfq, "DLR-NB", offer="4.95"))
    assert any(m["type"] == "order" and m["order"]["execution_strategy"] == "RFQ" for m in heard)  # the row says RFQ

    # when the trader clicks it and the dealer accepts
    best = snapshot(rfq)["ladder"]["offers"][0]["quote_id"]
    commit(lambda: api_client_for("trader1").post(f"/api/rfqs/{rfq.pk}/hit/", {"quote_id": best}, format="json"))
    heard.clear()
    apply(commit, last_look(sent_of("AJ")[0]))

    # then the blotters hear the fill with the order filled, as an algo's fill does
    fills = [m for m in heard if m["type"] == "fill"]
    assert len(fills) == 1
    assert (fills[0]["fill"]["venue"], fills[0]["fill"]["px"]) == ("DLR-NB", "4.95000000")
    assert (fills[0]["order"]["id"], fills[0]["order"]["status"]) == (order.pk, "FILLED")
