"""Query filters of the API's lists (``?status=NEW&instrument=ACME&created_after=...``), documented in the schema."""

from datetime import UTC
from typing import Any

import django_filters
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError

from config.fields import enum_choices
from oms.models import Instrument, ParentOrder, Position
from trading.enums import AssetClass, Side
from trading.states import TERMINAL, OrdStatus


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant, taken to UTC before it reaches the database (PostgreSQL refuses offsets past +-15:59)."""

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError as exc:  # an instant whose UTC falls outside years 1 to 9999
                raise ValidationError(
                    {self.field_name: [f"invalid `{self.field_name}`, was {value.isoformat()}: out of range"]}
                ) from exc
        return super().filter(qs, value)


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=enum_choices(OrdStatus))
    active = django_filters.BooleanFilter(method="_active", label="true: still working (not filled, cancelled, ...)")
    portfolio = django_filters.CharFilter(field_name="portfolio__code")
    instrument = django_filters.CharFilter(field_name="instrument__symbol")
    side = django_filters.ChoiceFilter(choices=[(s.value, s.value) for s in Side])
    cl_ord_id = django_filters.CharFilter()
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = ParentOrder
        fields = ["status", "active", "portfolio", "instrument", "side", "cl_ord_id", "created_after", "created_before"]

    def _active(self, queryset: QuerySet[ParentOrder], name: str, value: Any) -> QuerySet[ParentOrder]:
        if value is None:
            return queryset
        return queryset.exclude(status__in=TERMINAL) if value else queryset.filter(status__in=TERMINAL)


class PositionFilter(django_filters.FilterSet):
    portfolio = django_filters.CharFilter(field_name="portfolio__code")
    instrument = django_filters.CharFilter(field_name="instrument__symbol")
    open = django_filters.BooleanFilter(method="_open", label="true: only non-zero quantities")

    class Meta:
        model = Position
        fields = ["portfolio", "instrument", "open"]

    def _open(self, queryset: QuerySet[Position], name: str, value: Any) -> QuerySet[Position]:
        if value is None:
            return queryset
        return queryset.exclude(qty=0) if value else queryset.filter(qty=0)


class InstrumentFilter(django_filters.FilterSet):
    asset_class = django_filters.ChoiceFilter(choices=[(a.value, a.value) for a in AssetClass])
    underlying = django_filters.CharFilter(field_name="underlying__symbol")
    search = django_filters.CharFilter(field_name="symbol", lookup_expr="istartswith", label="symbols starting with this")
    active = django_filters.BooleanFilter()

    class Meta:
        model = Instrument
        fields = ["asset_class", "underlying", "search", "active"]
