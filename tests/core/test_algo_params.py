"""The algo suite's parameters: defaults, every kind of bad value, the checks against the order, the stored form."""

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from ems.core.algos import (
    NS,
    SPECS,
    AlgoParams,
    OrderFacts,
    ParamError,
    Strategy,
    amendable,
    end_ns,
    params_dump,
    params_load,
    params_validate,
    slice_count,
    strategy_parse,
)
from trading.enums import Side

D = Decimal
START = 36_000 * NS  # 10:00, ns since midnight
MINUTE = 60 * NS

# 10,000 on lot 100 over the default 30 minutes of 60 s slices: 333.33 a slice, above the lot.
ORDER = OrderFacts(side=Side.BUY, qty=D(10_000), lot=D(100), tick=D("0.01"), limit_px=D("100.00"), start_ns=START, end_ns=None)

SCHEDULED_DEFAULTS: dict[str, Any] = {
    "duration_minutes": 30,
    "slice_seconds": 60,
    "size_jitter": D("0.10"),
    "time_jitter": D("0.20"),
    "i_would_px": None,
    "complete_by_end": True,
    "schedule_tolerance": D("0.05"),
}


def validate(strategy: Strategy, given: dict[str, Any], order: OrderFacts = ORDER) -> AlgoParams:
    return params_validate(strategy, given, order)


def rejection(strategy: Strategy, given: dict[str, Any], order: OrderFacts = ORDER) -> ParamError:
    with pytest.raises(ParamError) as caught:
        params_validate(strategy, given, order)
    return caught.value


# --- defaults -------------------------------------------------------------------------


def test_twap_defaults() -> None:
    # given nothing from the PM
    # when
    params = validate(Strategy.TWAP, {})
    # then every declared parameter has its default
    assert params.strategy is Strategy.TWAP
    assert dict(params.values) == SCHEDULED_DEFAULTS


def test_vwap_defaults_add_the_participation_cap() -> None:
    # given / when
    params = validate(Strategy.VWAP, {})
    # then
    assert dict(params.values) == {**SCHEDULED_DEFAULTS, "max_participation": D("0.25")}


def test_pov_defaults() -> None:
    # given / when
    params = validate(Strategy.POV, {})
    # then
    assert dict(params.values) == {
        **SCHEDULED_DEFAULTS,
        "target_rate": D("0.10"),
        "min_rate": D("0.05"),
        "max_rate": D("0.20"),
    }


def test_is_defaults_leave_the_risk_aversion_to_the_urgency() -> None:
    # given / when
    params = validate(Strategy.IS, {})
    # then
    assert dict(params.values) == {**SCHEDULED_DEFAULTS, "max_participation": D("0.25"), "risk_aversion": None}


def test_dark_defaults() -> None:
    # given / when
    params = validate(Strategy.DARK, {})
    # then a dark algo has no schedule tolerance or jitter, leaves the minimum fill to the router (blank), and does not
    # take lit liquidity at the end by default
    assert dict(params.values) == {
        "duration_minutes": 30,
        "slice_seconds": 60,
        "i_would_px": None,
        "min_fill_qty": None,
        "complete_by_end": False,
    }


def test_immediate_takes_no_parameters() -> None:
    assert dict(validate(Strategy.IMMEDIATE, {}).values) == {}


def test_rfq_parameters_default_to_a_click_on_a_30_s_anonymous_one_sided_request_to_the_top_dealers() -> None:
    params = validate(Strategy.RFQ, {})
    assert dict(params.values) == {
        "window_seconds": 30,
        "grace_seconds": 0,
        "threshold_px": None,
        "allow_partial": False,
        "two_way": False,
        "anonymous": True,
        "dealers": (),
    }


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"window_seconds": 0}, "window_seconds"),
        ({"window_seconds": 301}, "window_seconds"),
        ({"grace_seconds": 61}, "grace_seconds"),
        ({"dealers": ["DLR-KF", "DLR-KF"]}, "dealers"),
        ({"dealers": [1, 2]}, "dealers"),
        ({"two_way": "maybe"}, "two_way"),
    ],
)
def test_bad_rfq_parameters_name_the_field(given: dict[str, object], field: str) -> None:
    with pytest.raises(ParamError) as caught:
        validate(Strategy.RFQ, given)
    assert caught.value.field == field


def test_rfq_dealers_may_come_as_one_comma_separated_string() -> None:
    assert validate(Strategy.RFQ, {"dealers": "DLR-KF, DLR-NB"})["dealers"] == ("DLR-KF", "DLR-NB")


