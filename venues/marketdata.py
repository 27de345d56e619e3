"""The market-data cache in Redis: each venue's top of book per symbol.

The gateway writes it; the router reads it. One hash per symbol, one field per
venue, so a read of the composite book is a single round trip.
"""

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

import redis

from trading.numbers import ZERO


@dataclass(frozen=True, slots=True)
class Top:
    venue: str
    bid_px: Decimal | None
    bid_qty: Decimal
    ask_px: Decimal | None
    ask_qty: Decimal
    ts: str


def _key(symbol: str) -> str:
    return f"md:top:{symbol}"


def top_publish(client: redis.Redis, top: Top, symbol: str) -> None:
    value = {
        "bid_px": None if top.bid_px is None else str(top.bid_px),
        "bid_qty": str(top.bid_qty),
        "ask_px": None if top.ask_px is None else str(top.ask_px),
        "ask_qty": str(top.ask_qty),
        "ts": top.ts,
    }
    client.hset(_key(symbol), top.venue, json.dumps(value))


def top_read(client: redis.Redis, symbol: str) -> list[Top]:
    """Return every venue's last top of book for ``symbol`` (empty when none is known)."""
    tops = []
    rows = cast(dict[str, str], client.hgetall(_key(symbol)))  # the client decodes responses
    for venue, raw in rows.items():
        value = json.loads(raw)
        tops.append(
            Top(
                venue=venue,
                bid_px=None if value["bid_px"] is None else Decimal(value["bid_px"]),
                bid_qty=Decimal(value["bid_qty"]) if value["bid_qty"] else ZERO,
                ask_px=None if value["ask_px"] is None else Decimal(value["ask_px"]),
                ask_qty=Decimal(value["ask_qty"]) if value["ask_qty"] else ZERO,
                ts=value["ts"],
            )
        )
    return tops
