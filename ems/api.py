"""The RFQ endpoints: list and read requests, start one for an order, click a quote, cancel; the dealer panel.

Errors use the API's one format (``oms.api.errors``): 400 with the fields for
bad input, 409 when the request's state refuses the action (an expired quote,
a pending last look), each with the reason a trader can act on. A PM sees and
acts on the requests of their own portfolios only.
"""

from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.fields import enum_choices
from ems import bestex
from ems.chart import order_chart
from ems.core.algos import SPECS, ParamError, ParamSpec, Strategy
from ems.models import Execution, Rfq
from ems.rfqs import (
    ACTIVE,
    RfqInvalid,
    RfqRefused,
    dealers_ranked,
    initiator_of,
    rfq_hit,
    rfq_request,
    rfq_snapshot,
    rfq_withdraw,
)
from ems.tca import order_tca_report
from oms import roles
from oms.api.errors import error_body, error_responses
from oms.api.permissions import HasRole
from oms.api.serializers import TcaSerializer
from oms.models import KillScope, KillSwitch
from oms.selectors import venues_halted
from trading.enums import AssetClass, Side
from trading.rfq import QuoteState, RfqInitiator, RfqSide, RfqState
from venues.models import Venue


class RfqStartSerializer(serializers.Serializer[Any]):
    """What a trader or PM gives to start a request; the values are checked as the RFQ strategy's parameters."""

    order = serializers.IntegerField()
    dealers = serializers.ListField(child=serializers.CharField(max_length=32), required=False, allow_empty=True)
    window_seconds = serializers.IntegerField(required=False)
    grace_seconds = serializers.IntegerField(required=False)
    threshold_px = serializers.DecimalField(max_digits=30, decimal_places=8, required=False, allow_null=True)
    allow_partial = serializers.BooleanField(required=False)
    two_way = serializers.BooleanField(required=False)
    anonymous = serializers.BooleanField(required=False)


class RfqHitSerializer(serializers.Serializer[Any]):
    quote_id = serializers.CharField(max_length=64)
    qty = serializers.DecimalField(max_digits=30, decimal_places=4, required=False, allow_null=True, min_value=Decimal(0))
    side = serializers.ChoiceField(choices=enum_choices(Side), required=False, allow_null=True)


# --- response shapes: what ``rfq_snapshot`` and ``dealers_ranked`` return, declared for the OpenAPI schema -------------


def _decimal(*, allow_null: bool = False, help_text: str = "") -> serializers.DecimalField:
    """A decimal as the snapshot writes it: a plain string at the precision it has (no fixed digits)."""
    return serializers.DecimalField(max_digits=None, decimal_places=None, allow_null=allow_null, help_text=help_text)


def _choice(enum: Any) -> serializers.ChoiceField:
    """The same choices, labels included, as the models' columns: the schema then names one enum per concept."""
    return serializers.ChoiceField(choices=enum_choices(enum))


class RfqLegSerializer(serializers.Serializer[Any]):
    symbol = serializers.CharField()
    side = _choice(Side)
    ratio = _decimal(help_text="units of this leg per unit of the package")


class RfqLadderRowSerializer(serializers.Serializer[Any]):
    quote_id = serializers.CharField()
    dealer = serializers.CharField()
    side = _choice(Side)
    px = _decimal()
    size = _decimal()
    improvement_bps = _decimal(allow_null=True, help_text="against the composite mid, positive is better for us; null: no mid")
    time_left_ms = serializers.IntegerField(help_text="until the quote or the window ends, whichever comes first")


class RfqLadderSerializer(serializers.Serializer[Any]):
    mid = _decimal(allow_null=True, help_text="the composite mid improvement is measured against")
    mid_source = serializers.CharField(allow_null=True)
    offers = RfqLadderRowSerializer(many=True, help_text="for a buyer, lowest first")
    bids = RfqLadderRowSerializer(many=True, help_text="for a seller, highest first")
    hidden = serializers.IntegerField(help_text="live quotes held back by the grace period")


