"""The market-data cache in Redis, and its live feed over the Channels layer.

The gateway writes it; the router and the market view read it. Keys, per symbol:

- ``md:top:{symbol}``: hash, one field per venue, that venue's top of book (the router reads it).
- ``md:book:{symbol}``: hash, one field per venue, that venue's L2 book (up to 10 levels a side).
- ``md:nbbo:{symbol}``: string, the consolidated view (NBBO and composite depth) over every cached venue.
- ``md:trades:{symbol}``: list, the last ``TRADES_KEPT`` trade prints, latest first.
- ``md:volume:{symbol}``: sorted set, one member per publish with trades, scored by its last trade's
  time (epoch seconds): ``seq|cumulative volume|this publish's volume|last trade px|NBBO mid|cumulative
  notional``, kept ``VOLUME_KEPT_S`` (``volume_since`` reads the volume printed since a time in two
  lookups, however many trades; ``vwap_between`` the market's VWAP over an interval in four;
  ``price_volume_series`` reads the price and volume over a window). The mid is empty when the NBBO
  was one-sided; members written before the price was kept have only the first three fields, and
  read with neither price nor mid; members written before the notional was kept have five, and an
  interval bounded by one has no VWAP (the cumulative notional starts again from zero after one).
- ``md:seq:{symbol}``: counter, one step per ``market_publish``; every stored and sent view carries it.
- ``md:symbols``: set, the symbols with market data.
- ``md:venues``: hash, one field per venue (lit and dark), its session state and the time the
  gateway last vouched for it (``venue_health_publish``, every publish cycle): the router's
  staleness check. A venue whose session is lost, or a gateway that stopped, goes stale.

Values are JSON with Decimals as strings, never floats. A publish to the
Channels group ``market_group(symbol)`` is best effort: Redis is the record, and
a market view resyncs from a Redis snapshot whenever it (re)connects.
"""

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, cast

import redis

from config.layer import group_send
from trading.clock import epoch_ns
from trading.enums import Side
from trading.numbers import ZERO, avg_px, decimal_str
from venues.composite import OPEN, SESSION_STATES, BookLevel, BookView, CompositeLevel, Consolidated, TradePrint, consolidate

__all__ = [
    "CLOCK_KEY",
    "TRADES_KEPT",
    "VENUES_KEY",
    "BookView",
    "Consolidated",
    "PricePoint",
    "Top",
    "TradePrint",
    "VenueHealth",
    "book_read",
    "market_clock_offset_ns",
    "market_clock_publish",
    "market_group",
    "market_publish",
    "market_snapshot_read",
    "nbbo_read",
    "price_volume_series",
    "symbol_valid",
    "symbols_read",
    "top_publish",
    "top_read",
    "trades_read",
    "venue_health_publish",
    "venue_health_read",
    "volume_before",
    "volume_since",
]

log = logging.getLogger(__name__)

TRADES_KEPT: Final = 500
VOLUME_KEPT_S: Final = 86_400  # a day of publishes: an algo's segment is never longer
SYMBOLS_KEY: Final = "md:symbols"
VENUES_KEY: Final = "md:venues"
CLOCK_KEY: Final = "md:clock"  # the simulated market's time of day, and the wall-clock time it was read
_PUBLISH_ATTEMPTS: Final = 5
# Channels group names: ASCII letters, digits, hyphens, underscores and periods, shorter than 100.
_GROUP_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]")
_GROUP_MAX = 99
# What a symbol may look like in a URL: letters, digits and . - _ (BRK.B, ES-Z5), at most 32.
_SYMBOL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,31}")


@dataclass(frozen=True, slots=True)
class Top:
    venue: str
    bid_px: Decimal | None
    bid_qty: Decimal
    ask_px: Decimal | None
    ask_qty: Decimal
    ts: str
    state: str = OPEN  # the venue's session; entries written before it existed read as OPEN


@dataclass(frozen=True, slots=True)
class PricePoint:
    """One publish with trades, as ``md:volume`` keeps it: when, at what price, and the volume so far.

    ``cumulative`` only means something against another point's (or
    ``volume_before``): the difference is the volume printed between them.
    """

    at_ms: int  # the publish's last trade time, epoch milliseconds
    px: Decimal | None  # that trade's price; None for a member written before prices were kept
    mid: Decimal | None  # the NBBO mid after that publish; None when one-sided, or for an old member
    cumulative: Decimal  # the cumulative volume after that publish
    volume: Decimal  # printed since the point before it in the series (the first: since just before the window)


