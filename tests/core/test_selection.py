"""The strategy selection matrix: each default rule, their order, the PM's choice, the default duration, volatility."""

from decimal import Decimal

import pytest

from ems.core.algos import NS, OrderFacts, Strategy, params_validate
from ems.core.selection import (
    DEFAULT_RULES,
    OrderProfile,
    Rule,
    duration_minutes_for,
    strategy_select,
    volatility_regime,
)
from trading.enums import AssetClass, Side, Urgency

D = Decimal


def select(profile: OrderProfile) -> tuple[Strategy, str]:
    selection = strategy_select(profile, DEFAULT_RULES)
    return selection.strategy, selection.rule


# --- one test per default rule -----------------------------------------------------------


def test_an_option_goes_to_rfq() -> None:
    # given / when / then
    assert select(OrderProfile(Urgency.HIGH, asset_class=AssetClass.OPTION, adv_share=D("0.001"))) == (Strategy.RFQ, "options")


def test_a_multi_leg_package_goes_to_rfq() -> None:
    # given / when / then
    assert select(OrderProfile(Urgency.LOW, multi_leg=True, adv_share=D("0.02"))) == (Strategy.RFQ, "multi-leg")


def test_small_and_urgent_goes_immediate() -> None:
    # given / when / then
    assert select(OrderProfile(Urgency.HIGH, adv_share=D("0.0099"))) == (Strategy.IMMEDIATE, "small-urgent")


def test_urgent_and_large_goes_is() -> None:
    # given 1 % of ADV exactly: the small-urgent bound is exclusive
    # when / then
    assert select(OrderProfile(Urgency.HIGH, adv_share=D("0.01"))) == (Strategy.IS, "urgent")


def test_a_volatile_market_goes_is() -> None:
    # given / when / then
    assert select(OrderProfile(Urgency.MEDIUM, adv_share=D("0.005"), volatility_regime="VOLATILE")) == (Strategy.IS, "volatile")


def test_a_patient_order_follows_the_volume_even_in_a_volatile_market() -> None:
    # given a LOW urgency order of 5 % of ADV in a volatile market (the bench measured VWAP cheaper than IS there)
    # when / then
    assert select(OrderProfile(Urgency.LOW, adv_share=D("0.05"), volatility_regime="VOLATILE")) == (Strategy.VWAP, "patient-large")


def test_small_goes_immediate() -> None:
    # given / when / then
    assert select(OrderProfile(Urgency.LOW, adv_share=D("0.0049"), spread_bps=D(50))) == (Strategy.IMMEDIATE, "small")


def test_wide_spread_and_patient_goes_dark() -> None:
    # given / when / then
    assert select(OrderProfile(Urgency.LOW, adv_share=D("0.005"), spread_bps=D(20))) == (Strategy.DARK, "wide-spread")


def test_patient_and_large_goes_vwap() -> None:
    # given a spread just under 20 bps
    # when / then
    assert select(OrderProfile(Urgency.LOW, adv_share=D("0.10"), spread_bps=D("19.9"))) == (Strategy.VWAP, "patient-large")


def test_large_goes_pov() -> None:
    # given / when / then
    assert select(OrderProfile(Urgency.MEDIUM, adv_share=D("0.05"))) == (Strategy.POV, "large")


def test_mid_sized_goes_vwap() -> None:
    # given / when / then
    assert select(OrderProfile(Urgency.MEDIUM, adv_share=D("0.0499"))) == (Strategy.VWAP, "medium")


def test_nothing_known_goes_to_the_default() -> None:
    # given / when / then
    assert select(OrderProfile(Urgency.MEDIUM)) == (Strategy.IMMEDIATE, "default")


def test_a_block_of_half_a_days_volume_goes_to_rfq_whatever_the_urgency() -> None:
    for urgency in Urgency:
        assert select(OrderProfile(urgency, adv_share=D("0.5"))) == (Strategy.RFQ, "block")
    assert select(OrderProfile(Urgency.HIGH, adv_share=D("0.4999"))) == (Strategy.IS, "urgent")


def test_every_default_rule_is_reachable() -> None:
    # given a profile for each rule
    profiles = [
        OrderProfile(Urgency.MEDIUM, asset_class=AssetClass.OPTION),
        OrderProfile(Urgency.MEDIUM, multi_leg=True),
        OrderProfile(Urgency.LOW, adv_share=D("0.5")),
        OrderProfile(Urgency.HIGH, adv_share=D("0.001")),
        OrderProfile(Urgency.HIGH, adv_share=D("0.02")),
        OrderProfile(Urgency.MEDIUM, adv_share=D("0.02"), volatility_regime="VOLATILE"),
        OrderProfile(Urgency.MEDIUM, adv_share=D("0.001")),
        OrderProfile(Urgency.LOW, adv_share=D("0.02"), spread_bps=D(30)),
        OrderProfile(Urgency.LOW, adv_share=D("0.02")),
        OrderProfile(Urgency.MEDIUM, adv_share=D("0.08")),
        OrderProfile(Urgency.MEDIUM, adv_share=D("0.02")),
        OrderProfile(Urgency.LOW),
    ]
    # when
    rules = [select(p)[1] for p in profiles]
    # then
    assert rules == [rule.name for rule in DEFAULT_RULES]


