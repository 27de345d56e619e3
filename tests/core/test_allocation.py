"""Allocation of a block order's fills to accounts: whole lots, largest remainder, nothing taken back, fees to the unit."""

import itertools
import math
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from oms.core.allocation import AllocationTarget, allocate_fill, allocation_check, split_fee
from trading.numbers import vwap

D = Decimal
LOT = D("100")
UNIT = Fraction(1, 10_000)  # one unit of money


def targets(*weights: str, accounts: str = "ABCDEFGH") -> list[AllocationTarget]:
    return [AllocationTarget(account, D(weight)) for account, weight in zip(accounts, weights, strict=False)]


def fill_all(
    allocation: Sequence[AllocationTarget], fills: Sequence[str | Decimal], lot: Decimal = LOT
) -> tuple[list[dict[str, Decimal]], dict[str, Decimal]]:
    """Allocate the fills one after the other; return each split and what each account holds at the end."""
    held: dict[str, Decimal] = {}
    splits = []
    for fill_qty in fills:
        split = allocate_fill(allocation, allocated=held, fill_qty=D(fill_qty), lot=lot)
        splits.append(split)
        held = {account: held.get(account, D(0)) + share for account, share in split.items()}
    return splits, held


def amounts(**by_account: str) -> dict[str, Decimal]:
    return {account: D(value) for account, value in by_account.items()}


def ideal_lots(allocation: Sequence[AllocationTarget], filled_lots: int) -> list[Fraction]:
    total = sum(Fraction(target.weight) for target in allocation)
    return [filled_lots * Fraction(target.weight) / total for target in allocation]


def fresh_largest_remainder(allocation: Sequence[AllocationTarget], filled_lots: int) -> list[int]:
    """The textbook method, written apart from the module: floors, then the largest remainders, first listed on ties."""
    ideals = ideal_lots(allocation, filled_lots)
    lots = [math.floor(ideal) for ideal in ideals]
    by_remainder = sorted(range(len(ideals)), key=lambda index: (-(ideals[index] - lots[index]), index))
    for index in by_remainder[: filled_lots - sum(lots)]:
        lots[index] += 1
    return lots


# --- allocate_fill: examples -------------------------------------------------------------


def test_thirds_one_lot_goes_to_the_first_listed_and_the_others_are_included_at_zero() -> None:
    # given three accounts a third each
    allocation = targets("1", "1", "1")
    # when
    split = allocate_fill(allocation, allocated={}, fill_qty=D("100"), lot=LOT)
    # then
    assert split == amounts(A="100", B="0", C="0")
    assert list(split) == ["A", "B", "C"]


def test_thirds_odd_fills_rebalance_so_the_cumulative_stays_closest_to_ideal() -> None:
    # given three accounts a third each, filled 500, 200, 100 and 100
    allocation = targets("1", "1", "1")
    # when
    splits, held = fill_all(allocation, ["500", "200", "100", "100"])
    # then 500: ideal 166.67 each, the two leftover lots tie and go to A and B
    assert splits[0] == amounts(A="200", B="200", C="100")
    # 700: fresh 300/200/200 (A first on the tie), so A and C get a lot each
    assert splits[1] == amounts(A="100", B="0", C="100")
    # 800: fresh 300/300/200
    assert splits[2] == amounts(A="0", B="100", C="0")
    # 900: a third each, exactly
    assert splits[3] == amounts(A="0", B="0", C="100")
    assert held == amounts(A="300", B="300", C="300")


def test_one_lot_fills_rotate_among_equal_accounts() -> None:
    # given three accounts a third each and six fills of one lot
    allocation = targets("1", "1", "1")
    # when
    splits, held = fill_all(allocation, ["100"] * 6)
    # then each lot goes to the account furthest below its ideal, first listed on ties
    winners = [next(account for account, share in split.items() if share) for split in splits]
    assert winners == ["A", "B", "C", "A", "B", "C"]
    assert held == amounts(A="200", B="200", C="200")


