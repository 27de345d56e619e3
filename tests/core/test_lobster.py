"""LOBSTER files: parsing, replay against the published AAPL sample and our own, the generator, other participants."""

import random
import re
from itertools import count, pairwise
from pathlib import Path

import pytest

from trading.enums import Side
from venues.sim.book import Order, OrderBook
from venues.sim.lobster import (
    ABSENT_ASK_PX,
    ABSENT_BID_PX,
    NS_PER_SECOND,
    SAMPLE_DIR,
    SAMPLE_EVENTS,
    SAMPLE_MESSAGE_FILE,
    SAMPLE_NAME,
    SAMPLE_ORDERBOOK_FILE,
    SAMPLE_SEED,
    LobsterReplay,
    Message,
    MessageType,
    Print,
    Snapshot,
    format_messages,
    format_orderbook,
    format_time,
    generate,
    main,
    opening_depth,
    parse_messages,
    parse_orderbook,
    parse_time,
    snapshot_of,
)

BUY = Side.BUY
SELL = Side.SELL
S = NS_PER_SECOND
AAPL_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "lobster"
AAPL = "AAPL_2012-06-21_34200000_57600000"


def load(directory: Path, name: str) -> tuple[list[Message], list[Snapshot]]:
    messages = parse_messages((directory / f"{name}_message_10.csv").read_text().splitlines())
    rows = parse_orderbook((directory / f"{name}_orderbook_10.csv").read_text().splitlines())
    return messages, rows


def load_aapl() -> tuple[list[Message], list[Snapshot]]:
    if not AAPL_DIR.is_dir():
        pytest.skip(f"no LOBSTER reference data at {AAPL_DIR}")
    return load(AAPL_DIR, AAPL)


def replay_all(messages: list[Message], rows: list[Snapshot], *, refill: bool = True) -> tuple[list[Snapshot], LobsterReplay]:
    """Step through every message; return the book's row after each, and the replay."""
    book = OrderBook("X")
    replay = LobsterReplay(book, messages, next_id=count(1).__next__, snapshots=rows, refill=refill)
    ours = []
    for _ in messages:
        replay.step()
        ours.append(snapshot_of(book))
    assert replay.done
    return ours, replay


def mismatches(ours: list[Snapshot], rows: list[Snapshot]) -> list[int]:
    return [i for i, (mine, row) in enumerate(zip(ours, rows, strict=True)) if mine != row]


def m(seconds: int, kind: MessageType, order_id: int, qty: int, px: int, side: Side) -> Message:
    return Message(seconds * S, kind, order_id, qty, px, side)


# --- (a) the published AAPL sample ---------------------------------------------


def test_replaying_the_aapl_sample_reproduces_every_published_row():
    # given the 999 published AAPL messages and the 10-level rows after each
    messages, rows = load_aapl()
    # when they are replayed, the rows given for what comes into view
    ours, replay = replay_all(messages, rows)
    # then the book matches every row on all 10 levels, both sides.
    # LOBSTER's message file holds only the events inside the 10 recorded
    # levels, so the messages cannot know what rests deeper: when a level comes
    # into view (the deepest refills after a level above it empties) it may be
    # one never added in the file, or a stale one changed while out of view
    # (row 12: the ask at 5876500 x 1160, out of view since row 3, comes back
    # gone, with no message). The replay sets from the row exactly the prices
    # beyond the previous row's deepest level; the 14 levels so set are the
    # only ones not reproduced from the messages (see the next test for the
    # messages alone).
    assert len(rows) == 999
    assert mismatches(ours, rows) == []
    assert replay.refilled == 14
    assert replay.skipped == 0


