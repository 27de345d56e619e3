from decimal import Decimal

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from config.admin import ReadOnlyAdmin, SingletonAdmin
from venues.models import InstrumentAnalytics, MarketSimulator, SimulatedInstrument, Venue
from venues.services import venue_session_set
from venues.sim.params import SessionState


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "kind",
        "maker_fee",
        "taker_fee",
        "latency_ms",
        "depth_scale",
        "session_open",
        "session_close",
        "session_state",
        "active",
    ]
    list_filter = ["kind", "session_state", "active"]
    list_editable = ["session_state", "active"]
    search_fields = ["code", "name"]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "latency_ms", "active"]}),
        ("RFQ dealer", {"fields": ["covers"], "description": 'The asset classes an RFQ dealer quotes: ["EQUITY", "OPTION"].'}),
        ("Fees", {"fields": ["maker_fee", "taker_fee"], "description": "Per share; a negative maker fee is a rebate."}),
        ("Session", {"fields": ["session_open", "session_close", "session_state"]}),
        ("Simulator", {"fields": ["depth_scale"]}),
        ("Tick table", {"fields": ["tick_table"]}),
    ]
    actions = ["session_halt", "session_resume", "session_close"]

    def _session_set(self, request: HttpRequest, queryset: QuerySet[Venue], state: SessionState) -> None:
        changed = venue_session_set(venue_ids=list(queryset.values_list("id", flat=True)), state=state)
        self.message_user(request, f"{changed} venue(s) set to {state}")

    @admin.action(description="Halt", permissions=["change"])
    def session_halt(self, request: HttpRequest, queryset: QuerySet[Venue]) -> None:
        self._session_set(request, queryset, SessionState.HALTED)

    @admin.action(description="Resume (open)", permissions=["change"])
    def session_resume(self, request: HttpRequest, queryset: QuerySet[Venue]) -> None:
        self._session_set(request, queryset, SessionState.OPEN)

    @admin.action(description="Close", permissions=["change"])
    def session_close(self, request: HttpRequest, queryset: QuerySet[Venue]) -> None:
        self._session_set(request, queryset, SessionState.CLOSED)


@admin.register(MarketSimulator)
class MarketSimulatorAdmin(SingletonAdmin):
    list_display = ["__str__", "regime", "volatility", "trend_bps_per_hour", "impact_coefficient", "adv_shares"]


@admin.register(SimulatedInstrument)
class SimulatedInstrumentAdmin(admin.ModelAdmin):
    list_display = ["symbol", "regime", "volatility", "adv_shares"]
    list_editable = ["regime", "volatility", "adv_shares"]
    list_filter = ["regime"]
    search_fields = ["symbol"]


ANALYTICS_COLUMNS = (
    "symbol",
    "as_of",
    "days",
    "adv",
    "volatility_daily",
    "volatility_annual",
    "spread_bps",
    "spread_px",
    "depth",
    "bucket_minutes",
    "profile",
)


@admin.register(InstrumentAnalytics)
class InstrumentAnalyticsAdmin(ReadOnlyAdmin):
    """Written by ``analytics_refresh``; shown, never edited."""

    list_display = ANALYTICS_COLUMNS
    search_fields = ["symbol"]
    fields = ANALYTICS_COLUMNS
    readonly_fields = ["profile"]

    @admin.display(description="volume profile (% per bucket)")
    def profile(self, obj: InstrumentAnalytics) -> str:
        return " ".join(f"{(Decimal(share) * 100).quantize(Decimal('0.1'))}%" for share in obj.volume_profile)
