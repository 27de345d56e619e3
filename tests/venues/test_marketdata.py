"""The market-data cache in the real Redis: what the gateway publishes is what readers get back."""

import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from config.redis import redis_client
from trading.enums import Side
from venues.marketdata import (
    TRADES_KEPT,
    BookView,
    Top,
    TradePrint,
    book_read,
    market_group,
    market_publish,
    market_snapshot_read,
    nbbo_read,
    symbols_read,
    top_publish,
    top_read,
    trades_read,
    volume_since,
    vwap_between,
)

D = Decimal
TS = "2025-01-02T14:30:00+00:00"


def new_symbol() -> str:
    return "T" + uuid.uuid4().hex[:8].upper()  # each test its own symbol: the Redis is shared


def book(
    venue: str, symbol: str, bids: list[tuple[str, str, int]], asks: list[tuple[str, str, int]], state: str = "OPEN"
) -> BookView:
    return BookView(
        venue=venue,
        symbol=symbol,
        bids=tuple((D(px), D(qty), n) for px, qty, n in bids),
        asks=tuple((D(px), D(qty), n) for px, qty, n in asks),
        state=state,
        ts=TS,
    )


def trade(symbol: str, px: str, qty: str = "100", aggressor: Side | None = Side.BUY, venue: str = "XALP") -> TradePrint:
    return TradePrint(venue=venue, symbol=symbol, px=D(px), qty=D(qty), aggressor=aggressor, ts=TS)


def test_published_books_trades_and_nbbo_read_back_exactly() -> None:
    # given two venue books and two trades
    symbol = new_symbol()
    alp = book("XALP", symbol, [("10.01", "300", 2), ("10.00", "500", 3)], [("10.04", "200", 1)])
    bet = book("XBET", symbol, [("10.01", "100", 1)], [("10.03", "400", 2)])
    trades = [trade(symbol, "10.03", aggressor=Side.BUY), trade(symbol, "10.01", "50", aggressor=None, venue="XBET")]

    # when
    market_publish(redis_client(), symbol, [bet, alp], trades)

    # then
    client = redis_client()
    assert book_read(client, symbol) == [alp, bet]
    nbbo = nbbo_read(client, symbol)
    assert nbbo is not None
    assert (nbbo.bid_px, nbbo.bid_qty, nbbo.bid_venues) == (D("10.01"), D("400"), ("XALP", "XBET"))
    assert (nbbo.ask_px, nbbo.ask_qty, nbbo.ask_venues) == (D("10.03"), D("400"), ("XBET",))
    assert nbbo.mid == D("10.02")
    assert dict(nbbo.bids[0].venues) == {"XALP": D("300"), "XBET": D("100")}
    assert trades_read(client, symbol, 10) == list(reversed(trades))  # latest first
    assert trades_read(client, symbol, 1) == [trades[1]]
    assert symbol in symbols_read(client)


def test_decimals_are_stored_as_strings_without_exponent() -> None:
    # given a price whose Decimal str() would use an exponent
    symbol = new_symbol()

    # when
    market_publish(redis_client(), symbol, [book("XALP", symbol, [("1E+1", "1E+2", 1)], [])], [])

    # then
    stored = json.loads(redis_client().hget(f"md:book:{symbol}", "XALP"))  # type: ignore[arg-type]
    assert stored["bids"] == [["10", "100", 1]]
    assert book_read(redis_client(), symbol)[0].bids == ((D("10"), D("100"), 1),)


def test_tops_follow_the_books_and_show_a_halted_venue() -> None:
    # given
    symbol = new_symbol()
    books = [
        book("XALP", symbol, [("10.00", "100", 1)], [("10.02", "300", 2)]),
        book("XBET", symbol, [], [("10.05", "10", 1)], state="HALTED"),
    ]

    # when
    market_publish(redis_client(), symbol, books, [])

    # then
    tops = sorted(top_read(redis_client(), symbol), key=lambda top: top.venue)
    assert tops == [
        Top(venue="XALP", bid_px=D("10.00"), bid_qty=D("100"), ask_px=D("10.02"), ask_qty=D("300"), ts=TS, state="OPEN"),
        Top(venue="XBET", bid_px=None, bid_qty=D("0"), ask_px=D("10.05"), ask_qty=D("10"), ts=TS, state="HALTED"),
    ]
    # and the halted venue is out of the NBBO
    nbbo = nbbo_read(redis_client(), symbol)
    assert nbbo is not None
    assert nbbo.ask_px == D("10.02")


