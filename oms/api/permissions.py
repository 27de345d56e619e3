"""Who may call an endpoint at all, by role (``oms.roles``); which objects they see is each view's queryset."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from oms import roles


class HasRole(BasePermission):
    """A PM, a trader, risk or an admin: a login with no role reads nothing."""

    message = "your login has no role (PM, trader or risk): ask an admin for one"

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.has_any_role(request.user)


class SeesDesk(BasePermission):
    """Traders, risk and admins: the desk-wide views (a PM sees only their own portfolios)."""

    message = "only traders, risk and admins may see this"

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.sees_all_orders(request.user)