@dataclass(frozen=True, slots=True)
class VenueHealth:
    """A venue's session state as the gateway last saw it, and when (ISO 8601 UTC)."""

    venue: str
    state: str
    ts: str


def _key(symbol: str) -> str:
    return f"md:top:{symbol}"


def _book_key(symbol: str) -> str:
    return f"md:book:{symbol}"


def _nbbo_key(symbol: str) -> str:
    return f"md:nbbo:{symbol}"


def _trades_key(symbol: str) -> str:
    return f"md:trades:{symbol}"


def _volume_key(symbol: str) -> str:
    return f"md:volume:{symbol}"


def _volume_entry(raw: str) -> tuple[Decimal, Decimal]:
    """A ``md:volume`` member: (the cumulative volume after its publish, that publish's volume)."""
    fields = raw.split("|")  # seq, cumulative, volume[, px, mid[, notional]]: older members stop after the volume
    return Decimal(fields[1]), Decimal(fields[2])


def _volume_notional(raw: str) -> Decimal | None:
    """A ``md:volume`` member's cumulative notional ($) after its publish; None for a member written before it was kept."""
    fields = raw.split("|")
    return Decimal(fields[5]) if len(fields) > 5 and fields[5] else None


def _volume_member(*, seq: int, cumulative: Decimal, volume: Decimal, px: Decimal, mid: Decimal | None, notional: Decimal) -> str:
    return f"{seq}|{_dec(cumulative)}|{_dec(volume)}|{_dec(px)}|{'' if mid is None else _dec(mid)}|{_dec(notional)}"


def _volume_point(raw: str, score: float) -> PricePoint:
    """A ``md:volume`` member as a point; ``volume`` is that publish's own."""
    fields = raw.split("|")
    px = fields[3] if len(fields) > 3 else ""
    mid = fields[4] if len(fields) > 4 else ""
    return PricePoint(
        at_ms=round(score * 1_000_000) // 1000,  # to the microsecond first (a double holds it), then down: as epoch_ns // 10**6
        px=Decimal(px) if px else None,
        mid=Decimal(mid) if mid else None,
        cumulative=Decimal(fields[1]),
        volume=Decimal(fields[2]),
    )


def _seq_key(symbol: str) -> str:
    return f"md:seq:{symbol}"


def symbol_valid(symbol: str) -> bool:
    """Return whether ``symbol`` is one a market view may ask for (letters, digits, ``.-_``; at most 32)."""
    return _SYMBOL_RE.fullmatch(symbol) is not None


def market_group(symbol: str) -> str:
    """Return the Channels group for ``symbol``'s updates; distinct symbols get distinct groups.

    Characters a group name may not hold become ``_<hex code point>_`` (an
    underscore too, so the mapping stays one to one); a name that would still be
    too long becomes a hash of the symbol.
    """
    name = "market." + _GROUP_UNSAFE.sub(lambda m: f"_{ord(m.group()):x}_", symbol)
    if len(name) > _GROUP_MAX:
        name = "market.h-" + hashlib.sha256(symbol.encode()).hexdigest()
    return name


# --- JSON forms (Decimals as plain strings, never floats) ------------------------------


def _dec(value: Decimal) -> str:
    return format(value, "f")  # "f": no exponent ("1E+1"), which the browser would misread


def _opt_decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _top_json(top: Top) -> str:
    return json.dumps(
        {
            "bid_px": decimal_str(top.bid_px),
            "bid_qty": _dec(top.bid_qty),
            "ask_px": decimal_str(top.ask_px),
            "ask_qty": _dec(top.ask_qty),
            "ts": top.ts,
            "state": top.state,
        }
    )


def _levels_json(levels: tuple[BookLevel, ...]) -> list[list[Any]]:
    return [[_dec(px), _dec(qty), orders] for px, qty, orders in levels]


