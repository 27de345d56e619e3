"""Decimal helpers and the flat string wire encoding of NewOrder and ExecutionReport."""

import re
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.enums import ExecType, Liquidity, OrdType, Peg, Side, TimeInForce
from trading.messages import ExecutionReport, NewOrder
from trading.numbers import (
    NotDecimalError,
    avg_px,
    floor_to,
    is_multiple,
    quantize_money,
    quantize_px,
    round_to,
    to_decimal,
    vwap,
)
from trading.states import OrdStatus

D = Decimal

# --- to_decimal ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("1.50"), D("1.50")),
        ("1.50", D("1.50")),
        ("-0.0001", D("-0.0001")),
        (3, D("3")),
        (0, D("0")),
        ("1E+3", D("1000")),
    ],
)
def test_to_decimal_accepts_decimals_ints_and_strings(value, expected):
    # given / when
    result = to_decimal(value)
    # then
    assert isinstance(result, Decimal)
    assert result == expected


def test_to_decimal_keeps_the_string_exponent():
    # given / when / then
    assert str(to_decimal("1.50")) == "1.50"


@pytest.mark.parametrize("value", [1.5, 0.1, 0.0, True, False])
def test_to_decimal_rejects_floats_and_bools(value):
    # given / when / then
    with pytest.raises(NotDecimalError, match=type(value).__name__):
        to_decimal(value)


@pytest.mark.parametrize(
    "value",
    ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", D("NaN"), D("Infinity"), D("-Infinity"), "abc", "", "1.2.3"],
)
def test_to_decimal_rejects_nan_infinity_and_garbage(value):
    # given / when / then
    with pytest.raises(NotDecimalError):
        to_decimal(value)


@pytest.mark.parametrize("value", [None, [], {"x": 1}, b"1"])
def test_to_decimal_rejects_other_types(value):
    # given / when / then
    with pytest.raises(NotDecimalError, match=type(value).__name__):
        to_decimal(value)


def test_not_decimal_error_is_a_value_error():
    # given / when / then
    with pytest.raises(ValueError, match="expected a decimal string"):
        to_decimal(2.5)


# --- ticks and lots --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        ("0.30", "0.10", True),
        ("0.35", "0.10", False),
        ("100", "10", True),
        ("105", "10", False),
        ("0", "0.01", True),
        ("-0.3", "0.1", True),
        ("10.015", "0.01", False),
        ("10.0100", "0.01", True),
    ],
)
def test_is_multiple(value, step, expected):
    # given / when / then
    assert is_multiple(D(value), D(step)) is expected


@pytest.mark.parametrize("step", ["0", "-0.01"])
def test_is_multiple_rejects_a_non_positive_step(step):
    # given / when / then
    with pytest.raises(ValueError, match="step must be positive"):
        is_multiple(D("1"), D(step))


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        ("10.37", "0.05", "10.35"),
        ("10.35", "0.05", "10.35"),
        ("157", "100", "100"),
        ("99", "100", "0"),
        ("1234.5678", "1", "1234"),
        ("0.0999", "0.01", "0.09"),
    ],
)
def test_floor_to(value, step, expected):
    # given / when
    result = floor_to(D(value), D(step))
    # then
    assert result == D(expected)
    assert is_multiple(result, D(step))


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        ("10.37", "0.05", "10.35"),
        ("10.38", "0.05", "10.40"),
        ("0.25", "0.1", "0.2"),
        ("0.35", "0.1", "0.4"),
        ("150", "100", "200"),
        ("250", "100", "200"),
        ("249", "100", "200"),
    ],
)
def test_round_to_nearest_half_even(value, step, expected):
    # given / when
    result = round_to(D(value), D(step))
    # then
    assert result == D(expected)


@settings(max_examples=200)
@given(units=st.integers(min_value=0, max_value=10**9), step_units=st.integers(min_value=1, max_value=10_000))
def test_floor_and_round_land_on_the_grid_within_one_step(units, step_units):
    # given
    value = D(units).scaleb(-4)
    step = D(step_units).scaleb(-2)
    # when
    floored = floor_to(value, step)
    rounded = round_to(value, step)
    # then
    assert is_multiple(floored, step)
    assert is_multiple(rounded, step)
    assert floored <= value < floored + step
    assert abs(rounded - value) <= step / 2


def test_quantize_money_and_px():
    # given / when / then
    assert str(quantize_money(D("1.23455"))) == "1.2346"
    assert str(quantize_money(D("1.23445"))) == "1.2344"
    assert str(quantize_money(D("7"))) == "7.0000"
    assert str(quantize_px(D("10.006666666666"))) == "10.00666667"


