"""API shapes. Input serializers check types and look-ups; the rules live in services."""

from typing import Any, cast

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.fields import enum_choices
from oms import ports
from oms.api.errors import ErrorItemSerializer
from oms.core.positions import PositionMark, position_mark
from oms.core.risk import RiskCode
from oms.models import (
    Account,
    Allocation,
    Fill,
    FillAllocation,
    Instrument,
    KillScope,
    KillSwitch,
    KillSwitchEvent,
    OrderEvent,
    ParentOrder,
    Portfolio,
    Position,
    RiskLimit,
)
from trading.enums import OrdType, Side, TimeInForce, Urgency
from trading.numbers import MAX_DIGITS, MONEY_DECIMALS, PX_DECIMALS, QTY_DECIMALS, decimal_str


def _price_field(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=PX_DECIMALS, **kwargs)


class AllocationInputSerializer(serializers.Serializer[Any]):
    account = serializers.SlugRelatedField(slug_field="code", queryset=Account.objects.all())
    weight = serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=QTY_DECIMALS, help_text="a target qty, or a ratio")


class OrderCreateSerializer(serializers.Serializer):
    cl_ord_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    portfolio = serializers.SlugRelatedField(slug_field="code", queryset=Portfolio.objects.all())
    instrument = serializers.SlugRelatedField(slug_field="symbol", queryset=Instrument.objects.all())
    side = serializers.ChoiceField(choices=enum_choices(Side))
    ord_type = serializers.ChoiceField(choices=enum_choices(OrdType), default=OrdType.LIMIT.value)
    qty = serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=QTY_DECIMALS)
    limit_px = serializers.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=PX_DECIMALS, required=False, allow_null=True, default=None
    )
    tif = serializers.ChoiceField(choices=enum_choices(TimeInForce), default=TimeInForce.DAY.value)
    urgency = serializers.ChoiceField(choices=enum_choices(Urgency), default=Urgency.MEDIUM.value)
    strategy = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    strategy_params = serializers.DictField(required=False, default=dict)
    start_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    end_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    allocate_by = serializers.ChoiceField(
        choices=["QTY", "RATIO"], required=False, allow_blank=True, default="", help_text="how `allocations` split the block"
    )
    allocations = AllocationInputSerializer(
        many=True, required=False, default=list, help_text="a block order: each account's target qty or ratio, in order"
    )
    allow_duplicate = serializers.BooleanField(
        required=False, default=False, help_text="send it even if identical to a recent order (the duplicate check)"
    )

    def validate_strategy(self, value: str) -> str:
        return value.strip().upper()

    def __init__(self, *args: Any, portfolios: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if portfolios is not None:
            # Another PM's portfolio (or account) reads as unknown: its existence is not ours to learn.
            cast(serializers.SlugRelatedField, self.fields["portfolio"]).queryset = portfolios
            allocation = cast(AllocationInputSerializer, cast(serializers.ListSerializer, self.fields["allocations"]).child)
            account = cast(serializers.SlugRelatedField, allocation.fields["account"])
            account.queryset = Account.objects.filter(portfolio__in=portfolios)


class RiskOutcomeSerializer(serializers.Serializer[Any]):
    """One pre-trade check's outcome, as an order's ``RISK_CHECK`` event stores it (``oms.risk.outcomes_json``)."""

    check = serializers.ChoiceField(choices=enum_choices(RiskCode))
    passed = serializers.BooleanField()
    message = serializers.CharField(help_text="what was measured against what, in a trader's words")
    value = serializers.CharField(allow_blank=True, help_text="the measured number, a plain decimal; blank when not numeric")
    limit = serializers.CharField(allow_blank=True, help_text="the limit, a plain decimal; blank when the check has none")


class OrderCheckSerializer(serializers.Serializer[Any]):
    """What a submit of the same body would meet now (``POST /api/orders/check/``); nothing is stored or locked."""

    ok = serializers.BooleanField(help_text="a submit now would pass every check")
    checks = RiskOutcomeSerializer(
        many=True, help_text="every pre-trade check that applies, passed or not; empty while the order's own terms are wrong"
    )
    reference_px = serializers.DecimalField(
        max_digits=None, decimal_places=None, allow_null=True, help_text="the live mark, else the instrument's last close"
    )
    notional = serializers.DecimalField(
        max_digits=None,
        decimal_places=None,
        allow_null=True,
        help_text="qty x price x multiplier at the limit (a MARKET order: at the reference); null when it cannot be priced",
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # Declared here, not as a class attribute: `errors` is the Serializer's own attribute.
        fields["errors"] = ErrorItemSerializer(
            many=True, help_text="what a submit would refuse with: each failure, its code and the field it is about"
        )
        return fields


class OrderAmendSerializer(serializers.Serializer):
    """What may change on a working parent; give only what changes."""

    qty = serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=QTY_DECIMALS, required=False)
    limit_px = serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=PX_DECIMALS, required=False)
    urgency = serializers.ChoiceField(choices=enum_choices(Urgency), required=False)
    end_at = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {unknown[0]: [f"`{unknown[0]}` cannot be amended (amendable: {', '.join(self.fields)})"]}
            )
        return attrs


