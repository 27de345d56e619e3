"""What every page's template may ask of the user: the nav's role flags."""

from collections.abc import Callable

from django.http import HttpRequest

from oms import roles


def nav(request: HttpRequest) -> dict[str, Callable[[], bool]]:
    """``nav_risk``: whether the nav links the kill switch panel (the risk role or an admin).

    A callable, which the template calls only when it reads it: pages without the nav (admin, the API) run no query.
    """

    def risk() -> bool:
        user = getattr(request, "user", None)  # a request that skipped the auth middleware has none
        return user is not None and roles.has_role(user, roles.RISK)

    return {"nav_risk": risk}
