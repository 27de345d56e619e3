"""The permission matrix: every API endpoint for every role, the blotter socket's groups, risk limits in admin.

Roles: anonymous, a login with no role, a PM (pm1, owns GROWTH), a trader, risk,
an admin. Each endpoint of the URLconf under ``/api/`` is one row of ``MATRIX``
with the status each role gets; ``test_every_api_route_and_method_is_in_the_matrix``
fails when a route or a method is added without a row. Every refusal also
leaves the trading records exactly as they were.

The HTTP tests run in a transaction that is never committed (pytest-django's
``db``), so the execution work an order or a cancel queues with
``transaction.on_commit`` is never run: no Celery worker, no gateway. The socket
tests commit (their consumer reads the database from another thread) but send
no order.
"""

import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import transaction
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from pytest_django import DjangoDbBlocker
from rest_framework.test import APIClient

from config.asgi import application
from ems.models import Execution, Rfq
from ems.publish import DESK_GROUP, portfolio_group
from ems.rfqs import rfq_request
from oms.kill_switch import kill_switch_engage
from oms.models import (
    Fill,
    Instrument,
    KillScope,
    KillSwitch,
    KillSwitchEvent,
    OrderEvent,
    ParentOrder,
    Portfolio,
    Position,
    RiskLimit,
)
from oms.roles import ADMIN_PERMISSIONS, RISK
from oms.services import parent_order_fill
from tests.conftest import api_client_for
from trading.rfq import RfqInitiator

ANON, NO_ROLE, PM, TRADER, RISK_USER, ADMIN = "anonymous", "norole", "pm1", "trader1", "risk1", "admin"
ROLES = (ANON, NO_ROLE, PM, TRADER, RISK_USER, ADMIN)

ORDER = {"portfolio": "GROWTH", "instrument": "ACME", "side": "BUY", "qty": "100", "ord_type": "LIMIT", "limit_px": "101.50"}
# pm2's: not the same terms as ORDER, which VALUE's duplicate check (5 s) would refuse when a trader sends ORDER to VALUE
OTHER_ORDER = {**ORDER, "portfolio": "VALUE", "side": "SELL", "qty": "50", "limit_px": "101.60"}
ENGAGE = {"scope": "INSTRUMENT", "instrument": "GLOBX", "reason": "test"}
DEALERS = frozenset({"DLR-NB", "DLR-KF", "DLR-HM", "DLR-SL", "DLR-OC"})
DESK = frozenset({"GROWTH", "VALUE"})
OWN = frozenset({"GROWTH"})
NOTHING: frozenset[str] = frozenset()


@dataclass(frozen=True)
class World:
    """What the endpoints act on: pm1's order (GROWTH) and pm2's (VALUE), each part filled with an RFQ open, a switch."""

    own_order: int
    other_order: int
    own_rfq: int
    other_rfq: int
    own_execution: int
    other_execution: int
    switch: int
    portfolio_of_order: dict[int, str]


@dataclass(frozen=True)
class Endpoint:
    """One row of the matrix: a request and the status each role gets.

    For a list, ``sees`` gives, per role, whose rows it reads (``owner`` names a row's portfolio, or what else it is).
    ``bugs``: the roles for which the app breaks the rule today, and how (expected to fail, strictly).
    """

    name: str
    method: str
    url: Callable[[World], str]
    body: dict[str, Any] | Callable[[World], dict[str, Any]] | None
    status: dict[str, int]
    sees: dict[str, frozenset[str]] = field(default_factory=dict)
    owner: Callable[[dict[str, Any], World], str] | None = None
    says: dict[str, str] = field(default_factory=dict)
    writes: bool = True  # a POST that passes leaves a trace (a pre-trade check does not)
    browser: bool = False  # a page for a browser: the session logs in, not a token
    bugs: dict[str, str] = field(default_factory=dict)


def statuses(anonymous: int, norole: int, pm1: int, trader1: int, risk1: int, admin: int) -> dict[str, int]:
    return dict(zip(ROLES, (anonymous, norole, pm1, trader1, risk1, admin), strict=True))