def test_one_lot_fills_follow_the_largest_remainder_with_unequal_weights() -> None:
    # given 3:1 and four fills of one lot
    allocation = targets("3", "1")
    # when
    splits, held = fill_all(allocation, ["1"] * 4, lot=D("1"))
    # then ideals 0.75/0.25 -> A; 1.5/0.5 tie on the remainder -> A (first listed); 2.25/0.75 -> B; 3/1 -> A
    assert [split["A"] for split in splits] == [D(1), D(1), D(0), D(1)]
    assert [split["B"] for split in splits] == [D(0), D(0), D(1), D(0)]
    assert held == amounts(A="3", B="1")


def test_ratio_weights_split_by_the_largest_remainder() -> None:
    # given ratios of one half, three tenths and one fifth
    allocation = targets("0.5", "0.3", "0.2")
    # when 7 lots of 1: ideals 3.5, 2.1, 1.4
    split = allocate_fill(allocation, allocated={}, fill_qty=D("7"), lot=D("1"))
    # then
    assert split == amounts(A="4", B="2", C="1")


def test_qty_targets_end_exactly_at_their_targets_after_many_small_fills() -> None:
    # given an order of 10,000 for targets of 3,300, 2,500 and 4,200, filled in 20 uneven pieces
    allocation = targets("3300", "2500", "4200")
    fills = ["300", "100", "700", "200", "100", "500", "100", "900", "400", "300"]
    fills += ["100", "200", "1200", "600", "100", "800", "300", "1000", "500", "1600"]
    assert sum(D(fill) for fill in fills) == D("10000")
    # when
    splits, held = fill_all(allocation, fills)
    # then
    assert [sum(split.values()) for split in splits] == [D(fill) for fill in fills]
    assert held == amounts(A="3300", B="2500", C="4200")


def test_an_account_above_its_fresh_allocation_is_held_back_and_another_can_end_more_than_a_lot_short() -> None:
    # given targets 1400, 1400, 100, 100, 100 (order 3100), filled 1900: ideals 858.06 and 61.29
    allocation = targets("1400", "1400", "100", "100", "100")
    splits, held = fill_all(allocation, ["1900"])
    assert splits[0] == amounts(A="800", B="800", C="100", D="100", E="100")
    # when 100 more: ideals 903.23 and 64.52; afresh, E would drop to 0
    assert fresh_largest_remainder(allocation, 20) == [9, 9, 1, 1, 0]
    split = allocate_fill(allocation, allocated=held, fill_qty=D("100"), lot=LOT)
    # then nothing is taken back: the lot goes to the account furthest below its ideal, A on the tie
    assert split == amounts(A="100", B="0", C="0", D="0", E="0")
    # and B is more than a lot short; no split that takes nothing back does better (A or B gets the lot)
    ideal_b = Fraction(2000 * 1400, 3100)
    assert ideal_b - 800 == Fraction(3200, 31)  # 103.23
    assert ideal_b - 800 > Fraction(LOT)


def test_a_held_back_shortfall_is_made_good_and_the_full_fill_ends_at_the_targets() -> None:
    # given the fills above, 1900 then 100
    allocation = targets("1400", "1400", "100", "100", "100")
    _, held = fill_all(allocation, ["1900", "100"])
    # when the rest of the order fills
    split = allocate_fill(allocation, allocated=held, fill_qty=D("1100"), lot=LOT)
    # then
    assert split == amounts(A="500", B="600", C="0", D="0", E="0")


def test_a_single_account_gets_the_whole_fill() -> None:
    # given
    allocation = targets("5000")
    # when
    split = allocate_fill(allocation, allocated={"A": D("300")}, fill_qty=D("700"), lot=LOT)
    # then
    assert split == amounts(A="700")


def test_a_fill_of_zero_gives_every_account_zero() -> None:
    # given
    allocation = targets("1", "2")
    # when
    split = allocate_fill(allocation, allocated={"A": D("100")}, fill_qty=D("0"), lot=LOT)
    # then
    assert split == amounts(A="0", B="0")


def test_a_huge_fill_is_split_exactly_without_going_lot_by_lot() -> None:
    # given a fill of 10**15 lots
    allocation = targets("1", "1", "1")
    # when
    split = allocate_fill(allocation, allocated={}, fill_qty=D(10**15), lot=D("1"))
    # then
    assert split == amounts(A="333333333333334", B="333333333333333", C="333333333333333")


