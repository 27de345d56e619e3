from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from oms import roles


@login_required
def blotter(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "blotter.html",
        {"portfolios": roles.portfolios_for(request.user), "sees_all": roles.sees_all_orders(request.user)},
    )
