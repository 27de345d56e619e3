"""The blotter's RFQ panel: the page carries its container, the order's RFQ action and form, and loads static/rfq.js
before static/blotter.js (which hands it the socket's messages); and both scripts parse."""

import re
import shutil
import subprocess

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

STATIC = settings.BASE_DIR / "static"


@pytest.mark.django_db
def test_the_blotter_page_carries_the_rfq_panel_its_form_and_its_script(demo: None) -> None:
    # given
    client = Client()
    client.force_login(User.objects.get(username="trader1"))

    # when
    response = client.get("/")

    # then the panel, and the order detail's action that opens the form
    assert response.status_code == 200
    html = response.content.decode()
    assert '<section id="rfqs" class="rfqs"' in html
    for element_id in ("rfqs-title", "rfq-count", "rfq-notice", "rfq-empty", "rfq-list", "detail-rfq", "rfq-dialog"):
        assert f'id="{element_id}"' in html
    # the form: every field the API takes, an error slot for each, and the CSRF token its POSTs send
    form = html[html.index('<form id="rfq-form"') : html.index("</form>", html.index('<form id="rfq-form"'))]
    fields = ["window_seconds", "grace_seconds", "threshold_px", "allow_partial", "two_way", "anonymous"]
    assert set(re.findall(r'name="([a-z_]+)"', form)) == {"csrfmiddlewaretoken", *fields}
    for field in (*fields, "dealers", "general"):
        assert f'id="rfq-err-{field}"' in form
    assert 'id="rfq-dealer-list"' in form  # the dealers' checkboxes, from GET /api/dealers/
    # format.js, then rfq.js, then blotter.js: each uses the one before
    scripts = re.findall(r'<script src="/static/([a-zA-Z_./]+\.js)"></script>', html)
    # the chart library before the chart, and every panel before static/blotter.js, which calls them
    assert scripts == [
        "format.js", "api.js", "vendor/uplot/uPlot.iife.min.js", "order_chart.js", "ticket.js", "rfq.js", "blotter.js",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "script", ["rfq.js", "blotter.js", "ticket.js", "order_chart.js", "positions.js", "risk.js", "format.js", "api.js"]
)
def test_the_blotter_scripts_parse(script: str) -> None:
    # given (`node --check a.js b.js` checks a.js only: the rest are the script's arguments, so one file each)
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")

    # when
    checked = subprocess.run([node, "--check", str(STATIC / script)], capture_output=True, text=True, timeout=60, check=False)

    # then
    assert checked.returncode == 0, checked.stderr
