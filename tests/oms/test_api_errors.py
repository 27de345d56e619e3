"""A failure inside the API answers the one error body and never shows a stack trace or the exception's text."""

import pytest

from oms.api.views import PositionViewSet
from tests.conftest import api_client_for


def test_a_server_error_says_only_that_it_failed(demo: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a view that fails with an exception carrying internal detail
    def broken(self: PositionViewSet) -> None:
        raise RuntimeError("password=hunter2 at db-internal-7")

    monkeypatch.setattr(PositionViewSet, "get_queryset", broken)
    client = api_client_for("pm1")
    client.raise_request_exception = False
    # when a PM calls it
    response = client.get("/api/positions/")
    # then a 500 in the error format, with nothing of the exception or the code
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "status": 500,
            "code": "server_error",
            "message": "the server failed to handle the request; it is logged: retry, or tell the desk if it persists",
            "fields": {},
        }
    }
    assert b"hunter2" not in response.content
    assert b"Traceback" not in response.content


def test_a_browser_session_cannot_post_without_the_csrf_token(demo: None) -> None:
    # given a PM logged in to the web blotter (a session cookie), on a client that checks CSRF as a browser's server would
    from django.contrib.auth.models import User
    from django.test import Client

    from oms.models import ParentOrder

    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="pm1"))
    body = {"portfolio": "GROWTH", "instrument": "ACME", "side": "BUY", "qty": "100", "ord_type": "LIMIT", "limit_px": "101.50"}
    # when a page elsewhere makes the browser post an order with that cookie and no token
    forged = client.post("/api/orders/", body, content_type="application/json")
    # then it is refused and nothing is stored; with the token (as the blotter sends it) it passes
    assert forged.status_code == 403
    assert "CSRF" in forged.json()["error"]["message"]
    assert not ParentOrder.objects.exists()
    client.get("/")  # the blotter page sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    assert client.post("/api/orders/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token).status_code == 201