def test_messages_alone_reproduce_every_aapl_level_that_stayed_in_view():
    # given the AAPL sample, replayed without refilling from the rows (the first row still opens the book)
    messages, rows = load_aapl()
    # when
    ours, _ = replay_all(messages, rows, refill=False)
    # then every level at a price that has been inside the recorded levels on
    # every row so far matches: an event there was always reported. A price
    # that was ever beyond the deepest recorded level may have changed unseen.
    horizon: dict[Side, int] = {}
    compared = 0
    for mine, row in zip(ours, rows, strict=True):
        for side in (BUY, SELL):
            shown = row.side(side)
            if len(shown) == row.levels:
                deepest = shown[-1][0]
                nearer = max if side is BUY else min
                horizon[side] = nearer(horizon.get(side, deepest), deepest)
            limit = horizon.get(side)

            def in_view(px: int, side: Side = side, limit: int | None = limit) -> bool:
                return limit is None or (px >= limit if side is BUY else px <= limit)

            expected = [level for level in shown if in_view(level[0])]
            assert [level for level in mine.side(side) if in_view(level[0])] == expected
            compared += len(expected)
    assert compared == 6423  # about 3 of the 10 levels per side and row
    assert len(rows) - len(mismatches(ours, rows)) == 113


def test_refill_never_corrects_a_level_the_previous_row_showed():
    # given our sample with one row tampered inside the levels the row before it showed
    messages, rows = load(SAMPLE_DIR, SAMPLE_NAME)
    tampered = list(rows)
    at = 500
    bids = list(rows[at].bids)
    bids[2] = (bids[2][0], bids[2][1] + 7)
    tampered[at] = Snapshot(rows[at].asks, tuple(bids))
    assert rows[at - 1].bids[-1][0] < bids[2][0]  # the previous row showed that price
    # when
    ours, _ = replay_all(messages, tampered)
    # then only the tampered row differs: the replay kept what the messages say
    assert mismatches(ours, tampered) == [at]
    assert ours[at] == rows[at]


# --- (b) our own sample ---------------------------------------------------------


def test_replaying_the_shipped_sample_reproduces_every_row():
    # given the shipped generated sample
    messages, rows = load(SAMPLE_DIR, SAMPLE_NAME)
    # when
    ours, replay = replay_all(messages, rows)
    # then every row matches; like LOBSTER's, the sample leaves out events beyond
    # the 10 levels, so a few levels come into view that no message added
    assert len(rows) == SAMPLE_EVENTS
    assert mismatches(ours, rows) == []
    assert replay.refilled == 10
    assert replay.skipped == 0


def test_shipped_sample_starts_from_an_empty_book_padded_as_lobster_pads():
    # given
    first_message = (SAMPLE_DIR / SAMPLE_MESSAGE_FILE).read_text().splitlines()[0]
    first_row = (SAMPLE_DIR / SAMPLE_ORDERBOOK_FILE).read_text().splitlines()[0].split(",")
    # when
    _, kind, _, qty, px, direction = first_message.split(",")
    # then one order rests, and every other level is padding: ask 9999999999, bid -9999999999, size 0
    assert kind == "1"
    assert direction == "-1"
    assert first_row[:2] == [px, qty]
    assert first_row[2:4] == [str(ABSENT_BID_PX), "0"]
    assert first_row[4:] == [str(ABSENT_ASK_PX), "0", str(ABSENT_BID_PX), "0"] * 9


def test_shipped_sample_holds_every_kind_of_event_the_generator_makes():
    # given
    messages, _ = load(SAMPLE_DIR, SAMPLE_NAME)
    # when
    kinds = {message.type for message in messages}
    sweeps = [(a.time, b.time) for a, b in pairwise(messages) if a.type == b.type == MessageType.EXECUTE]
    # then
    assert kinds == {
        MessageType.SUBMIT,
        MessageType.CANCEL,
        MessageType.DELETE,
        MessageType.EXECUTE,
        MessageType.EXECUTE_HIDDEN,
    }
    assert any(first == second for first, second in sweeps)  # one aggressor, several executions at one time


# --- (c) the generator ------------------------------------------------------------


def test_generator_is_deterministic_for_a_seed():
    # given / when
    first = generate(random.Random(42), events=300)
    again = generate(random.Random(42), events=300)
    other = generate(random.Random(43), events=300)
    # then
    assert len(first[0]) == len(first[1]) == 300
    assert format_messages(first[0]) == format_messages(again[0])
    assert format_orderbook(first[1]) == format_orderbook(again[1])
    assert format_messages(first[0]) != format_messages(other[0])


def test_command_line_regenerates_the_shipped_sample(tmp_path: Path):
    # given / when
    code = main(["generate", "--seed", str(SAMPLE_SEED), "--events", str(SAMPLE_EVENTS), "--out", str(tmp_path)])
    # then
    assert code == 0
    for name in (SAMPLE_MESSAGE_FILE, SAMPLE_ORDERBOOK_FILE):
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes()


