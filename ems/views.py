from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from ems.bestex import ASSET_CLASSES
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


@login_required
def order_tca(request: HttpRequest, pk: int) -> HttpResponse:
    """Render an order's transaction cost analysis page; the data is the API's (``/api/orders/<id>/tca/``).

    404 for an order the user may not see, as the API answers.
    """
    if not roles.orders_for(request.user).filter(pk=pk).exists():
        raise Http404(f"no order #{pk} you may see")
    return render(request, "tca_order.html", {"order_id": pk})


@login_required
def reports(request: HttpRequest) -> HttpResponse:
    """Render the best-execution reports (RTS 28, venues, dealers); the data is the API's (``/api/reports/...``).

    Any role may open it: a PM's figures cover their own portfolios. A login with no role gets the 403 page.
    """
    if not roles.has_any_role(request.user):
        raise PermissionDenied("your login has no role (PM, trader or risk): ask an admin for one")
    return render(
        request,
        "reports.html",
        {
            "sees_all": roles.sees_all_orders(request.user),
            "portfolios": roles.portfolios_for(request.user).order_by("code"),
            "asset_classes": ASSET_CLASSES,
        },
    )