def test_blank_values_take_the_default() -> None:
    # given a form that sent empty strings and nulls
    # when
    params = validate(Strategy.TWAP, {"slice_seconds": "", "size_jitter": None, "complete_by_end": ""})
    # then
    assert params["slice_seconds"] == 60
    assert params["size_jitter"] == D("0.10")
    assert params["complete_by_end"] is True


def test_whole_numbers_given_as_text_become_ints() -> None:
    # given
    # when
    params = validate(Strategy.TWAP, {"slice_seconds": "90", "duration_minutes": "45.0"})
    # then
    assert params["slice_seconds"] == 90
    assert type(params["slice_seconds"]) is int
    assert params["duration_minutes"] == 45
    assert type(params["duration_minutes"]) is int


# --- bad values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "field", "value", "message"),
    [
        (Strategy.TWAP, "slice_seconds", "abc", "must be a number, was 'abc'"),
        (Strategy.TWAP, "size_jitter", "ten percent", "must be a number, was 'ten percent'"),
        (Strategy.TWAP, "slice_seconds", True, "must be a number, was True"),
        (Strategy.TWAP, "size_jitter", "NaN", "must be a finite number, was 'NaN'"),
        (Strategy.TWAP, "i_would_px", "Infinity", "must be a finite number, was 'Infinity'"),
        (Strategy.TWAP, "slice_seconds", "1.5", "must be a whole number, was '1.5'"),
        (Strategy.TWAP, "duration_minutes", "30.25", "must be a whole number, was '30.25'"),
        (Strategy.TWAP, "slice_seconds", 0, "must be at least 1, was 0"),
        (Strategy.TWAP, "slice_seconds", 3601, "must be at most 3600, was 3601"),
        (Strategy.TWAP, "duration_minutes", 1441, "must be at most 1440, was 1441"),
        (Strategy.TWAP, "size_jitter", "0.6", "must be at most 0.5, was 0.6"),
        (Strategy.TWAP, "time_jitter", "-0.1", "must be at least 0, was -0.1"),
        (Strategy.TWAP, "schedule_tolerance", "0.001", "must be at least 0.01, was 0.001"),
        (Strategy.TWAP, "i_would_px", "0", "must be positive, was 0"),
        (Strategy.VWAP, "max_participation", "1.5", "must be at most 1, was 1.5"),
        (Strategy.POV, "target_rate", "0.001", "must be at least 0.01, was 0.001"),
        (Strategy.IS, "risk_aversion", "-0.000001", "must be at least 0, was -0.000001"),
        (Strategy.IS, "risk_aversion", "0.01", "must be at most 0.001, was 0.01"),
        (Strategy.DARK, "min_fill_qty", "-100", "must be positive, was -100"),
    ],
)
def test_a_bad_value_is_rejected_naming_the_field_and_the_value(
    strategy: Strategy, field: str, value: object, message: str
) -> None:
    # given a value the algo cannot run with
    # when
    error = rejection(strategy, {field: value})
    # then
    assert error.field == field
    assert error.message == message
    assert str(error) == f"{field}: {message}"


def test_an_unknown_parameter_is_rejected_naming_the_allowed_ones() -> None:
    # given a parameter TWAP does not have
    # when
    error = rejection(Strategy.TWAP, {"slices": 10, "slice_seconds": 30})
    # then
    assert error.field == "slices"
    assert error.message == (
        "not a parameter of TWAP (its parameters: duration_minutes, slice_seconds, size_jitter, time_jitter, "
        "i_would_px, complete_by_end, schedule_tolerance)"
    )


def test_an_algo_without_parameters_says_so() -> None:
    # given / when
    error = rejection(Strategy.IMMEDIATE, {"slice_seconds": 60})
    # then
    assert error.field == "slice_seconds"
    assert error.message == "not a parameter of IMMEDIATE (its parameters: none)"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("1", True),
        (1, True),
        (False, False),
        ("false", False),
        ("No", False),
        ("0", False),
        (0, False),
    ],
)
def test_bool_parsing(raw: object, expected: bool) -> None:
    # given / when
    params = validate(Strategy.TWAP, {"complete_by_end": raw})
    # then
    assert params["complete_by_end"] is expected