def test_vwap_of_no_fills_is_zero():
    # given / when / then
    assert vwap([]) == D("0")
    assert avg_px(qty=D("0"), notional=D("0")) == D("0")


@pytest.mark.parametrize(
    ("fills", "expected"),
    [
        ([("100", "10.00")], "10.00"),
        ([("100", "10.00"), ("300", "10.04")], "10.03"),
        ([("1", "1"), ("2", "2")], "1.66666667"),
        ([("500", "100.01"), ("200", "100.02")], "100.01285714"),
    ],
)
def test_vwap_is_the_quantity_weighted_mean(fills, expected):
    # given / when
    result = vwap((D(qty), D(px)) for qty, px in fills)
    # then
    assert result == D(expected)
    assert result.as_tuple().exponent == -8


# --- wire messages ------------------------------------------------------------------

finite = st.decimals(allow_nan=False, allow_infinity=False)
text = st.text(max_size=20)

new_orders = st.builds(
    NewOrder,
    cl_ord_id=text,
    venue=text,
    symbol=text,
    side=st.sampled_from(Side),
    ord_type=st.sampled_from(OrdType),
    qty=finite,
    limit_px=st.none() | finite,
    tif=st.sampled_from(TimeInForce),
)

execution_reports = st.builds(
    ExecutionReport,
    venue=text,
    cl_ord_id=text,
    venue_order_id=text,
    exec_id=text,
    seq=st.integers(min_value=-(10**12), max_value=10**12),
    exec_type=st.sampled_from(ExecType),
    ord_status=st.sampled_from(OrdStatus),
    symbol=text,
    side=st.sampled_from(Side),
    last_qty=finite,
    last_px=finite,
    cum_qty=finite,
    leaves_qty=finite,
    avg_px=finite,
    fee=finite,
    liquidity=st.none() | st.sampled_from(Liquidity),
    text=text,
    transact_time=text,
)


@settings(max_examples=200)
@given(msg=new_orders)
def test_new_order_round_trips(msg):
    # given / when
    wire = msg.to_wire()
    back = NewOrder.from_wire(wire)
    # then
    assert all(isinstance(value, str) for value in wire.values())
    assert back == msg
    assert back.to_wire() == wire


@settings(max_examples=200)
@given(report=execution_reports)
def test_execution_report_round_trips(report):
    # given / when
    wire = report.to_wire()
    back = ExecutionReport.from_wire(wire)
    # then
    assert all(isinstance(value, str) for value in wire.values())
    assert back == report
    assert type(back.seq) is int
    assert back.to_wire() == wire


def sample_order() -> NewOrder:
    return NewOrder("C-1", "SIMA", "XYZ", Side.BUY, OrdType.LIMIT, D("100"), D("10.05"), TimeInForce.DAY)


def sample_report() -> ExecutionReport:
    return ExecutionReport(
        venue="SIMA",
        cl_ord_id="C-1",
        venue_order_id="SIMA-s1-O1",
        exec_id="SIMA-s1-E2",
        seq=2,
        exec_type=ExecType.TRADE,
        ord_status=OrdStatus.PARTIALLY_FILLED,
        symbol="XYZ",
        side=Side.BUY,
        last_qty=D("40"),
        last_px=D("10.05"),
        cum_qty=D("40"),
        leaves_qty=D("60"),
        avg_px=D("10.05000000"),
        fee=D("0.1200"),
        liquidity=Liquidity.REMOVED,
        text="",
        transact_time="2024-01-02T14:30:00+00:00",
    )


def test_new_order_wire_is_flat_strings():
    # given
    msg = sample_order()
    # when
    wire = msg.to_wire()
    # then
    assert wire == {
        "cl_ord_id": "C-1",
        "venue": "SIMA",
        "symbol": "XYZ",
        "side": "BUY",
        "ord_type": "LIMIT",
        "qty": "100",
        "limit_px": "10.05",
        "tif": "DAY",
        "post_only": "0",
        "min_qty": "0",
        "display_qty": "",
        "stp": "NONE",
        "peg": "",
        "delay_us": "0",
    }


def test_market_order_encodes_no_price_as_empty_and_decodes_it_to_none():
    # given
    msg = NewOrder("C-2", "SIMA", "XYZ", Side.SELL, OrdType.MARKET, D("5"), None, TimeInForce.IOC)
    # when
    wire = msg.to_wire()
    # then
    assert wire["limit_px"] == ""
    assert NewOrder.from_wire(wire).limit_px is None


def test_execution_report_wire_decodes_to_typed_values():
    # given
    wire = sample_report().to_wire()
    # when
    back = ExecutionReport.from_wire(wire)
    # then
    assert wire["seq"] == "2"
    assert wire["fee"] == "0.1200"
    assert back.seq == 2
    assert back.exec_type is ExecType.TRADE
    assert back.ord_status is OrdStatus.PARTIALLY_FILLED
    assert back.liquidity is Liquidity.REMOVED
    assert back.fee == D("0.1200")
    assert back.is_fill