def test_every_account_is_booked_at_the_fill_price_for_its_share() -> None:
    # given a third each, 500 filled at 10.00 then 400 at 10.30
    allocation = targets("1", "1", "1")
    splits, _ = fill_all(allocation, ["500", "400"])
    prices = [D("10.00"), D("10.30")]
    # when each account's average price follows from its shares at each fill's price
    avg_px = {account: vwap((split[account], px) for split, px in zip(splits, prices, strict=True)) for account in "ABC"}
    # then A and B got 200 then 100, C 100 then 200
    assert [split["C"] for split in splits] == [D("100"), D("200")]
    assert avg_px == amounts(A="10.1", B="10.1", C="10.2")


@pytest.mark.parametrize(
    ("allocation", "allocated", "fill_qty", "lot", "message"),
    [
        (targets("1", "1"), {}, "150", "100", "invalid `fill_qty`, was 150: must be a multiple of the lot size 100"),
        (targets("1", "1"), {}, "-100", "100", "invalid `fill_qty`, was -100: must be 0 or more"),
        ([], {}, "100", "100", "invalid `allocations`, was empty: must name at least 1 account"),
        (targets("1", "0"), {}, "100", "100", "invalid `allocations[1].weight`, was 0: must be greater than 0"),
        (targets("1", "1", accounts="AA"), {}, "100", "100", "invalid `allocations[1].account`, was 'A': already given"),
        (
            targets("1", "1"),
            {"Z": D("100")},
            "100",
            "100",
            "invalid `allocated['Z']`, was 100: not one of the allocation's accounts",
        ),
        (targets("1", "1"), {"A": D("-100")}, "100", "100", "invalid `allocated['A']`, was -100: must be 0 or more"),
        (targets("1", "1"), {"B": D("50")}, "100", "100", "invalid `allocated['B']`, was 50: must be 0 or more and a multiple"),
        (targets("1", "1"), {}, "100", "0", "invalid `lot`, was 0: must be greater than 0"),
    ],
)
def test_allocate_fill_rejects_an_invalid_call(
    allocation: list[AllocationTarget], allocated: dict[str, Decimal], fill_qty: str, lot: str, message: str
) -> None:
    # given / when / then
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        allocate_fill(allocation, allocated=allocated, fill_qty=D(fill_qty), lot=D(lot))


# --- split_fee -----------------------------------------------------------------------------


def test_fee_split_equal_shares_leftover_unit_to_the_first_listed() -> None:
    # given / when
    parts = split_fee(amounts(A="100", B="100", C="100"), fee=D("10.00"))
    # then
    assert parts == amounts(A="3.3334", B="3.3333", C="3.3333")
    assert sum(parts.values()) == D("10.00")
    assert [str(part) for part in parts.values()] == ["3.3334", "3.3333", "3.3333"]


def test_fee_split_leftover_goes_to_the_largest_remainder_and_a_zero_share_pays_nothing() -> None:
    # given shares 300 and 200 and 0, a fee of 1.0001: exact parts 0.60006 and 0.40004
    shares = amounts(A="300", B="200", C="0")
    # when
    parts = split_fee(shares, fee=D("1.0001"))
    # then
    assert parts == amounts(A="0.6001", B="0.4000", C="0")


def test_fee_split_tie_goes_to_the_first_listed() -> None:
    # given / when
    parts = split_fee(amounts(B="100", A="100"), fee=D("0.0001"))
    # then
    assert parts == amounts(B="0.0001", A="0")


def test_a_rebate_is_split_like_a_fee() -> None:
    # given / when
    parts = split_fee(amounts(A="100", B="100", C="100"), fee=D("-10"))
    # then
    assert parts == amounts(A="-3.3334", B="-3.3333", C="-3.3333")


def test_all_zero_shares_take_a_zero_fee_and_refuse_any_other() -> None:
    # given
    shares = amounts(A="0", B="0")
    # when / then
    assert split_fee(shares, fee=D("0")) == amounts(A="0", B="0")
    with pytest.raises(ValueError, match=r"^invalid `fee`, was 1\.50: every share is 0"):
        split_fee(shares, fee=D("1.50"))


