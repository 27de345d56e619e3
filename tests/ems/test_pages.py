"""The positions page and the kill switch panel: who may open each, what scope the page is given, the nav's links,
and that their scripts parse."""

import re
import shutil
import subprocess

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

STATIC = settings.BASE_DIR / "static"


def client_for(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def nav_links(html: str) -> list[str]:
    nav = html[html.index("<nav>") : html.index("</nav>")]
    return re.findall(r'<a href="([^"]+)">', nav)


# ---- positions -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("username", "codes"), [("pm1", ["GROWTH"]), ("pm2", ["VALUE"])])
def test_a_pm_gets_the_positions_page_scoped_to_their_own_portfolios(demo: None, username: str, codes: list[str]) -> None:
    # given
    client = client_for(username)

    # when
    response = client.get("/positions/")

    # then the page, its scope and its filter name only their portfolios
    assert response.status_code == 200
    assert [p.code for p in response.context["portfolios"]] == codes
    assert response.context["sees_all"] is False
    html = response.content.decode()
    assert re.findall(r'<option value="([A-Z]+)">', html) == codes
    other = {"GROWTH", "VALUE"} - set(codes)
    assert not any(code in html for code in other)


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["trader1", "risk1", "admin"])
def test_the_desk_gets_the_positions_page_for_every_portfolio(demo: None, username: str) -> None:
    # given
    client = client_for(username)

    # when
    response = client.get("/positions/")

    # then
    assert response.status_code == 200
    assert [p.code for p in response.context["portfolios"]] == ["GROWTH", "VALUE"]
    assert response.context["sees_all"] is True
    html = response.content.decode()
    assert re.findall(r'<option value="([A-Z]+)">', html) == ["GROWTH", "VALUE"]
    assert "whole desk" in html


@pytest.mark.django_db
def test_the_positions_page_carries_its_table_filters_and_scripts(demo: None) -> None:
    # given
    client = client_for("trader1")

    # when
    response = client.get("/positions/")

    # then
    html = response.content.decode()
    assert '<table class="grid positions" id="positions" data-testid="positions"' in html
    sorts = re.findall(r'data-sort="([a-z_]+)"', html)
    assert sorts == ["symbol", "qty", "avg_cost", "mark", "market_value", "unrealized_pnl", "realized_pnl", "fees"]
    for element_id in ("live", "pos-portfolio", "pos-symbol", "pos-hide-flat", "pos-error", "pos-updated"):
        assert f'id="{element_id}"' in html
    assert "every 2 s while this tab is visible" in html  # the hint says the page polls marks
    assert '<link rel="stylesheet" href="/static/pages.css">' in html
    assert re.findall(r'<script src="/static/([a-z]+\.js)"></script>', html) == ["format.js", "api.js", "positions.js"]


@pytest.mark.django_db
def test_the_positions_data_a_pm_reads_is_their_own(demo: None) -> None:
    # given the page's source, as pm1 (GROWTH holds ACME; VALUE, pm2's, holds GLOBX)
    client = client_for("pm1")

    # when
    positions = client.get("/api/positions/").json()["results"]
    portfolios = client.get("/api/portfolios/").json()["results"]

    # then
    assert [(p["portfolio"], p["instrument"], p["qty"]) for p in positions] == [("GROWTH", "ACME", "10000.0000")]
    assert [(p["code"], p["cash"]) for p in portfolios] == [("GROWTH", "50000000.0000")]