def rows(norole: frozenset[str], pm1: frozenset[str], desk: frozenset[str]) -> dict[str, frozenset[str]]:
    return {NO_ROLE: norole, PM: pm1, TRADER: desk, RISK_USER: desk, ADMIN: desk}


def _portfolio(row: dict[str, Any], world: World) -> str:
    return str(row["portfolio"])


def _order_portfolio(row: dict[str, Any], world: World) -> str:
    return world.portfolio_of_order[row["parent"] if "parent" in row else row["order"]]


def _limit_scope(row: dict[str, Any], world: World) -> str:
    return str(row["portfolio"] or "FIRM")


def _fixed(url: str) -> Callable[[World], str]:
    return lambda world: url


# fmt: off
MATRIX = [
    # orders: a PM's own portfolios only; another PM's order reads as missing
    Endpoint("orders-list", "GET", _fixed("/api/orders/"), None, statuses(401, 200, 200, 200, 200, 200),
             sees=rows(NOTHING, OWN, DESK), owner=_portfolio),
    Endpoint("orders-create", "POST", _fixed("/api/orders/"), ORDER, statuses(401, 403, 201, 201, 403, 201)),
    Endpoint("orders-check", "POST", _fixed("/api/orders/check/"), ORDER, statuses(401, 403, 200, 200, 403, 200), writes=False),
    Endpoint("orders-check-other-pm", "POST", _fixed("/api/orders/check/"), {**ORDER, "portfolio": "VALUE"},
             statuses(401, 403, 400, 200, 403, 200), says={PM: "does not exist"}, writes=False),
    Endpoint("order-chart", "GET", lambda w: f"/api/orders/{w.own_order}/chart/", None, statuses(401, 404, 200, 200, 200, 200)),
    Endpoint("order-tca", "GET", lambda w: f"/api/orders/{w.own_order}/tca/", None, statuses(401, 404, 200, 200, 200, 200)),
    Endpoint("order-tca-other-pm", "GET", lambda w: f"/api/orders/{w.other_order}/tca/", None,
             statuses(401, 404, 404, 200, 200, 200)),
    Endpoint("strategies", "GET", _fixed("/api/strategies/"), None, statuses(401, 403, 200, 200, 200, 200)),
    Endpoint("orders-create-other-pm", "POST", _fixed("/api/orders/"), {**ORDER, "portfolio": "VALUE"},
             statuses(401, 403, 400, 201, 403, 201), says={PM: "does not exist"}),
    Endpoint("orders-detail", "GET", lambda w: f"/api/orders/{w.own_order}/", None, statuses(401, 404, 200, 200, 200, 200)),
    Endpoint("orders-detail-other-pm", "GET", lambda w: f"/api/orders/{w.other_order}/", None,
             statuses(401, 404, 404, 200, 200, 200)),
    Endpoint("orders-cancel", "POST", lambda w: f"/api/orders/{w.own_order}/cancel/", None,
             statuses(401, 403, 202, 202, 403, 202)),
    Endpoint("orders-cancel-other-pm", "POST", lambda w: f"/api/orders/{w.other_order}/cancel/", None,
             statuses(401, 403, 404, 202, 403, 202)),
    Endpoint("orders-amend", "POST", lambda w: f"/api/orders/{w.own_order}/amend/", {"qty": "200"},
             statuses(401, 403, 202, 202, 403, 202)),
    Endpoint("orders-amend-other-pm", "POST", lambda w: f"/api/orders/{w.other_order}/amend/", {"qty": "200"},
             statuses(401, 403, 404, 202, 403, 202)),
    # what the orders did
    Endpoint("fills", "GET", _fixed("/api/fills/"), None, statuses(401, 200, 200, 200, 200, 200),
             sees=rows(NOTHING, OWN, DESK), owner=_order_portfolio),
    Endpoint("positions", "GET", _fixed("/api/positions/"), None, statuses(401, 200, 200, 200, 200, 200),
             sees=rows(NOTHING, OWN, DESK), owner=_portfolio),
    Endpoint("portfolios-list", "GET", _fixed("/api/portfolios/"), None, statuses(401, 200, 200, 200, 200, 200),
             sees=rows(NOTHING, OWN, DESK), owner=lambda row, world: str(row["code"])),
    Endpoint("portfolios-detail", "GET", _fixed("/api/portfolios/GROWTH/"), None, statuses(401, 404, 200, 200, 200, 200)),
    Endpoint("portfolios-detail-other-pm", "GET", _fixed("/api/portfolios/VALUE/"), None,
             statuses(401, 404, 404, 200, 200, 200)),
    # reference data: any role
    Endpoint("instruments-list", "GET", _fixed("/api/instruments/"), None, statuses(401, 403, 200, 200, 200, 200)),
    Endpoint("instruments-detail", "GET", _fixed("/api/instruments/ACME/"), None, statuses(401, 403, 200, 200, 200, 200)),
    # limits: read here, changed in admin only
    Endpoint("risk-limits", "GET", _fixed("/api/risk-limits/"), None, statuses(401, 403, 200, 200, 200, 200),
             sees=rows(NOTHING, OWN | {"FIRM"}, DESK | {"FIRM"}), owner=_limit_scope),
    *[
        Endpoint(f"risk-limits-{method.lower()}", method, _fixed("/api/risk-limits/"), {"max_order_qty": "1"},
                 statuses(401, 403, 405, 405, 405, 405))
        for method in ("POST", "PUT", "PATCH", "DELETE")
    ],
    # kill switches: the desk reads them; a trader or risk engages; only risk releases
    Endpoint("kill-switches-list", "GET", _fixed("/api/kill-switches/"), None, statuses(401, 403, 403, 200, 200, 200)),
    Endpoint("kill-switches-engage", "POST", _fixed("/api/kill-switches/"), ENGAGE, statuses(401, 403, 403, 201, 201, 201)),
    Endpoint("kill-switches-detail", "GET", lambda w: f"/api/kill-switches/{w.switch}/", None,
             statuses(401, 403, 403, 200, 200, 200)),
    Endpoint("kill-switches-release", "POST", lambda w: f"/api/kill-switches/{w.switch}/release/", {"reason": "ok"},
             statuses(401, 403, 403, 403, 200, 200)),
    # RFQs: a PM's own portfolios' only; risk reads but does not trade. A request passing the permissions reaches the
    # auction: one is already open on each order (409), and "NOPE" is no quote (409).
    Endpoint("rfqs-list", "GET", _fixed("/api/rfqs/"), None, statuses(401, 200, 200, 200, 200, 200),
             sees=rows(NOTHING, OWN, DESK), owner=_order_portfolio),
    Endpoint("rfqs-create", "POST", _fixed("/api/rfqs/"), lambda w: {"order": w.own_order},
             statuses(401, 403, 409, 409, 403, 409)),
    Endpoint("rfqs-create-other-pm", "POST", _fixed("/api/rfqs/"), lambda w: {"order": w.other_order},
             statuses(401, 403, 400, 409, 403, 409), says={PM: "is not one of yours"}),
    Endpoint("rfqs-detail", "GET", lambda w: f"/api/rfqs/{w.own_rfq}/", None, statuses(401, 404, 200, 200, 200, 200)),
    Endpoint("rfqs-detail-other-pm", "GET", lambda w: f"/api/rfqs/{w.other_rfq}/", None,
             statuses(401, 404, 404, 200, 200, 200)),
    Endpoint("rfqs-hit", "POST", lambda w: f"/api/rfqs/{w.own_rfq}/hit/", {"quote_id": "NOPE"},
             statuses(401, 403, 409, 409, 403, 409)),
    Endpoint("rfqs-hit-other-pm", "POST", lambda w: f"/api/rfqs/{w.other_rfq}/hit/", {"quote_id": "NOPE"},
             statuses(401, 403, 404, 409, 403, 409)),
    Endpoint("rfqs-cancel", "POST", lambda w: f"/api/rfqs/{w.own_rfq}/cancel/", None, statuses(401, 403, 200, 200, 403, 200)),
    Endpoint("rfqs-cancel-other-pm", "POST", lambda w: f"/api/rfqs/{w.other_rfq}/cancel/", None,
             statuses(401, 403, 404, 200, 403, 200)),
    # how the orders are worked (each RFQ made its order's execution): as the orders
    Endpoint("executions-list", "GET", _fixed("/api/executions/"), None, statuses(401, 200, 200, 200, 200, 200),
             sees=rows(NOTHING, OWN, DESK), owner=_portfolio),
    Endpoint("executions-detail", "GET", lambda w: f"/api/executions/{w.own_execution}/", None,
             statuses(401, 404, 200, 200, 200, 200)),
    Endpoint("executions-detail-other-pm", "GET", lambda w: f"/api/executions/{w.other_execution}/", None,
             statuses(401, 404, 404, 200, 200, 200)),
    # venues and dealers: reference data, any role
    Endpoint("venues-list", "GET", _fixed("/api/venues/"), None, statuses(401, 403, 200, 200, 200, 200)),
    Endpoint("venues-detail", "GET", _fixed("/api/venues/XALP/"), None, statuses(401, 403, 200, 200, 200, 200)),
    # the dealer panel: any role reads it whole
    Endpoint("dealers", "GET", _fixed("/api/dealers/"), None, statuses(401, 403, 200, 200, 200, 200),
             sees={NO_ROLE: NOTHING, PM: DEALERS, TRADER: DEALERS, RISK_USER: DEALERS, ADMIN: DEALERS},
             owner=lambda row, world: str(row["code"])),
    # best-execution reports: any role reads them, a PM over their own portfolios (tests/ems/test_bestex_api.py)
    Endpoint("report-venues", "GET", _fixed("/api/reports/venues/"), None, statuses(401, 403, 200, 200, 200, 200)),
    Endpoint("report-dealers", "GET", _fixed("/api/reports/dealers/"), None, statuses(401, 403, 200, 200, 200, 200)),
    Endpoint("report-best-execution", "GET", _fixed("/api/reports/best-execution/"), None,
             statuses(401, 403, 200, 200, 200, 200)),
    # the API's own description: shapes, not data, for any login
    Endpoint("api-root", "GET", _fixed("/api/"), None, statuses(401, 200, 200, 200, 200, 200)),
    Endpoint("schema", "GET", _fixed("/api/schema/"), None, statuses(401, 200, 200, 200, 200, 200)),
    # a browser page: an anonymous visitor is sent to log in (302), as on the blotter
    Endpoint("docs", "GET", _fixed("/api/docs/"), None, statuses(302, 200, 200, 200, 200, 200), browser=True),
]
# fmt: on