@pytest.mark.parametrize(
    ("exec_type", "last_qty", "expected"),
    [(ExecType.TRADE, "40", True), (ExecType.TRADE, "0", False), (ExecType.NEW, "40", False)],
)
def test_is_fill_only_for_a_trade_with_quantity(exec_type, last_qty, expected):
    # given
    wire = sample_report().to_wire() | {"exec_type": str(exec_type), "last_qty": last_qty}
    # when / then
    assert ExecutionReport.from_wire(wire).is_fill is expected


@pytest.mark.parametrize("field", ["cl_ord_id", "side", "qty", "limit_px", "tif"])
def test_new_order_from_wire_names_a_missing_field(field):
    # given
    wire = sample_order().to_wire()
    del wire[field]
    # when / then
    with pytest.raises(ValueError, match=f"missing field `{field}`"):
        NewOrder.from_wire(wire)


@pytest.mark.parametrize("field", ["seq", "liquidity", "text", "avg_px"])
def test_execution_report_from_wire_names_a_missing_field(field):
    # given
    wire = sample_report().to_wire()
    del wire[field]
    # when / then
    with pytest.raises(ValueError, match=f"missing field `{field}`"):
        ExecutionReport.from_wire(wire)


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("qty", "abc"),
        ("qty", ""),
        ("qty", "NaN"),
        ("qty", "Infinity"),
        ("qty", "-inf"),
        ("limit_px", "ten"),
        ("limit_px", "sNaN"),
        ("side", "HOLD"),
        ("side", "buy"),
        ("ord_type", "STOP"),
        ("tif", ""),
    ],
)
def test_new_order_from_wire_names_a_bad_field(field, raw):
    # given
    wire = sample_order().to_wire() | {field: raw}
    # when / then
    with pytest.raises(ValueError, match=re.escape(f"invalid `{field}`, was {raw!r}")):
        NewOrder.from_wire(wire)


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("seq", "1.5"),
        ("seq", ""),
        ("seq", "two"),
        ("exec_type", "FILL"),
        ("ord_status", "DONE"),
        ("liquidity", "MAYBE"),
        ("fee", "1,00"),
        ("avg_px", "Infinity"),
        ("cum_qty", "NaN"),
    ],
)
def test_execution_report_from_wire_names_a_bad_field(field, raw):
    # given
    wire = sample_report().to_wire() | {field: raw}
    # when / then
    with pytest.raises(ValueError, match=re.escape(f"invalid `{field}`, was {raw!r}")):
        ExecutionReport.from_wire(wire)


def test_from_wire_ignores_extra_keys():
    # given
    wire = sample_order().to_wire() | {"extra": "x"}
    # when / then
    assert NewOrder.from_wire(wire) == sample_order()


def test_wire_fields_with_defaults_may_be_absent_and_booleans_round_trip():
    # given an order from a sender that predates the optional fields, and one that sets them
    old = {k: v for k, v in sample_order().to_wire().items() if k not in ("post_only", "min_qty", "display_qty", "stp", "peg")}
    new = replace(sample_order(), post_only=True, min_qty=D("200"), peg=Peg.MID)
    # when
    decoded_old = NewOrder.from_wire(old)
    decoded_new = NewOrder.from_wire(new.to_wire())
    # then
    assert decoded_old == sample_order()
    assert decoded_new == new
    assert decoded_new.post_only is True


def test_a_boolean_field_refuses_anything_but_0_or_1():
    # given
    wire = sample_order().to_wire() | {"post_only": "True"}
    # when / then
    with pytest.raises(ValueError, match="post_only"):
        NewOrder.from_wire(wire)


def test_epoch_ns_round_trips_to_the_microsecond_in_integers():
    # given an instant in 2026 with microseconds (float seconds since the epoch would round them)
    from datetime import UTC, datetime

    from trading.clock import epoch_ns, from_epoch_ns

    at = datetime(2026, 11, 21, 14, 30, 0, 123457, tzinfo=UTC)
    # when / then
    assert epoch_ns(at) == 1_795_271_400_123_457_000
    assert from_epoch_ns(epoch_ns(at)) == at
    assert from_epoch_ns(1_795_271_400_123_457_999) == at  # finer than a datetime holds: truncated


def test_decimal_str_never_writes_an_exponent():
    from trading.numbers import decimal_str

    assert decimal_str(Decimal("1E+1")) == "10"
    assert decimal_str(Decimal("101.50")) == "101.50"
    assert decimal_str(None) is None
