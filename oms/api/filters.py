"""Query filters of the API's lists (``?status=NEW&instrument=ACME&created_after=...``), documented in the schema."""

from typing import Any

import django_filters
from django.db.models import QuerySet

from config.fields import enum_choices
from oms.models import Instrument, ParentOrder, Position
from trading.enums import AssetClass, Side
from trading.states import TERMINAL, OrdStatus


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=enum_choices(OrdStatus))
    active = django_filters.BooleanFilter(method="_active", label="true: still working (not filled, cancelled, ...)")
    portfolio = django_filters.CharFilter(field_name="portfolio__code")
    instrument = django_filters.CharFilter(field_name="instrument__symbol")
    side = django_filters.ChoiceFilter(choices=[(s.value, s.value) for s in Side])
    cl_ord_id = django_filters.CharFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

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