# --- order, unknowns, the PM's choice ---------------------------------------------------------


def test_rules_apply_by_priority_whatever_their_order_in_the_table() -> None:
    # given a large order of medium urgency in a volatile market (both "volatile" and "large" match), the table reversed
    profile = OrderProfile(Urgency.MEDIUM, adv_share=D("0.08"), volatility_regime="VOLATILE")
    # when
    selection = strategy_select(profile, reversed(DEFAULT_RULES))
    # then the lower priority number wins
    assert selection.rule == "volatile"


def test_an_option_is_rfq_even_when_small_and_urgent() -> None:
    # given / when / then
    assert select(OrderProfile(Urgency.HIGH, asset_class=AssetClass.OPTION, adv_share=D("0.0001")))[1] == "options"


def test_equal_priorities_go_by_name() -> None:
    # given two catch-alls of the same priority
    rules = [Rule("zeta", 5, Strategy.TWAP, "z"), Rule("alpha", 5, Strategy.VWAP, "a")]
    # when
    selection = strategy_select(OrderProfile(Urgency.MEDIUM), rules)
    # then
    assert (selection.strategy, selection.rule) == (Strategy.VWAP, "alpha")


@pytest.mark.parametrize("urgency", list(Urgency))
def test_unknown_adv_never_matches_a_size_rule(urgency: Urgency) -> None:
    # given no ADV, a volatile market and a wide spread
    profile = OrderProfile(urgency, volatility_regime="VOLATILE", spread_bps=D(50))
    # when / then only the catch-all matches
    assert select(profile) == (Strategy.IMMEDIATE, "default")


def test_rule_conditions_with_unknown_facts_do_not_match() -> None:
    # given rules on spread and depth, and a profile that knows neither
    rules = [
        Rule("spread", 1, Strategy.DARK, "s", max_spread_bps=D(10)),
        Rule("depth", 2, Strategy.VWAP, "d", min_depth_multiple=D(3)),
        Rule("rest", 3, Strategy.TWAP, "r"),
    ]
    # when / then
    assert strategy_select(OrderProfile(Urgency.LOW), rules).rule == "rest"
    assert strategy_select(OrderProfile(Urgency.LOW, depth_multiple=D(3)), rules).rule == "depth"
    assert strategy_select(OrderProfile(Urgency.LOW, spread_bps=D("9.9")), rules).rule == "spread"


def test_the_pms_explicit_choice_wins() -> None:
    # given an option (the matrix says RFQ) with TWAP chosen by the PM
    profile = OrderProfile(
        Urgency.MEDIUM,
        asset_class=AssetClass.OPTION,
        adv_share=D("0.015"),
        explicit=Strategy.TWAP,
        explicit_params={"slice_seconds": 30},
    )
    # when
    selection = strategy_select(profile, DEFAULT_RULES)
    # then its parameters are kept and a duration added from the size
    assert selection.strategy is Strategy.TWAP
    assert selection.rule == "explicit"
    assert selection.params == {"slice_seconds": 30, "duration_minutes": 39}
    assert selection.rationale == "TWAP chosen by the PM (urgency medium, option, 1.50% of ADV)"


def test_the_pms_duration_is_kept() -> None:
    # given
    profile = OrderProfile(Urgency.MEDIUM, adv_share=D("0.015"), explicit=Strategy.VWAP, explicit_params={"duration_minutes": 120})
    # when / then
    assert strategy_select(profile, DEFAULT_RULES).params == {"duration_minutes": 120}


def test_an_explicit_immediate_gets_no_duration() -> None:
    # given / when
    selection = strategy_select(OrderProfile(Urgency.LOW, adv_share=D("0.02"), explicit=Strategy.IMMEDIATE), DEFAULT_RULES)
    # then
    assert selection.params == {}


def test_no_rule_matching_raises() -> None:
    # given a table without a catch-all
    rules = [rule for rule in DEFAULT_RULES if rule.name != "default"]
    # when / then
    with pytest.raises(LookupError) as caught:
        strategy_select(OrderProfile(Urgency.MEDIUM), rules)
    assert str(caught.value) == "no selection rule matches (urgency medium, ADV unknown): add a catch-all rule"


# --- rationale and default duration -----------------------------------------------------------


def test_the_rationale_states_the_rule_the_facts_and_the_duration() -> None:
    # given
    profile = OrderProfile(
        Urgency.MEDIUM, adv_share=D("0.02"), volatility_regime="NORMAL", spread_bps=D("4.25"), depth_multiple=D("1.5")
    )
    # when
    selection = strategy_select(profile, DEFAULT_RULES)
    # then
    assert selection.rule == "medium"
    assert selection.params == {"duration_minutes": 52}
    assert selection.rationale == (
        "VWAP: mid-sized: follow the volume profile (urgency medium, 2.00% of ADV, volatility normal, spread 4.2 bps, "
        "1.5x the depth at the touch); over 52 min to stay near 15% of the volume"
    )