def book_json(book: BookView) -> dict[str, Any]:
    """Return ``book`` as JSON-ready data: levels are ``[px, qty, orders]`` with px and qty as strings."""
    return {
        "venue": book.venue,
        "symbol": book.symbol,
        "bids": _levels_json(book.bids),
        "asks": _levels_json(book.asks),
        "state": book.state,
        "ts": book.ts,
    }


def _book_from(data: dict[str, Any]) -> BookView:
    return BookView(
        venue=data["venue"],
        symbol=data["symbol"],
        bids=tuple((Decimal(px), Decimal(qty), int(orders)) for px, qty, orders in data["bids"]),
        asks=tuple((Decimal(px), Decimal(qty), int(orders)) for px, qty, orders in data["asks"]),
        state=data["state"],
        ts=data["ts"],
    )


def _composite_json(levels: tuple[CompositeLevel, ...]) -> list[dict[str, Any]]:
    return [
        {
            "px": _dec(level.px),
            "qty": _dec(level.qty),
            "orders": level.orders,
            "venues": {v: _dec(q) for v, q in level.venues.items()},
        }
        for level in levels
    ]


def _composite_from(data: list[dict[str, Any]]) -> tuple[CompositeLevel, ...]:
    return tuple(
        CompositeLevel(
            px=Decimal(level["px"]),
            qty=Decimal(level["qty"]),
            orders=int(level["orders"]),
            venues={v: Decimal(q) for v, q in level["venues"].items()},
        )
        for level in data
    )


def consolidated_json(view: Consolidated) -> dict[str, Any]:
    """Return ``view`` as JSON-ready data, Decimals as strings."""
    return {
        "bid_px": decimal_str(view.bid_px),
        "bid_qty": _dec(view.bid_qty),
        "bid_venues": list(view.bid_venues),
        "ask_px": decimal_str(view.ask_px),
        "ask_qty": _dec(view.ask_qty),
        "ask_venues": list(view.ask_venues),
        "bids": _composite_json(view.bids),
        "asks": _composite_json(view.asks),
        "locked": view.locked,
        "crossed": view.crossed,
        "mid": decimal_str(view.mid),
        "spread": decimal_str(view.spread),
        "ts": view.ts,
    }


def _consolidated_from(data: dict[str, Any]) -> Consolidated:
    return Consolidated(
        bid_px=_opt_decimal(data["bid_px"]),
        bid_qty=Decimal(data["bid_qty"]),
        bid_venues=tuple(data["bid_venues"]),
        ask_px=_opt_decimal(data["ask_px"]),
        ask_qty=Decimal(data["ask_qty"]),
        ask_venues=tuple(data["ask_venues"]),
        bids=_composite_from(data["bids"]),
        asks=_composite_from(data["asks"]),
        locked=bool(data["locked"]),
        crossed=bool(data["crossed"]),
        mid=_opt_decimal(data["mid"]),
        spread=_opt_decimal(data["spread"]),
        ts=data["ts"],
    )


def trade_json(trade: TradePrint, seq: int) -> dict[str, Any]:
    """Return ``trade`` as JSON-ready data, with the publish ``seq`` that carried it."""
    return {
        "venue": trade.venue,
        "symbol": trade.symbol,
        "px": _dec(trade.px),
        "qty": _dec(trade.qty),
        "aggressor": None if trade.aggressor is None else str(trade.aggressor),
        "ts": trade.ts,
        "seq": seq,
    }


def _trade_from(data: dict[str, Any]) -> TradePrint:
    return TradePrint(
        venue=data["venue"],
        symbol=data["symbol"],
        px=Decimal(data["px"]),
        qty=Decimal(data["qty"]),
        aggressor=None if data["aggressor"] is None else Side(data["aggressor"]),
        ts=data["ts"],
    )


def _top_of(book: BookView) -> Top:
    return Top(
        venue=book.venue,
        bid_px=book.bids[0][0] if book.bids else None,
        bid_qty=book.bids[0][1] if book.bids else ZERO,
        ask_px=book.asks[0][0] if book.asks else None,
        ask_qty=book.asks[0][1] if book.asks else ZERO,
        ts=book.ts,
        state=book.state,
    )


# --- writes ------------------------------------------------------------------------------