# ---- risk ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["risk1", "admin"])
def test_risk_and_admins_get_the_kill_switch_panel(demo: None, username: str) -> None:
    # given
    client = client_for(username)

    # when
    response = client.get("/risk/")

    # then the form, its confirm step, the switches' table, and the scopes to choose from
    assert response.status_code == 200
    html = response.content.decode()
    for testid in ("risk-scope", "risk-reason", "risk-engage", "risk-confirm", "risk-switches", "risk-working"):
        assert f'data-testid="{testid}"' in html
    scopes = html[html.index('<select id="risk-scope"') : html.index("</select>", html.index('<select id="risk-scope"'))]
    assert re.findall(r'<option value="([A-Z]+)">', scopes) == ["FIRM", "PORTFOLIO", "TRADER", "INSTRUMENT", "VENUE"]
    form = html[html.index('<form id="risk-form"') : html.index("</form>", html.index('<form id="risk-form"'))]
    assert 'name="csrfmiddlewaretoken"' in form
    assert re.findall(r'<script src="/static/([a-z]+\.js)"></script>', html) == ["format.js", "api.js", "risk.js"]


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["pm1", "trader1"])
def test_the_kill_switch_panel_is_forbidden_to_pms_and_traders(demo: None, username: str) -> None:
    # given
    client = client_for(username)

    # when
    response = client.get("/risk/")

    # then the ordinary 403 page, nothing of the panel
    assert response.status_code == 403
    assert "risk-engage" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/positions/", "/risk/"])
def test_an_anonymous_visitor_is_sent_to_the_login_page(demo: None, path: str) -> None:
    # when
    response = Client().get(path)

    # then
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


# ---- the nav -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("username", "risk_link"), [("pm1", False), ("trader1", False), ("risk1", True), ("admin", True)])
def test_the_nav_links_positions_to_everyone_and_risk_to_risk_and_admins(demo: None, username: str, risk_link: bool) -> None:
    # given
    client = client_for(username)

    # when, on another page than ours
    response = client.get("/")

    # then
    links = nav_links(response.content.decode())
    assert "/positions/" in links
    assert ("/risk/" in links) is risk_link


def test_the_login_page_shows_no_nav(db: None) -> None:
    # when
    response = Client().get("/accounts/login/")

    # then
    assert response.status_code == 200
    assert "<nav>" not in response.content.decode()


# ---- the scripts ---------------------------------------------------------------


@pytest.mark.parametrize("script", ["positions.js", "risk.js", "reports.js"])
def test_the_page_scripts_parse_and_write_no_html(script: str) -> None:
    # given
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    source = (STATIC / script).read_text()

    # when
    checked = subprocess.run([node, "--check", str(STATIC / script)], capture_output=True, text=True, timeout=60, check=False)

    # then it parses, and data reaches the page as text only
    assert checked.returncode == 0, checked.stderr
    assert '"use strict";' in source
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert sink not in source


# ---- an order's TCA page -------------------------------------------------------


def _pm1_order() -> int:
    from tests.ems.test_reports import submit  # an order in pm1's GROWTH portfolio, through the OMS service

    return submit(qty="300").pk


@pytest.mark.django_db
def test_the_tca_page_is_for_those_who_may_see_the_order(demo: None) -> None:
    # given pm1's order
    order = _pm1_order()
    path = f"/orders/{order}/tca/"

    # when / then: anonymous to the login page; pm1 and the desk get it; pm2 gets a 404, as from the API
    anonymous = Client().get(path)
    assert (anonymous.status_code, anonymous["Location"]) == (302, f"/accounts/login/?next={path}")
    for username in ("pm1", "trader1", "risk1", "admin"):
        assert client_for(username).get(path).status_code == 200, username
    assert client_for("pm2").get(path).status_code == 404
    assert client_for("pm1").get(f"/orders/{order + 1000}/tca/").status_code == 404


