"""The RFQ endpoints: list and read requests, start one for an order, click a quote, cancel; the dealer panel.

Errors use the API's one format (``oms.api.errors``): 400 with the fields for
bad input, 409 when the request's state refuses the action (an expired quote,
a pending last look), each with the reason a trader can act on. A PM sees and
acts on the requests of their own portfolios only.
"""

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ems.core.algos import ParamError
from ems.models import Rfq
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
from oms import roles
from oms.api.errors import error_body
from trading.enums import Side


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
    side = serializers.ChoiceField(choices=[s.value for s in Side], required=False, allow_null=True)


def _conflict(exc: Exception) -> Response:
    return Response(error_body(status=409, code="rfq_state", message=str(exc)), status=status.HTTP_409_CONFLICT)


def _invalid(message: str, field: str | None = None) -> Response:
    fields = {field: [message]} if field else {}
    return Response(error_body(status=400, code="rfq_invalid", message=message, fields=fields), status=status.HTTP_400_BAD_REQUEST)


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


class DealerList(APIView):
    """The dealer panel in rank order: score, record, coverage."""

    def get(self, request: Request) -> Response:
        return Response(dealers_ranked())