class RfqQuoteSerializer(serializers.Serializer[Any]):
    quote_id = serializers.CharField()
    dealer = serializers.CharField()
    bid_px = _decimal(allow_null=True)
    offer_px = _decimal(allow_null=True)
    bid_size = _decimal()
    offer_size = _decimal()
    state = _choice(QuoteState)
    arrived_at = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()


class RfqDeclineSerializer(serializers.Serializer[Any]):
    dealer = serializers.CharField()
    reason = serializers.CharField()
    text = serializers.CharField(allow_blank=True)
    at = serializers.DateTimeField()


class RfqHitSentSerializer(serializers.Serializer[Any]):
    quote_resp_id = serializers.CharField()
    quote_id = serializers.CharField()
    dealer = serializers.CharField()
    side = _choice(Side)
    qty = _decimal()
    px = _decimal()
    accepted = serializers.BooleanField(allow_null=True, help_text="null while the dealer's last look runs")
    reason = serializers.CharField(allow_blank=True, help_text="the dealer's, on a reject")


class RfqLogSerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    event = serializers.CharField()
    state = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    dealer = serializers.CharField(allow_blank=True)
    quote_id = serializers.CharField(allow_blank=True)


class RfqSerializer(serializers.Serializer[Any]):
    """A request for quote as the trader sees it now (``ems.rfqs.rfq_snapshot``)."""

    id = serializers.IntegerField()
    version = serializers.IntegerField(help_text="grows with each change: keep the newest snapshot")
    quote_req_id = serializers.CharField()
    order = serializers.IntegerField(help_text="the parent order's id")
    symbol = serializers.CharField()
    description = serializers.CharField()
    side = _choice(RfqSide)
    qty = _decimal()
    filled_qty = _decimal()
    avg_px = _decimal(allow_null=True)
    state = _choice(RfqState)
    reason = serializers.CharField(allow_blank=True, help_text="why it ended, once it has")
    initiator = _choice(RfqInitiator)
    started_by = serializers.CharField()
    dealers = serializers.ListField(child=serializers.CharField(), help_text="the dealers asked, in rank order")
    selection = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text="`chosen` and `excluded`: per dealer, why it was asked or left out",
    )
    legs = RfqLegSerializer(many=True)
    opened_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    grace_ends_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    as_of = serializers.DateTimeField()
    time_left_ms = serializers.IntegerField()
    threshold_px = _decimal(allow_null=True)
    allow_partial = serializers.BooleanField()
    anonymous = serializers.BooleanField()
    ladder = RfqLadderSerializer()
    quotes = RfqQuoteSerializer(many=True)
    declines = RfqDeclineSerializer(many=True)
    hits = RfqHitSentSerializer(many=True)
    log = RfqLogSerializer(many=True)


class DealerSerializer(serializers.Serializer[Any]):
    """A dealer of the RFQ panel with its rank and record (``ems.rfqs.dealers_ranked``)."""

    code = serializers.CharField()
    name = serializers.CharField()
    covers = serializers.ListField(child=_choice(AssetClass))
    rank = serializers.IntegerField(help_text="1 is best")
    score = _decimal(allow_null=True, help_text="null: no record yet")
    summary = serializers.CharField()


def _conflict(exc: Exception) -> Response:
    return Response(error_body(status=409, code="rfq_state", message=str(exc)), status=status.HTTP_409_CONFLICT)


