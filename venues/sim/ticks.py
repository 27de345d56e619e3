"""Price and quantity grids: a venue's tick size table and the integer units of its books.

Books work in integers (see ``book.py``); this is the one place that converts.
A price is valid when it is a multiple of the tick that applies at that price:
the coarser of the venue's table (e.g. Reg NMS: 0.0001 below $1, 0.01 above)
and the instrument's own tick.
"""

from collections.abc import Sequence
from decimal import Decimal

from trading.numbers import to_decimal


class TickTable:
    def __init__(self, bands: Sequence[tuple[Decimal, Decimal]]) -> None:
        """``bands``: (from_px, tick) pairs; the first starts at 0, ticks are positive."""
        ordered = sorted(bands)
        if not ordered or ordered[0][0] != 0:
            raise ValueError(f"invalid `tick_table`, was {list(bands)}: the first band must start at 0")
        if any(tick <= 0 for _, tick in ordered):
            raise ValueError(f"invalid `tick_table`, was {list(bands)}: ticks must be positive")
        self.bands = tuple(ordered)

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[str | int | Decimal]]) -> "TickTable":
        """Build from admin's JSON rows ``[["0", "0.0001"], ["1", "0.01"]]``."""
        try:
            return cls([(to_decimal(str(row[0])), to_decimal(str(row[1]))) for row in rows])
        except (IndexError, TypeError, ArithmeticError, ValueError) as exc:
            raise ValueError(f"invalid `tick_table`, was {rows!r}") from exc

    @classmethod
    def single(cls, tick: Decimal) -> "TickTable":
        return cls([(Decimal(0), tick)])

    def tick_at(self, px: Decimal) -> Decimal:
        tick = self.bands[0][1]
        for start, band_tick in self.bands:
            if px < start:
                break
            tick = band_tick
        return tick


REG_NMS = TickTable([(Decimal(0), Decimal("0.0001")), (Decimal(1), Decimal("0.01"))])


class Grid:
    """One instrument on one venue: valid prices and lots, and their integer book units."""

    __slots__ = ("exponent", "lot", "table", "tick")

    def __init__(self, table: TickTable, *, tick: Decimal, lot: Decimal) -> None:
        self.table = table
        self.tick = tick
        self.lot = lot
        # The price unit: the finest decimal place any valid price can use.
        self.exponent = min(int(t.normalize().as_tuple().exponent) for t in [tick, *(band for _, band in table.bands)])

    def tick_at(self, px: Decimal) -> Decimal:
        return max(self.table.tick_at(px), self.tick)

    def on_tick(self, px: Decimal) -> bool:
        return px > 0 and px % self.tick_at(px) == 0

    def on_lot(self, qty: Decimal) -> bool:
        return qty > 0 and qty % self.lot == 0

    def px_int(self, px: Decimal) -> int:
        """Return ``px`` in price units; the caller checked it is on the tick."""
        return int(px.scaleb(-self.exponent))

    def px(self, units: int) -> Decimal:
        return Decimal(units).scaleb(self.exponent)

    def qty_int(self, qty: Decimal) -> int:
        """Return ``qty`` in lots; the caller checked it is a lot multiple."""
        return int(qty / self.lot)

    def qty(self, lots: int) -> Decimal:
        return lots * self.lot

    def units_per_tick(self, px: Decimal) -> int:
        """Return how many price units one tick is at ``px``."""
        return self.px_int(self.tick_at(px))
