"""The cost analysis pages in a real browser, on the live system: an order fills in the simulated market, then its
TCA page and the desk's best-execution report show what it did, each figure with its definition.

The live system (Daphne, a Celery worker, the gateway) comes from tests/browser/conftest.py.
"""

import csv
import io
import re
from decimal import Decimal
from typing import Any

from playwright.sync_api import Page, expect

from oms.models import Fill, ParentOrder
from tests.conftest import api_client_for, wait_for

LIVE = 120_000  # ms


def _filled_order() -> ParentOrder:
    """pm1 buys 600 ACME at a marketable limit through the API, and the simulated market fills it."""
    body = {
        "portfolio": "GROWTH",
        "instrument": "ACME",
        "side": "BUY",
        "ord_type": "LIMIT",
        "qty": "600",
        "limit_px": "103.00",
        "cl_ord_id": "tca-page-1",
    }
    response = api_client_for("pm1").post("/api/orders/", body, format="json")
    assert response.status_code == 201, response.content
    order_id = response.json()["id"]
    return wait_for(
        lambda: ParentOrder.objects.filter(pk=order_id, status="FILLED").first(), what="the order filled", timeout=LIVE / 1000
    )


def test_an_orders_tca_page_and_the_best_execution_report_show_its_fills_with_their_definitions(session: Any) -> None:
    # given an order the market filled, each fill booked with the mid of its moment
    order = _filled_order()
    fills = list(Fill.objects.filter(parent=order).order_by("executed_at", "id"))
    assert sum((f.qty for f in fills), Decimal(0)) == Decimal(600)
    assert all(f.mid_px is not None for f in fills), [f.mid_px for f in fills]
    venues = {f.venue for f in fills}

    # when the trader opens its TCA page
    page: Page = session("trader1").login("trader1", f"/orders/{order.pk}/tca/")

    # then it shows the order, its shortfall in five parts adding up to the total, and one row per fill
    expect(page.get_by_test_id("tca-header")).to_contain_text(f"#{order.pk}")
    expect(page.locator('#tca-figures div[data-term="shortfall_bps"] dd')).to_have_text(re.compile(r"-?\d"))
    # and the market's VWAP over the order's interval: the publish that carried its fills, though they took milliseconds
    expect(page.locator('#tca-figures div[data-term="interval_vwap"] dd')).to_have_text(re.compile(r"^\d+\.\d+$"))
    parts = page.locator("#tca-bars tbody tr[data-term]")
    expect(parts).to_have_count(6)  # delay, impact, timing, opportunity, fees, and the total
    values = [Decimal(re.sub(r"[^\d.\-]", "", text.replace("\u2212", "-"))) for text in parts.locator("td.num").all_inner_texts()]
    assert sum(values[:-1]) == values[-1], values
    rows = page.locator("#tca-fills tbody tr[data-fill]")
    expect(rows).to_have_count(len(fills))
    assert [int(r) for r in rows.evaluate_all("rows => rows.map(r => r.dataset.fill)")] == [f.pk for f in fills]
    # and every figure and column carries its definition from the glossary
    for term in ("shortfall_bps", "arrival_slippage_bps", "interval_vwap_slippage_bps", "effective_spread_bps"):
        title = page.locator(f'#tca-figures div[data-term="{term}"] dt').get_attribute("title")
        assert len(title or "") > 20, (term, title)
    timing = page.locator('#tca-bars tr[data-term="timing_bps"] th').get_attribute("title")
    assert "mid" in (timing or ""), timing

    # when the trader opens the reports page (this quarter by default)
    page.goto("/reports/")
    expect(page.locator("body")).to_have_attribute("data-reports-loaded", "1", timeout=30_000)

    # then the RTS 28 table for equities and the venue analysis list the venues that filled it
    equity = page.locator('#rts28-tables section[data-asset-class="EQUITY"]')
    expect(equity).to_be_visible()
    for venue in venues:
        expect(equity.locator("tbody tr", has_text=f"({venue})")).to_have_count(1)
        expect(page.locator(f'#venues-table tbody tr[data-venue="{venue}"]')).to_have_count(1)
    assert all((page.locator("#venues-table thead th").nth(i).get_attribute("title") or "") for i in range(3))

    # and its CSV export downloads the same venues
    with page.expect_download() as download:
        page.locator("#export-rts-csv").click()
    path = download.value.path()
    assert path is not None
    with open(path, encoding="utf-8") as handle:
        rows_csv = list(csv.DictReader(io.StringIO(handle.read())))
    assert {row["venue_code"] for row in rows_csv if row["asset_class"] == "EQUITY"} >= venues, rows_csv