def test_files_read_back_as_written():
    # given
    messages, rows = generate(random.Random(7), events=200)
    # when
    messages_again = parse_messages(format_messages(messages))
    rows_again = parse_orderbook(format_orderbook(rows))
    # then
    assert messages_again == messages
    assert rows_again == rows


def test_times_are_exact_nanoseconds_written_as_lobster_writes_them():
    # given / when / then: LOBSTER drops trailing zeros
    assert parse_time("34200.00426064") == 34_200_004_260_640
    assert format_time(34_200_004_260_640) == "34200.00426064"
    assert parse_time("34200.004241176") == 34_200_004_241_176
    assert parse_time("34200") == 34_200 * S
    assert format_time(34_200 * S) == "34200"


# --- (d) other participants in the same book ------------------------------------


def test_client_trades_with_historical_orders_and_later_events_on_them_are_tolerated():
    # given two historical asks and a historical bid, and later events on them
    messages = [
        m(1, MessageType.SUBMIT, 101, 100, 100_000, SELL),
        m(2, MessageType.SUBMIT, 102, 50, 100_000, SELL),
        m(3, MessageType.SUBMIT, 103, 80, 99_900, BUY),
        m(5, MessageType.EXECUTE, 101, 40, 100_000, SELL),
        m(6, MessageType.CANCEL, 102, 10, 100_000, SELL),
        m(7, MessageType.EXECUTE, 102, 30, 100_000, SELL),
        m(8, MessageType.DELETE, 101, 60, 100_000, SELL),
        m(9, MessageType.DELETE, 103, 80, 99_900, BUY),
        m(9, MessageType.DELETE, 999, 30, 99_900, BUY),  # an order id never seen
    ]
    book = OrderBook("X")
    ids = count(1)
    replay = LobsterReplay(book, messages, next_id=ids.__next__)
    replay.advance(3 * S)
    hist_101, hist_102 = (order.order_id for order in book.orders() if order.side is SELL)
    # and a client who takes 120 and then bids behind the historical bid
    taker = Order(next(ids), BUY, 100_000, 120, owner="client")
    taken = book.add(taker).fills
    bid = Order(next(ids), BUY, 99_900, 30, owner="client")
    book.add(bid)
    # when the rest of the history plays
    prints = replay.advance(10 * S)
    # then the client took all of 101 and 20 of 102; the execution of 101 and
    # its delete find nothing, 102's cancel and execution take what is left,
    # and only what traded here prints
    assert [(fill.passive.order_id, fill.qty) for fill in taken] == [(hist_101, 100), (hist_102, 20)]
    assert prints == [Print(7 * S, 100_000, 20, BUY, hist_102)]
    assert replay.skipped == 3
    assert replay.done
    # and the client's bid is untouched by the historical delete at its price
    assert list(book.orders()) == [bid]
    assert (bid.qty, bid.leaves, bid.live) == (30, 30, True)
    assert book.depth(SELL) == []


def test_historical_order_arriving_on_a_client_order_trades_with_it():
    # given a client ask resting where a historical bid will arrive
    messages = [
        m(1, MessageType.SUBMIT, 201, 80, 100_000, BUY),
        m(2, MessageType.EXECUTE, 201, 80, 100_000, BUY),
    ]
    book = OrderBook("X")
    ids = count(1)
    client = Order(next(ids), SELL, 100_000, 50, owner="client")
    book.add(client)
    replay = LobsterReplay(book, messages, next_id=ids.__next__)
    # when
    arrival = replay.step()
    execution = replay.step()
    # then the historical bid trades 50 with the client, rests 30, and its
    # execution of 80 takes the 30 left
    assert arrival == [Print(1 * S, 100_000, 50, BUY, client.order_id)]
    assert client.leaves == 0
    assert execution == [Print(2 * S, 100_000, 30, SELL, 2)]
    assert len(book) == 0