@pytest.mark.parametrize(("raw", "shown"), [("maybe", "'maybe'"), (2, "2"), ("on", "'on'")])
def test_a_bool_that_is_neither_is_rejected(raw: object, shown: str) -> None:
    # given / when
    error = rejection(Strategy.TWAP, {"complete_by_end": raw})
    # then
    assert error.field == "complete_by_end"
    assert error.message == f"must be true or false, was {shown}"


# --- JSON numbers ----------------------------------------------------------------------


def test_json_floats_parse_as_their_exact_decimal_text() -> None:
    # given a client's JSON body with float literals
    given = json.loads('{"size_jitter": 0.1, "schedule_tolerance": 0.07, "i_would_px": 99.95}')
    # when
    params = validate(Strategy.TWAP, given)
    # then the values are the text's Decimals, not the floats' binary expansions
    assert params["size_jitter"] == D("0.1")
    assert str(params["size_jitter"]) == "0.1"
    assert str(params["schedule_tolerance"]) == "0.07"
    assert str(params["i_would_px"]) == "99.95"


def test_decimal_text_keeps_its_digits() -> None:
    # given / when
    params = validate(Strategy.POV, {"target_rate": "0.10", "max_rate": D("0.30")})
    # then
    assert str(params["target_rate"]) == "0.10"
    assert str(params["max_rate"]) == "0.30"


# --- checks against the order -------------------------------------------------------


def test_pov_target_above_max_rate_is_rejected() -> None:
    # given / when
    error = rejection(Strategy.POV, {"target_rate": "0.30"})
    # then
    assert error.field == "target_rate"
    assert error.message == "must lie between min_rate 0.05 and max_rate 0.20, was 0.30"


def test_pov_target_below_min_rate_is_rejected() -> None:
    # given / when
    error = rejection(Strategy.POV, {"target_rate": "0.04"})
    # then
    assert error.field == "target_rate"
    assert error.message == "must lie between min_rate 0.05 and max_rate 0.20, was 0.04"


def test_pov_rates_may_all_be_equal() -> None:
    # given / when
    params = validate(Strategy.POV, {"min_rate": "0.10", "target_rate": "0.10", "max_rate": "0.10"})
    # then
    assert (params["min_rate"], params["target_rate"], params["max_rate"]) == (D("0.10"), D("0.10"), D("0.10"))


def test_i_would_off_the_tick_is_rejected() -> None:
    # given / when
    error = rejection(Strategy.TWAP, {"i_would_px": "99.995"})
    # then
    assert error.field == "i_would_px"
    assert error.message == "99.995 is not on the tick 0.01"


def test_i_would_above_a_buy_limit_is_rejected() -> None:
    # given a buy limited at 100.00
    # when
    error = rejection(Strategy.TWAP, {"i_would_px": "100.01"})
    # then
    assert error.field == "i_would_px"
    assert error.message == "100.01 is past the limit 100.00: it must be at or better than the limit"


def test_i_would_below_a_sell_limit_is_rejected() -> None:
    # given a sell limited at 100.00
    sell = replace(ORDER, side=Side.SELL)
    # when
    error = rejection(Strategy.DARK, {"i_would_px": "99.99"}, sell)
    # then
    assert error.field == "i_would_px"
    assert error.message == "99.99 is past the limit 100.00: it must be at or better than the limit"


@pytest.mark.parametrize(
    ("side", "i_would"),
    [(Side.BUY, "100.00"), (Side.BUY, "99.50"), (Side.SELL, "100.00"), (Side.SELL, "100.50")],
)
def test_i_would_at_or_better_than_the_limit_is_accepted(side: Side, i_would: str) -> None:
    # given / when
    params = validate(Strategy.TWAP, {"i_would_px": i_would}, replace(ORDER, side=side))
    # then
    assert params["i_would_px"] == D(i_would)


def test_i_would_on_a_market_order_needs_only_the_tick() -> None:
    # given a market order (no limit)
    # when
    params = validate(Strategy.TWAP, {"i_would_px": "250.00"}, replace(ORDER, limit_px=None))
    # then
    assert params["i_would_px"] == D("250.00")


def test_min_fill_qty_off_the_lot_is_rejected() -> None:
    # given / when
    error = rejection(Strategy.DARK, {"min_fill_qty": 250})
    # then
    assert error.field == "min_fill_qty"
    assert error.message == "250 is not a multiple of the lot 100"


def test_min_fill_qty_on_the_lot_is_accepted() -> None:
    # given / when
    params = validate(Strategy.DARK, {"min_fill_qty": 300})
    # then
    assert params["min_fill_qty"] == D(300)


