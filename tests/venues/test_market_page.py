"""The market page: logged-in users only; it lists the symbols with market data."""

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client

from config.redis import redis_client
from venues.marketdata import BookView, market_publish

pytestmark = pytest.mark.django_db

TS = "2025-01-02T14:30:00+00:00"


def published_symbol() -> str:
    symbol = "P" + uuid.uuid4().hex[:8].upper()
    books = [BookView(venue="XALP", symbol=symbol, bids=((Decimal("10"), Decimal("1"), 1),), asks=(), state="OPEN", ts=TS)]
    market_publish(redis_client(), symbol, books, [])
    return symbol


def logged_in() -> Client:
    client = Client()
    client.force_login(User.objects.create_user("md-page"))
    return client


def test_an_anonymous_user_is_sent_to_log_in(client: Client) -> None:
    # when
    response = client.get("/market/")

    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/market/")


def test_the_page_lists_symbols_and_opens_the_one_asked_for() -> None:
    # given two symbols with market data
    first, second = published_symbol(), published_symbol()

    # when
    response = logged_in().get(f"/market/{second}/")

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/market/{first}/"' in html
    assert f'data-symbol="{second}"' in html
    assert "market.js" in html
    assert response.context["symbol"] == second


def test_without_a_symbol_the_page_opens_the_first_one() -> None:
    # given
    published_symbol()

    # when
    response = logged_in().get("/market/")

    # then
    assert response.status_code == 200
    assert response.context["symbol"] == response.context["symbols"][0]
    assert f'data-symbol="{response.context["symbols"][0]}"' in response.content.decode()


def test_a_symbol_without_data_yet_still_opens() -> None:
    # when
    response = logged_in().get("/market/NODATA.YET/")

    # then
    assert response.status_code == 200
    assert 'data-symbol="NODATA.YET"' in response.content.decode()


def test_a_malformed_symbol_is_not_found() -> None:
    # when
    response = logged_in().get("/market/%24BAD/")

    # then
    assert response.status_code == 404
