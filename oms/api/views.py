from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from oms import roles, services
from oms.api.errors import error_body
from oms.api.serializers import FillSerializer, OrderCreateSerializer, OrderDetailSerializer, OrderSerializer, PositionSerializer
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
        )
        try:
            order, created = services.parent_order_submit(user=request.user, terms=terms, cl_ord_id=data["cl_ord_id"])
        except services.OrderRejected as rejected:
            fields: dict[str, list[str]] = {}
            for error in rejected.errors:
                fields.setdefault(error.field, []).append(error.message)
            body = error_body(status=400, code="order_rejected", message=str(rejected), fields=fields)
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        except services.OrderConflict as conflict:
            body = error_body(status=409, code="conflict", message=str(conflict), fields={"cl_ord_id": [str(conflict)]})
            return Response(body, status=status.HTTP_409_CONFLICT)
        return Response(OrderDetailSerializer(order).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


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