def test_split_fee_rejects_a_fee_off_the_money_grid_and_a_negative_share() -> None:
    # given / when / then
    with pytest.raises(ValueError, match=r"^invalid `fee`, was 1\.00005: must be a whole number of 0\.0001"):
        split_fee(amounts(A="100"), fee=D("1.00005"))
    with pytest.raises(ValueError, match=r"^invalid `shares\['B'\]`, was -100: must be 0 or more"):
        split_fee(amounts(A="100", B="-100"), fee=D("1"))


@settings(max_examples=300, deadline=None)
@given(
    share_lots=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=8).filter(any),
    fee_units=st.integers(min_value=-(10**9), max_value=10**9),
)
def test_fee_parts_sum_to_the_fee_and_each_is_within_a_unit_of_its_exact_part(share_lots: list[int], fee_units: int) -> None:
    # given
    shares = {f"ACC{index}": D(lots) * LOT for index, lots in enumerate(share_lots)}
    fee = D(fee_units).scaleb(-4)
    # when
    parts = split_fee(shares, fee=fee)
    # then
    assert list(parts) == list(shares)
    assert sum(parts.values()) == fee
    total = sum(share_lots)
    for lots, part in zip(share_lots, parts.values(), strict=True):
        exact = Fraction(fee) * lots / total
        assert part == part.quantize(D("0.0001"))
        assert abs(Fraction(part) - exact) < UNIT
        if lots == 0:
            assert part == 0


# --- allocation_check ---------------------------------------------------------------------


def test_check_accepts_qty_targets_on_the_lot_summing_to_the_order() -> None:
    # given / when
    errors = allocation_check(targets("3300", "2500", "4200"), order_qty=D("10000"), lot=LOT, by="qty")
    # then
    assert errors == []


def test_check_accepts_any_positive_ratios_whatever_the_order_qty() -> None:
    # given / when
    errors = allocation_check(targets("0.333", "2", "1.5"), order_qty=D("700"), lot=LOT, by="ratio")
    # then
    assert errors == []


def test_check_accepts_a_single_account() -> None:
    # given / when
    errors = allocation_check(targets("500"), order_qty=D("500"), lot=LOT, by="qty")
    # then
    assert errors == []


def test_check_needs_at_least_one_account() -> None:
    # given / when
    errors = allocation_check([], order_qty=D("500"), lot=LOT, by="ratio")
    # then
    assert errors == ["invalid `allocations`, was empty: must name at least 1 account"]


def test_check_refuses_a_repeated_or_blank_account() -> None:
    # given / when
    errors = allocation_check(targets("1", "1", "1", accounts="AB"), order_qty=D("300"), lot=LOT, by="ratio")
    errors += allocation_check(
        [AllocationTarget("F1", D(1)), AllocationTarget("F1", D(1)), AllocationTarget(" ", D(1))],
        order_qty=D("300"),
        lot=LOT,
        by="ratio",
    )
    # then
    assert errors == [
        "invalid `allocations[1].account`, was 'F1': already given in `allocations[0]`",
        "invalid `allocations[2].account`, was ' ': must not be blank",
    ]


@pytest.mark.parametrize("by", ["qty", "ratio"])
def test_check_refuses_a_weight_not_greater_than_zero(by: str) -> None:
    # given / when
    errors = allocation_check(targets("1000", "0", "-100"), order_qty=D("1000"), lot=LOT, by=by)  # type: ignore[arg-type]
    # then
    assert errors[:2] == [
        "invalid `allocations[1].weight`, was 0: must be greater than 0",
        "invalid `allocations[2].weight`, was -100: must be greater than 0",
    ]


def test_check_refuses_a_weight_that_is_not_a_number() -> None:
    # given / when
    errors = allocation_check(targets("1", "NaN"), order_qty=D("100"), lot=LOT, by="ratio")
    # then
    assert errors == ["invalid `allocations[1].weight`, was NaN: must be a finite decimal number"]


def test_check_refuses_a_qty_target_off_the_lot() -> None:
    # given / when
    errors = allocation_check(targets("850", "150"), order_qty=D("1000"), lot=LOT, by="qty")
    # then
    assert errors == [
        "invalid `allocations[0].weight`, was 850: must be a multiple of the lot size 100",
        "invalid `allocations[1].weight`, was 150: must be a multiple of the lot size 100",
    ]


