"""Schema-driven fuzzing of the whole API: schemathesis generates requests from the OpenAPI schema the code publishes.

The schema is read from ``/api/schema/`` and every request goes through
Django's WSGI application in-process, with a real DRF token, as a PM and as a
trader. A fixed budget of generated requests is split over the operations,
valid ones and invalid ones, derandomized (the same on every run); about half
aim at objects that exist (the desk's orders and request for quote, its
portfolios, symbols and quote) so that the fuzz reaches past "not found". Each
request is rolled back after it, so each meets the same desk. For every
response: no 5xx, a documented status, content type and body as documented;
and a response of 400 or more changed no row of the book of record.
"""

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.db.models import Model
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from config.redis import redis_client
from ems import rfqs
from ems.models import Execution, Rfq, RfqLogEntry
from oms.models import Fill, Instrument, OrderEvent, ParentOrder, Portfolio, Position
from oms.services import OrderTerms, parent_order_submit
from tests.conftest import api_client_for
from tests.ems.market import market_set
from trading.clock import epoch_ns
from trading.enums import OrdType, PutCall, Side, TimeInForce, Urgency
from trading.rfq import Quote, RfqInitiator
from venues.marketdata import VENUES_KEY

# Requests per user and generation mode, split evenly over the operations (at least a few each), so the run stays
# bounded as endpoints are added: about 25 s of one core for both users (26 operations). Raise them to fuzz harder.
BUDGET = {GenerationMode.POSITIVE: 160, GenerationMode.NEGATIVE: 80}
AT_LEAST = {GenerationMode.POSITIVE: 5, GenerationMode.NEGATIVE: 3}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The book of record: a refused request must leave every row of these as it was.
WATCHED: tuple[type[Model], ...] = (ParentOrder, Fill, Position, Portfolio, OrderEvent, Rfq, RfqLogEntry, Execution)


@dataclass(frozen=True)
class Desk:
    """What exists before the fuzz: the objects a request may name."""

    order_ids: list[int]
    rfq_ids: list[int]
    path_values: dict[str, list[Any]]  # by path parameter, but for ``id`` (an order's or a request's)
    body_values: dict[str, list[Any]]
    book: dict[str, tuple[int, str]]  # the book of record as it stands, before any request


def _order(username: str, portfolio: str, instrument: Instrument, qty: str, limit_px: str | None) -> ParentOrder:
    order, _ = parent_order_submit(
        user=User.objects.get(username=username),
        terms=OrderTerms(
            portfolio=Portfolio.objects.get(code=portfolio),
            instrument=instrument,
            side=Side.BUY,
            ord_type=OrdType.LIMIT if limit_px else OrdType.MARKET,
            qty=Decimal(qty),
            limit_px=Decimal(limit_px) if limit_px else None,
            tif=TimeInForce.DAY,
            urgency=Urgency.MEDIUM,
            strategy="",
            strategy_params={},
        ),
    )
    return order