class FillAllocationSerializer(serializers.ModelSerializer):
    account: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = FillAllocation
        fields = ["account", "qty", "fee"]


class FillSerializer(serializers.ModelSerializer):
    """A venue fill; a block order's fill lists each account's share (``allocations``)."""

    allocations = FillAllocationSerializer(many=True, read_only=True)

    class Meta:
        model = Fill
        fields = [
            "id", "parent", "child_cl_ord_id", "venue", "exec_id", "side", "qty", "px", "fee", "liquidity", "executed_at",
            "allocations",
        ]  # fmt: skip


class AllocationSerializer(serializers.ModelSerializer):
    account: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Allocation
        fields = ["account", "weight", "allocated_qty"]


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
    ``execution_updated_at`` is the execution's last change (a switch leaves the order's ``updated_at`` as it was).
    ``schedule_qty`` is where the schedule said the order should be at the algo's latest tick (null: no
    schedule); ``slippage_bps`` is the filled part's average price against ``arrival_mid`` (positive: a cost)."""

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
        data["schedule_qty"] = decimal_str(working["schedule_qty"]) if working else None
        data["arrival_mid"] = decimal_str(working["arrival_mid"]) if working else None
        data["slippage_bps"] = decimal_str(working["slippage_bps"]) if working else None
        return data


def _bps(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=2, allow_null=True, help_text=help_text)


def _decimal_str(*, help_text: str) -> serializers.DecimalField:
    """A decimal at whatever precision it has, or null (the TCA's figures leave as plain decimal strings)."""
    return serializers.DecimalField(max_digits=None, decimal_places=None, allow_null=True, help_text=help_text)


def _by_horizon(help_text: str) -> serializers.DictField:
    return serializers.DictField(
        child=_decimal_str(help_text=""), help_text=f'by horizon in seconds ("1", "5", "30", "60"): {help_text}'
    )


class TcaLiquiditySerializer(serializers.Serializer[Any]):
    added_qty = serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=QTY_DECIMALS, help_text="filled resting (maker)")
    removed_qty = serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=QTY_DECIMALS, help_text="filled taking (taker)")
    other_qty = serializers.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=QTY_DECIMALS, help_text="filled without either flag: an RFQ dealer's, or unsaid"
    )
    added_share = _decimal_str(help_text="added_qty / filled qty, a fraction; null before a fill")
    removed_share = _decimal_str(help_text="removed_qty / filled qty; null before a fill")
    other_share = _decimal_str(help_text="other_qty / filled qty; null before a fill")