def test_check_refuses_qty_targets_that_do_not_sum_to_the_order() -> None:
    # given / when
    errors = allocation_check(targets("500", "400"), order_qty=D("1000"), lot=LOT, by="qty")
    # then
    assert errors == ["invalid `allocations`, the weights sum to 900: must sum to the order's `qty` 1000"]


def test_check_raises_for_a_bad_lot_or_basis() -> None:
    # given / when / then
    with pytest.raises(ValueError, match=r"^invalid `lot`, was 0: must be greater than 0"):
        allocation_check(targets("1"), order_qty=D("100"), lot=D("0"), by="ratio")
    with pytest.raises(ValueError, match=r"^invalid `by`, was 'pct': must be one of qty, ratio"):
        allocation_check(targets("1"), order_qty=D("100"), lot=LOT, by="pct")  # type: ignore[arg-type]


# --- properties ----------------------------------------------------------------------------

lots = st.sampled_from([D("1"), D("100"), D("25"), D("0.01")])
ratio_weights = st.builds(lambda digits, places: D(digits).scaleb(-places), st.integers(1, 10_000), st.integers(0, 4))
# A few large accounts and a few small ones: where the largest remainder method most often would take back.
large_and_small_accounts = st.builds(
    lambda large, large_count, small_count: [large] * large_count + [1] * small_count,
    st.integers(3, 30),
    st.integers(1, 3),
    st.integers(1, 3),
)


@st.composite
def block_orders(draw: st.DrawFn, *, by: str) -> tuple[list[AllocationTarget], Decimal, int, list[int]]:
    """Targets, lot, the order in lots, and fills in lots that add up to at most the order (all of it for by="qty")."""
    lot = draw(lots)
    count = draw(st.integers(min_value=1, max_value=6))
    if by == "qty":
        target_lots = draw(st.lists(st.integers(1, 40), min_size=count, max_size=count) | large_and_small_accounts)
        allocation = [AllocationTarget(f"ACC{index}", lot * lots) for index, lots in enumerate(target_lots)]
        order_lots = sum(target_lots)
    else:
        weights = draw(
            st.lists(ratio_weights, min_size=count, max_size=count) | large_and_small_accounts.map(lambda ws: [*map(D, ws)])
        )
        allocation = [AllocationTarget(f"ACC{index}", weight) for index, weight in enumerate(weights)]
        order_lots = draw(st.integers(1, 400))
    fills: list[int] = []
    while sum(fills) < order_lots:
        fill = draw(st.integers(1, 60) | st.integers(1, 5))
        fills.append(min(fill, order_lots - sum(fills)))
        if by == "ratio" and draw(st.integers(0, 9)) == 0:
            break  # a partly filled order
    return allocation, lot, order_lots, fills


def in_lots(held: Mapping[str, Decimal], allocation: Sequence[AllocationTarget], lot: Decimal) -> list[int]:
    return [int(held.get(target.account, D(0)) / lot) for target in allocation]


@settings(max_examples=400, deadline=None)
@given(order=st.sampled_from(["qty", "ratio"]).flatmap(lambda by: block_orders(by=by)))
@example(order=(targets("1400", "1400", "100", "100", "100"), LOT, 31, [19, 1, 11]))
def test_every_split_conserves_the_fill_and_the_cumulative_stays_within_the_proven_bounds(
    order: tuple[list[AllocationTarget], Decimal, int, list[int]],
) -> None:
    """The guarantee, in lots, n accounts, after every fill: never 1 - 1/n above the ideal share;
    never more than (n - 1)(1 - 1/n) below it; when nothing had to be held back, the fresh largest
    remainder allocation, so less than one lot from the ideal either way; exact where every ideal is whole."""
    # given
    allocation, lot, _, fills = order
    count = len(allocation)
    held: dict[str, Decimal] = {}
    filled_lots = 0
    for fill_lots in fills:
        before = in_lots(held, allocation, lot)
        # when
        split = allocate_fill(allocation, allocated=held, fill_qty=lot * fill_lots, lot=lot)
        # then
        assert list(split) == [target.account for target in allocation]
        assert sum(split.values()) == lot * fill_lots
        assert all(share >= 0 and share % lot == 0 for share in split.values())
        held = {account: held.get(account, D(0)) + share for account, share in split.items()}
        filled_lots += fill_lots
        after = in_lots(held, allocation, lot)
        ideals = ideal_lots(allocation, filled_lots)
        for lots_held, ideal in zip(after, ideals, strict=True):
            assert lots_held - ideal <= 1 - Fraction(1, count)
            assert ideal - lots_held <= Fraction((count - 1) ** 2, count)
        fresh = fresh_largest_remainder(allocation, filled_lots)
        if all(fresh_lots >= lots_before for fresh_lots, lots_before in zip(fresh, before, strict=True)):
            assert after == fresh
            assert all(abs(lots_held - ideal) < 1 for lots_held, ideal in zip(after, ideals, strict=True))
        else:
            event("an account was held back")
        if all(ideal.denominator == 1 for ideal in ideals):
            assert after == ideals