def test_a_top_written_before_session_states_reads_as_open() -> None:
    # given an entry in the old layout, without a state
    symbol = new_symbol()
    old = {"bid_px": "9.99", "bid_qty": "100", "ask_px": None, "ask_qty": "0", "ts": TS}
    redis_client().hset(f"md:top:{symbol}", "XALP", json.dumps(old))

    # when
    tops = top_read(redis_client(), symbol)

    # then
    assert tops == [Top(venue="XALP", bid_px=D("9.99"), bid_qty=D("100"), ask_px=None, ask_qty=D("0"), ts=TS, state="OPEN")]


def test_top_publish_round_trips_and_lists_the_symbol() -> None:
    # given
    symbol = new_symbol()
    top = Top(venue="XGAM", bid_px=D("5.5"), bid_qty=D("10"), ask_px=D("5.6"), ask_qty=D("20"), ts=TS, state="CLOSED")

    # when
    top_publish(redis_client(), top, symbol)

    # then
    assert top_read(redis_client(), symbol) == [top]
    assert symbol in symbols_read(redis_client())


def test_a_venue_left_out_of_a_publish_keeps_its_book_in_the_nbbo() -> None:
    # given XBET's book published earlier
    symbol = new_symbol()
    market_publish(redis_client(), symbol, [book("XBET", symbol, [("10.02", "100", 1)], [])], [])

    # when only XALP publishes
    market_publish(redis_client(), symbol, [book("XALP", symbol, [("10.01", "100", 1)], [("10.04", "5", 1)])], [])

    # then
    nbbo = nbbo_read(redis_client(), symbol)
    assert nbbo is not None
    assert (nbbo.bid_px, nbbo.bid_venues, nbbo.ask_px) == (D("10.02"), ("XBET",), D("10.04"))
    assert [b.venue for b in book_read(redis_client(), symbol)] == ["XALP", "XBET"]


def test_the_trade_list_keeps_the_last_500() -> None:
    # given 500 trades already kept
    symbol = new_symbol()
    market_publish(redis_client(), symbol, [], [trade(symbol, f"10.{i:03d}") for i in range(TRADES_KEPT)])

    # when three more arrive
    market_publish(redis_client(), symbol, [], [trade(symbol, "20.001"), trade(symbol, "20.002"), trade(symbol, "20.003")])

    # then the oldest three are gone and the newest is first
    kept = trades_read(redis_client(), symbol, 1000)
    assert len(kept) == TRADES_KEPT
    assert [t.px for t in kept[:3]] == [D("20.003"), D("20.002"), D("20.001")]
    assert kept[-1].px == D("10.003")


def test_reads_of_an_unknown_symbol_are_empty() -> None:
    # given
    symbol = new_symbol()

    # when / then
    assert book_read(redis_client(), symbol) == []
    assert nbbo_read(redis_client(), symbol) is None
    assert trades_read(redis_client(), symbol, 10) == []
    assert top_read(redis_client(), symbol) == []
    assert symbol not in symbols_read(redis_client())
    assert market_snapshot_read(redis_client(), symbol) == {
        "symbol": symbol,
        "seq": 0,
        "books": [],
        "consolidated": None,
        "trades": [],
    }


def test_each_publish_takes_the_next_seq_and_the_snapshot_carries_it() -> None:
    # given
    symbol = new_symbol()
    market_publish(redis_client(), symbol, [book("XALP", symbol, [("10.00", "1", 1)], [])], [])

    # when
    market_publish(redis_client(), symbol, [book("XALP", symbol, [("10.01", "2", 1)], [])], [trade(symbol, "10.01")])

    # then
    snapshot = market_snapshot_read(redis_client(), symbol, 10)
    assert snapshot["seq"] == 2
    assert snapshot["books"][0]["bids"] == [["10.01", "2", 1]]
    assert snapshot["consolidated"]["bid_px"] == "10.01"
    assert [(t["px"], t["seq"]) for t in snapshot["trades"]] == [("10.01", 2)]


