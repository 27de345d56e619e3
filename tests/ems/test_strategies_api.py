"""GET /api/strategies/: the strategies an order may name and each one's parameters, for the order ticket."""

from typing import Any

from rest_framework.test import APIClient

from ems.core.algos import SPECS, Strategy
from tests.conftest import api_client_for


def _strategies(user: str = "pm1") -> list[dict[str, Any]]:
    response = api_client_for(user).get("/api/strategies/")
    assert response.status_code == 200, response.content
    body: list[dict[str, Any]] = response.json()
    return body


def test_every_strategy_is_listed_in_order_with_its_declared_parameters(demo: None) -> None:
    # when a PM asks
    strategies = _strategies()

    # then every strategy is there, IMMEDIATE first and RFQ last, each with the parameters SPECS declares, in order
    assert [s["name"] for s in strategies] == [s.value for s in Strategy]
    assert [s["name"] for s in strategies] == ["IMMEDIATE", "TWAP", "VWAP", "POV", "IS", "DARK", "RFQ"]
    for listed in strategies:
        assert [p["name"] for p in listed["params"]] == [spec.name for spec in SPECS[Strategy(listed["name"])]]
    scheduled = {s["name"] for s in strategies if s["scheduled"]}
    assert scheduled == {"TWAP", "VWAP", "POV", "IS"}
    assert next(s for s in strategies if s["name"] == "IMMEDIATE")["params"] == []


def test_each_parameter_has_its_kind_default_help_range_and_whether_it_may_be_amended(demo: None) -> None:
    # when
    params = {s["name"]: {p["name"]: p for p in s["params"]} for s in _strategies("trader1")}

    # then decimals are exact strings, ints and booleans are themselves, a list is a list, and no bound is null
    assert params["TWAP"]["slice_seconds"] == {
        "name": "slice_seconds",
        "kind": "int",
        "default": 60,
        "help": "time between slices",
        "amendable": True,
        "minimum": "1",
        "maximum": "3600",
    }
    assert params["TWAP"]["duration_minutes"]["amendable"] is False
    assert (params["TWAP"]["size_jitter"]["kind"], params["TWAP"]["size_jitter"]["default"]) == ("fraction", "0.10")
    assert (params["TWAP"]["size_jitter"]["minimum"], params["TWAP"]["size_jitter"]["maximum"]) == (None, "0.5")
    assert (params["TWAP"]["i_would_px"]["kind"], params["TWAP"]["i_would_px"]["default"]) == ("price", None)
    assert (params["DARK"]["complete_by_end"]["kind"], params["DARK"]["complete_by_end"]["default"]) == ("bool", False)
    assert params["DARK"]["min_fill_qty"]["kind"] == "qty"
    assert params["IS"]["risk_aversion"]["maximum"] == "0.001"
    assert (params["RFQ"]["dealers"]["kind"], params["RFQ"]["dealers"]["default"]) == ("codes", [])
    assert params["RFQ"]["anonymous"]["default"] is True


def test_any_authenticated_user_may_read_them_and_no_anonymous_caller(demo: None) -> None:
    assert api_client_for("risk1").get("/api/strategies/").status_code == 200
    anonymous = APIClient().get("/api/strategies/")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["status"] == 401
