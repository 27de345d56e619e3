"""Order checks that need no database: the rules a new order must meet.

Shared by every way in (REST now, FIX later) so an order is judged the same
whichever door it came through.
"""

from dataclasses import dataclass
from decimal import Decimal

from trading.enums import OrdType
from trading.numbers import is_multiple


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    message: str


def order_check(
    *, qty: Decimal, ord_type: OrdType, limit_px: Decimal | None, tick_size: Decimal, lot_size: Decimal
) -> list[FieldError]:
    """Return what is wrong with the order's size and price; empty when it is good."""
    errors: list[FieldError] = []
    if qty <= 0:
        errors.append(FieldError("qty", "not_positive", f"invalid `qty`, was {qty}: must be greater than 0"))
    elif not is_multiple(qty, lot_size):
        errors.append(FieldError("qty", "off_lot", f"invalid `qty`, was {qty}: must be a multiple of the lot size {lot_size}"))
    if ord_type is OrdType.LIMIT:
        if limit_px is None:
            errors.append(FieldError("limit_px", "required", "a LIMIT order needs `limit_px`"))
        elif limit_px <= 0:
            errors.append(FieldError("limit_px", "not_positive", f"invalid `limit_px`, was {limit_px}: must be greater than 0"))
        elif not is_multiple(limit_px, tick_size):
            errors.append(
                FieldError(
                    "limit_px", "off_tick", f"invalid `limit_px`, was {limit_px}: must be a multiple of the tick size {tick_size}"
                )
            )
    elif limit_px is not None:
        errors.append(FieldError("limit_px", "not_allowed", "a MARKET order takes no `limit_px`"))
    return errors