def test_a_book_of_another_symbol_or_an_unknown_state_is_refused_and_nothing_is_stored() -> None:
    # given
    symbol = new_symbol()

    # when / then
    with pytest.raises(ValueError, match="invalid `symbol`"):
        market_publish(redis_client(), symbol, [book("XALP", "OTHER", [], [])], [])
    with pytest.raises(ValueError, match="invalid `state` on XALP's book, was 'PAUSED'"):
        market_publish(redis_client(), symbol, [book("XALP", symbol, [], [], state="PAUSED")], [])
    assert book_read(redis_client(), symbol) == []
    assert nbbo_read(redis_client(), symbol) is None


def test_a_publish_with_a_channel_layer_sends_one_update_to_the_symbols_group() -> None:
    # given a channel listening to the symbol's group
    symbol = new_symbol()
    layer = get_channel_layer()
    assert layer is not None
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(market_group(symbol), channel)
    alp = book("XALP", symbol, [("10.00", "100", 1)], [("10.02", "300", 2)])

    # when
    market_publish(
        redis_client(), symbol, [alp], [trade(symbol, "10.02"), trade(symbol, "10.01", aggressor=Side.SELL)], channel_layer=layer
    )

    # then
    event: dict[str, Any] = async_to_sync(layer.receive)(channel)
    assert event["type"] == "market.update"
    assert event["symbol"] == symbol
    assert event["seq"] == 1
    assert [b["venue"] for b in event["books"]] == ["XALP"]
    assert event["consolidated"]["ask_px"] == "10.02"
    assert [(t["px"], t["aggressor"]) for t in event["trades"]] == [("10.01", "SELL"), ("10.02", "BUY")]
    async_to_sync(layer.group_discard)(market_group(symbol), channel)


def test_group_names_are_valid_and_distinct_for_distinct_symbols() -> None:
    # given symbols that a naive replacement would merge, and one far too long
    symbols = ["BRK.B", "BRK/B", "BRK_B", "BRK_2f_B", "X" * 200]

    # when
    groups = [market_group(s) for s in symbols]

    # then
    assert len(set(groups)) == len(symbols)
    assert all(len(g) < 100 and all(c.isascii() and (c.isalnum() or c in "._-") for c in g) for g in groups)
    assert groups[0] == "market.BRK.B"


def test_volume_since_counts_every_print_from_a_time_on_past_the_trades_kept() -> None:
    # given three publishes: 300 at 14:30:00, then 600 prints of 10 at 14:30:01 (more than the list keeps), then 50 at :02
    symbol = new_symbol()
    client = redis_client()

    def at(second: int, qty: str, count: int = 1) -> list[TradePrint]:
        ts = f"2025-01-02T14:30:0{second}+00:00"
        return [TradePrint(venue="XALP", symbol=symbol, px=D("10"), qty=D(qty), aggressor=Side.BUY, ts=ts)] * count

    market_publish(client, symbol, [], at(0, "300"))
    market_publish(client, symbol, [], at(1, "10", count=600))
    market_publish(client, symbol, [], at(2, "50"))

    # when / then: from before the first, from each publish on, and after the last
    def since(text: str) -> Decimal:
        return volume_since(client, symbol, datetime.fromisoformat(text))

    assert since("2025-01-02T14:29:59+00:00") == D("6350")
    assert since("2025-01-02T14:30:00+00:00") == D("6350")
    assert since("2025-01-02T14:30:00.500+00:00") == D("6050")
    assert since("2025-01-02T14:30:02+00:00") == D("50")
    assert since("2025-01-02T14:30:03+00:00") == D("0")
    assert volume_since(client, new_symbol(), datetime.fromisoformat(TS)) == D("0")  # no prints at all


def _prints(symbol: str, second: int, *trades: tuple[str, str]) -> list[TradePrint]:
    ts = f"2025-01-02T14:30:0{second}+00:00"
    return [TradePrint(venue="XALP", symbol=symbol, px=D(px), qty=D(qty), aggressor=Side.BUY, ts=ts) for qty, px in trades]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(f"2025-01-02T14:30:{text}+00:00")