RECORDS: dict[type[Model], tuple[str, ...]] = {
    ParentOrder: ("id", "status", "qty", "filled_qty", "limit_px", "updated_at"),
    OrderEvent: ("id", "kind", "status_after"),
    Fill: ("id", "qty", "px"),
    Position: ("id", "qty", "updated_at"),
    Portfolio: ("id", "cash"),
    KillSwitch: ("id", "engaged", "released_at"),
    KillSwitchEvent: ("id", "action"),
    RiskLimit: ("id", "active", "max_order_qty", "updated_at"),
    Rfq: ("id", "state", "qty", "version"),
}


def records() -> dict[str, tuple[int, str]]:
    """Each trading record's row count and a hash of its rows' ids and states: equal before and after means untouched."""
    seen = {}
    for model, columns in RECORDS.items():
        values = list(model._default_manager.order_by("id").values_list(*columns))
        seen[model.__name__] = (len(values), hashlib.sha256(repr(values).encode()).hexdigest()[:16])
    return seen


def desk_build() -> World:
    """pm1's and pm2's orders, sent through the API, each filled 10 with an RFQ open; a switch on UMBRL; a login with no role."""
    call_command("seed_demo", stdout=io.StringIO())
    User.objects.create_user(NO_ROLE)
    orders = {}
    for user, terms in ((PM, ORDER), ("pm2", OTHER_ORDER)):
        response = api_client_for(user).post("/api/orders/", terms, format="json")
        assert response.status_code == 201, response.content
        orders[user] = response.json()["id"]
    rfqs = {}
    for user, order_id in orders.items():
        parent_order_fill(
            parent=ParentOrder.objects.locked().get(pk=order_id),
            child_cl_ord_id=f"{order_id}-1",
            venue="XALP",
            exec_id=f"E-{order_id}",
            qty=Decimal(10),
            px=Decimal("101.50"),
            fee=Decimal(0),
            liquidity="TAKER",
            executed_at=datetime.now(UTC),
            actor="system:test",
        )
        # the longest window dealers may be given (300 s): open for as long as the class's cases run
        given = {"window_seconds": 300}
        rfqs[user] = rfq_request(parent_id=order_id, given=given, actor=user, initiator=RfqInitiator.PM).pk
    switch = kill_switch_engage(
        user=User.objects.get(username=RISK_USER),
        scope=KillScope.INSTRUMENT,
        instrument=Instrument.objects.get(symbol="UMBRL"),
        reason="setup",
    )
    return World(
        own_order=orders[PM],
        other_order=orders["pm2"],
        own_rfq=rfqs[PM],
        other_rfq=rfqs["pm2"],
        own_execution=Execution.objects.get(parent=orders[PM]).pk,
        other_execution=Execution.objects.get(parent=orders["pm2"]).pk,
        switch=switch.pk,
        portfolio_of_order={orders[PM]: "GROWTH", orders["pm2"]: "VALUE"},
    )