def test_the_rationale_of_an_unscheduled_strategy_has_no_duration() -> None:
    # given / when
    selection = strategy_select(OrderProfile(Urgency.HIGH, multi_leg=True), DEFAULT_RULES)
    # then
    assert selection.rationale == "RFQ: a multi-leg package: dealers price it as one (urgency high, multi-leg, ADV unknown)"
    assert selection.params == {}


def test_dark_gets_a_default_duration() -> None:
    # given 3 % of ADV, patient: 0.03 / 0.08 x 390 = 146.25 minutes
    # when
    selection = strategy_select(OrderProfile(Urgency.LOW, adv_share=D("0.03"), spread_bps=D(25)), DEFAULT_RULES)
    # then
    assert selection.strategy is Strategy.DARK
    assert selection.params == {"duration_minutes": 147}
    assert selection.rationale.endswith("; over 147 min to stay near 8% of the volume")


def test_a_dark_selection_validates_on_a_lot_that_does_not_divide_the_routers_minimum() -> None:
    # given the wide-spread rule's DARK for an instrument traded in lots of 500
    selection = strategy_select(OrderProfile(Urgency.LOW, adv_share=D("0.03"), spread_bps=D(25)), DEFAULT_RULES)
    order = OrderFacts(Side.BUY, D(50_000), D(500), D("0.01"), D("100.00"), start_ns=36_000 * NS, end_ns=None)
    # when
    params = params_validate(selection.strategy, selection.params, order)
    # then the selected duration, and the minimum fill left blank to the router
    assert dict(params.values) == {
        "duration_minutes": 147,
        "slice_seconds": 60,
        "i_would_px": None,
        "min_fill_qty": None,
        "complete_by_end": False,
    }


def test_a_rules_own_duration_is_kept() -> None:
    # given a rule that fixes the duration
    rules = [Rule("fixed", 1, Strategy.TWAP, "fixed", params={"duration_minutes": 90})]
    # when
    selection = strategy_select(OrderProfile(Urgency.LOW, adv_share=D("0.5")), rules)
    # then
    assert selection.params == {"duration_minutes": 90}
    assert selection.rationale == "TWAP: fixed (urgency low, 50.00% of ADV)"


def test_the_selection_does_not_change_the_rules_params() -> None:
    # given
    rule = Rule("r", 1, Strategy.TWAP, "r", params={"slice_seconds": 30})
    # when
    strategy_select(OrderProfile(Urgency.LOW, adv_share=D("0.01")), [rule])
    # then
    assert dict(rule.params) == {"slice_seconds": 30}


@pytest.mark.parametrize(
    ("adv_share", "urgency", "minutes"),
    [
        (D("0.015"), Urgency.MEDIUM, 39),  # 0.1 x 390
        (D("0.025"), Urgency.MEDIUM, 65),  # 1/6 x 390, exactly 65
        (D("0.02"), Urgency.MEDIUM, 52),  # 2/15 x 390 = 52
        (D("0.03"), Urgency.LOW, 147),  # 146.25, rounded up
        (D("0.06"), Urgency.HIGH, 78),  # 0.2 x 390
        (D("0.01"), Urgency.LOW, 49),  # 48.75, rounded up
    ],
)
def test_duration_keeps_near_the_urgencys_participation(adv_share: Decimal, urgency: Urgency, minutes: int) -> None:
    # given / when / then
    assert duration_minutes_for(adv_share, urgency) == minutes


@pytest.mark.parametrize(
    ("adv_share", "urgency", "minutes"),
    [
        (D("0.0001"), Urgency.HIGH, 5),  # 0.13 minutes: at least 5
        (D(0), Urgency.LOW, 5),
        (D("0.0015"), Urgency.HIGH, 5),  # 1.95
        (D("0.5"), Urgency.LOW, 390),  # 2,437.5 minutes: at most the session
        (D("0.15"), Urgency.MEDIUM, 390),  # exactly the session
    ],
)
def test_duration_is_clamped_to_five_minutes_and_the_session(adv_share: Decimal, urgency: Urgency, minutes: int) -> None:
    # given / when / then
    assert duration_minutes_for(adv_share, urgency) == minutes


# --- volatility regime ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annual", "regime"),
    [
        (None, None),
        (D("0.10"), "CALM"),
        (D("0.1499"), "CALM"),
        (D("0.15"), "NORMAL"),
        (D("0.3999"), "NORMAL"),
        (D("0.40"), "VOLATILE"),
        (D("0.80"), "VOLATILE"),
    ],
)
def test_volatility_regime_thresholds(annual: Decimal | None, regime: str | None) -> None:
    # given / when / then
    assert volatility_regime(annual) == regime


@pytest.mark.parametrize("annual", [None, D("0.10"), D("0.20")])
def test_a_live_spike_of_twice_the_expected_volatility_is_volatile(annual: Decimal | None) -> None:
    # given / when / then
    assert volatility_regime(annual, spike_ratio=2.0) == "VOLATILE"


def test_a_ratio_below_the_spike_keeps_the_annual_regime() -> None:
    # given / when / then
    assert volatility_regime(D("0.10"), spike_ratio=1.99) == "CALM"
    assert volatility_regime(None, spike_ratio=1.99) is None
