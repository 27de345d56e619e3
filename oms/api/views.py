from typing import Any, cast

from django.db.models import QuerySet
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from oms import roles, services
from oms.api.errors import error_body
from oms.api.serializers import (
    FillSerializer,
    OrderAmendSerializer,
    OrderCreateSerializer,
    OrderDetailSerializer,
    OrderSerializer,
    PositionSerializer,
)
from oms.models import Fill, ParentOrder, Position
from trading.enums import OrdType, Side, TimeInForce, Urgency


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Parent orders: a PM sees and submits for their own portfolios only."""

    def get_queryset(self) -> QuerySet[ParentOrder]:
        orders = roles.orders_for(self.request.user).select_related("portfolio", "instrument", "created_by")
        if self.action == "retrieve":
            orders = orders.prefetch_related("fills", "events")
        return orders

    def get_serializer_class(self) -> Any:
        return OrderDetailSerializer if self.action == "retrieve" else OrderSerializer

    def create(self, request: Request) -> Response:
        if not roles.may_submit(request.user):
            raise PermissionDenied("only a PM or a trader may submit orders")
        form = OrderCreateSerializer(data=request.data, portfolios=roles.portfolios_for(request.user))
        form.is_valid(raise_exception=True)
        data = form.validated_data
        terms = services.OrderTerms(
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
        )
        try:
            order, created = services.parent_order_submit(user=request.user, terms=terms, cl_ord_id=data["cl_ord_id"])
        except services.OrderRejected as rejected:
            return _rejected(rejected)
        except services.OrderConflict as conflict:
            body = error_body(status=409, code="conflict", message=str(conflict), fields={"cl_ord_id": [str(conflict)]})
            return Response(body, status=status.HTTP_409_CONFLICT)
        return Response(OrderDetailSerializer(order).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

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


def _rejected(rejected: services.OrderRejected) -> Response:
    fields: dict[str, list[str]] = {}
    for error in rejected.errors:
        fields.setdefault(error.field, []).append(error.message)
    body = error_body(status=400, code="order_rejected", message=str(rejected), fields=fields)
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


class PositionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = PositionSerializer

    def get_queryset(self) -> QuerySet[Position]:
        return Position.objects.filter(portfolio__in=roles.portfolios_for(self.request.user)).select_related(
            "portfolio", "instrument"
        )


class FillViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = FillSerializer

    def get_queryset(self) -> QuerySet[Fill]:
        return Fill.objects.filter(parent__portfolio__in=roles.portfolios_for(self.request.user)).order_by("-id")
