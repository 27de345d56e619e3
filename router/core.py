"""Routing policies. Pure: venues and their quotes in, a decision with its reason out."""

from dataclasses import dataclass
from decimal import Decimal

from trading.enums import Side


@dataclass(frozen=True, slots=True)
class VenueQuote:
    """A venue as the router sees it: its taker fee and the far touch (what a taker would hit)."""

    venue: str
    taker_fee: Decimal
    px: Decimal | None  # best ask for a buy, best bid for a sell; None when the venue shows nothing
    qty: Decimal


@dataclass(frozen=True, slots=True)
class Route:
    venue: str
    reason: str


class NoVenue(Exception):
    pass


def route_whole(*, side: Side, venues: list[VenueQuote]) -> Route:
    """Choose one venue for the whole quantity: the best fee-adjusted price, then the most size.

    Without quotes (no market data yet) choose the cheapest taker fee.
    """
    if not venues:
        raise NoVenue("no active lit venue")
    quoted = [v for v in venues if v.px is not None]
    if not quoted:
        cheapest = min(venues, key=lambda v: (v.taker_fee, v.venue))
        return Route(cheapest.venue, f"no market data: cheapest taker fee ({cheapest.taker_fee}/sh)")

    def all_in(v: VenueQuote) -> Decimal:
        assert v.px is not None
        return v.px + v.taker_fee if side is Side.BUY else -(v.px - v.taker_fee)

    best = min(quoted, key=lambda v: (all_in(v), -v.qty, v.venue))
    return Route(best.venue, f"best fee-adjusted price: {best.px} + {best.taker_fee}/sh fee, {best.qty} shown")