def _invalid(message: str, field: str | None = None) -> Response:
    fields = {field: [message]} if field else {}
    return Response(error_body(status=400, code="rfq_invalid", message=message, fields=fields), status=status.HTTP_400_BAD_REQUEST)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("active", OpenApiTypes.BOOL, description="`true`: only those open or waiting for a last look")
        ],
        responses={200: RfqSerializer},
    ),
    retrieve=extend_schema(responses={200: RfqSerializer, **error_responses(404)}),
    create=extend_schema(request=RfqStartSerializer, responses={201: RfqSerializer, **error_responses(400, 403, 409)}),
    hit=extend_schema(request=RfqHitSerializer, responses={202: RfqSerializer, **error_responses(400, 403, 404, 409)}),
    cancel=extend_schema(request=None, responses={200: RfqSerializer, **error_responses(403, 404, 409)}),
)
class RfqViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Requests for quote. ``?active=true``: those open or waiting for a last look."""

    def get_queryset(self) -> QuerySet[Rfq]:
        rfqs = Rfq.objects.filter(parent__in=roles.orders_for(self.request.user)).select_related(
            "parent__instrument__underlying", "parent__portfolio"
        )
        if self.request.query_params.get("active") in ("1", "true", "yes"):
            rfqs = rfqs.filter(state__in=ACTIVE)
        return rfqs.prefetch_related("log")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        items = page if page is not None else list(self.get_queryset())
        data = [rfq_snapshot(rfq) for rfq in items]
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(rfq_snapshot(self.get_object()))

    def create(self, request: Request) -> Response:
        self._may_trade(request)
        form = RfqStartSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        order_id = data.pop("order")
        if not roles.orders_for(request.user).filter(pk=order_id).exists():
            return _invalid(f"order #{order_id} is not one of yours", "order")
        try:
            rfq = rfq_request(
                parent_id=order_id, given=data, actor=request.user.get_username(), initiator=initiator_of(request.user)
            )
        except ParamError as exc:
            return _invalid(exc.message, exc.field)
        except RfqInvalid as exc:
            return _invalid(str(exc))
        except RfqRefused as exc:
            return _conflict(exc)
        return Response(rfq_snapshot(rfq), status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def hit(self, request: Request, pk: str | None = None) -> Response:
        """Hit a bid or lift an offer on the ladder, fill-or-kill; 202 while the dealer's last look runs."""
        self._may_trade(request)
        rfq = self.get_object()
        form = RfqHitSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        side = Side(data["side"]) if data.get("side") else None
        try:
            rfq = rfq_hit(
                rfq_id=rfq.pk, quote_id=data["quote_id"], actor=request.user.get_username(), qty=data.get("qty"), side=side
            )
        except RfqRefused as exc:
            return _conflict(exc)
        return Response(rfq_snapshot(rfq), status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        self._may_trade(request)
        rfq = self.get_object()
        try:
            rfq = rfq_withdraw(rfq_id=rfq.pk, actor=request.user.get_username())
        except RfqRefused as exc:
            return _conflict(exc)
        return Response(rfq_snapshot(rfq))

    def _may_trade(self, request: Request) -> None:
        if not roles.may_submit(request.user):
            raise PermissionDenied("only a PM or a trader may ask dealers or trade on their quotes")
        switch = KillSwitch.objects.filter(engaged=True, scope=KillScope.TRADER, trader_id=request.user.pk).first()
        if switch is not None:
            raise PermissionDenied(f"kill switch {switch.target_label}: {switch.reason}")


class DealerList(APIView):
    """The dealer panel in rank order: score, record, coverage. Any role may read it."""

    permission_classes = [IsAuthenticated, HasRole]

    @extend_schema(responses={200: DealerSerializer(many=True), **error_responses(403)})
    def get(self, request: Request) -> Response:
        return Response(dealers_ranked())


class ExecutionSerializer(serializers.ModelSerializer[Execution]):
    """How an order is worked: the strategy now and first chosen, the rule and why, the window, where it stands."""

    order = serializers.IntegerField(source="parent_id", read_only=True)
    portfolio = serializers.CharField(source="parent.portfolio.code", read_only=True)
    instrument = serializers.CharField(source="parent.instrument.symbol", read_only=True)

    class Meta:
        model = Execution
        fields = [
            "id", "order", "portfolio", "instrument", "strategy", "base_strategy", "rule", "params", "rationale", "status",
            "start_at", "end_at", "arrival_mid", "segment_started_at", "segment_filled_qty", "schedule", "next_tick_at",
            "tick_no", "updated_at",
        ]  # fmt: skip


EXECUTION_STATUSES = Execution._meta.get_field("status").choices  # named in the schema (ENUM_NAME_OVERRIDES)


class ExecutionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=EXECUTION_STATUSES)
    strategy = django_filters.CharFilter()
    order = django_filters.NumberFilter(field_name="parent_id")

    class Meta:
        model = Execution
        fields = ["status", "strategy", "order"]