@pytest.fixture
def desk(demo: None) -> Iterator[Desk]:
    """Each PM's equity order, and pm1's option order with an open request for quote and one dealer's quote on it.

    The executions are not started: the tests run in one transaction that never commits, so no Celery task is sent.
    The market it publishes is removed afterwards: Redis does not roll back with the database.
    """
    market_set()
    acme = Instrument.objects.get(symbol="ACME")
    call = Instrument.objects.filter(underlying=acme, put_call=PutCall.CALL, strike=100).first()
    assert call is not None
    growth = _order("pm1", "GROWTH", acme, "100", "101.50")
    value = _order("pm2", "VALUE", Instrument.objects.get(symbol="GLOBX"), "100", "44.20")
    calls = _order("pm1", "GROWTH", call, "50", None)  # at market: no price collar to meet, any quote may be hit
    # the longest window, so the request is still open when the last generated request reads it on a slow machine
    given = {"window_seconds": 300}
    rfq = rfqs.rfq_request(parent_id=calls.pk, given=given, actor="trader1", initiator=RfqInitiator.TRADER)
    now = epoch_ns(timezone.now())
    quote = Quote(
        quote_id="FUZZ-Q1", quote_req_id=rfq.quote_req_id, dealer=rfq.dealers[0], symbol=call.symbol,
        bid_px=Decimal("8.00"), offer_px=Decimal("8.20"), bid_size=Decimal(50), offer_size=Decimal(50),
        valid_until_ns=now + 600 * 10**9, transact_time_ns=now,
    )  # fmt: skip
    assert rfqs.rfq_apply([{"msg_type": "S", **quote.to_wire()}]) == 1
    yield Desk(
        order_ids=[growth.pk, value.pk, calls.pk],
        rfq_ids=[rfq.pk],
        path_values={"code": ["GROWTH", "VALUE", "XALP", rfq.dealers[0]], "symbol": ["ACME", call.symbol]},
        body_values={
            "portfolio": ["GROWTH", "VALUE"],
            "instrument": ["ACME", "GLOBX", call.symbol],
            "order": [growth.pk, value.pk, calls.pk],
            "quote_id": ["FUZZ-Q1"],
            "qty": ["100", "200"],
            "limit_px": ["101.50", "44.20"],
        },
        book=_book_of_record(),
    )
    redis_client().delete("md:top:ACME", "md:book:ACME", "md:nbbo:ACME", VENUES_KEY)


