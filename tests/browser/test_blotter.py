"""The trader's blotter in a real browser, on the live system: ticket, fills streaming in, the order's detail and
chart, an RFQ clicked on its ladder, filters and keyboard, and the kill switch engaged by risk.

Each test starts the web server (Daphne), a Celery worker and the gateway (tests/browser/conftest.py); the
page is never reloaded once open (``window.__sameDocument`` would be gone), so what it shows came live.
"""

import contextlib
import re
from decimal import Decimal
from typing import Any

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from ems.models import Rfq
from oms.models import Fill, Instrument, KillSwitch, ParentOrder
from tests.conftest import api_client_for, wait_for

LIVE = 120_000  # ms: fills come from the simulated market through the worker; a slow CI machine gets room


def _blotter(session: Any, username: str) -> Page:
    return _open(session(username), username)


def _open(user: Any, username: str) -> Page:
    page: Page = user.login(username)
    expect(page.locator("#live")).to_have_text("live")
    page.evaluate("window.__sameDocument = true")
    return page


def _still_the_same_page(page: Page) -> None:
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"


def _post(username: str, **terms: Any) -> dict[str, Any]:
    body = {"portfolio": "GROWTH", "instrument": "ACME", "side": "BUY", "ord_type": "LIMIT", "qty": "500", **terms}
    response = api_client_for(username).post("/api/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_a_trader_sends_an_order_from_the_ticket_and_watches_it_fill_live_with_its_chart(session: Any) -> None:
    # given the trader's open blotter, and the positions page in another tab (GROWTH holds 10,000 ACME)
    trader = session("trader1")
    page = _open(trader, "trader1")
    positions: Page = trader.page()
    positions.goto("/positions/")
    acme = positions.locator('tr[data-portfolio="GROWTH"][data-symbol="ACME"] td[data-col="qty"]')
    expect(acme).to_have_text(re.compile(r"^10,?000$"))
    positions.evaluate("window.__sameDocument = true")
    page.bring_to_front()

    # when the trader opens the ticket (N), picks ACME from the search, buys 1,200 at a marketable 103.00
    page.keyboard.press("n")
    ticket = page.locator("dialog#ticket")
    expect(ticket).to_be_visible()
    page.locator("#ticket-portfolio").select_option("GROWTH")
    instrument = page.get_by_test_id("ticket-instrument")
    instrument.fill("ACM")
    page.locator("#ticket [role=option]", has_text="ACME").first.click()
    page.get_by_test_id("ticket-side-buy").click()
    page.get_by_test_id("ticket-qty").fill("1200")
    page.get_by_test_id("ticket-limit").fill("103.00")

    # then the pre-trade check passes before anything is sent, and nothing is stored yet
    expect(page.get_by_test_id("ticket-check")).to_contain_text(re.compile("pass", re.IGNORECASE))
    assert not ParentOrder.objects.exists()

    # when the trader sends it
    page.get_by_test_id("ticket-send").click()
    expect(ticket).to_be_hidden()
    order = wait_for(lambda: ParentOrder.objects.filter(created_by__username="trader1").first(), what="the order")
    assert (order.side, order.qty, order.limit_px) == ("BUY", Decimal(1200), Decimal("103.00"))

    # then its row fills live, and every fill streams into the fills grid, without a reload
    row = page.locator(f'#orders tr[data-id="{order.pk}"]')
    expect(row).to_have_attribute("data-status", "FILLED", timeout=LIVE)
    fills = Fill.objects.filter(parent=order).count()
    assert fills >= 1
    expect(page.locator(f'#fills tr[data-parent="{order.pk}"]')).to_have_count(fills)
    expect(row.locator("td.status")).to_have_text("FILLED")
    _still_the_same_page(page)

    # and its detail (opened by the ticket) shows the chart with our fills, the TCA and the rationale
    expect(page.locator("#detail-title")).to_have_text(f"Order #{order.pk}")
    chart = page.get_by_test_id("order-chart")
    expect(chart).to_have_attribute("data-ready", "1", timeout=30_000)
    expect(chart).to_have_attribute("data-points", str(fills), timeout=30_000)
    expect(chart.locator("canvas").first).to_be_visible()
    expect(page.locator("#detail-body")).to_contain_text("Shortfall")
    expect(page.locator("#detail-body .rationale")).to_contain_text("Strategy")

    # and the positions tab shows GROWTH's ACME grown by the 1,200, live
    expect(acme).to_have_text(re.compile(r"^11,?200$"), timeout=30_000)
    _still_the_same_page(positions)


def test_the_market_view_streams_books_and_trades(session: Any) -> None:
    # given the simulated market running (the gateway publishes every 0.1 s)
    page: Page = session("trader1").login("trader1", "/market/ACME/")

    # then the consolidated ladder, the NBBO and the tape fill in live
    expect(page.locator("#live")).to_have_text("live")
    expect(page.locator("#nbbo-bid")).to_have_text(re.compile(r"^\d+\.\d+\s\S\s\d"), timeout=LIVE)
    expect(page.locator("#ladder tbody tr").first).to_be_visible()
    expect(page.locator("#tape tbody tr").first).to_be_visible(timeout=LIVE)
    expect(page.locator(".venue-book").first).to_be_visible()


def test_a_trader_runs_a_multi_leg_rfq_from_the_ticket_and_a_click_on_a_quote_fills_it(session: Any) -> None:
    # given the trader's open blotter and the demo's call vertical
    page = _blotter(session, "trader1")
    vertical = Instrument.objects.get(structure="VERTICAL")

    # when the trader asks three chosen dealers for 10 verticals by RFQ from the ticket, over a 30 s window
    page.get_by_test_id("new-order").click()
    page.locator("#ticket-portfolio").select_option("GROWTH")
    page.get_by_test_id("ticket-instrument").fill(vertical.symbol)
    page.locator("#ticket [role=option]", has_text=vertical.symbol).first.click()
    page.get_by_test_id("ticket-qty").fill("10")
    page.locator("#ticket-ord_type").select_option("MARKET")
    page.get_by_test_id("ticket-strategy").select_option("RFQ")
    page.locator("#ticket-param-window_seconds").fill("30")
    chosen = ["DLR-HM", "DLR-KF", "DLR-NB"]
    expect(page.locator("#ticket-param-dealers option[value='DLR-KF']")).to_have_count(1)
    page.locator("#ticket-param-dealers").select_option(chosen)
    expect(page.get_by_test_id("ticket-check")).to_contain_text(re.compile("pass", re.IGNORECASE))
    page.get_by_test_id("ticket-send").click()
    order = wait_for(lambda: ParentOrder.objects.filter(instrument=vertical).first(), what="the order")
    rfq = wait_for(lambda: Rfq.objects.filter(parent=order).first(), what="the request")
    assert sorted(api_client_for("trader1").get(f"/api/rfqs/{rfq.pk}/").json()["dealers"]) == chosen

    # then its card shows on the trader's RFQ panel and the ladder fills in live, with a countdown
    card = page.locator(".rfq-card", has_text=vertical.symbol)
    expect(card).to_be_visible(timeout=LIVE)
    quotes = card.locator("tr.quote")
    expect(quotes.first).to_be_visible(timeout=LIVE)
    expect(card.locator(".rfq-clock")).to_have_text(re.compile(r"\d"))

    # when the trader clicks the best quote (a dealer may walk away on last look: click the best again until one fills)

    def filled() -> bool:
        rfq.refresh_from_db()
        if rfq.state in ("FILLED", "EXPIRED", "FAILED", "CANCELLED"):
            return True
        best = card.locator("tr.quote:not(.expired)").first
        if rfq.state == "OPEN" and best.count():
            page.wait_for_timeout(400)  # past the ladder's settle time: a row that just moved ignores a click
            with contextlib.suppress(PlaywrightTimeout):  # the quote expired or moved under the pointer: look again
                best.click(timeout=2_000)
        return False

    wait_for(filled, timeout=90, what="the request to end")

    # then the request is filled, shown so on the card, and the order's row says FILLED, live
    assert rfq.state == "FILLED", rfq.reason
    expect(card).to_have_class(re.compile("state-filled"), timeout=30_000)
    expect(page.locator(f'#orders tr[data-id="{order.pk}"]')).to_have_attribute("data-status", "FILLED", timeout=30_000)
    assert ParentOrder.objects.get(pk=order.pk).filled_qty == Decimal(10)
    _still_the_same_page(page)


def test_the_blotter_filters_sorts_expands_and_moves_by_keyboard(session: Any) -> None:
    # given three resting orders (far from the market): two of GROWTH (ACME buy, ACME sell) and one of VALUE
    buy = _post("pm1", side="BUY", limit_px="95.00", qty="300")
    sell = _post("pm1", side="SELL", limit_px="108.00", qty="200")
    value = _post("pm2", portfolio="VALUE", side="BUY", limit_px="95.00", qty="100")
    page = _blotter(session, "trader1")
    rows = page.locator("#orders tbody tr[data-id]:visible")
    expect(rows).to_have_count(3)

    # when the trader filters by side, then by portfolio text
    page.get_by_test_id("filter-side").select_option("SELL")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", str(sell["id"]))
    page.get_by_test_id("filter-side").select_option("")
    page.keyboard.press("/")
    expect(page.get_by_test_id("filter-text")).to_be_focused()
    page.keyboard.type("value")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", str(value["id"]))
    page.get_by_test_id("filter-text").fill("")
    expect(rows).to_have_count(3)

    # when the trader sorts by quantity (ascending, then descending)
    page.locator('#orders thead th[data-sort="qty"]').click()
    expect(rows.nth(0)).to_have_attribute("data-id", str(value["id"]))
    expect(rows.nth(2)).to_have_attribute("data-id", str(buy["id"]))
    page.locator('#orders thead th[data-sort="qty"]').click()
    expect(rows.nth(0)).to_have_attribute("data-id", str(buy["id"]))

    # when the trader walks the rows with the arrows and expands one in place (→), then opens its detail (Enter)
    rows.nth(0).focus()
    page.keyboard.press("ArrowDown")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("ArrowRight")
    expansion = page.locator(f'#orders tr.expansion[data-parent="{sell["id"]}"]')
    expect(expansion).to_contain_text("Child orders")
    page.keyboard.press("Enter")
    expect(page.locator("#detail-title")).to_have_text(f"Order #{sell['id']}")
    page.keyboard.press("Escape")
    expect(page.locator("#order-detail")).to_be_hidden()
    page.keyboard.press("ArrowLeft")
    expect(expansion).to_have_count(0)
    _still_the_same_page(page)


def test_a_trader_cancels_an_order_from_its_detail(session: Any) -> None:
    # given a resting order on the trader's blotter
    order = _post("pm1", limit_px="95.00", qty="300")
    page = _blotter(session, "trader1")
    row = page.locator(f'#orders tr[data-id="{order["id"]}"]')
    expect(row).to_have_attribute("data-status", "NEW", timeout=LIVE)

    # when the trader opens it and cancels (the button asks for a second press)
    row.click()
    cancel = page.get_by_test_id("detail-cancel")
    cancel.click()
    expect(cancel).to_have_text(re.compile("Confirm"))
    assert ParentOrder.objects.get(pk=order["id"]).status == "NEW"  # one press sends nothing
    cancel.click()

    # then the order is cancelled, and the row says so live
    expect(row).to_have_attribute("data-status", "CANCELED", timeout=LIVE)
    assert ParentOrder.objects.get(pk=order["id"]).status == "CANCELED"
    expect(cancel).to_be_hidden()


def test_risk_engages_a_kill_switch_and_the_traders_blotter_sees_the_orders_cancelled(session: Any) -> None:
    # given a resting GROWTH order on the trader's open blotter
    order = _post("pm1", limit_px="95.00", qty="300")
    trader = _blotter(session, "trader1")
    row = trader.locator(f'#orders tr[data-id="{order["id"]}"]')
    expect(row).to_have_attribute("data-status", "NEW", timeout=LIVE)

    # when risk engages a PORTFOLIO kill switch on GROWTH from the risk panel, confirming it
    risk: Page = session("risk").login("risk1", "/risk/")
    risk.get_by_test_id("risk-scope").select_option("PORTFOLIO")
    risk.locator("#risk-target-portfolio").select_option("GROWTH")
    risk.get_by_test_id("risk-reason").fill("runaway algo")
    risk.get_by_test_id("risk-engage").click()
    risk.get_by_test_id("risk-confirm").click()

    # then the switch is on, listed on the panel
    switch = wait_for(lambda: KillSwitch.objects.filter(engaged=True).first(), what="the switch")
    assert (switch.scope, switch.portfolio.code, switch.reason) == ("PORTFOLIO", "GROWTH", "runaway algo")
    expect(risk.locator(f'[data-testid="risk-switches"] tr[data-id="{switch.pk}"]')).to_contain_text("GROWTH")

    # and the order is cancelled, seen live on the trader's blotter
    expect(row).to_have_attribute("data-status", "CANCELED", timeout=LIVE)
    _still_the_same_page(trader)

    # and a new GROWTH order is refused
    refused = api_client_for("pm1").post(
        "/api/orders/",
        {"portfolio": "GROWTH", "instrument": "ACME", "side": "BUY", "ord_type": "LIMIT", "qty": "100", "limit_px": "95.00"},
        format="json",
    )
    assert refused.status_code == 400
    assert any(d["code"] == "KILL_SWITCH" for d in refused.json()["error"]["details"]), refused.json()
