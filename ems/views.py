from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from oms import roles
from oms.models import KillScope


@login_required
def blotter(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "blotter.html",
        {
            "portfolios": roles.portfolios_for(request.user),
            "sees_all": roles.sees_all_orders(request.user),
            "may_submit": roles.may_submit(request.user),  # the ticket, and the detail's amend and cancel
        },
    )


@login_required
def positions(request: HttpRequest) -> HttpResponse:
    """Render the live positions and P&L of the portfolios the user may read (a PM: their own); the data is the API's."""
    return render(
        request,
        "positions.html",
        {"portfolios": roles.portfolios_for(request.user).order_by("code"), "sees_all": roles.sees_all_orders(request.user)},
    )


@login_required
def risk(request: HttpRequest) -> HttpResponse:
    """Render the kill switch panel: the risk role and admins only (anyone else gets the 403 page)."""
    if not roles.has_role(request.user, roles.RISK):
        raise PermissionDenied("only the risk role or an admin may open the kill switch panel")
    return render(request, "risk.html", {"scopes": KillScope.values})
