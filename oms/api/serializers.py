"""API shapes. Input serializers check types and look-ups; the rules live in services."""

from typing import Any, cast

from rest_framework import serializers

from oms import ports
from oms.models import Fill, Instrument, OrderEvent, ParentOrder, Portfolio, Position
from trading.enums import OrdType, Side, TimeInForce, Urgency
from trading.numbers import MAX_DIGITS, PX_DECIMALS, QTY_DECIMALS


class OrderCreateSerializer(serializers.Serializer):
    cl_ord_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    portfolio = serializers.SlugRelatedField(slug_field="code", queryset=Portfolio.objects.all())
    instrument = serializers.SlugRelatedField(slug_field="symbol", queryset=Instrument.objects.all())
    side = serializers.ChoiceField(choices=[s.value for s in Side])
    ord_type = serializers.ChoiceField(choices=[t.value for t in OrdType], default=OrdType.LIMIT.value)
    qty = serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=QTY_DECIMALS)
    limit_px = serializers.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=PX_DECIMALS, required=False, allow_null=True, default=None
    )
    tif = serializers.ChoiceField(choices=[t.value for t in TimeInForce], default=TimeInForce.DAY.value)
    urgency = serializers.ChoiceField(choices=[u.value for u in Urgency], default=Urgency.MEDIUM.value)
    strategy = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    strategy_params = serializers.DictField(required=False, default=dict)
    start_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    end_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate_strategy(self, value: str) -> str:
        return value.strip().upper()

    def __init__(self, *args: Any, portfolios: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if portfolios is not None:
            # Another PM's portfolio reads as unknown: its existence is not ours to learn.
            cast(serializers.SlugRelatedField, self.fields["portfolio"]).queryset = portfolios


class OrderAmendSerializer(serializers.Serializer):
    """What may change on a working parent; give only what changes."""

    qty = serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=QTY_DECIMALS, required=False)
    limit_px = serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=PX_DECIMALS, required=False)
    urgency = serializers.ChoiceField(choices=[u.value for u in Urgency], required=False)
    end_at = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {unknown[0]: [f"`{unknown[0]}` cannot be amended (amendable: {', '.join(self.fields)})"]}
            )
        return attrs


class FillSerializer(serializers.ModelSerializer):
    class Meta:
        model = Fill
        fields = ["id", "parent", "child_cl_ord_id", "venue", "exec_id", "side", "qty", "px", "fee", "liquidity", "executed_at"]


class OrderEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["id", "kind", "child_cl_ord_id", "status_before", "status_after", "actor", "reason", "data", "created_at"]


class _OrderListSerializer(serializers.ListSerializer):
    def to_representation(self, data: Any) -> list[Any]:
        orders = list(data.all() if hasattr(data, "all") else data)
        self._context["strategies"] = ports.execution.strategies([order.pk for order in orders])  # one query a page
        return super().to_representation(orders)


class OrderSerializer(serializers.ModelSerializer):
    """A blotter row. ``strategy`` is what the PM asked for (blank: the EMS chooses); ``execution_strategy`` is the
    strategy working it now and ``execution_base_strategy`` the first the EMS chose, both blank until it has chosen;
    ``execution_updated_at`` is the execution's last change (a switch leaves the order's ``updated_at`` as it was)."""

    portfolio: serializers.SlugRelatedField[Portfolio] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    instrument: serializers.SlugRelatedField[Instrument] = serializers.SlugRelatedField(slug_field="symbol", read_only=True)
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    leaves_qty = serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=QTY_DECIMALS, read_only=True)

    class Meta:
        model = ParentOrder
        fields = [
            "id", "cl_ord_id", "portfolio", "instrument", "side", "ord_type", "qty", "limit_px", "tif", "urgency",
            "strategy", "strategy_params", "start_at", "end_at",
            "status", "filled_qty", "leaves_qty", "avg_px", "fees", "created_by", "created_at", "updated_at",
        ]  # fmt: skip
        list_serializer_class = _OrderListSerializer

    def to_representation(self, instance: ParentOrder) -> dict[str, Any]:
        data = dict(super().to_representation(instance))
        known = self.context.get("strategies")
        working = (known if known is not None else ports.execution.strategies([instance.pk])).get(instance.pk)
        data["execution_strategy"] = working["strategy"] if working else ""
        data["execution_base_strategy"] = working["base_strategy"] if working else ""
        data["execution_updated_at"] = working["updated_at"] if working else None
        return data


class OrderDetailSerializer(OrderSerializer):
    children = serializers.SerializerMethodField()
    routing_decisions = serializers.SerializerMethodField()
    execution = serializers.SerializerMethodField()
    fills = FillSerializer(many=True, read_only=True)
    events = OrderEventSerializer(many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "execution", "children", "routing_decisions", "fills", "events"]

    def get_execution(self, order: ParentOrder) -> dict[str, Any] | None:
        return ports.execution.execution(order.pk)

    def get_children(self, order: ParentOrder) -> list[dict[str, Any]]:
        return ports.execution.children(order.pk)

    def get_routing_decisions(self, order: ParentOrder) -> list[dict[str, Any]]:
        return ports.execution.routing_decisions(order.pk)


class PositionSerializer(serializers.ModelSerializer):
    avg_cost = serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=PX_DECIMALS, read_only=True)
    portfolio: serializers.SlugRelatedField[Portfolio] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    instrument: serializers.SlugRelatedField[Instrument] = serializers.SlugRelatedField(slug_field="symbol", read_only=True)

    class Meta:
        model = Position
        fields = ["portfolio", "instrument", "qty", "avg_cost", "realized_pnl", "fees", "updated_at"]