def top_publish(client: redis.Redis, top: Top, symbol: str) -> None:
    """Store one venue's top of book for ``symbol``."""
    pipe = client.pipeline()
    pipe.hset(_key(symbol), top.venue, _top_json(top))
    pipe.sadd(SYMBOLS_KEY, symbol)
    pipe.execute()


def _check(symbol: str, books: list[BookView], trades: list[TradePrint]) -> None:
    for book in books:
        if book.symbol != symbol:
            raise ValueError(f"invalid `symbol` on {book.venue}'s book, was {book.symbol!r} (publishing {symbol!r})")
        if book.state not in SESSION_STATES:
            raise ValueError(f"invalid `state` on {book.venue}'s book, was {book.state!r}")
    for trade in trades:
        if trade.symbol != symbol:
            raise ValueError(f"invalid `symbol` on a {trade.venue} trade, was {trade.symbol!r} (publishing {symbol!r})")


def market_publish(
    client: redis.Redis, symbol: str, books: list[BookView], trades: list[TradePrint], *, channel_layer: Any = None
) -> None:
    """Store ``symbol``'s venue books, tops, consolidated view and new trades; then tell the market views.

    ``books`` replace those venues' cached books; venues not in ``books`` keep
    theirs, and the consolidated view is built over all of them. ``trades`` are
    in time order (oldest first). The writes are one MULTI/EXEC, retried if a
    concurrent publish for the symbol got in between (WATCH on its ``seq``), so
    each publish gets its own ``seq`` and readers see all of it or none.

    With a ``channel_layer``, send one ``market.update`` message to
    ``market_group(symbol)`` carrying every venue's book, the consolidated view
    and the new trades. Call from sync code (``config.layer.group_send``); a send
    failure is logged, never raised. Raise ``ValueError`` for a book or trade of
    another symbol or a book with an unknown session state.
    """
    _check(symbol, books, trades)
    seq, merged, view = _store(client, symbol, books, trades)
    if channel_layer is None:
        return
    event = {
        "type": "market.update",
        "symbol": symbol,
        "seq": seq,
        "books": [book_json(book) for book in merged],
        "consolidated": consolidated_json(view),
        "trades": [trade_json(trade, seq) for trade in reversed(trades)],  # latest first, as the tape shows them
    }
    try:
        group_send((market_group(symbol),), event, layer=channel_layer)
    except Exception:  # the feed is best effort; Redis is the record and views resync from it
        log.exception("market publish to channel layer failed for %s", symbol)


def _store(
    client: redis.Redis, symbol: str, books: list[BookView], trades: list[TradePrint]
) -> tuple[int, list[BookView], Consolidated]:
    for _ in range(_PUBLISH_ATTEMPTS):
        with client.pipeline() as pipe:
            try:
                pipe.watch(_seq_key(symbol))
                cached = cast(dict[str, str], pipe.hgetall(_book_key(symbol)))
                seq = int(cast(str | None, pipe.get(_seq_key(symbol))) or 0) + 1
                by_venue = {venue: _book_from(json.loads(raw)) for venue, raw in cached.items()}
                by_venue.update((book.venue, book) for book in books)
                merged = [by_venue[venue] for venue in sorted(by_venue)]
                view = consolidate(merged)
                last = cast(list[str], pipe.zrange(_volume_key(symbol), -1, -1))
                volume = sum((trade.qty for trade in trades), ZERO)
                cumulative = (_volume_entry(last[0])[0] if last else ZERO) + volume
                # after a member without it (written before it was kept) the notional starts again from zero
                notional = ((_volume_notional(last[0]) if last else None) or ZERO) + sum(
                    (trade.qty * trade.px for trade in trades), ZERO
                )
                pipe.multi()
                pipe.set(_seq_key(symbol), seq)
                if books:
                    pipe.hset(_book_key(symbol), mapping={book.venue: json.dumps(book_json(book)) for book in books})
                    pipe.hset(_key(symbol), mapping={book.venue: _top_json(_top_of(book)) for book in books})
                pipe.set(_nbbo_key(symbol), json.dumps(consolidated_json(view)))
                if trades:
                    # LPUSH puts each later trade in front: the list reads latest first.
                    pipe.lpush(_trades_key(symbol), *(json.dumps(trade_json(trade, seq)) for trade in trades))
                    pipe.ltrim(_trades_key(symbol), 0, TRADES_KEPT - 1)
                    at = datetime.fromisoformat(trades[-1].ts).timestamp()
                    entry = _volume_member(
                        seq=seq, cumulative=cumulative, volume=volume, px=trades[-1].px, mid=view.mid, notional=notional
                    )
                    pipe.zadd(_volume_key(symbol), {entry: at})
                    pipe.zremrangebyscore(_volume_key(symbol), "-inf", at - VOLUME_KEPT_S)
                pipe.sadd(SYMBOLS_KEY, symbol)
                pipe.execute()
            except redis.WatchError:
                continue  # another publish for this symbol won the race: merge with its books
            return seq, merged, view
    raise RuntimeError(f"market publish for {symbol!r} lost the race {_PUBLISH_ATTEMPTS} times")