@pytest.fixture
def wsgi_app() -> Iterator[Any]:
    """Django's WSGI application, kept off the connection housekeeping at each request's start and end.

    That housekeeping closes a connection found inside a transaction, which is where each test runs; Django's own
    test client disconnects it the same way.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _book_of_record() -> dict[str, tuple[int, str]]:
    """Return each watched table's row count and a hash of all its rows' columns."""
    state = {}
    for model in WATCHED:
        rows = list(model._default_manager.order_by("pk").values_list())
        state[model.__name__] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return state


def _cases(operation: Any, mode: GenerationMode, desk: Desk) -> st.SearchStrategy[Case]:
    """Generated requests; about half aim at an existing object (in the path) and name existing things in the body."""
    free = operation.as_strategy(generation_mode=mode)
    names = [parameter.name for parameter in operation.path_parameters]
    if len(names) == 1:
        ids = desk.rfq_ids if operation.path.startswith("/api/rfqs/") else desk.order_ids
        known = ids if names[0] == "id" else desk.path_values.get(names[0], [])
        free = st.one_of(free, *(operation.as_strategy(generation_mode=mode, path_parameters={names[0]: v}) for v in known))

    @st.composite
    def aimed(draw: Callable[..., Any]) -> Case:
        case = draw(free)
        if isinstance(case.body, dict) and draw(st.booleans()):
            for field, values in desk.body_values.items():
                if field in case.body:
                    case.body[field] = draw(st.sampled_from(values))
        return case

    return aimed()


def _fuzz(operation: Any, mode: GenerationMode, examples: int, desk: Desk, auth: dict[str, str]) -> None:
    """Send ``examples`` generated requests; each meets the book as ``desk`` left it (``desk.book``) and is rolled back."""

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_cases(operation, mode, desk))
    def run(case: Case) -> None:
        # rolled back: the examples are independent of each other, and replay the same when Hypothesis shrinks one
        with transaction.atomic():
            response = case.call(headers=auth)
            refused_but_changed = response.status_code >= 400 and _book_of_record() != desk.book
            transaction.set_rollback(True)
        case.validate_response(response, checks=CHECKS)
        assert not refused_but_changed, f"{response.status_code} but the book of record changed: {response.text}"

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # nothing of this operation's input can be made invalid (a free-text path parameter): nothing to do


@pytest.mark.parametrize("username", ["pm1", "trader1"])
def test_every_operation_answers_generated_requests_as_documented(desk: Desk, wsgi_app: Any, username: str) -> None:
    # given the schema the API publishes, read with a PM's or a trader's token
    token, _ = Token.objects.get_or_create(user=User.objects.get(username=username))
    auth = {"Authorization": f"Token {token.key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app, headers=auth)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13

    # when every operation gets its generated requests, valid and invalid
    failures = []
    for operation in operations:
        for mode, budget in BUDGET.items():
            try:
                _fuzz(operation, mode, max(AT_LEAST[mode], budget // len(operations)), desk, auth)
            except (Exception, FailureGroup) as exc:  # each operation's failure is reported, then the next one runs
                failures.append(f"--- {operation.label} ({mode.value}):\n{exc}")

    # then none answered with a 5xx, off the schema, or changed data while refusing
    assert not failures, "\n\n".join(failures)


# --- what the fuzz found, pinned ------------------------------------------------------------------------------------


def test_an_id_no_route_accepts_is_a_404_in_the_api_error_format(demo: None) -> None:
    # when a client asks for an order by an id with a dot in it (the fuzz sent this one)
    response = api_client_for("pm1").get("/api/orders/-8.6e-38/")

    # then it gets the one error shape, not Django's HTML page
    assert response.status_code == 404
    message = "no such resource: `/api/orders/-8.6e-38/`"
    assert response.json()["error"] == {"status": 404, "code": "not_found", "message": message, "fields": {}}


def test_a_page_larger_than_the_ceiling_is_cut_not_a_server_error_on_every_list(desk: Desk) -> None:
    # given every list the API publishes (a list not on BoundedLimitOffsetPagination sends the LIMIT as asked)
    client = api_client_for("trader1")
    schema = client.get("/api/schema/", {"format": "json"}).json()
    lists = [path for path, item in schema["paths"].items() if "get" in item and "{" not in path]
    assert "/api/orders/" in lists

    # when a client asks each for more rows than a database LIMIT can hold
    answers = {path: client.get(path, {"limit": str(10**24)}) for path in lists}

    # then each answers with a page, not a 500; the orders' page holds all three orders
    assert {path: r.status_code for path, r in answers.items()} == dict.fromkeys(lists, 200)
    orders = answers["/api/orders/"].json()
    assert orders["count"] == len(orders["results"]) == 3


@pytest.mark.parametrize(
    "change",
    [{"portfolio": "GROWTH\x00"}, {"instrument": "ACME\x00"}, {"cl_ord_id": "\x00"}, {"strategy_params": {"\x00": 1}}],
)
def test_a_nul_character_in_a_body_is_a_400_and_creates_nothing(desk: Desk, change: dict[str, Any]) -> None:
    # when an order names its portfolio or instrument with a NUL character (PostgreSQL cannot compare one: it was a 500)
    body = {"portfolio": "GROWTH", "instrument": "ACME", "side": "BUY", "qty": "100", "limit_px": "101.50", **change}
    response = api_client_for("pm1").post("/api/orders/", body, format="json")

    # then it is refused as bad input, and nothing changed
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert "NUL" in response.json()["error"]["message"]
    assert _book_of_record() == desk.book


def test_a_body_nested_deeper_than_python_decodes_is_a_400(demo: None) -> None:
    response = api_client_for("pm1").post("/api/orders/", "[" * 100_000, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "malformed JSON: nested too deep"


@pytest.mark.parametrize(
    ("instant", "expected"),
    [("0465-05-28T20:10:51-20:34", 200), ("2026-11-21T10:00:00+15:59", 200), ("0001-01-01T00:00:00+01:00", 400)],
)
def test_a_created_after_filter_at_any_offset_answers_without_a_server_error(demo: None, instant: str, expected: int) -> None:
    # given / when an instant PostgreSQL cannot take as written (an offset past +-15:59), or one before year 1 in UTC
    response = api_client_for("pm1").get("/api/orders/", {"created_after": instant})
    # then it is read in UTC, or refused as out of range: never a 500 (the fuzz found one)
    assert response.status_code == expected, response.content
