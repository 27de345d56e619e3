"""LOBSTER files: parse them, replay them into an order book, and write our own.

LOBSTER (lobsterdata.com) publishes a NASDAQ day as two CSV files without a
header, row for row: a message file (``time,type,order_id,size,price,direction``)
and an orderbook file holding the book after each message (for each of N levels:
ask price, ask size, bid price, bid size). Prices are dollars times 10,000, which is
exactly the book's integer price with a price unit of 0.0001; sizes are shares,
the book's lots when the lot is one share. Times are seconds after midnight with
up to nine decimals; here they are integer nanoseconds after midnight, parsed
without going through float. A level that does not exist is padded with an ask
price of 9999999999 or a bid price of -9999999999 and a size of 0.

Message types: 1 new limit order, 2 partial cancel, 3 delete, 4 execution of a
visible order, 5 execution of a hidden order, 6 cross trade (an auction, already
reflected by other messages), 7 trading halt (price -1 halt, 0 quoting resumes,
1 trading resumes). For executions the direction is the resting order's side:
the aggressor was on the other side. The message file holds only the events
inside the recorded levels: what happens deeper is never reported, and shows
only when a level comes into view in the orderbook file.

Pure core: parsing takes lines and generating returns lines; only ``main`` (the
command line) touches files.
"""

import argparse
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Final

from trading.enums import Side, TimeInForce
from venues.sim.book import Order, OrderBook

NS_PER_SECOND: Final = 1_000_000_000
ABSENT_ASK_PX: Final = 9_999_999_999
ABSENT_BID_PX: Final = -9_999_999_999
HIST: Final = "hist"
LEVELS: Final = 10

_INT = re.compile(r"-?\d+")
_TIME = re.compile(r"(\d+)(?:\.(\d{1,9}))?")
_MESSAGE_FIELDS: Final = ("time", "type", "order_id", "size", "price", "direction")


class MessageType(IntEnum):
    SUBMIT = 1
    CANCEL = 2  # partial cancel: ``qty`` is the quantity taken off
    DELETE = 3  # ``qty`` is what was left
    EXECUTE = 4  # a visible resting order traded ``qty``
    EXECUTE_HIDDEN = 5
    CROSS = 6
    HALT = 7


class Halt(IntEnum):
    """The price field of a type 7 message."""

    HALTED = -1
    QUOTING = 0  # quotes may be entered again; trading is still halted
    TRADING = 1


