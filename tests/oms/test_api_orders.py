"""POST /api/orders/: good orders are stored and started; bad ones get a 4xx naming the field and change nothing."""

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from oms.models import Fill, OrderEvent, ParentOrder, Position
from tests.conftest import api_client_for

GOOD = {"portfolio": "GROWTH", "instrument": "ACME", "side": "BUY", "qty": "100", "ord_type": "LIMIT", "limit_px": "101.50"}


def _nothing_created() -> None:
    assert ParentOrder.objects.count() == 0
    assert OrderEvent.objects.count() == 0
    assert Fill.objects.count() == 0


def test_good_order_is_stored_accepted_and_its_execution_requested(demo: None, django_capture_on_commit_callbacks: Any) -> None:
    # given a PM
    client = api_client_for("pm1")
    positions_before = list(Position.objects.values_list("qty", flat=True))

    # when they submit a good order
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/api/orders/", GOOD, format="json")

    # then it is stored as NEW with its events, and its execution is started on commit
    assert response.status_code == 201
    body = response.json()
    order = ParentOrder.objects.get(pk=body["id"])
    assert (order.status, order.qty, order.limit_px, order.created_by.username) == ("NEW", Decimal("100"), Decimal("101.50"), "pm1")
    assert body["leaves_qty"] == "100.0000"
    assert list(order.events.values_list("kind", "status_after")) == [
        ("SUBMITTED", "PENDING_NEW"),
        ("RISK_CHECK", ""),
        ("ACCEPT", "NEW"),
    ]
    assert len(callbacks) >= 1  # the execution start, run once the transaction commits
    assert list(Position.objects.values_list("qty", flat=True)) == positions_before


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"qty": "-5"}, "qty", "greater than 0"),
        ({"qty": "0"}, "qty", "greater than 0"),
        ({"qty": "abc"}, "qty", "valid number"),
        ({"qty": "10.5"}, "qty", "lot size"),
        ({"instrument": "NOPE"}, "instrument", "does not exist"),
        ({"limit_px": "101.505"}, "limit_px", "tick size"),
        ({"limit_px": "-1"}, "limit_px", "greater than 0"),
        ({"limit_px": None}, "limit_px", "needs `limit_px`"),
        ({"ord_type": "MARKET"}, "limit_px", "takes no `limit_px`"),
        ({"side": "SHORT"}, "side", "not a valid choice"),
        ({"portfolio": "VALUE"}, "portfolio", "does not exist"),  # another PM's portfolio reads as unknown
    ],
)
def test_bad_order_is_rejected_with_field_and_reason_and_creates_nothing(
    demo: None, change: dict[str, Any], field: str, words: str
) -> None:
    # given a PM
    client = api_client_for("pm1")

    # when they submit an order with one bad field
    response = client.post("/api/orders/", {**GOOD, **change}, format="json")

    # then a 400 names the field and the reason, and nothing was created
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["status"] == 400
    assert field in error["fields"]
    assert words in " ".join(error["fields"][field])
    _nothing_created()


def test_float_quantities_in_json_are_read_exactly(demo: None) -> None:
    # given a JSON body with numbers, not strings
    client = api_client_for("pm1")

    # when it is posted
    response = client.post("/api/orders/", '{"portfolio":"GROWTH","instrument":"ACME","side":"SELL","qty":300,"limit_px":101.07}',
                           content_type="application/json")  # fmt: skip

    # then the price is exactly the decimal written, never a binary float
    assert response.status_code == 201, response.content
    assert ParentOrder.objects.get().limit_px == Decimal("101.07")


def test_malformed_json_is_a_400_and_creates_nothing(demo: None) -> None:
    response = api_client_for("pm1").post("/api/orders/", '{"qty": 1', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert "malformed JSON" in response.json()["error"]["message"]
    _nothing_created()


@pytest.mark.parametrize("header", [None, "Token not-a-real-token"])
def test_missing_or_bad_auth_is_a_401_and_creates_nothing(demo: None, header: str | None) -> None:
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.post("/api/orders/", GOOD, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["status"] == 401
    _nothing_created()


def test_risk_role_may_not_submit(demo: None) -> None:
    response = api_client_for("risk1").post("/api/orders/", GOOD, format="json")
    assert response.status_code == 403
    _nothing_created()


def test_retry_with_the_same_cl_ord_id_returns_the_first_order(demo: None) -> None:
    # given an order sent with a client order id
    client = api_client_for("pm1")
    first = client.post("/api/orders/", {**GOOD, "cl_ord_id": "pm1-0001"}, format="json")

    # when the client retries it, and then reuses the id for different terms
    retry = client.post("/api/orders/", {**GOOD, "cl_ord_id": "pm1-0001"}, format="json")
    conflict = client.post("/api/orders/", {**GOOD, "qty": "200", "cl_ord_id": "pm1-0001"}, format="json")

    # then the retry returns the same order, the conflict is refused, and one order exists
    assert (first.status_code, retry.status_code, conflict.status_code) == (201, 200, 409)
    assert retry.json()["id"] == first.json()["id"]
    assert "cl_ord_id" in conflict.json()["error"]["fields"]
    assert ParentOrder.objects.count() == 1


def test_pm_sees_only_own_portfolios_orders(demo: None) -> None:
    # given an order in each PM's portfolio
    api_client_for("pm1").post("/api/orders/", GOOD, format="json")
    api_client_for("pm2").post(
        "/api/orders/", {**GOOD, "portfolio": "VALUE", "instrument": "GLOBX", "limit_px": "44.20"}, format="json"
    )
    theirs = ParentOrder.objects.get(portfolio__code="VALUE")

    # when pm1 lists orders and asks for pm2's
    listed = api_client_for("pm1").get("/api/orders/").json()["results"]
    other = api_client_for("pm1").get(f"/api/orders/{theirs.pk}/")

    # then pm1 sees only GROWTH, and pm2's order is not found; a trader sees both
    assert [o["portfolio"] for o in listed] == ["GROWTH"]
    assert other.status_code == 404
    assert len(api_client_for("trader1").get("/api/orders/").json()["results"]) == 2