def venue_health_publish(client: redis.Redis, health: list[VenueHealth]) -> None:
    """Vouch for the venues in ``health``: their state, as of their ``ts``; one HSET."""
    if health:
        client.hset(VENUES_KEY, mapping={h.venue: json.dumps({"state": h.state, "ts": h.ts}) for h in health})


def market_clock_publish(client: redis.Redis, *, market_ns: int, wall: datetime) -> None:
    """Say what time of day the market is at (ns since midnight) as of ``wall``: algos map their schedules with it."""
    client.set(CLOCK_KEY, f"{market_ns}|{wall.isoformat()}")


def market_clock_offset_ns(client: redis.Redis) -> int | None:
    """The market's time of day minus the wall clock, in ns (add it to wall-clock epoch ns); None when unknown."""
    raw = cast(str | None, client.get(CLOCK_KEY))
    if not raw:
        return None
    market_ns, wall_iso = raw.split("|", 1)
    return int(market_ns) - epoch_ns(datetime.fromisoformat(wall_iso))


# --- reads -------------------------------------------------------------------------------


def top_read(client: redis.Redis, symbol: str) -> list[Top]:
    """Return every venue's last top of book for ``symbol`` (empty when none is known)."""
    tops = []
    rows = cast(dict[str, str], client.hgetall(_key(symbol)))  # the client decodes responses
    for venue, raw in rows.items():
        value = json.loads(raw)
        tops.append(
            Top(
                venue=venue,
                bid_px=_opt_decimal(value["bid_px"]),
                bid_qty=Decimal(value["bid_qty"]) if value["bid_qty"] else ZERO,
                ask_px=_opt_decimal(value["ask_px"]),
                ask_qty=Decimal(value["ask_qty"]) if value["ask_qty"] else ZERO,
                ts=value["ts"],
                state=value.get("state", OPEN),
            )
        )
    return tops


def venue_health_read(client: redis.Redis) -> dict[str, VenueHealth]:
    """Return every venue's last health entry, by venue code."""
    rows = cast(dict[str, str], client.hgetall(VENUES_KEY))
    return {
        venue: VenueHealth(venue=venue, state=value["state"], ts=value["ts"])
        for venue, value in ((venue, json.loads(raw)) for venue, raw in rows.items())
    }


def book_read(client: redis.Redis, symbol: str) -> list[BookView]:
    """Return every venue's last book for ``symbol``, by venue code (empty when none is known)."""
    rows = cast(dict[str, str], client.hgetall(_book_key(symbol)))
    return [_book_from(json.loads(rows[venue])) for venue in sorted(rows)]


def nbbo_read(client: redis.Redis, symbol: str) -> Consolidated | None:
    """Return the last consolidated view for ``symbol``, or None when none was published."""
    raw = cast(str | None, client.get(_nbbo_key(symbol)))
    return None if raw is None else _consolidated_from(json.loads(raw))


def trades_read(client: redis.Redis, symbol: str, limit: int = 100) -> list[TradePrint]:
    """Return up to ``limit`` of ``symbol``'s last trades, latest first."""
    if limit < 1:
        return []
    rows = cast(list[str], client.lrange(_trades_key(symbol), 0, limit - 1))
    return [_trade_from(json.loads(raw)) for raw in rows]