@dataclass(frozen=True, slots=True)
class Message:
    """One row of a message file; ``time`` in nanoseconds after midnight, ``side`` the resting order's."""

    time: int
    type: MessageType
    order_id: int
    qty: int
    px: int
    side: Side


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One row of an orderbook file: (px, qty) per level, touch first, the padding left out."""

    asks: tuple[tuple[int, int], ...]
    bids: tuple[tuple[int, int], ...]
    levels: int = LEVELS  # the levels the file records per side

    def side(self, side: Side) -> tuple[tuple[int, int], ...]:
        return self.bids if side is Side.BUY else self.asks


@dataclass(frozen=True, slots=True)
class Print:
    """A trade the replay made happen in the book.

    ``aggressor_side`` is None for a cross trade; ``passive_id`` is the book id of
    the resting order that traded (a historical order or, when a historical order
    crossed it, someone else's), None for hidden and cross trades.
    """

    time: int
    px: int
    qty: int
    aggressor_side: Side | None
    passive_id: int | None
    hidden: bool = False


# --- parsing -------------------------------------------------------------


def parse_time(text: str) -> int:
    """Return nanoseconds after midnight for LOBSTER's decimal seconds; raise ``ValueError`` if malformed."""
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid `time`, was {text!r}")
    fraction = (match.group(2) or "").ljust(9, "0")
    return int(match.group(1)) * NS_PER_SECOND + int(fraction)


def format_time(time: int) -> str:
    """Return ``time`` (ns after midnight) as LOBSTER writes it: decimal seconds without trailing zeros."""
    seconds, ns = divmod(time, NS_PER_SECOND)
    fraction = f"{ns:09d}".rstrip("0")
    return f"{seconds}.{fraction}" if fraction else str(seconds)


def _int(text: str, line_no: int, field: str) -> int:
    if _INT.fullmatch(text) is None:
        raise ValueError(f"line {line_no}: invalid `{field}`, was {text!r}")
    return int(text)


def parse_messages(lines: Iterable[str]) -> list[Message]:
    """Return the messages of a message file, in file order.

    Raise ``ValueError`` naming the line (from 1) and the field for a malformed
    row, an unknown type or direction, a size or price out of range, or a time
    before the previous row's.
    """
    messages: list[Message] = []
    previous = 0
    for line_no, raw in enumerate(lines, start=1):
        fields = raw.rstrip("\r\n").split(",")
        if len(fields) != len(_MESSAGE_FIELDS):
            raise ValueError(f"line {line_no}: invalid row, was {raw.rstrip()!r}: expected {len(_MESSAGE_FIELDS)} fields")
        time_text, type_text, id_text, size_text, px_text, direction_text = fields
        try:
            time = parse_time(time_text)
        except ValueError:
            raise ValueError(f"line {line_no}: invalid `time`, was {time_text!r}") from None
        if time < previous:
            raise ValueError(f"line {line_no}: invalid `time`, was {time_text!r}: before the previous row's")
        previous = time
        type_code = _int(type_text, line_no, "type")
        if type_code not in MessageType._value2member_map_:
            raise ValueError(f"line {line_no}: invalid `type`, was {type_text!r}")
        kind = MessageType(type_code)
        order_id = _int(id_text, line_no, "order_id")
        qty = _int(size_text, line_no, "size")
        px = _int(px_text, line_no, "price")
        direction = _int(direction_text, line_no, "direction")
        if direction not in (1, -1):
            raise ValueError(f"line {line_no}: invalid `direction`, was {direction_text!r}")
        if kind is MessageType.HALT:
            if px not in Halt._value2member_map_:
                raise ValueError(f"line {line_no}: invalid `price`, was {px_text!r}: a halt's is -1, 0 or 1")
            if qty < 0:
                raise ValueError(f"line {line_no}: invalid `size`, was {size_text!r}")
        else:
            if qty <= 0:
                raise ValueError(f"line {line_no}: invalid `size`, was {size_text!r}")
            if px <= 0:
                raise ValueError(f"line {line_no}: invalid `price`, was {px_text!r}")
        side = Side.BUY if direction == 1 else Side.SELL
        messages.append(Message(time, kind, order_id, qty, px, side))
    return messages


def parse_orderbook(lines: Iterable[str], levels: int = LEVELS) -> list[Snapshot]:
    """Return the snapshots of an orderbook file recording ``levels`` levels per side.

    Raise ``ValueError`` naming the line and the field (``ask_price_3``) for a
    malformed row, a level out of price order, a size that is not positive, or
    padding that is not LOBSTER's or is followed by a real level.
    """
    snapshots: list[Snapshot] = []
    for line_no, raw in enumerate(lines, start=1):
        fields = raw.rstrip("\r\n").split(",")
        if len(fields) != 4 * levels:
            raise ValueError(f"line {line_no}: invalid row, has {len(fields)} fields: expected {4 * levels}")
        asks = _parse_side(fields, 0, Side.SELL, line_no)
        bids = _parse_side(fields, 2, Side.BUY, line_no)
        snapshots.append(Snapshot(asks, bids, levels))
    return snapshots


def _parse_side(fields: list[str], offset: int, side: Side, line_no: int) -> tuple[tuple[int, int], ...]:
    name = "bid" if side is Side.BUY else "ask"
    absent = ABSENT_BID_PX if side is Side.BUY else ABSENT_ASK_PX
    out: list[tuple[int, int]] = []
    padded = False
    for level in range(len(fields) // 4):
        px_field, qty_field = f"{name}_price_{level + 1}", f"{name}_size_{level + 1}"
        px = _int(fields[4 * level + offset], line_no, px_field)
        qty = _int(fields[4 * level + offset + 1], line_no, qty_field)
        if px == absent:
            if qty != 0:
                raise ValueError(f"line {line_no}: invalid `{qty_field}`, was {qty}: an empty level's is 0")
            padded = True
            continue
        if padded:
            raise ValueError(f"line {line_no}: invalid `{px_field}`, was {px}: a level after an empty one")
        if px <= 0:
            raise ValueError(f"line {line_no}: invalid `{px_field}`, was {px}")
        if qty <= 0:
            raise ValueError(f"line {line_no}: invalid `{qty_field}`, was {qty}")
        if out and (px >= out[-1][0] if side is Side.BUY else px <= out[-1][0]):
            raise ValueError(f"line {line_no}: invalid `{px_field}`, was {px}: not behind level {level}")
        out.append((px, qty))
    return tuple(out)


# --- writing -------------------------------------------------------------


def format_messages(messages: Iterable[Message]) -> list[str]:
    """Return the rows of a message file (without line ends)."""
    return [f"{format_time(m.time)},{int(m.type)},{m.order_id},{m.qty},{m.px},{1 if m.side is Side.BUY else -1}" for m in messages]


def format_orderbook(snapshots: Iterable[Snapshot]) -> list[str]:
    """Return the rows of an orderbook file, empty levels padded as LOBSTER pads them."""
    rows = []
    for snapshot in snapshots:
        fields: list[int] = []
        for level in range(snapshot.levels):
            fields.extend(snapshot.asks[level] if level < len(snapshot.asks) else (ABSENT_ASK_PX, 0))
            fields.extend(snapshot.bids[level] if level < len(snapshot.bids) else (ABSENT_BID_PX, 0))
        rows.append(",".join(map(str, fields)))
    return rows


def snapshot_of(book: OrderBook, levels: int = LEVELS) -> Snapshot:
    """Return the displayed depth of ``book`` as an orderbook row would record it."""
    asks = tuple((px, qty) for px, qty, _ in book.depth(Side.SELL, levels))
    bids = tuple((px, qty) for px, qty, _ in book.depth(Side.BUY, levels))
    return Snapshot(asks, bids, levels)


# --- replay --------------------------------------------------------------


def opening_depth(first: Message, snapshot: Snapshot) -> Snapshot:
    """Return the depth just before ``first``, from ``snapshot``, the row published just after it.

    Undo the first message on the levels it touched. What the row cannot show
    stays unknown: a message beyond the recorded levels changes nothing here, and
    when adding ``first`` pushed a level out of a full side, that level is missing
    from the result (so the result may hold one level fewer, or one more, than
    the file records).
    """
    sides = {Side.BUY: dict(snapshot.bids), Side.SELL: dict(snapshot.asks)}
    levels = sides[first.side]
    recorded = snapshot.side(first.side)
    full = len(recorded) == snapshot.levels
    deepest = recorded[-1][0] if recorded else None
    beyond = full and deepest is not None and (first.px < deepest if first.side is Side.BUY else first.px > deepest)
    if first.type is MessageType.SUBMIT:
        if first.px in levels:
            left = levels[first.px] - first.qty
            if left < 0:
                raise ValueError(f"invalid first row: shows {levels[first.px]} at {first.px}, the first message adds {first.qty}")
            if left:
                levels[first.px] = left
            else:
                del levels[first.px]
        elif not beyond:
            raise ValueError(f"invalid first row: shows nothing at {first.px}, where the first message adds")
    elif first.type in (MessageType.CANCEL, MessageType.DELETE, MessageType.EXECUTE) and not beyond:
        levels[first.px] = levels.get(first.px, 0) + first.qty
    bids = tuple(sorted(sides[Side.BUY].items(), reverse=True))
    asks = tuple(sorted(sides[Side.SELL].items()))
    return Snapshot(asks, bids, snapshot.levels)


class _Hist:
    """Historical liquidity the replay rests as one book order.

    ``intended`` is what the files say it holds; the book order holds that less
    whatever others traded with it, never more.
    """

    __slots__ = ("book_id", "intended", "px", "side", "synthetic")

    def __init__(self, book_id: int, side: Side, px: int, intended: int, *, synthetic: bool) -> None:
        self.book_id = book_id
        self.side = side
        self.px = px
        self.intended = intended
        self.synthetic = synthetic


class LobsterReplay:
    """Replay LOBSTER messages, in time order, into a book that others may trade in too.

    Historical orders rest with ``owner`` and ids from ``next_id`` (the allocator
    every participant of the book shares, so ids never collide). The replay only
    ever changes orders it placed. It tracks what each of them should hold by
    the files apart from what the book order holds, so when someone else has
    traded with one, later events take only what is left of it (an event on an
    order that is gone is skipped) and never hand that quantity back; prints
    report only what traded in this book.

    A LOBSTER message file holds only the events inside the recorded levels, so
    the messages alone cannot tell what rests beyond them. Give the orderbook
    rows as ``snapshots`` (one per message) and the replay fills that in:

    - Opening: it rests, per level of the depth before the first message
      (``opening_depth``), one synthetic order of the level's size.
    - Refill (``refill=True``): after each message, every price this row shows
      beyond the previous row's deepest level (on a side the previous row
      showed full) is set to what this row shows, adding synthetic liquidity or
      taking liquidity away. A level the previous row showed is never set from
      a row: the messages alone keep it right. With ``refill=False`` only the
      opening comes from the rows.

    Liquidity the replay cannot attribute to an order id is taken level by
    level, the synthetic orders at the price first, then the newest: an event
    on an id never added (it rested before the file or arrived while out of
    view), a refill that lowers a level, and the part of an event beyond what
    the named order still holds (an earlier such take guessed the wrong order).
    A delete that finds its order holding more than the delete says gives the
    difference back to the level as synthetic liquidity.
    """

    def __init__(
        self,
        book: OrderBook,
        messages: Sequence[Message],
        *,
        next_id: Callable[[], int],
        snapshots: Sequence[Snapshot] | None = None,
        refill: bool = True,
        owner: str = HIST,
    ) -> None:
        if snapshots is not None and len(snapshots) != len(messages):
            raise ValueError(f"invalid `snapshots`, has {len(snapshots)} rows for {len(messages)} messages")
        self._book = book
        self._messages = messages
        self._snapshots = snapshots if refill else None
        self._next_id = next_id
        self._owner = owner
        self._position = 0
        self._by_order_id: dict[int, _Hist] = {}  # by LOBSTER order id
        self._levels: dict[tuple[Side, int], list[_Hist]] = {}  # oldest first
        self._depth: dict[Side, dict[int, int]] = {Side.BUY: {}, Side.SELL: {}}  # the files' view
        self._pending: list[Print] = []
        self.time = 0
        self.halted = False
        self.skipped = 0  # cancels, deletes and executions that found nothing of ours to take
        self.refilled = 0  # levels set from a row because they came into view
        if snapshots and messages:
            opening = opening_depth(messages[0], snapshots[0])
            for side in (Side.BUY, Side.SELL):
                for px, qty in opening.side(side):
                    self._pending += self._grow(side, px, qty, messages[0].time)

    @property
    def done(self) -> bool:
        return self._position >= len(self._messages)

    @property
    def next_time(self) -> int | None:
        """Return the time of the next message, or None when every message is replayed."""
        return None if self.done else self._messages[self._position].time

    def depth(self, side: Side) -> list[tuple[int, int]]:
        """Return every known level on ``side`` as the files describe it (what others took included), touch first."""
        levels = self._depth[side]
        return [(px, levels[px]) for px in sorted(levels, reverse=side is Side.BUY)]

    def advance(self, until_time: int) -> list[Print]:
        """Apply every message at or before ``until_time`` (ns after midnight); return the prints, in order.

        Raise ``ValueError`` if ``until_time`` is before the replay's time.
        """
        if until_time < self.time:
            raise ValueError(f"invalid `until_time`, was {until_time}: before the replay time {self.time}")
        prints = self._take_pending()
        while not self.done and self._messages[self._position].time <= until_time:
            prints += self._next()
        self.time = until_time
        return prints

    def step(self) -> list[Print]:
        """Apply the next message alone (several may share a time); return its prints, [] when done."""
        if self.done:
            return []
        prints = self._take_pending() + self._next()
        self.time = max(self.time, self._messages[self._position - 1].time)
        return prints

    # --- internals ----------------------------------------------------

    def _take_pending(self) -> list[Print]:
        pending, self._pending = self._pending, []
        return pending

    def _next(self) -> list[Print]:
        position = self._position
        message = self._messages[position]
        prints = self._apply(message)
        if self._snapshots is not None:
            previous = self._snapshots[position - 1] if position else self._snapshots[0]
            for side in (Side.BUY, Side.SELL):
                prints += self._refill(side, previous, self._snapshots[position], message.time)
        self._position += 1
        return prints

    def _apply(self, message: Message) -> list[Print]:
        kind = message.type
        if kind is MessageType.SUBMIT:
            return self._submit(message)
        if kind is MessageType.EXECUTE_HIDDEN or kind is MessageType.CROSS:
            aggressor = None if kind is MessageType.CROSS else message.side.opposite
            hidden = kind is MessageType.EXECUTE_HIDDEN
            return [Print(message.time, message.px, message.qty, aggressor, None, hidden)]
        if kind is MessageType.HALT:
            if message.px == Halt.HALTED:
                self.halted = True
            elif message.px == Halt.TRADING:
                self.halted = False
            return []
        hist = self._by_order_id.get(message.order_id)
        if hist is None:
            book_id, taken = self._take_level(message.side, message.px, message.qty)
        else:
            book_id = hist.book_id
            held = hist.intended
            if kind is MessageType.DELETE:
                del self._by_order_id[message.order_id]
                taken = self._shrink(hist, held)
            else:
                taken = self._shrink(hist, min(message.qty, held))
            if held < message.qty:
                taken += self._take_level(message.side, message.px, message.qty - held)[1]
            elif kind is MessageType.DELETE and held > message.qty:
                self._grow(message.side, message.px, held - message.qty, message.time)
        if not taken:
            self.skipped += 1
        if kind is MessageType.EXECUTE and taken:
            return [Print(message.time, message.px, taken, message.side.opposite, book_id)]
        return []

    def _submit(self, message: Message) -> list[Print]:
        if message.order_id in self._by_order_id:
            at = format_time(message.time)
            raise ValueError(f"invalid `order_id`, was {message.order_id}: added again at {at}")
        hist = _Hist(self._next_id(), message.side, message.px, 0, synthetic=False)
        self._by_order_id[message.order_id] = hist
        return self._rest(hist, message.qty, message.time)

    def _rest(self, hist: _Hist, qty: int, time: int) -> list[Print]:
        """Rest a new book order for ``hist`` holding ``qty`` more than it intended so far."""
        hist.intended += qty
        levels = self._depth[hist.side]
        levels[hist.px] = levels.get(hist.px, 0) + qty
        self._levels.setdefault((hist.side, hist.px), []).append(hist)
        # History never crosses itself, but someone else's order may rest where
        # the historical order arrives: then they trade, as they would have.
        order = Order(hist.book_id, hist.side, hist.px, qty, owner=self._owner, tif=TimeInForce.DAY)
        outcome = self._book.add(order)
        return [Print(time, fill.px, fill.qty, hist.side, fill.passive.order_id) for fill in outcome.fills]

    def _grow(self, side: Side, px: int, qty: int, time: int) -> list[Print]:
        """Add ``qty`` of liquidity no message accounts for at ``px``, as synthetic."""
        level = self._levels.get((side, px), [])
        newest = level[-1] if level else None
        order = None if newest is None else self._book.get(newest.book_id)
        if newest is not None and newest.synthetic and order is not None and order.owner == self._owner:
            # Growing the newest order costs no queue place that a fresh one would not.
            self._book.replace(newest.book_id, qty=order.qty + qty, px=px)
            newest.intended += qty
            levels = self._depth[side]
            levels[px] = levels.get(px, 0) + qty
            return []
        return self._rest(_Hist(self._next_id(), side, px, 0, synthetic=True), qty, time)

    def _shrink(self, hist: _Hist, qty: int) -> int:
        """Take ``qty`` (at most what ``hist`` intends) off ``hist``; return what its book order lost."""
        if qty == 0:
            return 0
        hist.intended -= qty
        levels = self._depth[hist.side]
        left = levels[hist.px] - qty
        if left:
            levels[hist.px] = left
        else:
            del levels[hist.px]
        if hist.intended == 0:
            level = self._levels[hist.side, hist.px]
            level.remove(hist)
            if not level:
                del self._levels[hist.side, hist.px]
        order = self._book.get(hist.book_id)
        if order is None or order.owner != self._owner or order.px is None:
            return 0
        if qty >= order.leaves:
            taken = order.leaves
            self._book.cancel(hist.book_id)
        else:
            taken = qty
            self._book.replace(hist.book_id, qty=order.qty - qty, px=order.px)
        return taken

    def _take_level(self, side: Side, px: int, qty: int) -> tuple[int | None, int]:
        """Take ``qty`` from the level at ``px``, synthetic first, then newest; return the first book id and what left the book."""
        level = self._levels.get((side, px), [])
        order = [h for h in reversed(level) if h.synthetic] + [h for h in reversed(level) if not h.synthetic]
        first: int | None = None
        taken = 0
        for hist in order:
            if qty == 0:
                break
            part = min(qty, hist.intended)
            qty -= part
            more = self._shrink(hist, part)
            if more and first is None:
                first = hist.book_id
            taken += more
        return first, taken

    def _refill(self, side: Side, previous: Snapshot, row: Snapshot, time: int) -> list[Print]:
        """Set the levels ``row`` shows beyond ``previous``'s deepest level to what ``row`` shows."""
        seen = previous.side(side)
        if len(seen) < previous.levels:
            return []  # the previous row showed the whole side: nothing came into view
        horizon = seen[-1][0]
        shown = row.side(side)
        buy = side is Side.BUY
        reach = shown[-1][0] if len(shown) == row.levels else None  # None: the row shows the whole side
        if reach is not None and (reach >= horizon if buy else reach <= horizon):
            return []  # the view did not reach further: the usual case, kept cheap
        levels = self._depth[side]
        wanted = {px: qty for px, qty in shown if (px < horizon if buy else px > horizon)}
        for px in levels:
            beyond = px < horizon if buy else px > horizon
            in_reach = reach is None or (px >= reach if buy else px <= reach)
            if beyond and in_reach and px not in wanted:
                wanted[px] = 0
        prints: list[Print] = []
        for px, qty in wanted.items():
            delta = qty - levels.get(px, 0)
            if delta > 0:
                prints += self._grow(side, px, delta, time)
            elif delta < 0:
                self._take_level(side, px, -delta)
            if delta:
                self.refilled += 1
        return prints


# --- our own sample ------------------------------------------------------

SAMPLE_NAME: Final = "SIMU_2026-01-02_34200000_57600000"
SAMPLE_SEED: Final = 20260102
SAMPLE_EVENTS: Final = 1_000
SAMPLE_DIR: Final = Path(__file__).resolve().parent / "data"  # the shipped sample, from the two above
SAMPLE_MESSAGE_FILE: Final = f"{SAMPLE_NAME}_message_{LEVELS}.csv"
SAMPLE_ORDERBOOK_FILE: Final = f"{SAMPLE_NAME}_orderbook_{LEVELS}.csv"
_SESSION_START: Final = 34_200 * NS_PER_SECOND


class _Sample:
    """The files being written: a row is kept only when LOBSTER would keep it."""

    def __init__(self, book: OrderBook) -> None:
        self.book = book
        self.messages: list[Message] = []
        self.snapshots: list[Snapshot] = []
        self.row = snapshot_of(book)

    def record(self, message: Message, row: Snapshot | None = None) -> None:
        """Keep ``message`` and the row after it if it changed the recorded levels or is a hidden execution.

        LOBSTER's message file holds only the events inside the recorded levels:
        what happens deeper shows up later, if at all, as a level coming into view.
        """
        row = row if row is not None else snapshot_of(self.book)
        if row != self.row or message.type is MessageType.EXECUTE_HIDDEN:
            self.messages.append(message)
            self.snapshots.append(row)
        self.row = row


def generate(rng: random.Random, *, events: int, ref_px: int = 1_000_000, tick: int = 100) -> tuple[list[Message], list[Snapshot]]:
    """Return ``events`` messages of a random order flow from an empty book, and the row after each.

    The flow adds limit orders that do not cross, cancels part of resting orders,
    deletes them, executes them with marketable orders from an unseen aggressor
    (one type 4 message per resting order it trades with, all at one time, as
    LOBSTER writes a sweep) and prints the odd hidden execution. As in LOBSTER's
    files, events beyond the recorded levels are left out. The same ``rng``
    state gives the same sample.
    """
    if events <= 0:
        raise ValueError(f"invalid `events`, was {events}")
    book = OrderBook("SIMU")
    sample = _Sample(book)
    ids = iter(range(10_000_001, 1 << 62))
    time = _SESSION_START
    while len(sample.messages) < events:
        time += rng.randrange(1_000, 40_000_000)  # 1 µs to 40 ms apart
        resting = list(book.orders())
        bid, ask = book.best(Side.BUY), book.best(Side.SELL)
        draw = rng.random()
        if len(resting) < 40 or bid is None or ask is None or draw < 0.45:
            side = rng.choice((Side.BUY, Side.SELL))
            px = _passive_px(rng, side, bid=bid, ask=ask, ref_px=ref_px, tick=tick)
            qty = 100 * rng.randint(1, 5) if rng.random() < 0.6 else rng.randint(1, 99)
            order = Order(next(ids), side, px, qty, owner=HIST)
            book.add(order)
            sample.record(Message(time, MessageType.SUBMIT, order.order_id, qty, px, side))
        elif draw < 0.60:
            order = rng.choice(resting)
            if order.leaves > 1 and order.px is not None:
                cut = rng.randint(1, order.leaves - 1)
                book.replace(order.order_id, qty=order.qty - cut, px=order.px)
                sample.record(Message(time, MessageType.CANCEL, order.order_id, cut, order.px, order.side))
        elif draw < 0.85:
            order = rng.choice(resting)
            if order.px is not None:
                left = order.leaves
                book.cancel(order.order_id)
                sample.record(Message(time, MessageType.DELETE, order.order_id, left, order.px, order.side))
        elif draw < 0.96:
            _sweep(rng, sample, next(ids), time, tick)
        else:
            side = rng.choice((Side.BUY, Side.SELL))  # the hidden resting order's
            px = bid if side is Side.BUY else ask
            sample.record(Message(time, MessageType.EXECUTE_HIDDEN, 0, rng.randint(1, 300), px, side))
    return sample.messages[:events], sample.snapshots[:events]


def _passive_px(rng: random.Random, side: Side, *, bid: int | None, ask: int | None, ref_px: int, tick: int) -> int:
    """Return a price for a new order on ``side`` that does not cross: a tick or more behind the far touch."""
    if bid is None:
        bid = ask - 2 * tick if ask is not None else ref_px - tick
    if ask is None:
        ask = bid + 2 * tick
    away = min(int(rng.expovariate(0.2)), 40) * tick  # most orders rest near the touch
    if side is Side.BUY:
        return max(tick, ask - tick - away)
    return bid + tick + away


def _sweep(rng: random.Random, sample: _Sample, order_id: int, time: int, tick: int) -> None:
    """Send a marketable IOC order; record one execution, and the row after it, per resting order it trades with."""
    book = sample.book
    side = rng.choice((Side.BUY, Side.SELL))
    passive_side = side.opposite
    touch = book.best(passive_side)
    if touch is None:
        return
    limit_px = touch + rng.randint(0, 2) * tick * (1 if side is Side.BUY else -1)
    remaining = [[px, qty] for px, qty, _ in book.depth(passive_side, len(book))]
    same_side = sample.row.side(side)
    outcome = book.add(Order(order_id, side, limit_px, rng.randint(1, 400), tif=TimeInForce.IOC))
    # The book matched the whole sweep at once; LOBSTER writes the book after
    # each execution, so walk the opposite side down fill by fill.
    for fill in outcome.fills:
        level = next(level for level in remaining if level[0] == fill.px)
        level[1] -= fill.qty
        if level[1] == 0:
            remaining.remove(level)
        passive = tuple((px, qty) for px, qty in remaining[:LEVELS])
        row = Snapshot(passive, same_side) if side is Side.BUY else Snapshot(same_side, passive)
        sample.record(Message(time, MessageType.EXECUTE, fill.passive.order_id, fill.qty, fill.px, passive_side), row)


def main(argv: Sequence[str] | None = None) -> int:
    """Write our sample: ``python -m venues.sim.lobster generate --seed N --events N --out DIR``."""
    parser = argparse.ArgumentParser(prog="python -m venues.sim.lobster")
    commands = parser.add_subparsers(dest="command", required=True)
    generate_cmd = commands.add_parser("generate", help="write a LOBSTER-format sample from a seeded random flow")
    generate_cmd.add_argument("--seed", type=int, default=SAMPLE_SEED)
    generate_cmd.add_argument("--events", type=int, default=SAMPLE_EVENTS)
    generate_cmd.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.events <= 0:
        parser.error(f"invalid `--events`, was {args.events}")
    messages, snapshots = generate(random.Random(args.seed), events=args.events)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in ((SAMPLE_MESSAGE_FILE, format_messages(messages)), (SAMPLE_ORDERBOOK_FILE, format_orderbook(snapshots))):
        (args.out / name).write_text("".join(row + "\n" for row in rows), encoding="ascii")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
