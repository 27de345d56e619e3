"""The consolidated market for one symbol: NBBO and composite depth across venues.

Pure core: no Django, no Redis. The values here are what the gateway publishes
and the market view shows; ``venues.marketdata`` stores and ships them.

Only venues whose session is OPEN count: a halted or closed venue's resting
quotes cannot be traded against, so they are neither in the NBBO nor in the
composite depth (the per-venue book still shows them, with the state).
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from trading.enums import Side
from trading.numbers import ZERO

OPEN: Final = "OPEN"
SESSION_STATES: Final = frozenset({"OPEN", "HALTED", "CLOSED"})

# (px, displayed qty, orders)
BookLevel = tuple[Decimal, Decimal, int]


@dataclass(frozen=True, slots=True)
class BookView:
    """One venue's book for one symbol: up to 10 levels a side, best first."""

    venue: str
    symbol: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    state: str  # "OPEN" | "HALTED" | "CLOSED"
    ts: str  # ISO 8601 UTC


@dataclass(frozen=True, slots=True)
class TradePrint:
    """One trade on one venue; ``aggressor`` is the taker's side when the venue says."""

    venue: str
    symbol: str
    px: Decimal
    qty: Decimal
    aggressor: Side | None
    ts: str


@dataclass(frozen=True, slots=True)
class CompositeLevel:
    """One price of the composite book: the total over OPEN venues and each venue's share."""

    px: Decimal
    qty: Decimal
    orders: int
    venues: Mapping[str, Decimal]  # venue code -> displayed qty, in venue-code order


@dataclass(frozen=True, slots=True)
class Consolidated:
    """The NBBO and the composite depth; a missing side has ``None`` px, zero qty, no venues."""

    bid_px: Decimal | None
    bid_qty: Decimal
    bid_venues: tuple[str, ...]
    ask_px: Decimal | None
    ask_qty: Decimal
    ask_venues: tuple[str, ...]
    bids: tuple[CompositeLevel, ...]  # best (highest) first
    asks: tuple[CompositeLevel, ...]  # best (lowest) first
    locked: bool  # best bid == best ask, across venues
    crossed: bool  # best bid > best ask, across venues
    mid: Decimal | None
    spread: Decimal | None  # ask - bid; negative when crossed
    ts: str  # the latest ``ts`` of the books it was built from ("" when none)


def _composite(levels_by_venue: Iterable[tuple[str, tuple[BookLevel, ...]]], side: Side, levels: int) -> tuple[CompositeLevel, ...]:
    qty_at: dict[Decimal, dict[str, Decimal]] = defaultdict(dict)
    orders_at: dict[Decimal, int] = defaultdict(int)
    for venue, book_levels in levels_by_venue:
        for px, qty, orders in book_levels:
            if qty <= ZERO:
                continue  # an emptied level the venue has not dropped yet shows nothing
            by_venue = qty_at[px]
            by_venue[venue] = by_venue.get(venue, ZERO) + qty
            orders_at[px] += orders
    # Each venue sends its best N levels, so the best N composite prices are complete: a venue
    # level missing at one of them would need N better levels on that venue, pushing it past N.
    prices = sorted(qty_at, reverse=side is Side.BUY)[:levels]
    return tuple(
        CompositeLevel(
            px=px,
            qty=sum(qty_at[px].values(), ZERO),
            orders=orders_at[px],
            venues={venue: qty_at[px][venue] for venue in sorted(qty_at[px])},
        )
        for px in prices
    )


def consolidate(books: list[BookView], levels: int = 10) -> Consolidated:
    """Return the NBBO and up to ``levels`` composite prices a side across the OPEN venues in ``books``.

    ``books`` are the venues' books for one symbol. Raise ``ValueError`` when
    ``levels`` is below one.
    """
    if levels < 1:
        raise ValueError(f"invalid `levels`, was {levels}")
    live = [book for book in books if book.state == OPEN]
    bids = _composite(((book.venue, book.bids) for book in live), Side.BUY, levels)
    asks = _composite(((book.venue, book.asks) for book in live), Side.SELL, levels)
    best_bid = bids[0] if bids else None
    best_ask = asks[0] if asks else None
    mid: Decimal | None = None
    spread: Decimal | None = None
    if best_bid is not None and best_ask is not None:
        mid = (best_bid.px + best_ask.px) / 2
        spread = best_ask.px - best_bid.px
    return Consolidated(
        bid_px=None if best_bid is None else best_bid.px,
        bid_qty=ZERO if best_bid is None else best_bid.qty,
        bid_venues=() if best_bid is None else tuple(best_bid.venues),
        ask_px=None if best_ask is None else best_ask.px,
        ask_qty=ZERO if best_ask is None else best_ask.qty,
        ask_venues=() if best_ask is None else tuple(best_ask.venues),
        bids=bids,
        asks=asks,
        locked=spread is not None and spread == ZERO,
        crossed=spread is not None and spread < ZERO,
        mid=mid,
        spread=spread,
        ts=max((book.ts for book in books), default=""),
    )
