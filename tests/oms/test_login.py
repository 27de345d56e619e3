"""The web login brakes guessing: after too many failures for a username or an address, even the right password waits."""

from collections.abc import Iterator

import pytest
from django.test import Client

from config.redis import redis_client


@pytest.fixture
def clean_counters() -> Iterator[None]:
    yield
    keys = list(redis_client().scan_iter("login:failures:*"))
    if keys:
        redis_client().delete(*keys)


def _login(client: Client, username: str, password: str) -> int:
    return client.post("/accounts/login/", {"username": username, "password": password}).status_code


def test_five_wrong_passwords_lock_the_login_even_for_the_right_one(demo: None, clean_counters: None) -> None:
    # given five wrong passwords for pm1
    client = Client()
    assert [_login(client, "pm1", f"guess{n}") for n in range(5)] == [200] * 5
    # when the right one comes
    response = client.post("/accounts/login/", {"username": "pm1", "password": "pm1-demo"})
    # then it is refused for now, saying how long to wait, and no session is opened
    assert response.status_code == 429
    assert b"Too many failed logins: try again in" in response.content
    assert "_auth_user_id" not in client.session


def test_a_good_login_clears_the_users_failures(demo: None, clean_counters: None) -> None:
    # given four wrong passwords, then the right one
    client = Client()
    for n in range(4):
        _login(client, "pm2", f"guess{n}")
    assert _login(client, "pm2", "pm2-demo") == 302
    # when the address forgets too (another address, same user) and four more fail
    redis_client().delete("login:failures:addr:127.0.0.1")
    results = [_login(Client(), "pm2", f"again{n}") for n in range(4)]
    # then the username's count restarted: none of them is locked out yet
    assert results == [200] * 4
