"""Order checks and the working time in force."""

from decimal import Decimal

import pytest

from ems.core.strategies import working_tif
from oms.core.validation import FieldError, order_check
from trading.enums import OrdType, TimeInForce

D = Decimal
TICK = D("0.01")
LOT = D("100")

# --- order_check ---------------------------------------------------------------------


def check(qty: str, ord_type: OrdType, limit_px: str | None) -> list[FieldError]:
    return order_check(
        qty=D(qty), ord_type=ord_type, limit_px=None if limit_px is None else D(limit_px), tick_size=TICK, lot_size=LOT
    )


def codes(errors: list[FieldError]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in errors]


@pytest.mark.parametrize(
    ("qty", "ord_type", "limit_px", "expected"),
    [
        ("0", OrdType.LIMIT, "10.00", [("qty", "not_positive")]),
        ("-100", OrdType.MARKET, None, [("qty", "not_positive")]),
        ("150", OrdType.LIMIT, "10.00", [("qty", "off_lot")]),
        ("100.5", OrdType.MARKET, None, [("qty", "off_lot")]),
        ("100", OrdType.LIMIT, None, [("limit_px", "required")]),
        ("100", OrdType.LIMIT, "-1.00", [("limit_px", "not_positive")]),
        ("100", OrdType.LIMIT, "0", [("limit_px", "not_positive")]),
        ("100", OrdType.LIMIT, "10.005", [("limit_px", "off_tick")]),
        ("100", OrdType.MARKET, "10.00", [("limit_px", "not_allowed")]),
        ("0", OrdType.LIMIT, None, [("qty", "not_positive"), ("limit_px", "required")]),
        ("150", OrdType.MARKET, "10.00", [("qty", "off_lot"), ("limit_px", "not_allowed")]),
        ("100", OrdType.LIMIT, "10.00", []),
        ("2500", OrdType.LIMIT, "0.01", []),
        ("100", OrdType.MARKET, None, []),
    ],
)
def test_order_check_codes(qty, ord_type, limit_px, expected):
    # given / when
    errors = check(qty, ord_type, limit_px)
    # then
    assert codes(errors) == expected


def test_order_check_messages_say_what_was_wrong():
    # given / when
    errors = check("150", OrdType.LIMIT, "10.005")
    # then
    assert errors == [
        FieldError("qty", "off_lot", "invalid `qty`, was 150: must be a multiple of the lot size 100"),
        FieldError("limit_px", "off_tick", "invalid `limit_px`, was 10.005: must be a multiple of the tick size 0.01"),
    ]


def test_order_check_not_positive_and_not_allowed_messages():
    # given / when / then
    assert check("-5", OrdType.MARKET, "1.00") == [
        FieldError("qty", "not_positive", "invalid `qty`, was -5: must be greater than 0"),
        FieldError("limit_px", "not_allowed", "a MARKET order takes no `limit_px`"),
    ]
    assert check("100", OrdType.LIMIT, None) == [FieldError("limit_px", "required", "a LIMIT order needs `limit_px`")]


# --- strategy -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ord_type", "tif", "child_tif"),
    [
        (OrdType.LIMIT, TimeInForce.IOC, TimeInForce.IOC),
        (OrdType.LIMIT, TimeInForce.GTC, TimeInForce.GTC),
        (OrdType.LIMIT, TimeInForce.FOK, TimeInForce.FOK),
        (OrdType.MARKET, TimeInForce.DAY, TimeInForce.IOC),
        (OrdType.MARKET, TimeInForce.FOK, TimeInForce.FOK),
    ],
)
def test_direct_keeps_the_parents_time_in_force_but_a_market_order_never_rests(ord_type, tif, child_tif):
    # given / when / then
    assert working_tif(ord_type=ord_type, tif=tif) is child_tif