def test_dark_default_min_fill_qty_is_blank_on_any_lot() -> None:
    # given an instrument traded in lots of 500, and no min_fill_qty from the PM
    order = replace(ORDER, lot=D(500))
    # when
    params = validate(Strategy.DARK, {}, order)
    # then the default is blank (the router's dark minimum), not a size the lot may not divide
    assert params["min_fill_qty"] is None


@pytest.mark.parametrize("end", [START, START - MINUTE])
def test_an_end_not_after_the_start_is_rejected(end: int) -> None:
    # given / when
    error = rejection(Strategy.TWAP, {}, replace(ORDER, end_ns=end))
    # then
    assert error.field == "end_at"
    assert error.message == "must be after the start"


@pytest.mark.parametrize("end", [START, START - MINUTE])
def test_a_dark_end_not_after_the_start_is_rejected(end: int) -> None:
    # given / when
    error = rejection(Strategy.DARK, {}, replace(ORDER, end_ns=end))
    # then
    assert error.field == "end_at"
    assert error.message == "must be after the start"


def test_an_end_before_the_start_is_rejected_before_the_slice_checks() -> None:
    # given a TWAP ending before it starts, with slices that would not fit either
    order = replace(ORDER, end_ns=START - MINUTE)
    # when
    error = rejection(Strategy.TWAP, {"slice_seconds": 3600}, order)
    # then the window is named, not the slice
    assert error.field == "end_at"
    assert error.message == "must be after the start"


def test_a_slice_longer_than_the_window_is_rejected() -> None:
    # given a 30 s window
    order = replace(ORDER, end_ns=START + 30 * NS)
    # when
    error = rejection(Strategy.TWAP, {"slice_seconds": 60}, order)
    # then
    assert error.field == "slice_seconds"
    assert error.message == "60 s is longer than the window of 30 s"


@pytest.mark.parametrize("strategy", [Strategy.TWAP, Strategy.VWAP, Strategy.IS])
def test_slices_below_a_lot_are_rejected_up_front(strategy: Strategy) -> None:
    # given 1,000 on lot 100 over 20 one-minute slices: 50 a slice
    order = replace(ORDER, qty=D(1000), end_ns=START + 20 * MINUTE)
    # when
    error = rejection(strategy, {}, order)
    # then
    assert error.field == "slice_seconds"
    assert error.message == (
        "1000 over 20 slices is 50 a slice, below the lot 100: use at most 10 slices (a longer slice_seconds or a shorter window)"
    )


@pytest.mark.parametrize(("minutes", "shown"), [(15, "66.67"), (16, "62.5"), (40, "25")])
def test_slices_below_a_lot_show_the_slice_to_two_places_without_trailing_zeros(minutes: int, shown: str) -> None:
    # given 1,000 on lot 100 over 15, 16 or 40 one-minute slices: 66.666..., 62.5 and 25 a slice
    order = replace(ORDER, qty=D(1000), end_ns=START + minutes * MINUTE)
    # when
    error = rejection(Strategy.TWAP, {}, order)
    # then
    assert error.field == "slice_seconds"
    assert error.message == (
        f"1000 over {minutes} slices is {shown} a slice, below the lot 100: use at most 10 slices "
        "(a longer slice_seconds or a shorter window)"
    )


def test_slices_of_exactly_one_lot_are_accepted() -> None:
    # given 1,000 on lot 100 over 10 one-minute slices
    order = replace(ORDER, qty=D(1000), end_ns=START + 10 * MINUTE)
    # when
    params = validate(Strategy.TWAP, {}, order)
    # then
    assert slice_count(params, start_ns=START, end_ns=START + 10 * MINUTE) == 10


def test_pov_is_not_held_to_a_lot_per_slice() -> None:
    # given 1,000 on lot 100 over 20 slices: POV follows the market, not equal slices
    order = replace(ORDER, qty=D(1000), end_ns=START + 20 * MINUTE)
    # when
    params = validate(Strategy.POV, {}, order)
    # then
    assert params.strategy is Strategy.POV


# --- stored form ---------------------------------------------------------------------


def test_params_dump_stores_decimals_as_text() -> None:
    # given
    params = validate(Strategy.TWAP, {"i_would_px": "99.50", "size_jitter": 0.1})
    # when
    stored = params_dump(params)
    # then
    assert stored == {
        "duration_minutes": 30,
        "slice_seconds": 60,
        "size_jitter": "0.1",
        "time_jitter": "0.20",
        "i_would_px": "99.50",
        "complete_by_end": True,
        "schedule_tolerance": "0.05",
    }