def test_a_client_trading_throughout_the_replay_never_has_its_orders_changed_by_it():
    # given our sample and a client who, now and then, sends an order near the touch
    messages, rows = load(SAMPLE_DIR, SAMPLE_NAME)
    rng = random.Random(5)
    book = OrderBook("X")
    ids = count(1)
    replay = LobsterReplay(book, messages, next_id=ids.__next__, snapshots=rows)
    clients: list[Order] = []
    filled: dict[int, int] = {}
    # when
    while not replay.done:
        for trade in replay.step():
            if trade.passive_id is not None:
                filled[trade.passive_id] = filled.get(trade.passive_id, 0) + trade.qty
        side = rng.choice((BUY, SELL))
        touch = book.best(side.opposite)
        if touch is None or rng.random() > 0.05:
            continue
        order = Order(next(ids), side, touch + rng.randint(-3, 3) * 100 * side.sign, rng.randint(1, 800), owner="client")
        clients.append(order)
        for fill in book.add(order).fills:
            filled[order.order_id] = filled.get(order.order_id, 0) + fill.qty
            filled[fill.passive.order_id] = filled.get(fill.passive.order_id, 0) + fill.qty
    # then every client order changed only by its fills, and the historical
    # liquidity left in the book never exceeds what the files describe
    assert len(clients) > 20
    assert sum(filled.get(order.order_id, 0) for order in clients) > 0
    for order in clients:
        assert order.filled == filled.get(order.order_id, 0)
    for side in (BUY, SELL):
        files = dict(replay.depth(side))
        for px, shown, _ in book.depth(side, 1_000):
            clients_here = sum(o.leaves for o in clients if o.live and o.side is side and o.px == px)
            assert shown - clients_here <= files.get(px, 0)


# --- replay mechanics -----------------------------------------------------------------


def test_advance_applies_messages_up_to_the_time_and_prints_trades():
    # given
    messages = [
        m(1, MessageType.SUBMIT, 1, 100, 100_000, SELL),
        m(2, MessageType.EXECUTE, 1, 30, 100_000, SELL),
        m(2, MessageType.EXECUTE_HIDDEN, 0, 200, 100_100, BUY),
        m(3, MessageType.CROSS, -1, 500, 100_000, SELL),
    ]
    book = OrderBook("X")
    replay = LobsterReplay(book, messages, next_id=count(7).__next__)
    # when
    prints = replay.advance(2 * S + 1)
    # then both messages at 2 s applied, nothing after
    assert prints == [
        Print(2 * S, 100_000, 30, BUY, 7),
        Print(2 * S, 100_100, 200, SELL, None, hidden=True),
    ]
    assert book.depth(SELL) == [(100_000, 70, 1)]
    assert (replay.time, replay.next_time, replay.done) == (2 * S + 1, 3 * S, False)
    assert replay.advance(3 * S) == [Print(3 * S, 100_000, 500, None, None)]
    assert replay.done
    with pytest.raises(ValueError, match="invalid `until_time`"):
        replay.advance(2 * S)


def test_halt_messages_set_and_clear_the_halt():
    # given a halt, a resumption of quoting, a resumption of trading
    messages = parse_messages(["36000.5,7,0,0,-1,-1", "36100.5,7,0,0,0,-1", "36200.5,7,0,0,1,-1"])
    replay = LobsterReplay(OrderBook("X"), messages, next_id=count(1).__next__)
    # when
    states = []
    for _ in messages:
        replay.step()
        states.append(replay.halted)
    # then trading stays halted until trading resumes
    assert states == [True, True, False]


def test_opening_depth_undoes_the_first_message():
    # given a full row after the first message
    bids = tuple((100_000 - 100 * i, 10 + i) for i in range(10))
    asks = tuple((100_100 + 100 * i, 20 + i) for i in range(10))
    row = Snapshot(asks, bids)
    # when / then an add that made the best bid is taken out (the level it pushed out stays unknown)
    added = opening_depth(m(1, MessageType.SUBMIT, 1, 10, 100_000, BUY), row)
    assert added.bids == bids[1:]
    assert added.asks == asks
    # a delete is put back, a partial cancel adds back to its level
    deleted = opening_depth(m(1, MessageType.DELETE, 1, 5, 100_150, SELL), row)
    assert deleted.asks == (asks[0], (100_150, 5), *asks[1:])
    cancelled = opening_depth(m(1, MessageType.CANCEL, 1, 5, 100_200, SELL), row)
    assert cancelled.asks[1] == (100_200, 26)
    # and an event beyond the recorded levels changes nothing the row shows
    assert opening_depth(m(1, MessageType.DELETE, 1, 5, 99_000, BUY), row) == row


