"""POST /api/orders/check/: the pre-trade check of the order ticket runs every check a submit runs and stores nothing.

Each case checks the same body twice: once through the check, which must store
nothing, then through a submit, whose verdict (and reasons) the check must
have given.
"""

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from oms.models import Fill, Instrument, OrderEvent, ParentOrder, Portfolio, Position, Restriction, RiskLimit
from tests.conftest import api_client_for

D = Decimal
ORDER = {"portfolio": "GROWTH", "instrument": "ACME", "side": "BUY", "qty": "1000", "ord_type": "LIMIT", "limit_px": "100.00"}
CHECK_KEYS = ["checks", "errors", "notional", "ok", "reference_px"]


@pytest.fixture
def no_limits(demo: None) -> None:
    """The demo without its limits: each test sets the ones it checks."""
    RiskLimit.objects.all().delete()


def _snapshot() -> tuple[Any, ...]:
    return (
        ParentOrder.objects.count(),
        OrderEvent.objects.count(),
        Fill.objects.count(),
        Position.objects.count(),
        *Portfolio.objects.order_by("pk").values_list("cash", flat=True),
    )


def _check(body: dict[str, Any], user: str = "pm1") -> Any:
    return api_client_for(user).post("/api/orders/check/", body, format="json")


def _submit(body: dict[str, Any], user: str = "pm1") -> Any:
    return api_client_for(user).post("/api/orders/", body, format="json")


def _clockless(errors: list[dict[str, str]]) -> list[dict[str, str]]:
    """The errors without the instants in their messages (an end before "the start", which is now)."""
    return [{**error, "message": re.sub(r"\d{4}-\d\d-\d\dT[\d:.+]+", "<t>", error["message"])} for error in errors]


def _checked(body: dict[str, Any], user: str = "pm1") -> dict[str, Any]:
    """Check ``body``: a 200 of the check's shape, and nothing stored."""
    before = _snapshot()
    response = _check(body, user)
    assert response.status_code == 200, response.content
    assert _snapshot() == before
    result: dict[str, Any] = response.json()
    assert sorted(result) == CHECK_KEYS
    return result


def test_a_good_order_passes_with_every_outcome_the_submit_then_logs(no_limits: None) -> None:
    # given limits the order meets exactly, and one it stays well within
    RiskLimit.objects.create(max_order_qty=D(1000), max_order_notional=D(100_000), max_position_qty=D(11_000), collar_bps=D(500))

    # when the ticket checks it
    result = _checked(ORDER)

    # then it passes, with each check's value and limit, the reference price and the notional
    assert result["ok"] is True
    assert result["errors"] == []
    assert (result["reference_px"], result["notional"]) == ("101.5", "100000")
    outcomes = {o["check"]: (o["passed"], o["value"], o["limit"]) for o in result["checks"]}
    assert outcomes == {
        "KILL_SWITCH": (True, "", ""),
        "RESTRICTED": (True, "", ""),
        "MAX_QTY": (True, "1000", "1000"),
        "MAX_NOTIONAL": (True, "100000", "100000"),
        "PRICE_COLLAR": (True, "147.79", "500"),
        "POSITION_LIMIT": (True, "11000", "11000"),
    }
    assert "within the per-order limit of 1,000" in result["checks"][2]["message"]
    # and the submit that follows passes, logging exactly these outcomes
    response = _submit(ORDER)
    assert response.status_code == 201, response.content
    logged = OrderEvent.objects.get(parent_id=response.json()["id"], kind="RISK_CHECK").data["outcomes"]
    assert logged == result["checks"]


