"""The OpenAPI schema and its docs page: generated from the code without a warning, for logged-in users only, no CDN."""

import re
from pathlib import Path

from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import api_client_for


def test_the_schema_generates_valid_and_without_a_warning(tmp_path: Path) -> None:
    # when the schema is generated as `manage.py spectacular --validate --fail-on-warn` would
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    # then it raised nothing, and wrote the document
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.0.3")


def test_the_schema_is_served_to_an_authenticated_user_with_one_error_shape(demo: None) -> None:
    # when a PM's script asks for the schema with its token
    response = api_client_for("pm1").get("/api/schema/", {"format": "json"})

    # then it gets the document: every refusal has the one error body, and decimals are strings
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Smart Trading OMS/EMS API"
    assert schema["components"]["schemas"]["Error"]["properties"] == {"error": {"$ref": "#/components/schemas/ErrorDetail"}}
    create = schema["paths"]["/api/orders/"]["post"]["responses"]
    assert sorted(create) == ["200", "201", "400", "401", "403", "409"]
    for status in ("400", "401", "403", "409"):
        assert create[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    qty = schema["components"]["schemas"]["OrderCreateRequest"]["properties"]["qty"]
    assert (qty["type"], qty["format"]) == ("string", "decimal")


def test_the_docs_page_loads_only_our_own_static_files(demo: None) -> None:
    # given a trader logged in on the blotter
    client = Client()
    client.force_login(User.objects.get(username="trader1"))

    # when they open the API docs
    response = client.get("/api/docs/")

    # then the page is Swagger UI on our schema, every script, style and icon is one of our static files, and each is served
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/schema/" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {Path(a).name for a in assets} >= {"swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"}
    assert all(a.startswith("/static/drf_spectacular_sidecar/") for a in assets), assets
    assert "http://" not in html
    assert "https://" not in html
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_anonymous_callers_get_neither_the_schema_nor_the_docs(db: None) -> None:
    # when someone without credentials asks for the schema and the docs page
    schema = APIClient().get("/api/schema/", {"format": "json"})
    docs = Client().get("/api/docs/")

    # then the schema is a 401 in the API's error format, and the docs page sends them to log in first
    assert schema.status_code == 401
    assert schema.json()["error"]["code"] == "not_authenticated"
    assert docs.status_code == 302
    assert docs["Location"] == "/accounts/login/?next=/api/docs/"