def volume_since(client: redis.Redis, symbol: str, since: datetime) -> Decimal:
    """Return the volume ``symbol`` printed from ``since`` on (to the publish: one publish's trades count together).

    The cumulative volume now, less the cumulative volume before the first
    publish at or after ``since``: exact however many trades that is, unlike a
    count over the last ``TRADES_KEPT`` prints. Zero when nothing printed since.
    """
    pipe = client.pipeline(transaction=True)
    pipe.zrangebyscore(_volume_key(symbol), since.timestamp(), "+inf", start=0, num=1)
    pipe.zrange(_volume_key(symbol), -1, -1)
    first, last = cast(tuple[list[str], list[str]], pipe.execute())
    if not first or not last:
        return ZERO
    first_cumulative, first_batch = _volume_entry(first[0])
    return _volume_entry(last[0])[0] - (first_cumulative - first_batch)


def vwap_between(client: redis.Redis, symbol: str, start: datetime, end: datetime) -> tuple[Decimal, Decimal] | None:
    """Return the market's (VWAP, volume) over ``symbol``'s publishes from ``start`` to ``end``, both included.

    To the publish at both ends, as ``volume_since`` counts: from the first
    publish at or after ``start`` through the publish that carried ``end``
    (the first at or after it; the last before it while none has come yet),
    every trade of those publishes, ours included. A publish holds the trades
    since the one before, so each end may take in up to one publish period
    more: an order that filled in a few milliseconds still has the publish
    that carried its fills. Three lookups in one transaction, however many
    trades: the cumulative volume and notional of the last publish, less
    those just before the first (the publish before it, or zero when the
    first began the series). The VWAP is rounded half to even to 8 places,
    the price columns' precision. None when nothing printed in the interval,
    when it ends before it starts, or when the notional before the first
    publish is unknown: a bounding member written before the notional was
    kept, or the series' older members already dropped.
    """
    if end < start:
        return None
    key = _volume_key(symbol)
    pipe = client.pipeline(transaction=True)
    pipe.zrangebyscore(key, start.timestamp(), "+inf", start=0, num=1)
    pipe.zrangebyscore(key, end.timestamp(), "+inf", start=0, num=1)
    pipe.zrevrangebyscore(key, end.timestamp(), start.timestamp(), start=0, num=1)
    pipe.zrevrangebyscore(key, f"({start.timestamp()!r}", "-inf", start=0, num=1)
    first, carrying, last_before, before = cast(tuple[list[str], list[str], list[str], list[str]], pipe.execute())
    last = carrying or last_before
    if not first or not last:
        return None
    first_cumulative, first_batch = _volume_entry(first[0])
    volume = _volume_entry(last[0])[0] - (first_cumulative - first_batch)
    last_notional = _volume_notional(last[0])
    if before:
        notional_before = _volume_notional(before[0])
    elif first_cumulative == first_batch and _volume_notional(first[0]) is not None:
        notional_before = ZERO  # the first publish began the series (and its notional with it)
    else:
        notional_before = None  # the publishes before the first were dropped: what they added is unknown
    if volume <= 0 or last_notional is None or notional_before is None:
        return None
    return avg_px(qty=volume, notional=last_notional - notional_before), volume


def last_px_at(client: redis.Redis, symbol: str, at: datetime) -> Decimal | None:
    """Return the last trade price ``symbol`` printed at or before ``at``, from ``md:volume``.

    The last trade of the last publish with trades at or before ``at``. None
    when none is kept (nothing printed in the day before, or only members
    written before prices were kept).
    """
    last = cast(list[str], client.zrevrangebyscore(_volume_key(symbol), at.timestamp(), "-inf", start=0, num=1))
    return _volume_point(last[0], at.timestamp()).px if last else None


def volume_before(client: redis.Redis, symbol: str, at: datetime) -> Decimal | None:
    """Return the cumulative volume just before the first publish at or after ``at``; None when none printed since.

    A ``PricePoint``'s ``cumulative`` less this is the volume printed from
    ``at`` to that point (to the publish, as ``volume_since`` counts). Read it
    after the points: a publish landing in between is then not in them.
    """
    first = cast(list[str], client.zrangebyscore(_volume_key(symbol), at.timestamp(), "+inf", start=0, num=1))
    if not first:
        return None
    cumulative, batch = _volume_entry(first[0])
    return cumulative - batch


