"""Decimal model fields with the digits set once in settings: prices, quantities, money."""

from typing import Any

from django.conf import settings
from django.db import models


def PriceField(**kwargs: Any) -> models.DecimalField:  # noqa: N802 - reads like a field class
    return models.DecimalField(max_digits=settings.DECIMAL_MAX_DIGITS, decimal_places=settings.PX_DECIMAL_PLACES, **kwargs)


def QtyField(**kwargs: Any) -> models.DecimalField:  # noqa: N802
    return models.DecimalField(max_digits=settings.DECIMAL_MAX_DIGITS, decimal_places=settings.QTY_DECIMAL_PLACES, **kwargs)


def MoneyField(**kwargs: Any) -> models.DecimalField:  # noqa: N802
    return models.DecimalField(max_digits=settings.DECIMAL_MAX_DIGITS, decimal_places=settings.MONEY_DECIMAL_PLACES, **kwargs)


def enum_choices(enum: Any) -> list[tuple[str, str]]:
    """Return Django choices for a ``StrEnum``: ``("PENDING_NEW", "Pending New")``."""
    return [(member.value, member.value.replace("_", " ").title()) for member in enum]
