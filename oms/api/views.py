from decimal import Decimal
from typing import Any, cast

from django.db.models import Q, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from oms import roles, services
from oms.api.errors import error_body, error_responses
from oms.api.filters import InstrumentFilter, OrderFilter, PositionFilter
from oms.api.permissions import HasRole, SeesDesk
from oms.api.serializers import (
    FillSerializer,
    InstrumentSerializer,
    KillSwitchEngageSerializer,
    KillSwitchReleaseSerializer,
    KillSwitchSerializer,
    OrderAmendSerializer,
    OrderCheckSerializer,
    OrderCreateSerializer,
    OrderDetailSerializer,
    OrderSerializer,
    PortfolioSerializer,
    PositionSerializer,
    RiskLimitSerializer,
)
from oms.kill_switch import KillSwitchDenied, KillSwitchInvalid, kill_switch_engage, kill_switch_release
from oms.models import Fill, Instrument, KillScope, KillSwitch, ParentOrder, Portfolio, Position, RiskLimit
from oms.risk import outcomes_json
from trading.enums import OrdType, Side, TimeInForce, Urgency
from trading.numbers import decimal_str, plain


@extend_schema_view(
    list=extend_schema(responses={200: OrderSerializer, **error_responses(400)}),  # 400: a filter value it cannot read
    retrieve=extend_schema(responses={200: OrderDetailSerializer, **error_responses(404)}),
    create=extend_schema(
        request=OrderCreateSerializer,
        responses={
            201: OrderDetailSerializer,
            200: OpenApiResponse(OrderDetailSerializer, description="A retry: the order first sent with this `cl_ord_id`."),
            **error_responses(400, 403, 409),
        },
    ),
    check=extend_schema(
        request=OrderCreateSerializer,
        responses={
            200: OpenApiResponse(OrderCheckSerializer, description="The checks' verdict, passed or not; nothing stored."),
            **error_responses(400, 403),
        },
    ),
    cancel=extend_schema(request=None, responses={202: OrderDetailSerializer, **error_responses(403, 404, 409)}),
    amend=extend_schema(
        request=OrderAmendSerializer, responses={202: OrderDetailSerializer, **error_responses(400, 403, 404, 409)}
    ),
)
class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Parent orders: a PM sees and submits for their own portfolios only."""

    filterset_class = OrderFilter

    def get_queryset(self) -> QuerySet[ParentOrder]:
        orders = roles.orders_for(self.request.user).select_related("portfolio", "instrument", "created_by")
        if self.action == "retrieve":
            orders = orders.prefetch_related("fills__allocations__account", "events", "allocations__account")
        return orders

    def get_serializer_class(self) -> Any:
        return OrderDetailSerializer if self.action == "retrieve" else OrderSerializer

    def create(self, request: Request) -> Response:
        if not roles.may_submit(request.user):
            raise PermissionDenied("only a PM or a trader may submit orders")
        data = _order_form(request)
        terms = _order_terms(data)
        try:
            order, created = services.parent_order_submit(
                user=request.user, terms=terms, cl_ord_id=data["cl_ord_id"], allow_duplicate=data["allow_duplicate"]
            )
        except services.OrderRejected as rejected:
            return _rejected(rejected)
        except services.OrderConflict as conflict:
            body = error_body(status=409, code="conflict", message=str(conflict), fields={"cl_ord_id": [str(conflict)]})
            return Response(body, status=status.HTTP_409_CONFLICT)
        return Response(OrderDetailSerializer(order).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @action(detail=False, methods=["post"])
    def check(self, request: Request) -> Response:
        """Run every check a submit of this body runs (terms, strategy, pre-trade risk) and store nothing; 200 either way.

        ``ok`` says whether a submit now would pass; ``errors`` are what it would refuse with, ``checks`` every pre-trade
        check's outcome (empty while the order's own terms are wrong). Nothing is locked: limits may be used up by
        another order before this one is sent.
        """
        if not roles.may_submit(request.user):
            raise PermissionDenied("only a PM or a trader may submit orders")
        data = _order_form(request)
        result = services.parent_order_check(user=request.user, terms=_order_terms(data), allow_duplicate=data["allow_duplicate"])
        body = {
            "ok": result.ok,
            "errors": [{"field": error.field, "code": error.code, "message": error.message} for error in result.errors],
            "checks": outcomes_json(result.outcomes),
            "reference_px": _plain(result.reference_px),
            "notional": _plain(result.notional),
        }
        return Response(body)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel the order: its working children are cancelled first; 202 while they are."""
        order = self._workable(request)
        try:
            services.parent_order_cancel(parent_id=order.pk, actor=request.user.get_username())
        except services.OrderStateError as exc:
            return Response(error_body(status=409, code="order_state", message=str(exc)), status=status.HTTP_409_CONFLICT)
        order.refresh_from_db()
        return Response(OrderDetailSerializer(order).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"])
    def amend(self, request: Request, pk: str | None = None) -> Response:
        """Change qty, limit, urgency or end time; working children are pulled back first; 202 while they are."""
        order = self._workable(request)
        form = OrderAmendSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            services.parent_order_amend(parent_id=order.pk, actor=request.user.get_username(), changes=dict(form.validated_data))
        except services.OrderRejected as rejected:
            return _rejected(rejected)
        except services.OrderStateError as exc:
            return Response(error_body(status=409, code="order_state", message=str(exc)), status=status.HTTP_409_CONFLICT)
        order.refresh_from_db()
        return Response(OrderDetailSerializer(order).data, status=status.HTTP_202_ACCEPTED)

    def _workable(self, request: Request) -> ParentOrder:
        if not roles.may_submit(request.user):
            raise PermissionDenied("only a PM or a trader may cancel or amend orders")
        return cast(ParentOrder, self.get_object())


def _plain(value: Decimal | None) -> str | None:
    """A decimal as JSON text without the column's trailing zeros ("101.5", not "101.50000000")."""
    return None if value is None else decimal_str(plain(value))


def _order_form(request: Request) -> dict[str, Any]:
    """The new order's body, checked for shape (400 otherwise); a portfolio the user does not trade reads as unknown."""
    form = OrderCreateSerializer(data=request.data, portfolios=roles.portfolios_for(request.user))
    form.is_valid(raise_exception=True)
    return cast(dict[str, Any], form.validated_data)


def _order_terms(data: dict[str, Any]) -> services.OrderTerms:
    return services.OrderTerms(
        portfolio=data["portfolio"],
        instrument=data["instrument"],
        side=Side(data["side"]),
        ord_type=OrdType(data["ord_type"]),
        qty=data["qty"],
        limit_px=data["limit_px"],
        tif=TimeInForce(data["tif"]),
        urgency=Urgency(data["urgency"]),
        strategy=data["strategy"],
        strategy_params=data["strategy_params"],
        start_at=data["start_at"],
        end_at=data["end_at"],
        allocate_by=data["allocate_by"],
        allocations=tuple((row["account"], row["weight"]) for row in data["allocations"]),
    )


def _rejected(rejected: services.OrderRejected) -> Response:
    fields: dict[str, list[str]] = {}
    for error in rejected.errors:
        fields.setdefault(error.field, []).append(error.message)
    details = [{"field": error.field, "code": error.code, "message": error.message} for error in rejected.errors]
    body = error_body(status=400, code="order_rejected", message=str(rejected), fields=fields, details=details)
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


@extend_schema_view(list=extend_schema(responses={200: PositionSerializer, **error_responses(400)}))
class PositionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Positions of the portfolios the user may read, with realized and unrealized P&L."""

    serializer_class = PositionSerializer
    filterset_class = PositionFilter

    def get_queryset(self) -> QuerySet[Position]:
        return Position.objects.filter(portfolio__in=roles.portfolios_for(self.request.user)).select_related(
            "portfolio", "instrument"
        )


class FillViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = FillSerializer

    def get_queryset(self) -> QuerySet[Fill]:
        return Fill.objects.filter(parent__portfolio__in=roles.portfolios_for(self.request.user)).order_by("-id")


@extend_schema_view(retrieve=extend_schema(responses={200: PortfolioSerializer, **error_responses(404)}))
class PortfolioViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The portfolios the user may trade (a PM: their own), by code, with cash and accounts."""

    serializer_class = PortfolioSerializer
    lookup_field = "code"

    def get_queryset(self) -> QuerySet[Portfolio]:
        return roles.portfolios_for(self.request.user).select_related("owner").prefetch_related("accounts")


@extend_schema_view(
    list=extend_schema(responses={200: InstrumentSerializer, **error_responses(400, 403)}),
    retrieve=extend_schema(responses={200: InstrumentSerializer, **error_responses(403, 404)}),
)
class InstrumentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reference data, by symbol: tick, lot, multiplier, option terms, package legs. Any role may read it."""

    serializer_class = InstrumentSerializer
    lookup_field = "symbol"
    lookup_value_regex = r"[^/]+"
    filterset_class = InstrumentFilter
    permission_classes = [IsAuthenticated, HasRole]

    def get_queryset(self) -> QuerySet[Instrument]:
        return Instrument.objects.select_related("underlying").prefetch_related("legs__instrument")


@extend_schema_view(list=extend_schema(responses={200: RiskLimitSerializer, **error_responses(403)}))
class RiskLimitViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The pre-trade limits in force (managed in admin by the risk role). A PM sees the firm's and their portfolios'."""

    serializer_class = RiskLimitSerializer
    permission_classes = [IsAuthenticated, HasRole]

    def get_queryset(self) -> QuerySet[RiskLimit]:
        limits = RiskLimit.objects.filter(active=True).select_related("portfolio", "instrument")
        if roles.sees_all_orders(self.request.user):
            return limits
        return limits.filter(Q(portfolio__isnull=True) | Q(portfolio__in=roles.portfolios_for(self.request.user)))


@extend_schema_view(
    list=extend_schema(responses={200: KillSwitchSerializer, **error_responses(400, 403)}),
    retrieve=extend_schema(responses={200: KillSwitchSerializer, **error_responses(403, 404)}),
    create=extend_schema(request=KillSwitchEngageSerializer, responses={201: KillSwitchSerializer, **error_responses(400, 403)}),
    release=extend_schema(
        request=KillSwitchReleaseSerializer, responses={200: KillSwitchSerializer, **error_responses(400, 403, 404)}
    ),
)
class KillSwitchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Kill switches: a trader or risk engages one (it cancels what works in its scope); only risk releases it."""

    serializer_class = KillSwitchSerializer
    filterset_fields = ["engaged", "scope"]
    permission_classes = [IsAuthenticated, SeesDesk]

    def get_queryset(self) -> QuerySet[KillSwitch]:
        return KillSwitch.objects.select_related("portfolio", "trader", "instrument", "engaged_by", "released_by").prefetch_related(
            "events"
        )

    def create(self, request: Request) -> Response:
        form = KillSwitchEngageSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            switch = kill_switch_engage(
                user=request.user,
                scope=KillScope(data["scope"]),
                reason=data["reason"],
                portfolio=data.get("portfolio"),
                trader=data.get("trader"),
                instrument=data.get("instrument"),
                venue=data["venue"],
            )
        except KillSwitchDenied as denied:
            raise PermissionDenied(str(denied)) from denied
        except KillSwitchInvalid as invalid:
            body = error_body(status=400, code="invalid", message=str(invalid), fields={"scope": [str(invalid)]})
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(KillSwitchSerializer(switch).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: str | None = None) -> Response:
        """Release the switch: new orders in its scope are taken again (what it cancelled stays cancelled)."""
        switch = cast(KillSwitch, self.get_object())
        form = KillSwitchReleaseSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            switch = kill_switch_release(user=request.user, switch_id=switch.pk, reason=form.validated_data["reason"])
        except KillSwitchDenied as denied:
            raise PermissionDenied(str(denied)) from denied
        return Response(KillSwitchSerializer(switch).data)