class TcaSerializer(serializers.Serializer[Any]):
    """The order's transaction cost analysis so far (``ports.execution.tca``; ``ems.tca.order_tca``).

    Bps are positive when they cost us money, except markouts (positive: the mid moved our way); ``s`` is +1
    buying, -1 selling. The shortfall's five parts add up to it exactly.
    """

    decision_px = _price_field(help_text="the mark when the order was accepted (the paper portfolio's price)")
    arrival_mid = _price_field(help_text="the mid when the execution started")
    end_mid = _price_field(help_text="what the unfilled rest is valued at")
    end_mid_source = serializers.CharField(help_text="NBBO, THEORETICAL (the live mark), AVG_PX or ARRIVAL")
    avg_px = _price_field(allow_null=True)
    filled_qty = serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=QTY_DECIMALS)
    shortfall_bps = _bps("implementation shortfall against the decision price, fees included")
    delay_bps = _bps("the mark's drift from the decision to the arrival, on what filled")
    impact_bps = _bps("s * sum(qty * (px - mid at the fill)) / (order qty * decision px): what our trading paid")
    timing_bps = _bps("s * sum(qty * (mid at the fill - arrival mid)) / (order qty * decision px): the market's drift")
    opportunity_bps = _bps("what the unfilled rest missed")
    fees_bps = _bps("fees (a rebate is negative)")
    participation = serializers.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=4, allow_null=True, help_text="our share of the volume printed since the start"
    )
    markouts_bps = serializers.DictField(
        child=serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=2),
        help_text="by horizon in seconds, quantity-weighted: positive when the mid moved our way after the fills",
    )
    arrival_px = _decimal_str(help_text="the last trade at or before the execution's start; null if not kept")
    arrival_slippage_bps = _bps("s * (avg px - arrival mid) / arrival mid; null before a fill")
    interval_start = serializers.DateTimeField(allow_null=True, help_text="the execution's start")
    interval_end = serializers.DateTimeField(allow_null=True, help_text="the last fill once done; now while it works")
    interval_vwap = _decimal_str(help_text="the market's VWAP over the interval, ours included; null: unknown")
    interval_volume = _decimal_str(help_text="the market's volume over the interval, ours included")
    interval_vwap_slippage_bps = _bps("s * (avg px - interval VWAP) / interval VWAP; null before a fill or without it")
    liquidity = TcaLiquiditySerializer()
    effective_spread_bps = _bps("quantity-weighted over the fills with a mid: 2 * s * (px - mid) / mid")
    realized_spread_bps = _by_horizon("quantity-weighted 2 * s * (px - mid h later) / mid h later; null: none measured")


class OrderDetailSerializer(OrderSerializer):
    children = serializers.SerializerMethodField()
    routing_decisions = serializers.SerializerMethodField()
    execution = serializers.SerializerMethodField()
    tca = serializers.SerializerMethodField()
    fills = FillSerializer(many=True, read_only=True)
    events = OrderEventSerializer(many=True, read_only=True)
    allocations = AllocationSerializer(many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = [
            *OrderSerializer.Meta.fields, "decision_px", "allocate_by", "allocations", "execution", "tca", "children",
            "routing_decisions", "fills", "events",
        ]  # fmt: skip

    def get_execution(self, order: ParentOrder) -> dict[str, Any] | None:
        return ports.execution.execution(order.pk)

    @extend_schema_field(TcaSerializer(allow_null=True))
    def get_tca(self, order: ParentOrder) -> dict[str, Any] | None:
        return ports.execution.tca(order.pk)

    def get_children(self, order: ParentOrder) -> list[dict[str, Any]]:
        return ports.execution.children(order.pk)

    def get_routing_decisions(self, order: ParentOrder) -> list[dict[str, Any]]:
        return ports.execution.routing_decisions(order.pk)


class _PositionListSerializer(serializers.ListSerializer):
    def to_representation(self, data: Any) -> list[Any]:
        positions = list(data.all() if hasattr(data, "all") else data)
        self._context["marks"] = ports.execution.marks(sorted({p.instrument_id for p in positions}))  # one call a page
        return super().to_representation(positions)


class PositionSerializer(serializers.ModelSerializer):
    """A position with its P&L: realized from the fills, unrealized at the live mark (the NBBO mid, or an option's
    theoretical value), else at the instrument's reference price (``mark_source`` says which); fees apart."""

    avg_cost = serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=PX_DECIMALS, read_only=True)
    portfolio: serializers.SlugRelatedField[Portfolio] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    instrument: serializers.SlugRelatedField[Instrument] = serializers.SlugRelatedField(slug_field="symbol", read_only=True)
    mark = serializers.SerializerMethodField()
    mark_source = serializers.SerializerMethodField()
    market_value = serializers.SerializerMethodField()
    unrealized_pnl = serializers.SerializerMethodField()

    class Meta:
        model = Position
        fields = [
            "portfolio", "instrument", "qty", "avg_cost", "realized_pnl", "fees",
            "mark", "mark_source", "market_value", "unrealized_pnl", "updated_at",
        ]  # fmt: skip
        list_serializer_class = _PositionListSerializer

    def _marked(self, position: Position) -> tuple[PositionMark | None, str]:
        """The position at its mark and the mark's source, worked out once per position."""
        cache = self._context.setdefault("marked", {})
        if position.pk not in cache:
            marks = self.context.get("marks")
            live = (marks if marks is not None else ports.execution.marks([position.instrument_id])).get(position.instrument_id)
            mark, source = (live, "LIVE") if live else (position.instrument.ref_px or None, "REFERENCE")
            multiplier = position.instrument.multiplier
            cache[position.pk] = (position_mark(position.state, mark=mark, multiplier=multiplier), source) if mark else (None, "")
        return cast(tuple[PositionMark | None, str], cache[position.pk])

    @extend_schema_field(serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=PX_DECIMALS, allow_null=True))
    def get_mark(self, position: Position) -> str | None:
        marked, _ = self._marked(position)
        return decimal_str(marked.mark) if marked else None

    @extend_schema_field(serializers.ChoiceField(choices=["LIVE", "REFERENCE", ""]))
    def get_mark_source(self, position: Position) -> str:
        return self._marked(position)[1]

    @extend_schema_field(serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=MONEY_DECIMALS, allow_null=True))
    def get_market_value(self, position: Position) -> str | None:
        marked, _ = self._marked(position)
        return decimal_str(marked.market_value) if marked else None

    @extend_schema_field(serializers.DecimalField(max_digits=MAX_DIGITS, decimal_places=MONEY_DECIMALS, allow_null=True))
    def get_unrealized_pnl(self, position: Position) -> str | None:
        marked, _ = self._marked(position)
        return decimal_str(marked.unrealized_pnl) if marked else None