@extend_schema_view(
    list=extend_schema(responses={200: ExecutionSerializer, **error_responses(400)}),  # 400: a filter value it cannot read
    retrieve=extend_schema(responses={200: ExecutionSerializer, **error_responses(404)}),
)
class ExecutionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The executions of the orders the user may read, newest first; an order's detail has its ticks and switches."""

    serializer_class = ExecutionSerializer
    filterset_class = ExecutionFilter

    def get_queryset(self) -> QuerySet[Execution]:
        executions = Execution.objects.filter(parent__in=roles.orders_for(self.request.user))
        return executions.select_related("parent__portfolio", "parent__instrument").order_by("-id")


class VenueSerializer(serializers.ModelSerializer[Venue]):
    """A venue or RFQ dealer: kind, fees, latency, session, the asset classes a dealer quotes, and whether it is halted."""

    halted = serializers.SerializerMethodField(help_text="an engaged venue kill switch closes it to routing and RFQs")

    class Meta:
        model = Venue
        fields = [
            "code", "name", "kind", "maker_fee", "taker_fee", "latency_ms", "session_open", "session_close",
            "session_state", "covers", "active", "halted",
        ]  # fmt: skip

    def get_halted(self, venue: Venue) -> bool:
        halted = self.context.setdefault("halted", venues_halted())
        return venue.code in halted


@extend_schema_view(
    list=extend_schema(responses={200: VenueSerializer, **error_responses(400, 403)}),
    retrieve=extend_schema(responses={200: VenueSerializer, **error_responses(403, 404)}),
)
class VenueViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The venues and RFQ dealers the system connects to, by code. Any role may read them."""

    serializer_class = VenueSerializer
    lookup_field = "code"
    permission_classes = [IsAuthenticated, HasRole]
    filterset_fields = ["kind", "active"]

    def get_queryset(self) -> QuerySet[Venue]:
        return Venue.objects.order_by("kind", "code")


# --- the order detail's chart (``ems.chart.order_chart``): times are epoch milliseconds, numbers decimal strings -------


class ChartMarketPointSerializer(serializers.Serializer[Any]):
    t = serializers.IntegerField(help_text="epoch ms of the publish's last trade")
    px = _decimal(allow_null=True, help_text="the publish's last trade price; null for data kept before prices were")
    mid = _decimal(allow_null=True, help_text="the NBBO mid after that publish; null when one-sided or unknown")
    market_volume = _decimal(allow_null=True, help_text="printed since the execution started, ours included; null before")
    participation = _decimal(
        allow_null=True, help_text="our filled qty by then over `market_volume`, a fraction (0.0123 is 1.23%); null if unknown"
    )


class ChartFillSerializer(serializers.Serializer[Any]):
    t = serializers.IntegerField(help_text="epoch ms, when it executed")
    px = _decimal()
    qty = _decimal()
    venue = serializers.CharField()
    liquidity = serializers.CharField(allow_blank=True, help_text="ADDED, REMOVED, ... as the venue said; blank if unknown")
    filled_qty = _decimal(help_text="our cumulative filled qty after this fill")


class ChartTickSerializer(serializers.Serializer[Any]):
    tick_no = serializers.IntegerField()
    due_at = serializers.IntegerField(help_text="epoch ms, when the schedule wanted the tick")
    ran_at = serializers.IntegerField(help_text="epoch ms, when it ran")
    strategy = serializers.CharField()
    target_qty = _decimal(allow_null=True, help_text="where the schedule said the parent should be; null: no target")
    filled_qty = _decimal(help_text="the parent's filled qty when the tick ran")


class OrderChartSerializer(serializers.Serializer[Any]):
    """What the order detail's chart draws. Times are epoch milliseconds (UTC); numbers are decimal strings."""

    order = serializers.IntegerField()
    symbol = serializers.CharField()
    side = _choice(Side)
    status = serializers.CharField()
    strategy = serializers.CharField(allow_null=True, help_text="the strategy working now; null before the execution")
    qty = _decimal()
    filled_qty = _decimal()
    avg_px = _decimal(allow_null=True)
    limit_px = _decimal(allow_null=True)
    decision_px = _decimal(allow_null=True, help_text="the mark when the OMS accepted the order")
    arrival_mid = _decimal(allow_null=True, help_text="the mid when the execution started")
    start_at = serializers.IntegerField(allow_null=True, help_text="epoch ms, the execution's start")
    end_at = serializers.IntegerField(allow_null=True, help_text="epoch ms, the execution's scheduled end")
    range_start = serializers.IntegerField(help_text="epoch ms, the chart's window: a minute before the start")
    range_end = serializers.IntegerField(help_text="epoch ms: now while working, else a minute after the last fill or tick")
    as_of = serializers.IntegerField(help_text="epoch ms, when this was read")
    max_points = serializers.IntegerField(help_text="the market series is downsampled to at most this many points")
    market = ChartMarketPointSerializer(many=True, help_text="oldest first, one per market-data publish with trades")
    fills = ChartFillSerializer(many=True, help_text="ours, in time order")
    schedule = ChartTickSerializer(many=True, help_text="the algo's ticks, in order")


