"""Tick tables and grids: table validation, the tick at each band's edges, integer units and back."""

from decimal import Decimal

import pytest

from venues.sim.ticks import REG_NMS, Grid, TickTable


def dec(text: str) -> Decimal:
    return Decimal(text)


# --- TickTable ------------------------------------------------------------


def test_from_rows_builds_the_same_table_as_the_reg_nms_constant():
    # given
    rows = [["0", "0.0001"], ["1", "0.01"]]
    # when
    table = TickTable.from_rows(rows)
    # then
    assert table.bands == REG_NMS.bands
    assert table.bands == ((dec("0"), dec("0.0001")), (dec("1"), dec("0.01")))


def test_from_rows_sorts_bands_given_out_of_order_and_accepts_ints_and_decimals():
    # given
    rows: list[list[str | int | Decimal]] = [[10, "0.05"], [0, Decimal("0.001")], ["1", "0.01"]]
    # when
    table = TickTable.from_rows(rows)
    # then
    assert table.bands == ((dec("0"), dec("0.001")), (dec("1"), dec("0.01")), (dec("10"), dec("0.05")))


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param([], id="no-bands"),
        pytest.param([["1", "0.01"]], id="first-band-not-at-0"),
        pytest.param([["0", "0"]], id="zero-tick"),
        pytest.param([["0", "0.01"], ["1", "-0.01"]], id="negative-tick"),
        pytest.param([["0"]], id="row-without-tick"),
        pytest.param([["0", "abc"]], id="tick-not-a-number"),
        pytest.param([["x", "0.01"]], id="start-not-a-number"),
        pytest.param([["0", "NaN"]], id="tick-nan"),
        pytest.param([["0", "Infinity"]], id="tick-infinite"),
        pytest.param([["-1", "0.01"], ["0", "0.0001"]], id="band-below-0"),
    ],
)
def test_from_rows_rejects_an_invalid_table_naming_the_field(rows):
    # given / when / then
    with pytest.raises(ValueError, match=r"invalid `tick_table`, was"):
        TickTable.from_rows(rows)


def test_constructor_rejects_an_empty_table():
    # given / when / then
    with pytest.raises(ValueError, match="the first band must start at 0"):
        TickTable([])


@pytest.mark.parametrize(
    ("px", "tick"),
    [
        ("0", "0.0001"),
        ("0.0001", "0.0001"),
        ("0.9999", "0.0001"),
        ("1", "0.01"),
        ("1.00", "0.01"),
        ("1.0001", "0.01"),
        ("100", "0.01"),
        ("100000", "0.01"),
    ],
)
def test_reg_nms_tick_at_both_sides_of_the_one_dollar_edge(px, tick):
    # given / when / then
    assert REG_NMS.tick_at(dec(px)) == dec(tick)


@pytest.mark.parametrize(
    ("px", "tick"),
    [("0.5", "0.001"), ("0.999", "0.001"), ("1", "0.01"), ("9.99", "0.01"), ("10", "0.05"), ("10.05", "0.05")],
)
def test_a_three_band_table_switches_tick_exactly_at_each_band_start(px, tick):
    # given
    table = TickTable.from_rows([["0", "0.001"], ["1", "0.01"], ["10", "0.05"]])
    # when / then
    assert table.tick_at(dec(px)) == dec(tick)


def test_single_band_table_has_one_tick_everywhere():
    # given
    table = TickTable.single(dec("0.05"))
    # when / then
    assert table.bands == ((dec("0"), dec("0.05")),)
    assert table.tick_at(dec("0.10")) == dec("0.05")
    assert table.tick_at(dec("5000")) == dec("0.05")


# --- Grid -------------------------------------------------------------------


def test_reg_nms_grid_uses_the_finest_band_as_its_price_unit():
    # given
    grid = Grid(REG_NMS, tick=dec("0.01"), lot=dec("1"))
    # when / then
    assert grid.exponent == -4
    assert grid.px_int(dec("100.00")) == 1_000_000
    assert grid.px_int(dec("100.01")) == 1_000_100
    assert grid.px(1_000_100) == dec("100.01")
    assert grid.units_per_tick(dec("100.00")) == 100


