"""Wire messages between the EMS and the venues' gateway, with FIX 4.4 meanings.

They cross a Redis stream and a Celery queue as flat ``dict[str, str]``:
Decimals travel as strings so nothing is ever a float on the way.
"""

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Self, get_args, get_type_hints

from trading.enums import ExecType, Liquidity, OrdType, Side, TimeInForce
from trading.numbers import ZERO
from trading.states import OrdStatus


def _encode(value: Any) -> str:
    return "" if value is None else str(value)


class _Wire:
    """Flat string encoding shared by the messages below."""

    def to_wire(self) -> dict[str, str]:
        return {field.name: _encode(getattr(self, field.name)) for field in fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_wire(cls, data: dict[str, str]) -> Self:
        """Decode a message; raise ``ValueError`` naming the field that is missing or bad."""
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for field in fields(cls):  # type: ignore[arg-type]
            if field.name not in data:
                raise ValueError(f"missing field `{field.name}`")
            raw = data[field.name]
            kind = hints[field.name]
            members = get_args(kind)
            if type(None) in members:
                if raw == "":
                    values[field.name] = None
                    continue
                kind = next(member for member in members if member is not type(None))
            try:
                value = kind(raw)
            except (ValueError, ArithmeticError) as exc:
                raise ValueError(f"invalid `{field.name}`, was {raw!r}") from exc
            if isinstance(value, Decimal) and not value.is_finite():
                raise ValueError(f"invalid `{field.name}`, was {raw!r}")
            values[field.name] = value
        return cls(**values)


@dataclass(frozen=True, slots=True)
class NewOrder(_Wire):
    """A child order for one venue (FIX NewOrderSingle, 35=D)."""

    cl_ord_id: str
    venue: str
    symbol: str
    side: Side
    ord_type: OrdType
    qty: Decimal
    limit_px: Decimal | None
    tif: TimeInForce


@dataclass(frozen=True, slots=True)
class ExecutionReport(_Wire):
    """A venue's report on one of our orders (FIX ExecutionReport, 35=8).

    ``seq`` numbers the reports of one order from 1 without gaps, so the
    receiver can apply them exactly once and in order.
    """

    venue: str
    cl_ord_id: str
    venue_order_id: str
    exec_id: str
    seq: int
    exec_type: ExecType
    ord_status: OrdStatus
    symbol: str
    side: Side
    last_qty: Decimal
    last_px: Decimal
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal
    fee: Decimal
    liquidity: Liquidity | None
    text: str
    transact_time: str

    @property
    def is_fill(self) -> bool:
        return self.exec_type is ExecType.TRADE and self.last_qty > ZERO