@pytest.mark.django_db
def test_the_tca_page_carries_its_sections_scripts_and_a_definition_for_every_metric_it_shows(demo: None) -> None:
    # given
    order = _pm1_order()

    # when
    html = client_for("pm1").get(f"/orders/{order}/tca/").content.decode()

    # then its sections, the API it reads, and its scripts
    for testid in ("tca-page", "tca-header", "tca-figures", "tca-bars", "tca-fills", "tca-glossary"):
        assert f'data-testid="{testid}"' in html
    assert f'data-url="/api/orders/{order}/tca/"' in html
    assert re.findall(r'<script src="/static/([a-z_]+\.js)"></script>', html) == ["format.js", "api.js", "tca_order.js"]
    # and every term the script shows (a figure, a bar, a column) has its definition in the glossary
    source = (STATIC / "tca_order.js").read_text()
    shown = set(re.findall(r'(?:figure|barRow)\("([a-z_]+)"', source))  # a figure's or a bar's term, its first argument
    shown |= set(re.findall(r'defined\(el\([^\n]*\), "([a-z_]+)"\)', source))  # defined(el(...), "term"): a heading
    shown |= set(re.findall(r'\["([a-z_]+_bps)", "[A-Z][a-z]+"\]', source))  # the shortfall's parts
    shown |= set(re.findall(r'<th scope="col"[^>]*data-term="([a-z_]+)"', html))
    defined = set(re.findall(r'<dd data-term="([a-z_]+)">', html))
    assert {"shortfall_bps", "delay_bps", "impact_bps", "timing_bps", "opportunity_bps", "fees_bps", "markouts_bps",
            "realized_spread_bps", "effective_spread_bps", "interval_vwap_slippage_bps", "liquidity"} <= shown  # fmt: skip
    assert shown <= defined, f"define these on the page: {sorted(shown - defined)}"


def test_the_tca_page_script_parses_and_writes_no_html() -> None:
    # given
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    source = (STATIC / "tca_order.js").read_text()

    # when
    checked = subprocess.run(
        [node, "--check", str(STATIC / "tca_order.js")], capture_output=True, text=True, timeout=60, check=False
    )

    # then it parses, and data reaches the page as text only; the blotter's detail links to the page
    assert checked.returncode == 0, checked.stderr
    assert '"use strict";' in source
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert sink not in source
    assert '"/orders/" + encodeURIComponent(String(orderId)) + "/tca/"' in (STATIC / "blotter.js").read_text()


# ---- the best-execution reports -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("username", "sees_all"), [("pm1", False), ("trader1", True), ("risk1", True), ("admin", True)])
def test_every_role_gets_the_reports_page_with_its_scope_and_the_nav_links_it(demo: None, username: str, sees_all: bool) -> None:
    # when
    response = client_for(username).get("/reports/")

    # then
    assert response.status_code == 200
    assert response.context["sees_all"] is sees_all
    html = response.content.decode()
    assert "/reports/" in nav_links(html)
    assert ("whole desk" in html) is sees_all
    if not sees_all:
        assert "GROWTH" in html
        assert "VALUE" not in html


@pytest.mark.django_db
def test_the_reports_page_is_forbidden_to_a_login_with_no_role_and_sends_anonymous_visitors_to_log_in(demo: None) -> None:
    User.objects.create_user("norole")
    assert client_for("norole").get("/reports/").status_code == 403
    response = Client().get("/reports/")
    assert response.status_code == 302
    assert response["Location"] == f"{settings.LOGIN_URL}?next=/reports/"


@pytest.mark.django_db
def test_the_reports_page_defines_every_metric_and_links_its_exports(demo: None) -> None:
    # when
    html = client_for("trader1").get("/reports/").content.decode()

    # then every column header has its definition, each section a glossary, and the exports point at the API
    for table in ("venues-table", "dealers-table"):
        start = html.index(f'id="{table}"')
        head = html[start : html.index("</thead>", start)]
        headers = re.findall(r"<th\b[^>]*>", head)
        assert headers
        assert all('title="' in th for th in headers), headers
    assert html.count('<details class="glossary"') == 3
    for term in ("% directed", "Effective spread", "Markout (MO)", "Cover distance", "Distance to mid", "&lt; 1 trade/day"):
        assert f"<dt>{term}</dt>" in html
    for report in ("best-execution", "venues", "dealers"):
        for fmt in ("csv", "json"):
            assert f'href="/api/reports/{report}/?format={fmt}"' in html
    assert re.findall(r'<option value="([a-z-]+)"', html) == ["quarter", "last-quarter", "month", "today", "custom"]
    assert 'src="/static/reports.js"' in html