@pytest.mark.parametrize(
    ("limit", "body", "code", "field"),
    [
        ({"max_order_qty": D(999)}, {}, "MAX_QTY", "qty"),
        ({"max_order_notional": D(99_999)}, {}, "MAX_NOTIONAL", "qty"),
        ({"collar_bps": D(500)}, {"limit_px": "106.58"}, "PRICE_COLLAR", "limit_px"),
        ({"max_position_qty": D(10_999)}, {}, "POSITION_LIMIT", "qty"),  # GROWTH holds 10,000 ACME
        ({"credit_limit": D(99_999)}, {}, "CREDIT_LIMIT", "non_field_errors"),
        ({"daily_notional": D(99_999)}, {}, "DAILY_NOTIONAL", "non_field_errors"),
    ],
)
def test_an_order_over_a_limit_fails_the_check_exactly_as_the_submit_refuses_it(
    no_limits: None, limit: dict[str, Any], body: dict[str, Any], code: str, field: str
) -> None:
    # given the firm's limit, and an order just over it
    RiskLimit.objects.create(**limit)

    # when the ticket checks it, then sends it anyway
    result = _checked({**ORDER, **body})
    before = _snapshot()
    response = _submit({**ORDER, **body})

    # then the check failed with the submit's very reasons, and the failed outcome among all the others
    assert result["ok"] is False
    assert [(e["field"], e["code"]) for e in result["errors"]] == [(field, code)]
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"] == result["errors"]
    failed = [o for o in result["checks"] if not o["passed"]]
    assert [o["check"] for o in failed] == [code]
    assert failed[0]["message"] == result["errors"][0]["message"]
    assert {o["check"] for o in result["checks"]} >= {"KILL_SWITCH", "RESTRICTED", code}
    assert _snapshot() == before


def test_a_restricted_instrument_and_a_kill_switch_fail_the_check(no_limits: None) -> None:
    # given ACME on the restricted list
    Restriction.objects.create(instrument=Instrument.objects.get(symbol="ACME"), reason="pending merger")

    # when the ticket checks an ACME order
    result = _checked(ORDER)

    # then it fails on the instrument, with the list's reason
    assert result["ok"] is False
    assert [(e["field"], e["code"]) for e in result["errors"]] == [("instrument", "RESTRICTED")]
    assert "pending merger" in result["errors"][0]["message"]
    assert _submit(ORDER).json()["error"]["details"] == result["errors"]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"qty": "10.5"}, "qty", "off_lot"),
        ({"qty": "0"}, "qty", "not_positive"),
        ({"limit_px": "100.005"}, "limit_px", "off_tick"),
        ({"limit_px": None}, "limit_px", "required"),
        ({"ord_type": "MARKET"}, "limit_px", "not_allowed"),
        ({"strategy": "MAGIC"}, "strategy", "invalid"),
        ({"strategy": "POV", "strategy_params": {"speed": 3}}, "strategy_params.speed", "invalid"),
        ({"strategy": "TWAP", "strategy_params": {"slice_seconds": 0}}, "strategy_params.slice_seconds", "invalid"),
        ({"strategy": "TWAP", "end_at": "2000-01-01T00:00:00Z"}, "end_at", "invalid"),
        ({"allocate_by": "QTY"}, "allocate_by", "no_allocations"),
    ],
)
def test_bad_terms_fail_the_check_on_their_field_as_the_submit_refuses_them(
    no_limits: None, change: dict[str, Any], field: str, code: str
) -> None:
    # given a pre-trade limit the order would meet
    RiskLimit.objects.create(max_order_qty=D(1_000_000))

    # when the ticket checks an order with one bad term, then sends it anyway
    result = _checked({**ORDER, **change})
    response = _submit({**ORDER, **change})

    # then the check names the field and its code, as the submit's refusal does; the risk checks did not run
    assert result["ok"] is False
    assert [(e["field"], e["code"]) for e in result["errors"]] == [(field, code)]
    assert result["checks"] == []
    assert response.status_code == 400, response.content
    assert _clockless(response.json()["error"]["details"]) == _clockless(result["errors"])
    assert ParentOrder.objects.count() == 0


def test_an_inactive_instrument_fails_the_check(no_limits: None) -> None:
    Instrument.objects.filter(symbol="ACME").update(active=False)
    result = _checked(ORDER)
    assert result["ok"] is False
    assert result["errors"] == [{"field": "instrument", "code": "inactive", "message": "instrument ACME is not tradable"}]


