"""Who may do what. Groups: ``pm``, ``trader``, ``risk``; superusers are admins."""

from typing import Any, Final

from django.db.models import QuerySet

from oms.models import ParentOrder, Portfolio

PM = "pm"
TRADER = "trader"
RISK = "risk"
ROLES = (PM, TRADER, RISK)


def has_role(user: Any, role: str) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.groups.filter(name=role).exists()))


def has_any_role(user: Any) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.groups.filter(name__in=ROLES).exists()))


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


# What each role may do in admin, by model: "view", or every action. Admins (superusers) may do all.
ADMIN_PERMISSIONS: Final = {
    RISK: {
        "risklimit": ("add", "change", "delete", "view"),
        "restriction": ("add", "change", "delete", "view"),
        "killswitch": ("add", "view"),  # engaged by adding one; released by the admin action (the risk role's)
        "killswitchevent": ("view",),
        "instrument": ("view",),
        "portfolio": ("view",),
        "account": ("view",),
        "parentorder": ("view",),
        "fill": ("view",),
        "position": ("view",),
        "orderevent": ("view",),
    },
}


def groups_ensure(**_: Any) -> None:
    """Create the role groups and give each its admin permissions (run after every migrate: idempotent)."""
    from django.contrib.auth.models import Group, Permission

    for role in ROLES:
        group, _created = Group.objects.get_or_create(name=role)
        wanted = ADMIN_PERMISSIONS.get(role, {})
        codenames = [f"{action}_{model}" for model, actions in wanted.items() for action in actions]
        group.permissions.add(*Permission.objects.filter(content_type__app_label="oms", codename__in=codenames))
