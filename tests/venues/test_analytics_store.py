"""Stored instrument analytics: the service, the selector, the refresh command, and the venues admin."""

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from trading.enums import VenueKind
from venues.analytics import Analytics, MarketHistory, QuoteSample, TradeRecord
from venues.models import InstrumentAnalytics, MarketSimulator, SimulatedInstrument, Venue
from venues.selectors import analytics_get
from venues.services import analytics_store
from venues.sim.params import SessionState

MINUTE = 60_000_000_000
OPEN = 570 * MINUTE
CLOSE = 960 * MINUTE
AS_OF = datetime(2024, 1, 5, 21, 0, tzinfo=UTC)


def make_analytics(symbol: str = "XYZ", adv: str = "1000.0000", profile: tuple[str, ...] = ("0.6", "0.4")) -> Analytics:
    return Analytics(
        symbol=symbol,
        days=5,
        adv=Decimal(adv),
        volatility_daily=Decimal("0.012000"),
        volatility_annual=Decimal("0.190494"),
        spread_px=Decimal("0.01000000"),
        spread_bps=Decimal("1.0000"),
        depth=Decimal("500.0000"),
        bucket_minutes=30,
        volume_profile=tuple(Decimal(share) for share in profile),
    )


def fake_listings() -> list[dict[str, Any]]:
    """The reference data the command reads through ``settings.GATEWAY_REFDATA`` in these tests."""
    return [
        {"symbol": "AAA", "tick_size": Decimal("0.01"), "lot_size": Decimal(1), "ref_px": Decimal(50)},
        {"symbol": "BBB", "tick_size": Decimal("0.01"), "lot_size": Decimal(1), "ref_px": Decimal(200)},
    ]


@pytest.fixture
def simulated_history(monkeypatch: pytest.MonkeyPatch, settings: Any) -> list[tuple[str, int, int]]:
    """Replace the simulator's history with a fixed two-day one; return the calls (symbol, days, seed)."""
    calls: list[tuple[str, int, int]] = []

    def history_simulate(listing: Any, *, days: int, seed: int, config: Any = None) -> MarketHistory:
        calls.append((listing.symbol, days, seed))
        px = listing.ref_px
        day1, day2 = date(2024, 1, 2), date(2024, 1, 3)
        quotes = [
            QuoteSample(day, OPEN, px - Decimal("0.01"), Decimal(300), px + Decimal("0.01"), Decimal(100)) for day in (day1, day2)
        ]
        trades = [TradeRecord(day1, OPEN + MINUTE, px, Decimal(400)), TradeRecord(day2, OPEN + MINUTE, px, Decimal(600))]
        return MarketHistory(listing.symbol, OPEN, CLOSE, trades, quotes)

    monkeypatch.setattr("venues.services.history_simulate", history_simulate)
    settings.GATEWAY_REFDATA = "tests.venues.test_analytics_store.fake_listings"
    return calls


@pytest.mark.django_db
def test_storing_twice_updates_the_symbols_one_row():
    # given analytics stored once
    first = analytics_store(analytics=make_analytics(adv="1000.0000"), as_of=AS_OF)
    # when newer analytics of the same symbol are stored
    second = analytics_store(analytics=make_analytics(adv="2500.0000", profile=("0.25", "0.75")), as_of=AS_OF)
    # then there is still one row, holding the newer numbers and the profile as strings
    assert InstrumentAnalytics.objects.count() == 1
    assert second.pk == first.pk
    row = analytics_get("XYZ")
    assert row is not None
    assert row.adv == Decimal("2500.0000")
    assert row.volume_profile == ["0.25", "0.75"]
    assert row.as_of == AS_OF


@pytest.mark.django_db
def test_analytics_get_returns_none_for_a_symbol_never_computed():
    # given analytics of another symbol
    analytics_store(analytics=make_analytics("XYZ"), as_of=AS_OF)
    # when / then
    assert analytics_get("ABC") is None


@pytest.mark.django_db
def test_refresh_computes_and_stores_the_named_symbols(simulated_history):
    # given
    out = io.StringIO()
    # when only BBB is asked for, with an explicit history length and seed
    call_command("analytics_refresh", "--days", "2", "--seed", "11", "--symbols", "BBB", stdout=out)
    # then BBB's history was simulated as asked and its analytics stored; AAA was left alone
    assert simulated_history == [("BBB", 2, 11)]
    row = InstrumentAnalytics.objects.get()
    assert (row.symbol, row.days, row.adv, row.depth) == ("BBB", 2, Decimal("500.0000"), Decimal("200.0000"))
    # (0.02 / 200) in bps, quoted the whole session
    assert row.spread_bps == Decimal("1.0000")
    assert row.volume_profile[0] == "1.000000"
    assert out.getvalue() == "BBB: ADV 500.0000 | daily vol 0.000000 | spread 1.0000 bps (2 days)\n"