def test_a_good_strategy_with_its_parameters_passes(no_limits: None) -> None:
    # given a TWAP over the next hour in 5-minute slices
    end_at = (timezone.now() + timedelta(hours=1)).isoformat()
    body = {**ORDER, "strategy": "twap", "strategy_params": {"slice_seconds": 300, "size_jitter": "0"}, "end_at": end_at}
    # when / then
    result = _checked(body)
    assert (result["ok"], result["errors"]) == (True, [])
    assert _submit(body).status_code == 201


def test_a_market_order_is_priced_at_the_reference(no_limits: None) -> None:
    # when the ticket checks a MARKET order for 300 GLOBX (reference 44.20), and an option (multiplier 100)
    stock = _checked({**ORDER, "instrument": "GLOBX", "ord_type": "MARKET", "limit_px": None, "qty": "300"})
    option = Instrument.objects.get(symbol__startswith="ACME ", put_call="CALL", strike=D(100))
    contract = _checked({**ORDER, "instrument": option.symbol, "ord_type": "MARKET", "limit_px": None, "qty": "2"})

    # then its notional is qty x reference x multiplier (an option's reference: its theoretical value)
    assert (stock["ok"], stock["reference_px"], stock["notional"]) == (True, "44.2", "13260")
    assert Decimal(contract["notional"]) == 2 * Decimal(contract["reference_px"]) * 100


def test_checks_use_up_no_limit_and_see_the_orders_sent(no_limits: None) -> None:
    # given a throttle of one order a minute and a 60 s duplicate window
    RiskLimit.objects.create(max_orders=1, per_seconds=60, duplicate_seconds=60)

    # when the ticket checks an order three times, then sends it
    checks = [_checked(ORDER) for _ in range(3)]
    sent = _submit(ORDER)

    # then every check passed (a check is no order) and so did the submit
    assert [c["ok"] for c in checks] == [True, True, True]
    assert sent.status_code == 201, sent.content
    # and now a check of the same order sees the throttle and the duplicate, like a submit
    again = _checked(ORDER)
    assert [e["code"] for e in again["errors"]] == ["THROTTLE", "DUPLICATE"]
    assert f"#{sent.json()['id']}" in again["errors"][1]["message"]
    assert _submit(ORDER).json()["error"]["details"] == again["errors"]
    confirmed = _checked({**ORDER, "allow_duplicate": True})
    assert [e["code"] for e in confirmed["errors"]] == ["THROTTLE"]


def test_a_body_of_the_wrong_shape_is_a_400_in_the_one_error_format(demo: None) -> None:
    # when the ticket sends a body the order serializer refuses
    before = _snapshot()
    response = _check({**ORDER, "side": "SHORT", "qty": "abc"})

    # then it is the API's 400, naming each field, not a check result
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (400, "invalid")
    assert sorted(error["fields"]) == ["qty", "side"]
    assert _snapshot() == before


def test_only_those_who_may_submit_may_check_and_only_for_their_portfolios(demo: None) -> None:
    # given a PM of GROWTH, the trader, risk, and an anonymous caller
    # when each checks an order
    mine = _check(ORDER, "pm1")
    theirs = _check({**ORDER, "portfolio": "VALUE"}, "pm1")
    trader = _check({**ORDER, "portfolio": "VALUE"}, "trader1")
    risk = _check(ORDER, "risk1")
    anonymous = APIClient().post("/api/orders/check/", ORDER, format="json")

    # then the PM checks their own portfolio's order only (another's reads as unknown), the trader any; risk may not
    assert (mine.status_code, trader.status_code) == (200, 200)
    assert theirs.status_code == 400
    assert "does not exist" in " ".join(theirs.json()["error"]["fields"]["portfolio"])
    assert risk.status_code == 403
    assert risk.json()["error"]["code"] == "permission_denied"
    assert anonymous.status_code == 401
    assert ParentOrder.objects.count() == 0
    assert OrderEvent.objects.count() == 0
