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
