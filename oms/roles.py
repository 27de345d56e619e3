"""Who may do what. Groups: ``pm``, ``trader``, ``risk``; superusers are admins."""

from typing import Any

from django.db.models import QuerySet

from oms.models import ParentOrder, Portfolio

PM = "pm"
TRADER = "trader"
RISK = "risk"
ROLES = (PM, TRADER, RISK)


def has_role(user: Any, role: str) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.groups.filter(name=role).exists()))


def sees_all_orders(user: Any) -> bool:
    """Traders, risk and admins see the whole desk; a PM sees only their own portfolios."""
    return bool(user.is_superuser or user.groups.filter(name__in=(TRADER, RISK)).exists())


def portfolios_for(user: Any) -> QuerySet[Portfolio]:
    """Return the portfolios ``user`` may trade and read."""
    if sees_all_orders(user):
        return Portfolio.objects.all()
    if has_role(user, PM):
        return Portfolio.objects.filter(owner=user)
    return Portfolio.objects.none()


def orders_for(user: Any) -> QuerySet[ParentOrder]:
    return ParentOrder.objects.filter(portfolio__in=portfolios_for(user))


def may_submit(user: Any) -> bool:
    return bool(user.is_superuser or user.groups.filter(name__in=(PM, TRADER)).exists())