class PortfolioSerializer(serializers.ModelSerializer):
    """A portfolio with its cash and its accounts (the codes a block order allocates to)."""

    owner: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    accounts: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = Portfolio
        fields = ["code", "name", "owner", "currency", "cash", "accounts"]


class InstrumentLegSerializer(serializers.Serializer[Any]):
    leg_no = serializers.IntegerField()
    instrument = serializers.CharField(source="instrument.symbol")
    side = serializers.CharField()
    ratio = serializers.IntegerField()


class InstrumentSerializer(serializers.ModelSerializer):
    underlying: serializers.SlugRelatedField[Instrument] = serializers.SlugRelatedField(
        slug_field="symbol", read_only=True, allow_null=True
    )
    legs = InstrumentLegSerializer(many=True, read_only=True)

    class Meta:
        model = Instrument
        fields = [
            "symbol", "name", "asset_class", "currency", "tick_size", "lot_size", "multiplier", "ref_px",
            "underlying", "strike", "expiry", "put_call", "structure", "legs", "active",
        ]  # fmt: skip


class KillSwitchEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = KillSwitchEvent
        fields = ["action", "actor", "reason", "data", "created_at"]


class KillSwitchSerializer(serializers.ModelSerializer):
    """An engaged (or released) kill switch and its audit trail."""

    # null where the scope names none of them (a FIRM switch names none), and until a switch is released
    portfolio: serializers.SlugRelatedField[Portfolio] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    trader: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    instrument: serializers.SlugRelatedField[Instrument] = serializers.SlugRelatedField(
        slug_field="symbol", read_only=True, allow_null=True
    )
    engaged_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    released_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    target = serializers.CharField(source="target_label", read_only=True)
    events = KillSwitchEventSerializer(many=True, read_only=True)

    class Meta:
        model = KillSwitch
        fields = [
            "id", "scope", "target", "portfolio", "trader", "instrument", "venue", "reason",
            "engaged", "engaged_by", "engaged_at", "released_by", "released_at", "events",
        ]  # fmt: skip


class KillSwitchEngageSerializer(serializers.Serializer[Any]):
    """Engage: the scope and, but for FIRM, its one target."""

    scope = serializers.ChoiceField(choices=[s.value for s in KillScope])
    reason = serializers.CharField(max_length=200)
    portfolio = serializers.SlugRelatedField(slug_field="code", queryset=Portfolio.objects.all(), required=False, allow_null=True)
    trader = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all(), required=False, allow_null=True
    )
    instrument = serializers.SlugRelatedField(
        slug_field="symbol", queryset=Instrument.objects.all(), required=False, allow_null=True
    )
    venue = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class KillSwitchReleaseSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RiskLimitSerializer(serializers.ModelSerializer):
    # null: the limit is not for one portfolio (or one instrument)
    portfolio: serializers.SlugRelatedField[Portfolio] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    instrument: serializers.SlugRelatedField[Instrument] = serializers.SlugRelatedField(
        slug_field="symbol", read_only=True, allow_null=True
    )
    scope = serializers.CharField(source="scope_label", read_only=True)

    class Meta:
        model = RiskLimit
        fields = [
            "id", "scope", "portfolio", "instrument", "max_order_qty", "max_order_notional", "collar_bps", "credit_limit",
            "max_position_qty", "daily_notional", "max_orders", "per_seconds", "duplicate_seconds", "active", "updated_at",
        ]  # fmt: skip