@settings(max_examples=300, deadline=None)
@given(order=block_orders(by="qty"))
def test_qty_targets_fully_filled_end_exactly_at_the_targets(order: tuple[list[AllocationTarget], Decimal, int, list[int]]) -> None:
    # given
    allocation, lot, order_lots, fills = order
    assert sum(fills) == order_lots
    assert allocation_check(allocation, order_qty=lot * order_lots, lot=lot, by="qty") == []
    # when
    _, held = fill_all(allocation, [lot * fill for fill in fills], lot=lot)
    # then
    assert held == {target.account: target.weight for target in allocation}


def largest_shortfall(ideals: Sequence[Fraction], before: Sequence[int], split: Sequence[int]) -> Fraction:
    return max(ideal - (lots + share) for ideal, lots, share in zip(ideals, before, split, strict=True))


def squared_deviation(ideals: Sequence[Fraction], before: Sequence[int], split: Sequence[int]) -> Fraction:
    return sum(((lots + share - ideal) ** 2 for ideal, lots, share in zip(ideals, before, split, strict=True)), Fraction(0))


def every_split(fill_lots: int, accounts: int) -> list[tuple[int, ...]]:
    return [split for split in itertools.product(range(fill_lots + 1), repeat=accounts) if sum(split) == fill_lots]


@settings(max_examples=300, deadline=None)
@given(
    weights=st.lists(st.integers(1, 30), min_size=2, max_size=6) | large_and_small_accounts.filter(lambda ws: len(ws) > 1),
    fills=st.lists(st.integers(1, 5), min_size=1, max_size=25),
)
@example(weights=[14, 14, 1, 1, 1], fills=[5, 5, 5, 4, 1])
@example(weights=[6, 6, 6, 1, 1, 1], fills=[4, 4, 4, 2])
def test_each_split_is_the_best_one_that_takes_nothing_back(weights: list[int], fills: list[int]) -> None:
    """No split of a fill into shares of 0 or more leaves a smaller largest shortfall, nor a smaller sum of squared deviations."""
    allocation = [AllocationTarget(f"ACC{index}", D(weight)) for index, weight in enumerate(weights)]
    held: dict[str, Decimal] = {}
    filled_lots = 0
    for fill_lots in fills:
        # given what each account holds after the earlier fills
        before = in_lots(held, allocation, D("1"))
        filled_lots += fill_lots
        ideals = ideal_lots(allocation, filled_lots)

        if any(fresh < lots for fresh, lots in zip(fresh_largest_remainder(allocation, filled_lots), before, strict=True)):
            event("an account was held back")
        # when
        split = allocate_fill(allocation, allocated=held, fill_qty=D(fill_lots), lot=D("1"))
        # then
        ours = [int(share) for share in split.values()]
        candidates = every_split(fill_lots, len(weights))
        assert largest_shortfall(ideals, before, ours) == min(largest_shortfall(ideals, before, other) for other in candidates)
        assert squared_deviation(ideals, before, ours) == min(squared_deviation(ideals, before, other) for other in candidates)
        held = {account: held.get(account, D(0)) + share for account, share in split.items()}


# --- purity --------------------------------------------------------------------------------


def test_the_module_imports_without_django() -> None:
    # given a fresh interpreter without Django settings
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    probe = "import sys, oms.core.allocation; print(sorted(m for m in sys.modules if m.startswith('django')))"
    # when
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