@pytest.mark.parametrize("px", ["0.0001", "0.5001", "0.9999", "1.00", "1.01", "99.99", "100.00", "12345.67"])
def test_grid_price_round_trip_is_exact(px):
    # given
    grid = Grid(REG_NMS, tick=dec("0.0001"), lot=dec("1"))
    # when
    units = grid.px_int(dec(px))
    # then
    assert isinstance(units, int)
    assert grid.px(units) == dec(px)


@pytest.mark.parametrize(("qty", "lots"), [("1", 1), ("300", 300), ("12500", 12500)])
def test_grid_quantity_round_trip_with_a_unit_lot(qty, lots):
    # given
    grid = Grid(REG_NMS, tick=dec("0.01"), lot=dec("1"))
    # when / then
    assert grid.qty_int(dec(qty)) == lots
    assert grid.qty(lots) == dec(qty)


@pytest.mark.parametrize(("qty", "lots"), [("100", 1), ("500", 5), ("25000", 250)])
def test_grid_quantity_round_trip_with_a_round_lot_of_100(qty, lots):
    # given
    grid = Grid(REG_NMS, tick=dec("0.01"), lot=dec("100"))
    # when / then
    assert grid.qty_int(dec(qty)) == lots
    assert grid.qty(lots) == dec(qty)


def test_grid_quantity_round_trip_with_a_fractional_lot():
    # given
    grid = Grid(REG_NMS, tick=dec("0.01"), lot=dec("0.5"))
    # when / then
    assert grid.qty_int(dec("2.5")) == 5
    assert grid.qty(5) == dec("2.5")
    assert grid.on_lot(dec("2.5"))
    assert not grid.on_lot(dec("2.25"))


def test_grid_with_a_single_005_tick_has_exponent_minus_2_and_5_units_per_tick():
    # given
    grid = Grid(TickTable.single(dec("0.05")), tick=dec("0.05"), lot=dec("1"))
    # when / then
    assert grid.exponent == -2
    assert grid.px_int(dec("100.05")) == 10_005
    assert grid.px(10_005) == dec("100.05")
    assert grid.units_per_tick(dec("100.05")) == 5
    assert grid.on_tick(dec("100.05"))
    assert not grid.on_tick(dec("100.03"))


def test_grid_with_a_005_instrument_tick_on_reg_nms_keeps_the_finer_unit_but_the_coarser_tick():
    # given
    grid = Grid(REG_NMS, tick=dec("0.05"), lot=dec("1"))
    # when / then
    assert grid.exponent == -4
    assert grid.tick_at(dec("0.50")) == dec("0.05")  # coarser than the table's 0.0001 below $1
    assert grid.tick_at(dec("100.00")) == dec("0.05")
    assert grid.units_per_tick(dec("100.00")) == 500
    assert grid.px_int(dec("100.05")) == 1_000_500
    assert grid.on_tick(dec("0.55"))
    assert not grid.on_tick(dec("0.5001"))
    assert not grid.on_tick(dec("100.01"))


def test_grid_exponent_ignores_trailing_zeros_of_a_tick():
    # given
    grid = Grid(TickTable.single(dec("0.10")), tick=dec("0.10"), lot=dec("1"))
    # when / then
    assert grid.exponent == -1
    assert grid.px_int(dec("100.1")) == 1001
    assert grid.px(1001) == dec("100.1")


@pytest.mark.parametrize(
    ("px", "valid"),
    [
        ("0.5001", True),  # 0.0001 below $1
        ("0.9999", True),
        ("1.0001", False),  # sub-penny above $1
        ("100.005", False),
        ("100.01", True),
        ("0", False),
        ("-0.01", False),
    ],
)
def test_grid_on_tick_follows_the_table_band_of_the_price(px, valid):
    # given
    grid = Grid(REG_NMS, tick=dec("0.0001"), lot=dec("1"))
    # when / then
    assert grid.on_tick(dec(px)) is valid


@pytest.mark.parametrize(("qty", "valid"), [("100", True), ("1", True), ("0", False), ("-100", False), ("1.5", False)])
def test_grid_on_lot_wants_a_positive_whole_number_of_lots(qty, valid):
    # given
    grid = Grid(REG_NMS, tick=dec("0.01"), lot=dec("1"))
    # when / then
    assert grid.on_lot(dec(qty)) is valid