class OrderChart(APIView):
    """The order detail's chart: market price and volume over its window, our fills, schedule and participation."""

    @extend_schema(responses={200: OrderChartSerializer, **error_responses(404)})
    def get(self, request: Request, pk: int) -> Response:
        if not roles.orders_for(request.user).filter(pk=pk).exists():
            raise NotFound(f"no order #{pk} you may see")
        return Response(order_chart(parent_id=pk))


# --- an order's transaction cost analysis (``ems.tca.order_tca_report``); bps positive are a cost, except markouts ------

_HORIZONS_HELP = 'by horizon in seconds ("1", "5", "30", "60")'


def _bps(help_text: str) -> serializers.DecimalField:
    return _decimal(allow_null=True, help_text=help_text)


def _by_horizon(help_text: str) -> serializers.DictField:
    return serializers.DictField(child=_decimal(allow_null=True), help_text=f"{_HORIZONS_HELP}: {help_text}")


class TcaFillRowSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    executed_at = serializers.DateTimeField()
    venue = serializers.CharField()
    qty = _decimal()
    px = _decimal()
    fee = _decimal(help_text="$, negative: a rebate")
    liquidity = serializers.CharField(allow_blank=True, help_text="ADDED, REMOVED; blank: not said (an RFQ's fill)")
    mid_px = _decimal(allow_null=True, help_text="the market's mid when the fill was booked; null: none")
    effective_spread_bps = _bps("2 * s * (px - mid) / mid; null without a mid")
    markouts_bps = _by_horizon("s * (mid h later - px) / px, positive: the mid moved our way; null: not measured yet")
    realized_spread_bps = _by_horizon("2 * s * (px - mid h later) / mid h later; null: not measured yet")


class OrderTcaSerializer(serializers.Serializer[Any]):
    """An order's TCA page: its header, the order-level figures and one row per fill. ``s`` is +1 buying, -1 selling."""

    order = serializers.IntegerField()
    symbol = serializers.CharField()
    portfolio = serializers.CharField()
    side = _choice(Side)
    qty = _decimal()
    filled_qty = _decimal()
    avg_px = _decimal(allow_null=True, help_text="null before a fill")
    limit_px = _decimal(allow_null=True)
    status = serializers.CharField()
    strategy = serializers.CharField(allow_null=True, help_text="the strategy working now; null before the execution")
    base_strategy = serializers.CharField(allow_null=True, help_text="the strategy first selected")
    horizons_s = serializers.ListField(child=serializers.IntegerField(), help_text="the markout horizons, seconds")
    as_of = serializers.DateTimeField(help_text="when this was read")
    tca = TcaSerializer(allow_null=True, help_text="null before the execution knows its arrival mid")
    fills = TcaFillRowSerializer(many=True, help_text="ours, in time order")


class OrderTca(APIView):
    """An order's transaction cost analysis with one row per fill: what the TCA page shows."""

    @extend_schema(responses={200: OrderTcaSerializer, **error_responses(404)})
    def get(self, request: Request, pk: int) -> Response:
        if not roles.orders_for(request.user).filter(pk=pk).exists():
            raise NotFound(f"no order #{pk} you may see")
        return Response(order_tca_report(parent_id=pk))