def test_vwap_between_weighs_every_print_of_the_publishes_in_the_interval() -> None:
    # given three publishes: 100 @ 10.00 and 300 @ 10.04 at :00, 100 @ 10.10 at :01, 500 @ 11.00 at :02
    symbol = new_symbol()
    client = redis_client()
    market_publish(client, symbol, [], _prints(symbol, 0, ("100", "10.00"), ("300", "10.04")))
    market_publish(client, symbol, [], _prints(symbol, 1, ("100", "10.10")))
    market_publish(client, symbol, [], _prints(symbol, 2, ("500", "11.00")))

    # when / then: all of it (the first publish began the series), the middle one, the last two, from after the first
    assert vwap_between(client, symbol, _at("00"), _at("02")) == (D("10.522"), D("1000"))  # 10,522 / 1,000
    assert vwap_between(client, symbol, _at("01"), _at("01")) == (D("10.10"), D("100"))
    assert vwap_between(client, symbol, _at("00.5"), _at("03")) == (D("10.85"), D("600"))  # (1,010 + 5,500) / 600
    assert vwap_between(client, symbol, _at("00"), _at("00")) == (D("10.03"), D("400"))  # 4,012 / 400
    # an end between two publishes takes in the publish that carried it (the trades since the one before)
    assert vwap_between(client, symbol, _at("00"), _at("00.9")) == (D("10.044"), D("500"))  # 5,022 / 500
    assert vwap_between(client, symbol, _at("00.2"), _at("00.3")) == (D("10.10"), D("100"))


def test_vwap_between_rounds_to_the_price_columns_precision() -> None:
    # given 1 @ 10 and 2 @ 10.01: 30.02 / 3 = 10.006666...
    symbol = new_symbol()
    client = redis_client()
    market_publish(client, symbol, [], _prints(symbol, 0, ("1", "10"), ("2", "10.01")))

    # when / then: half to even on 8 places
    assert vwap_between(client, symbol, _at("00"), _at("00")) == (D("10.00666667"), D("3"))


def test_vwap_between_is_none_without_volume_or_when_the_interval_is_backwards() -> None:
    # given one publish at :01
    symbol = new_symbol()
    client = redis_client()
    market_publish(client, symbol, [], _prints(symbol, 1, ("100", "10.00")))

    # when / then: after it, reversed, and an unknown symbol
    assert vwap_between(client, symbol, _at("01.1"), _at("05")) is None
    assert vwap_between(client, symbol, _at("02"), _at("00")) is None
    assert vwap_between(client, new_symbol(), _at("00"), _at("05")) is None


def test_vwap_between_reads_none_when_a_bounding_member_has_no_notional_and_restarts_after_it() -> None:
    # given a member written before the notional was kept (seq|cum|vol|px|mid), then two publishes
    symbol = new_symbol()
    client = redis_client()
    client.zadd(f"md:volume:{symbol}", {"1|1000|200|10.00|9.99": _at("00").timestamp()})
    market_publish(client, symbol, [], _prints(symbol, 1, ("100", "10.10")))
    market_publish(client, symbol, [], _prints(symbol, 2, ("300", "10.50")))

    # when / then: an interval starting on the old member, or right after it, has no VWAP (the notional before is unknown)
    assert vwap_between(client, symbol, _at("00"), _at("02")) is None
    assert vwap_between(client, symbol, _at("01"), _at("02")) is None
    # the volume still counts on from the old member, and the new members carry six fields
    assert volume_since(client, symbol, _at("01")) == D("400")
    members = cast(list[str], client.zrange(f"md:volume:{symbol}", 0, -1))
    assert [m.split("|")[1:] for m in members[1:]] == [
        ["1100", "100", "10.10", "", "1010.00"],
        ["1400", "300", "10.50", "", "4160.00"],
    ]
    # an interval bounded by the new members only: 3,150 / 300
    assert vwap_between(client, symbol, _at("02"), _at("02")) == (D("10.50"), D("300"))


def test_vwap_between_is_none_when_the_older_members_were_dropped() -> None:
    # given two publishes, then the first dropped as a day-old member would be
    symbol = new_symbol()
    client = redis_client()
    market_publish(client, symbol, [], _prints(symbol, 0, ("100", "10.00")))
    market_publish(client, symbol, [], _prints(symbol, 1, ("100", "10.20")))
    client.zremrangebyscore(f"md:volume:{symbol}", "-inf", _at("00").timestamp())

    # when / then: what the dropped member added to the notional is unknown, so no VWAP; the volume still reads
    assert vwap_between(client, symbol, _at("00"), _at("01")) is None
    assert volume_since(client, symbol, _at("00")) == D("100")
