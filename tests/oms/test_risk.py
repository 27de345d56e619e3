"""Pre-trade risk through the API: each rule refuses with its code and a PM's words and stores nothing; a pass is logged.

The rules' arithmetic is tested without a database (tests/core/test_risk.py);
these check the shell: which limits apply to an order, what exposure it reads,
the error a PM gets, the event log, amends, and that two concurrent orders
cannot both pass a limit they breach together (PostgreSQL).
"""

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections

from config.redis import redis_client
from oms import ports, services
from oms.models import Fill, Instrument, OrderEvent, ParentOrder, Portfolio, Position, Restriction, RiskLimit
from tests.conftest import api_client_for
from trading.enums import OrdType, Side, TimeInForce, Urgency

D = Decimal
ORDER = {"portfolio": "GROWTH", "instrument": "ACME", "side": "BUY", "qty": "1000", "ord_type": "LIMIT", "limit_px": "100.00"}


@pytest.fixture
def no_limits(demo: None) -> None:
    """The demo without its limits: each test sets the one it checks."""
    RiskLimit.objects.all().delete()


def _snapshot() -> tuple[int, ...]:
    return (
        ParentOrder.objects.count(),
        OrderEvent.objects.count(),
        Fill.objects.count(),
        Position.objects.count(),
        *Portfolio.objects.order_by("pk").values_list("cash", flat=True),
    )


def _submit(body: dict[str, Any], user: str = "pm1") -> Any:
    return api_client_for(user).post("/api/orders/", body, format="json")


def _refused(response: Any, code: str) -> dict[str, Any]:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "order_rejected"
    assert code in [detail["code"] for detail in error["details"]], error
    return error


@pytest.mark.parametrize(
    ("limit", "body", "code", "field", "words"),
    [
        ({"max_order_qty": D(999)}, {}, "MAX_QTY", "qty", "over the per-order limit of 999"),
        ({"max_order_notional": D(99_999)}, {}, "MAX_NOTIONAL", "qty", "100,000.00 USD is over the per-order limit"),
        ({"collar_bps": D(500)}, {"limit_px": "106.58"}, "PRICE_COLLAR", "limit_px", "the collar is 500 bps"),
        ({"max_position_qty": D(10_999)}, {}, "POSITION_LIMIT", "qty", "10,999"),  # GROWTH holds 10,000 ACME
        ({"credit_limit": D(99_999)}, {}, "CREDIT_LIMIT", "non_field_errors", "credit"),
        ({"daily_notional": D(99_999)}, {}, "DAILY_NOTIONAL", "non_field_errors", "today"),
    ],
)
def test_an_order_over_a_limit_is_refused_with_its_code_and_reason_and_stores_nothing(
    no_limits: None, limit: dict[str, Any], body: dict[str, Any], code: str, field: str, words: str
) -> None:
    # given the firm's limit, and an order of 1,000 ACME at 100.00 just over it
    RiskLimit.objects.create(**limit)
    before = _snapshot()
    # when a PM submits it
    response = _submit({**ORDER, **body})
    # then it is refused, naming the check, the field and the numbers, and nothing is stored
    error = _refused(response, code)
    assert any(words in message for message in error["fields"][field]), error
    assert _snapshot() == before


def test_an_order_at_its_limits_passes_and_logs_every_check(no_limits: None) -> None:
    # given limits the order meets exactly
    RiskLimit.objects.create(max_order_qty=D(1000), max_order_notional=D(100_000), max_position_qty=D(11_000))
    # when it is submitted
    response = _submit(ORDER)
    # then it is accepted, and its event log holds each check's outcome with the value and the limit
    assert response.status_code == 201, response.content
    event = OrderEvent.objects.get(parent_id=response.json()["id"], kind="RISK_CHECK")
    outcomes = {o["check"]: (o["passed"], o["value"], o["limit"]) for o in event.data["outcomes"]}
    assert outcomes["MAX_QTY"] == (True, "1000", "1000")
    assert outcomes["MAX_NOTIONAL"] == (True, "100000", "100000")
    assert outcomes["POSITION_LIMIT"] == (True, "11000", "11000")
    assert outcomes["KILL_SWITCH"][0]
    assert outcomes["RESTRICTED"][0]


def test_the_strictest_limit_of_the_scopes_covering_the_order_applies(no_limits: None) -> None:
    # given a loose firm limit, a tighter one for the portfolio, and a tighter still for another portfolio
    acme = Instrument.objects.get(symbol="ACME")
    RiskLimit.objects.create(max_order_qty=D(5000))
    RiskLimit.objects.create(portfolio=Portfolio.objects.get(code="GROWTH"), instrument=acme, max_order_qty=D(2000))
    RiskLimit.objects.create(portfolio=Portfolio.objects.get(code="VALUE"), max_order_qty=D(10))
    RiskLimit.objects.create(max_order_qty=D(1), active=False)
    # when GROWTH orders 2,000 then 2,001
    at, over = _submit({**ORDER, "qty": "2000"}), _submit({**ORDER, "qty": "2001"})
    # then the GROWTH/ACME limit applies: neither VALUE's nor the inactive row
    assert at.status_code == 201
    _refused(over, "MAX_QTY")