@pytest.mark.django_db
def test_refresh_defaults_to_every_listing_and_the_simulators_seed(simulated_history):
    # given the simulator's settings with seed 42
    MarketSimulator.objects.create(seed=42)
    # when
    call_command("analytics_refresh", "--days", "3", stdout=io.StringIO())
    # then
    assert simulated_history == [("AAA", 3, 42), ("BBB", 3, 42)]
    assert list(InstrumentAnalytics.objects.values_list("symbol", flat=True)) == ["AAA", "BBB"]


@pytest.mark.django_db
def test_refresh_rejects_a_symbol_that_is_not_listed(simulated_history):
    # given / when / then
    with pytest.raises(CommandError, match="invalid `symbols`, not listed: ZZZ"):
        call_command("analytics_refresh", "--symbols", "AAA,ZZZ", stdout=io.StringIO())
    # and nothing was simulated or stored
    assert simulated_history == []
    assert not InstrumentAnalytics.objects.exists()


@pytest.mark.parametrize("model", ["venue", "simulatedinstrument", "instrumentanalytics", "marketsimulator"], ids=lambda name: name)
@pytest.mark.django_db
def test_admin_changelists_load_for_a_superuser(admin_client, model):
    # given one row of each
    Venue.objects.create(code="XALP", name="Alpha", kind=VenueKind.LIT)
    SimulatedInstrument.objects.create(symbol="XYZ")
    analytics_store(analytics=make_analytics(profile=("0.625", "0.375")), as_of=AS_OF)
    # when
    response = admin_client.get(reverse(f"admin:venues_{model}_changelist"))
    # then
    assert response.status_code == 200


@pytest.mark.django_db
def test_analytics_changelist_shows_the_profile_as_percentages(admin_client):
    # given
    analytics_store(analytics=make_analytics(profile=("0.625", "0.375")), as_of=AS_OF)
    # when
    response = admin_client.get(reverse("admin:venues_instrumentanalytics_changelist"))
    # then
    assert "62.5% 37.5%" in response.content.decode()


@pytest.mark.django_db
def test_simulator_admin_is_a_singleton(admin_client):
    # given the one simulator row
    simulator = MarketSimulator.objects.create()
    # when
    changelist = admin_client.get(reverse("admin:venues_marketsimulator_changelist"))
    add = admin_client.get(reverse("admin:venues_marketsimulator_add"))
    delete = admin_client.get(reverse("admin:venues_marketsimulator_delete", args=[simulator.pk]))
    # then the list goes to the row, and there is no adding a second nor deleting it
    assert changelist.status_code == 302
    assert changelist["Location"] == reverse("admin:venues_marketsimulator_change", args=[simulator.pk])
    assert admin_client.get(changelist["Location"]).status_code == 200
    assert add.status_code == 403
    assert delete.status_code == 403
    assert MarketSimulator.objects.count() == 1


@pytest.mark.django_db
def test_simulator_added_in_admin_is_row_one(admin_client):
    # given no simulator settings yet
    url = reverse("admin:venues_marketsimulator_add")
    data = {
        "seed": "9",
        "regime": "CALM",
        "volatility": "0.3000",
        "trend_bps_per_hour": "20",
        "impact_coefficient": "0.700",
        "permanent_impact_share": "0.400",
        "adv_shares": "2000000",
    }
    # when
    response = admin_client.post(url, data)
    # then
    assert response.status_code == 302
    assert list(MarketSimulator.objects.values_list("pk", "seed")) == [(1, 9)]


@pytest.mark.parametrize(
    ("action", "state"),
    [("session_halt", SessionState.HALTED), ("session_resume", SessionState.OPEN), ("session_close", SessionState.CLOSED)],
)
@pytest.mark.django_db
def test_venue_session_actions_set_the_selected_venues_state(admin_client, action, state):
    # given two venues in another state, and only the first selected
    initial = SessionState.OPEN if state != SessionState.OPEN else SessionState.HALTED
    selected = Venue.objects.create(code="XALP", name="Alpha", kind=VenueKind.LIT, session_state=initial)
    other = Venue.objects.create(code="XBET", name="Beta", kind=VenueKind.LIT, session_state=initial)
    # when
    response = admin_client.post(reverse("admin:venues_venue_changelist"), {"action": action, "_selected_action": [selected.pk]})
    # then
    assert response.status_code == 302
    selected.refresh_from_db()
    other.refresh_from_db()
    assert selected.session_state == state
    assert other.session_state == initial


@pytest.mark.django_db
def test_venue_and_analytics_detail_pages_load(admin_client):
    # given
    venue = Venue.objects.create(code="XALP", name="Alpha", kind=VenueKind.LIT)
    row = analytics_store(analytics=make_analytics(profile=("0.625", "0.375")), as_of=AS_OF)
    # when
    venue_page = admin_client.get(reverse("admin:venues_venue_change", args=[venue.pk]))
    analytics_page = admin_client.get(reverse("admin:venues_instrumentanalytics_change", args=[row.pk]))
    # then the venue form is grouped and the analytics are shown read-only, profile as percentages
    assert venue_page.status_code == 200
    assert "Tick table" in venue_page.content.decode()
    assert analytics_page.status_code == 200
    assert "62.5% 37.5%" in analytics_page.content.decode()
    assert 'name="adv"' not in analytics_page.content.decode()