@pytest.mark.parametrize(
    ("strategy", "given"),
    [
        (Strategy.TWAP, {"slice_seconds": 30, "size_jitter": "0.05", "i_would_px": "99.90", "complete_by_end": False}),
        (Strategy.VWAP, {"max_participation": "0.15", "schedule_tolerance": 0.1}),
        (Strategy.POV, {"target_rate": "0.12", "min_rate": "0.1", "max_rate": "0.3"}),
        (Strategy.IS, {"risk_aversion": "0.000002"}),
        (Strategy.DARK, {"min_fill_qty": 500, "i_would_px": "99.00"}),
        (Strategy.IMMEDIATE, {}),
    ],
)
def test_dump_then_load_through_json_gives_the_same_params(strategy: Strategy, given: dict[str, Any]) -> None:
    # given checked params
    params = validate(strategy, given)
    # when stored as JSON and read back
    loaded = params_load(strategy, json.loads(json.dumps(params_dump(params))))
    # then
    assert loaded == params
    assert {k: str(v) for k, v in loaded.values.items()} == {k: str(v) for k, v in params.values.items()}


def test_load_fills_parameters_added_since_with_their_defaults() -> None:
    # given what an older version stored for a VWAP
    stored = {"slice_seconds": 30}
    # when
    params = params_load(Strategy.VWAP, stored)
    # then
    assert params["slice_seconds"] == 30
    assert params["max_participation"] == D("0.25")
    assert params["schedule_tolerance"] == D("0.05")


# --- helpers: amendable, end, slices, strategy names ---------------------------------


def test_amendable_excludes_the_duration() -> None:
    # given / when / then
    assert amendable(Strategy.TWAP) == (
        "slice_seconds",
        "size_jitter",
        "time_jitter",
        "i_would_px",
        "complete_by_end",
        "schedule_tolerance",
    )
    assert "duration_minutes" not in amendable(Strategy.DARK)
    assert amendable(Strategy.IMMEDIATE) == ()


def test_every_spec_of_a_strategy_has_a_distinct_name() -> None:
    # given / when / then
    for strategy, specs in SPECS.items():
        names = [spec.name for spec in specs]
        assert len(names) == len(set(names)), strategy


def test_end_is_the_orders_end_when_it_has_one() -> None:
    # given
    order = replace(ORDER, end_ns=START + 45 * MINUTE)
    params = validate(Strategy.TWAP, {}, order)
    # when / then
    assert end_ns(params, order) == START + 45 * MINUTE


def test_end_is_start_plus_duration_without_an_end() -> None:
    # given
    params = validate(Strategy.TWAP, {"duration_minutes": 90})
    # when / then
    assert end_ns(params, ORDER) == START + 90 * MINUTE


def test_immediate_has_no_end() -> None:
    # given / when / then
    assert end_ns(validate(Strategy.IMMEDIATE, {}), ORDER) is None


@pytest.mark.parametrize(
    ("window_s", "slices"),
    [(600, 10), (630, 11), (601, 11), (60, 1), (59, 1), (0, 1)],
)
def test_slice_count_rounds_up_and_is_at_least_one(window_s: int, slices: int) -> None:
    # given one-minute slices
    params = validate(Strategy.TWAP, {})
    # when / then
    assert slice_count(params, start_ns=START, end_ns=START + window_s * NS) == slices


@pytest.mark.parametrize(("text", "strategy"), [("twap", Strategy.TWAP), ("Vwap", Strategy.VWAP), ("IS", Strategy.IS)])
def test_strategy_parse_ignores_case(text: str, strategy: Strategy) -> None:
    # given / when / then
    assert strategy_parse(text) is strategy


def test_strategy_parse_names_the_known_strategies() -> None:
    # given / when
    with pytest.raises(ParamError) as caught:
        strategy_parse("iceberg")
    # then
    assert caught.value.field == "strategy"
    assert caught.value.message == "unknown strategy 'iceberg'; one of IMMEDIATE, TWAP, VWAP, POV, IS, DARK, RFQ"


def test_scheduled_strategies() -> None:
    # given / when / then
    assert [s for s in Strategy if s.scheduled] == [Strategy.TWAP, Strategy.VWAP, Strategy.POV, Strategy.IS]