def test_events_on_orders_resting_before_the_file_take_from_the_opening_levels():
    # given a file whose first row shows liquidity no message added
    messages = [
        m(1, MessageType.SUBMIT, 1, 10, 99_900, BUY),
        m(2, MessageType.EXECUTE, 55, 30, 100_100, SELL),
        m(3, MessageType.DELETE, 56, 20, 100_200, SELL),
    ]
    rows = [
        Snapshot(((100_100, 50), (100_200, 20)), ((100_000, 40), (99_900, 10))),
        Snapshot(((100_100, 20), (100_200, 20)), ((100_000, 40), (99_900, 10))),
        Snapshot(((100_100, 20),), ((100_000, 40), (99_900, 10))),
    ]
    book = OrderBook("X")
    replay = LobsterReplay(book, messages, next_id=count(1).__next__, snapshots=rows)
    # when
    ours = []
    for _ in messages:
        replay.step()
        ours.append(snapshot_of(book))
    # then the unknown orders' events take from the synthetic opening levels
    assert ours == rows
    assert replay.skipped == 0


# --- (e) malformed input ------------------------------------------------------------


GOOD = "34200.004241176,1,16113575,18,5853300,1"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("34200.1,1,5,100,5853300", "row"),
        ("34200.1x,1,5,100,5853300,1", "`time`"),
        ("34200.0000000001,1,5,100,5853300,1", "`time`"),
        ("34199.9,1,5,100,5853300,1", "`time`"),
        ("34200.1,8,5,100,5853300,1", "`type`"),
        ("34200.1,1,5a,100,5853300,1", "`order_id`"),
        ("34200.1,1,5,0,5853300,1", "`size`"),
        ("34200.1,1,5,1.5,5853300,1", "`size`"),
        ("34200.1,1,5,100,-5853300,1", "`price`"),
        ("34200.1,7,0,0,2,-1", "`price`"),
        ("34200.1,1,5,100,5853300,0", "`direction`"),
    ],
)
def test_malformed_message_lines_name_the_line_and_field(line: str, field: str):
    # given a good first line and a bad second one
    lines = [GOOD, line]
    # when / then
    with pytest.raises(ValueError, match=re.escape(f"line 2: invalid {field}")):
        parse_messages(lines)


def orderbook_line(**changes: str) -> str:
    """Return a valid 10-level row (asks 100.01 up, bids 100.00 down) with the named fields changed."""
    fields = {}
    for level in range(1, 11):
        fields[f"ask_price_{level}"] = str(1_000_100 + 100 * level)
        fields[f"ask_size_{level}"] = "100"
        fields[f"bid_price_{level}"] = str(1_000_000 - 100 * level)
        fields[f"bid_size_{level}"] = "100"
    fields.update(changes)
    return ",".join(fields.values())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ask_size_1": "x"}, "`ask_size_1`"),
        ({"bid_price_4": "99.5"}, "`bid_price_4`"),
        ({"ask_size_5": "0"}, "`ask_size_5`"),
        ({"bid_price_2": str(ABSENT_BID_PX), "bid_size_2": "100"}, "`bid_size_2`"),
        ({"ask_price_2": str(ABSENT_ASK_PX), "ask_size_2": "0"}, "`ask_price_3`"),
        ({"ask_price_3": "1000150"}, "`ask_price_3`"),
        ({"bid_price_6": "1000000"}, "`bid_price_6`"),
    ],
)
def test_malformed_orderbook_lines_name_the_line_and_field(changes: dict[str, str], field: str):
    # given
    lines = [orderbook_line(), orderbook_line(), orderbook_line(**changes)]
    # when / then
    with pytest.raises(ValueError, match=re.escape(f"line 3: invalid {field}")):
        parse_orderbook(lines)


def test_orderbook_line_with_the_wrong_number_of_fields_names_the_line():
    # given / when / then
    with pytest.raises(ValueError, match=re.escape("line 1: invalid row, has 39 fields: expected 40")):
        parse_orderbook([orderbook_line().rsplit(",", 1)[0]])