def client_for(role: str, *, browser: bool) -> APIClient:
    """Return ``role``'s client: a script's token for the API; a logged-in session for a browser page."""
    if role == ANON:
        return APIClient()
    if not browser:
        return api_client_for(role)
    client = APIClient()
    client.force_login(User.objects.get(username=role))
    return client


CASES = [
    pytest.param(endpoint, role, id=f"{endpoint.name}-{role}",
                 marks=[pytest.mark.xfail(strict=True, reason=endpoint.bugs[role])] if role in endpoint.bugs else [])
    for endpoint in MATRIX
    for role in ROLES
]  # fmt: skip


@pytest.fixture(scope="class")
def desk(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[World]:
    """The desk of ``desk_build``, once per class, in a transaction rolled back at the class's end."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield desk_build()
        transaction.set_rollback(True)


class TestPermissionMatrix:
    """Every row of ``MATRIX`` for every role.

    A class only to share one seeded desk: it is built once, in a transaction
    that is rolled back after the last case, and each case runs in a savepoint
    inside it (``db``), so it starts from the same desk and leaves nothing.
    """

    @pytest.mark.parametrize(("endpoint", "role"), CASES)
    def test_role_gets_the_status_and_rows_the_rules_give(self, desk: World, db: None, endpoint: Endpoint, role: str) -> None:
        # given a role's client and the records as they are
        client = client_for(role, browser=endpoint.browser)
        url = endpoint.url(desk)
        body = endpoint.body(desk) if callable(endpoint.body) else endpoint.body
        before = records()

        # when it calls the endpoint
        response = getattr(client, endpoint.method.lower())(url, body, format="json")

        # then it gets the status the rules give, reads only the rows it may, and a refusal changes nothing
        expected = endpoint.status[role]
        assert response.status_code == expected, response.content[:500]
        if expected == 401:
            assert response["WWW-Authenticate"] == "Token"
        if expected == 302:
            assert response["Location"] == f"{settings.LOGIN_URL}?next={url}"
        if role in endpoint.says:
            assert endpoint.says[role] in response.content.decode()
        if endpoint.sees and expected == 200:
            assert endpoint.owner is not None
            data = response.json()
            items = data["results"] if isinstance(data, dict) else data
            assert {endpoint.owner(item, desk) for item in items} == endpoint.sees[role]
        if expected >= 400:
            assert records() == before
        elif endpoint.method != "GET" and endpoint.writes:
            assert records() != before  # a write that passes leaves a trace: the check above would see a refused one


def test_every_api_route_and_method_is_in_the_matrix() -> None:
    # given every route under /api/ with the methods its view serves, and what the matrix calls
    served = _api_routes()
    placeholder = World(
        own_order=1, other_order=2, own_rfq=3, other_rfq=4, own_execution=5, other_execution=6, switch=7, portfolio_of_order={}
    )
    called = {(str(resolve(endpoint.url(placeholder)).url_name), endpoint.method) for endpoint in MATRIX}

    # then each route and method is a row (a format suffix, /api/orders.json, is its route's row)
    missing = {(name, method) for name, methods in served.items() for method in methods} - called
    assert not missing, f"add these to MATRIX: {sorted(missing)}"
    assert {name for name, _ in called} == set(served)


def _api_routes() -> dict[str, set[str]]:
    """Each /api/ route's name and the HTTP methods its view answers (HEAD and OPTIONS aside)."""
    served: dict[str, set[str]] = {}

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/"):
                served.setdefault(pattern.name or route, set()).update(_methods(pattern.callback))

    walk(get_resolver().url_patterns, "")
    return served


def _methods(view: Any) -> set[str]:
    actions = getattr(view, "actions", None)  # a viewset's route: the methods it maps (DRF adds HEAD on the first GET)
    if actions:
        return {method.upper() for method in actions} - {"HEAD", "OPTIONS"}
    view_class = view.view_class
    return {method.upper() for method in view_class.http_method_names if hasattr(view_class, method)} - {"HEAD", "OPTIONS"}


# --- the blotter: pages and socket -------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/market/", "/market/ACME/"])
def test_anonymous_blotter_pages_redirect_to_the_login_page(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{settings.LOGIN_URL}?next={url}"


def _session_cookie(username: str) -> bytes:
    """Log ``username`` in as the blotter's browser would, and return its session cookie."""
    client = Client()
    client.force_login(User.objects.get(username=username))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def _blotter_socket(cookie: bytes | None) -> WebsocketCommunicator:
    """A socket through the whole ASGI stack (origin check, session, auth), as a browser on the blotter opens it."""
    headers = [(b"origin", b"http://localhost")] + ([(b"cookie", cookie)] if cookie else [])
    return WebsocketCommunicator(application, "/ws/blotter/", headers=headers)


def test_anonymous_blotter_socket_is_refused(transactional_db: None) -> None:
    async def scenario() -> tuple[bool, Any]:
        return await _blotter_socket(None).connect()

    assert async_to_sync(scenario)() == (False, 4401)


@pytest.mark.parametrize("role", [NO_ROLE, PM, TRADER, RISK_USER, ADMIN])
def test_blotter_socket_joins_the_groups_of_the_role(transactional_db: None, demo: None, role: str) -> None:
    # given a user logged in on the blotter
    if role == NO_ROLE:
        User.objects.create_user(NO_ROLE)
    cookie = _session_cookie(role)
    growth, value = (Portfolio.objects.get(code=code).pk for code in ("GROWTH", "VALUE"))

    # when its socket connects
    async def scenario() -> tuple[bool, Any]:
        socket = _blotter_socket(cookie)
        connected, _ = await socket.connect()
        hello = await socket.receive_json_from(timeout=5) if connected else None
        await socket.disconnect()
        return connected, hello

    connected, hello = async_to_sync(scenario)()

    # then it is accepted, and joins the desk, its own portfolio's group (a PM: GROWTH's, not VALUE's), or none
    expected = {NO_ROLE: [], PM: [portfolio_group(growth)]}.get(role, [DESK_GROUP])
    assert connected
    assert hello == {"type": "hello", "user": role, "groups": expected}
    assert portfolio_group(value) not in hello["groups"]


def test_a_pm_socket_hears_nothing_published_to_another_pms_portfolio(transactional_db: None, demo: None) -> None:
    # given pm1 on the blotter
    cookie = _session_cookie(PM)
    growth, value = (Portfolio.objects.get(code=code).pk for code in ("GROWTH", "VALUE"))

    async def scenario() -> tuple[bool, Any]:
        socket = _blotter_socket(cookie)
        connected, _ = await socket.connect()
        assert connected
        await socket.receive_json_from(timeout=5)  # hello
        layer = get_channel_layer()

        # when an update goes to VALUE's group, then one to GROWTH's
        await layer.group_send(portfolio_group(value), _blotter_message("VALUE"))
        heard_nothing = await socket.receive_nothing(timeout=0.3)
        await layer.group_send(portfolio_group(growth), _blotter_message("GROWTH"))
        heard = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return heard_nothing, heard

    heard_nothing, heard = async_to_sync(scenario)()

    # then VALUE's never arrives: the first thing pm1 hears is GROWTH's (one channel delivers in order)
    assert heard_nothing
    assert heard == {"type": "order", "order": {"portfolio": "GROWTH"}}


def _blotter_message(portfolio: str) -> dict[str, Any]:
    return {"type": "blotter.message", "message": {"type": "order", "order": {"portfolio": portfolio}}}


# --- limits in admin: the risk role's ----------------------------------------------------------------------------------


def test_the_risk_group_has_its_admin_permissions_from_migrate(db: None) -> None:
    # given the test database as migrate left it (oms.roles.groups_ensure runs on post_migrate)
    wanted = {f"{action}_{model}" for model, actions in ADMIN_PERMISSIONS[RISK].items() for action in actions}

    # then the risk group holds exactly the admin permissions its role names
    assert set(Group.objects.get(name=RISK).permissions.values_list("codename", flat=True)) == wanted


ADMIN_LIMITS = "/admin/oms/risklimit/"


@pytest.mark.parametrize(("role", "status"), [(NO_ROLE, 302), (PM, 302), (TRADER, 302), (RISK_USER, 200), (ADMIN, 200)])
def test_risk_limits_in_admin_open_to_risk_and_admins_only(demo: None, role: str, status: int) -> None:
    # given a user logged in
    if role == NO_ROLE:
        User.objects.create_user(NO_ROLE)
    client = Client()
    client.force_login(User.objects.get(username=role))

    # when it opens the limits in admin
    response = client.get(ADMIN_LIMITS)

    # then risk and admins see them; the others, not staff, are sent to the admin's login
    assert response.status_code == status
    if status == 302:
        assert response["Location"] == f"/admin/login/?next={ADMIN_LIMITS}"


@pytest.mark.parametrize(("role", "adds"), [(PM, False), (TRADER, False), (RISK_USER, True), (ADMIN, True)])
def test_only_risk_and_admins_add_a_limit_in_admin(demo: None, role: str, adds: bool) -> None:
    # given a user logged in, and the limits as they are
    client = Client()
    client.force_login(User.objects.get(username=role))
    growth = Portfolio.objects.get(code="GROWTH")
    before = records()

    # when it posts the add form: a cap of 777 per order on GROWTH
    response = client.post(f"{ADMIN_LIMITS}add/", {**LIMIT_FORM, "portfolio": str(growth.pk)})

    # then risk and admins add the row and go back to the list; the others are sent to log in, and nothing changed
    assert response.status_code == 302
    if adds:
        assert response["Location"] == ADMIN_LIMITS
        added = RiskLimit.objects.get(max_order_qty=Decimal(777))
        assert (added.portfolio, added.instrument, added.per_seconds, added.active) == (growth, None, 1, True)
    else:
        assert response["Location"] == f"/admin/login/?next={ADMIN_LIMITS}add/"
        assert records() == before


LIMIT_FORM = {
    "instrument": "",
    "asset_class": "",
    "max_order_qty": "777",
    "max_order_notional": "",
    "collar_bps": "",
    "credit_limit": "",
    "max_position_qty": "",
    "daily_notional": "",
    "max_orders": "",
    "per_seconds": "1",
    "duplicate_seconds": "",
    "active": "on",
    "_save": "Save",
}