class StrategyParamSerializer(serializers.Serializer[Any]):
    """One parameter of a strategy, as declared in ``ems.core.algos.SPECS``."""

    name = serializers.CharField()
    kind = serializers.CharField(
        help_text="`int`, `decimal`, `fraction` (a share: 0.1 is 10%), `price`, `qty`, `bool`, or `codes` (a list of codes)"
    )
    default = serializers.SerializerMethodField(
        method_name="default_json", help_text="what it is when not given; null: none (or worked out per order)"
    )
    help = serializers.CharField(help_text="what it does, in a trader's words")
    amendable = serializers.BooleanField(help_text="may change while the order works")
    minimum = _decimal(allow_null=True, help_text="the smallest value taken; null: no bound")
    maximum = _decimal(allow_null=True, help_text="the largest value taken; null: no bound")

    @extend_schema_field(OpenApiTypes.ANY)
    def default_json(self, spec: ParamSpec) -> Any:
        default = spec.default
        if isinstance(default, Decimal):
            return format(default, "f")  # exact, as the orders' decimals are
        return list(default) if isinstance(default, tuple) else default


class StrategySerializer(serializers.Serializer[Any]):
    """A strategy an order may ask for by name (``strategy``), with the parameters it takes (``strategy_params``)."""

    name = serializers.CharField()
    scheduled = serializers.BooleanField(help_text="works to a schedule, in slices over [start, end]")
    params = StrategyParamSerializer(many=True)


class StrategyList(APIView):
    """The strategies an order may name, each with its parameters: kind, default, range, amendable. Blank: the EMS chooses."""

    permission_classes = [IsAuthenticated, HasRole]  # as the dealers and venues: the desk's reference data

    @extend_schema(responses={200: StrategySerializer(many=True)})
    def get(self, request: Request) -> Response:
        strategies = [{"name": s.value, "scheduled": s.scheduled, "params": SPECS[s]} for s in Strategy]
        return Response(StrategySerializer(strategies, many=True).data)


# --- best execution: venue analysis, dealer scorecards, the RTS 28 table (``ems.bestex``) -----------------------------


class CsvRenderer(BaseRenderer):
    """``text/csv``: the view hands over the CSV text it built; ``?format=csv`` or ``Accept: text/csv`` asks for it."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return data.encode() if isinstance(data, str) else b""


class ReportPeriodSerializer(serializers.Serializer[Any]):
    start = serializers.DateField(help_text="the first day, included")
    end = serializers.DateField(help_text="the day after the last: the period is [start, end)")
    business_days = serializers.IntegerField(help_text="Monday to Friday days in the period (no holiday calendar)")
    asset_class = serializers.CharField(allow_null=True, help_text="the class asked for; null: all")


class VenueMarkoutSerializer(serializers.Serializer[Any]):
    horizon_s = serializers.IntegerField()
    bps = _decimal(
        allow_null=True,
        help_text="s * (mid h seconds later - px) / px, notional-weighted; positive: the mid moved our way, "
        "negative: adverse selection; null: none measured",
    )
    fills = serializers.IntegerField(help_text="fills measured at this horizon")


class VenueReportRowSerializer(serializers.Serializer[Any]):
    """One venue's analysis over the period (``ems.core.bestex.venue_analysis`` defines each figure)."""

    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text="LIT, DARK (a dark pool) or RFQ_DEALER")
    fills = serializers.IntegerField()
    orders_executed = serializers.IntegerField(help_text="children or RFQ hits with at least one fill there")
    filled_qty = _decimal()
    notional = _decimal(help_text="sum of |qty x px x multiplier|")
    volume_share_pct = _decimal(help_text="its notional, % of all venues' (the rows add up to 100)")
    children = serializers.IntegerField(help_text="child orders sent there in the period")
    children_qty = _decimal()
    children_filled_qty = _decimal()
    fill_rate_pct = _decimal(allow_null=True, help_text="100 x filled qty / qty of its children; null: no child")
    rejects = serializers.IntegerField()
    reject_rate_pct = _decimal(allow_null=True, help_text="children rejected per child sent, %")
    passive_pct = _decimal(allow_null=True, help_text="% of its notional that added liquidity (ADDED)")
    aggressive_pct = _decimal(allow_null=True, help_text="% of its notional that removed liquidity (REMOVED)")
    effective_spread_bps = _decimal(
        allow_null=True, help_text="2 x s x (px - mid) / mid, mid when booked, notional-weighted; positive is a cost"
    )
    spread_fills = serializers.IntegerField(help_text="fills with a mid: those the effective spread covers")
    markouts = VenueMarkoutSerializer(many=True, help_text="at 1, 5, 30 and 60 s")
    acks = serializers.IntegerField(help_text="children acknowledged: those the latency covers")
    latency_ms_mean = _decimal(allow_null=True, help_text="sent to acknowledged, ms")
    latency_ms_median = _decimal(allow_null=True)