def test_a_restricted_stock_refuses_its_options_too(no_limits: None) -> None:
    # given ACME on the restricted list
    Restriction.objects.create(instrument=Instrument.objects.get(symbol="ACME"), reason="pending merger")
    option = Instrument.objects.filter(underlying__symbol="ACME", structure="").first()
    assert option is not None
    before = _snapshot()
    # when a PM orders ACME, and an ACME option
    stock = _submit(ORDER)
    derivative = _submit({**ORDER, "instrument": option.symbol, "qty": "1", "limit_px": None, "ord_type": "MARKET"})
    # then both are refused with the list's reason
    for response in (stock, derivative):
        error = _refused(response, "RESTRICTED")
        assert "pending merger" in " ".join(error["fields"]["instrument"])
    assert _snapshot() == before


def test_a_duplicate_within_the_window_is_refused_unless_confirmed(no_limits: None) -> None:
    # given a 60 s duplicate window, and an order sent once
    RiskLimit.objects.create(duplicate_seconds=60)
    first = _submit(ORDER)
    assert first.status_code == 201
    # when the same order is sent again, then again with allow_duplicate
    again = _submit(ORDER)
    confirmed = _submit({**ORDER, "allow_duplicate": True})
    # then the second is refused naming the first; the confirmed one passes
    error = _refused(again, "DUPLICATE")
    assert f"#{first.json()['id']}" in error["message"]
    assert confirmed.status_code == 201


def test_the_throttle_refuses_orders_past_the_rate(no_limits: None) -> None:
    # given at most 2 orders in 60 s
    RiskLimit.objects.create(max_orders=2, per_seconds=60)
    # when three are sent
    responses = [_submit({**ORDER, "qty": str(100 * n)}) for n in (1, 2, 3)]
    # then the third is throttled
    assert [r.status_code for r in responses[:2]] == [201, 201]
    _refused(responses[2], "THROTTLE")


def test_a_market_order_with_no_reference_price_cannot_be_notional_checked(no_limits: None) -> None:
    # given a notional limit, and an instrument with neither a live mark nor a reference price
    RiskLimit.objects.create(max_order_notional=D(1_000_000))
    Instrument.objects.filter(symbol="ACME").update(ref_px=0)
    redis_client().delete("md:nbbo:ACME")  # a market another test left in the cache would mark it
    # when a PM sends a market order
    response = _submit({**ORDER, "ord_type": "MARKET", "limit_px": None})
    # then it is refused: its notional is unknown
    _refused(response, "NO_REFERENCE_PRICE")


def test_an_amend_past_a_limit_is_refused_and_changes_nothing(no_limits: None) -> None:
    # given a working order inside its limit
    RiskLimit.objects.create(max_order_qty=D(1500))
    order = ParentOrder.objects.get(pk=_submit(ORDER).json()["id"])
    events = order.events.count()
    # when the PM amends it past the limit
    response = api_client_for("pm1").post(f"/api/orders/{order.pk}/amend/", {"qty": "2000"}, format="json")
    # then the amend is refused and the order is as it was
    _refused(response, "MAX_QTY")
    order.refresh_from_db()
    assert (order.qty, order.status, order.events.count()) == (D(1000), "NEW", events)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_orders_that_together_breach_the_credit_limit_do_not_both_pass(
    demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks under real concurrency: PostgreSQL (SQLite runs one writer at a time anyway)")
    # given a credit limit that fits one order of 100,000 but not two
    RiskLimit.objects.all().delete()
    RiskLimit.objects.create(credit_limit=D(150_000))
    monkeypatch.setattr(ports.execution, "start", lambda parent_id: None)  # no worker: the orders only need storing
    user = User.objects.get(username="pm1")
    terms = services.OrderTerms(
        portfolio=Portfolio.objects.get(code="GROWTH"),
        instrument=Instrument.objects.get(symbol="ACME"),
        side=Side.BUY,
        ord_type=OrdType.LIMIT,
        qty=D(1000),
        limit_px=D("100.00"),
        tif=TimeInForce.DAY,
        urgency=Urgency.MEDIUM,
    )
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(n: int) -> None:
        try:
            start.wait()
            services.parent_order_submit(user=user, terms=terms, cl_ord_id=f"race-{n}")
            outcomes.append("accepted")
        except services.OrderRejected as rejected:
            outcomes.append(rejected.errors[0].code)
        finally:
            connections.close_all()

    # when both are submitted at once, each on its own connection
    threads = [threading.Thread(target=submit, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then exactly one passes; the other sees it and is refused
    assert sorted(outcomes) == ["CREDIT_LIMIT", "accepted"]
    assert ParentOrder.objects.filter(cl_ord_id__startswith="race-").count() == 1
