from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from config.redis import redis_client
from venues.marketdata import symbol_valid, symbols_read


@login_required
def market(request: HttpRequest, symbol: str | None = None) -> HttpResponse:
    """Render the live market view for ``symbol`` (the first symbol with data when none is given)."""
    symbols = [s for s in symbols_read(redis_client()) if symbol_valid(s)]  # the picker links to each
    if symbol is None:
        symbol = symbols[0] if symbols else None
    elif not symbol_valid(symbol):
        raise Http404(f"invalid `symbol`, was {symbol!r}")
    return render(request, "market.html", {"symbol": symbol, "symbols": symbols})