class VenueReportSerializer(serializers.Serializer[Any]):
    period = ReportPeriodSerializer()
    venues = VenueReportRowSerializer(many=True, help_text="lit first, then dark pools, then RFQ dealers; most notional first")


class DealerReportRowSerializer(serializers.Serializer[Any]):
    """One dealer's scorecard over the period's ended requests (``ems.core.bestex.dealer_scorecards``)."""

    code = serializers.CharField()
    name = serializers.CharField()
    requests = serializers.IntegerField()
    responses = serializers.IntegerField()
    response_rate_pct = _decimal(allow_null=True, help_text="requests quoted per request asked, %")
    wins = serializers.IntegerField()
    win_ratio_pct = _decimal(allow_null=True, help_text="trades won per quote given, %")
    covers = serializers.IntegerField()
    avg_cover_bps = _decimal(allow_null=True, help_text="behind the best traded price when it lost; 0 is a tie")
    distances = serializers.IntegerField()
    avg_distance_bps = _decimal(allow_null=True, help_text="its quote against the mid; positive is worse than mid for us")
    last_looks = serializers.IntegerField()
    last_look_rejects = serializers.IntegerField()
    last_look_reject_pct = _decimal(allow_null=True, help_text="hits rejected on last look per hit sent, %")
    markouts = serializers.IntegerField()
    avg_markout_bps = _decimal(allow_null=True, help_text="its fills' markout at 30 s; positive: the mid moved our way")


class DealerReportSerializer(serializers.Serializer[Any]):
    period = ReportPeriodSerializer()
    dealers = DealerReportRowSerializer(many=True, help_text="by code")


class RtsVenueSerializer(serializers.Serializer[Any]):
    rank = serializers.IntegerField(help_text="1: the most notional")
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    notional = _decimal()
    orders = serializers.IntegerField(help_text="orders executed: children or RFQ hits with a fill there")
    trades = serializers.IntegerField(help_text="fills")
    volume_pct = _decimal(help_text="its notional, % of the class's")
    orders_pct = _decimal(help_text="its orders executed, % of the class's")
    passive_pct = _decimal(help_text="of its orders, % whose first fill added liquidity")
    aggressive_pct = _decimal(help_text="of its orders, % whose first fill removed liquidity")
    directed_pct = _decimal(help_text="of its orders, % at a venue a person chose: an RFQ to dealers the trader or PM named")
    below_one_trade_per_day = serializers.BooleanField(help_text="fewer trades than business days in the period")


class RtsClassSerializer(serializers.Serializer[Any]):
    asset_class = serializers.CharField(help_text="EQUITY, OPTION or PACKAGE")
    notional = _decimal()
    orders = serializers.IntegerField()
    trades = serializers.IntegerField()
    business_days = serializers.IntegerField()
    below_one_trade_per_day = serializers.BooleanField(help_text="any of its top venues has fewer")
    venues = RtsVenueSerializer(many=True, help_text="the top five by notional; ties by orders, then code")


class BestExecutionSerializer(serializers.Serializer[Any]):
    period = ReportPeriodSerializer()
    classes = RtsClassSerializer(many=True)


REPORT_PARAMETERS = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="first day (YYYY-MM-DD); absent: the quarter's first"),
    OpenApiParameter("end", OpenApiTypes.DATE, description="the day after the last (exclusive); absent: tomorrow"),
    OpenApiParameter("asset_class", OpenApiTypes.STR, enum=list(bestex.ASSET_CLASSES), description="one class; absent: all"),
]