def price_volume_series(client: redis.Redis, symbol: str, start: datetime, end: datetime, max_points: int) -> list[PricePoint]:
    """Return ``symbol``'s publishes with trades from ``start`` to ``end`` (both included), oldest first, at most ``max_points``.

    Beyond ``max_points`` the window is cut into equal time buckets and each
    keeps its lowest and highest price and its last point (in time order, each
    once): the line keeps its extremes and ends where the market did. Each
    point's ``volume`` is then what printed since the point kept before it, so
    the volumes still add up to the window's. One read of every member in the
    window (a day of publishes every 0.25 s is up to ~350k members). Raise ``ValueError`` for
    ``max_points`` below one.
    """
    if max_points < 1:
        raise ValueError(f"invalid `max_points`, was {max_points}")
    rows = cast(
        list[tuple[str, float]], client.zrangebyscore(_volume_key(symbol), start.timestamp(), end.timestamp(), withscores=True)
    )
    points = [_volume_point(raw, score) for raw, score in rows]
    if len(points) <= max_points:
        return points
    return _downsample(points, max_points)


def _downsample(points: list[PricePoint], max_points: int) -> list[PricePoint]:
    per_bucket = 3 if max_points >= 3 else 1  # low, high and last; or just the last
    buckets = max_points // per_bucket
    first, span = points[0].at_ms, points[-1].at_ms - points[0].at_ms
    kept: list[int] = []
    lo = hi = last = -1
    bucket = 0
    for i, point in enumerate(points):
        b = (point.at_ms - first) * buckets // (span + 1)  # 0 .. buckets - 1, integer arithmetic
        if b != bucket and last >= 0:
            kept.extend(_bucket_keep(points, lo, hi, last, per_bucket))
            lo = hi = -1
        bucket, last = b, i
        if point.px is not None:
            if lo < 0 or point.px < cast(Decimal, points[lo].px):
                lo = i
            if hi < 0 or point.px > cast(Decimal, points[hi].px):
                hi = i
    kept.extend(_bucket_keep(points, lo, hi, last, per_bucket))
    before = points[0].cumulative - points[0].volume
    series = []
    for i in kept:
        point = points[i]
        series.append(
            PricePoint(at_ms=point.at_ms, px=point.px, mid=point.mid, cumulative=point.cumulative, volume=point.cumulative - before)
        )
        before = point.cumulative
    return series


def _bucket_keep(points: list[PricePoint], lo: int, hi: int, last: int, per_bucket: int) -> list[int]:
    if per_bucket == 1:
        return [last]
    return sorted({i for i in (lo, hi, last) if i >= 0})


def symbols_read(client: redis.Redis) -> list[str]:
    """Return the symbols that have market data, sorted."""
    return sorted(cast(set[str], client.smembers(SYMBOLS_KEY)))


def market_snapshot_read(client: redis.Redis, symbol: str, trades_limit: int = 100) -> dict[str, Any]:
    """Return ``symbol``'s cached market as the JSON-ready snapshot a market view starts from.

    Read in one MULTI/EXEC, so books, consolidated view, trades and ``seq`` are
    from the same publish; ``seq`` is 0 and the rest empty for a symbol with no
    data. Fields: ``symbol``, ``seq``, ``books``, ``consolidated`` (or None),
    ``trades`` (latest first). Raise ``ValueError`` when ``trades_limit`` is below one.
    """
    if trades_limit < 1:
        raise ValueError(f"invalid `trades_limit`, was {trades_limit}")
    pipe = client.pipeline()
    pipe.get(_seq_key(symbol))
    pipe.hgetall(_book_key(symbol))
    pipe.get(_nbbo_key(symbol))
    pipe.lrange(_trades_key(symbol), 0, trades_limit - 1)
    seq, books, nbbo, trades = pipe.execute()
    return {
        "symbol": symbol,
        "seq": int(seq or 0),
        "books": [json.loads(books[venue]) for venue in sorted(books)],
        "consolidated": None if nbbo is None else json.loads(nbbo),
        "trades": [json.loads(raw) for raw in trades],
    }