class _Report(APIView):
    """A report over ``[start, end)`` (default: the quarter to date), as JSON or, with ``?format=csv``, a CSV download."""

    permission_classes = [IsAuthenticated, HasRole]
    renderer_classes = [JSONRenderer, CsvRenderer]
    name_in_file = ""

    def handle_exception(self, exc: Exception) -> Response:
        self.request.accepted_renderer = JSONRenderer()  # errors are the API's one JSON body, whatever was asked
        self.request.accepted_media_type = "application/json"
        return super().handle_exception(exc)

    def get(self, request: Request) -> Response:
        try:
            period = bestex.period_parse(request.query_params.get("start"), request.query_params.get("end"))
            asset_class = bestex.asset_class_parse(request.query_params.get("asset_class"))
        except bestex.BestexInvalid as exc:
            raise ValidationError({exc.field: [exc.message]}) from exc
        data = self.build(request.user, period, asset_class)
        if request.accepted_renderer.format != "csv":
            return Response(data)
        response = Response(self.csv(data), content_type="text/csv; charset=utf-8")
        filename = f"{self.name_in_file}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def build(self, user: Any, period: bestex.Period, asset_class: str | None) -> dict[str, Any]:
        raise NotImplementedError

    def csv(self, data: dict[str, Any]) -> str:
        raise NotImplementedError


class VenueReport(_Report):
    """Venue analysis: per lit venue, dark pool and dealer, volume share, fill and reject rates, passive/aggressive
    shares, effective spread, markouts and latency. Traders, risk and admins: the desk; a PM: their portfolios."""

    name_in_file = "venues"

    @extend_schema(parameters=REPORT_PARAMETERS, responses={200: VenueReportSerializer, **error_responses(400, 401, 403)})
    def get(self, request: Request) -> Response:
        return super().get(request)

    def build(self, user: Any, period: bestex.Period, asset_class: str | None) -> dict[str, Any]:
        rows = bestex.venues_report(user=user, period=period, asset_class=asset_class)
        return {"period": bestex.period_json(period, asset_class), "venues": [bestex.venue_row_json(r) for r in rows]}

    def csv(self, data: dict[str, Any]) -> str:
        return bestex.venues_csv(data["venues"])


class DealerReport(_Report):
    """Dealer scorecards over the requests for quote that opened in the period and have ended: response rate, win
    ratio, cover, distance to mid, last-look rejects, markouts. A PM: the requests of their portfolios."""

    name_in_file = "dealers"

    @extend_schema(parameters=REPORT_PARAMETERS, responses={200: DealerReportSerializer, **error_responses(400, 401, 403)})
    def get(self, request: Request) -> Response:
        return super().get(request)

    def build(self, user: Any, period: bestex.Period, asset_class: str | None) -> dict[str, Any]:
        rows = bestex.dealers_report(user=user, period=period, asset_class=asset_class)
        return {"period": bestex.period_json(period, asset_class), "dealers": [bestex.dealer_row_json(r) for r in rows]}

    def csv(self, data: dict[str, Any]) -> str:
        return bestex.dealers_csv(data["dealers"])


class BestExecutionReport(_Report):
    """The best-execution report in the style of MiFID II RTS 28: per instrument class, the top five venues by notional
    with volume and order shares and the passive, aggressive and directed percentages. CSV: one row per class and venue."""

    name_in_file = "best-execution"

    @extend_schema(parameters=REPORT_PARAMETERS, responses={200: BestExecutionSerializer, **error_responses(400, 401, 403)})
    def get(self, request: Request) -> Response:
        return super().get(request)

    def build(self, user: Any, period: bestex.Period, asset_class: str | None) -> dict[str, Any]:
        tables = bestex.best_execution_report(user=user, period=period, asset_class=asset_class)
        return {"period": bestex.period_json(period, asset_class), "classes": [bestex.rts_table_json(t) for t in tables]}

    def csv(self, data: dict[str, Any]) -> str:
        return bestex.rts_csv(data["classes"])
