"""Allocation of a block order's fills to the accounts it was sent for, exactly, in whole lots.

A PM sends one block order for several accounts. Each account has a weight: a
target quantity (``by="qty"``) or a ratio (``by="ratio"``); only the proportions
matter. Every fill of the block is split among the accounts, and each account is
booked at the fill's price for its share of that fill (same-price allocation per
fill), so an account's average price is the quantity-weighted mean of the fill
prices over the shares it received.

How a fill is split (the rule a compliance officer will ask about)
------------------------------------------------------------------
Count quantities in lots. After a fill the cumulative filled quantity is ``N``
lots, and account ``i``'s ideal share of it is ``N x weight_i / total weight``.

1. Allocate the ``N`` lots afresh by the largest remainder method: each account
   gets the whole lots of its ideal share, and the lots left over go one each to
   the accounts with the largest fractional remainders; equal remainders go to
   the account listed first.
2. Give each account the difference between that and what it already holds.
3. Nothing is ever taken back. The largest remainder method is not monotone (a
   larger quantity can give an account one lot less: the "Alabama paradox"), so
   an account can already hold more than its fresh allocation. Such an account
   gets nothing of this fill, and the fill's lots go to the other accounts, one
   at a time, each to the account furthest below its ideal share, ties to the
   first listed.

Steps 1 to 3 are one rule, and that is how it is computed: each lot of the fill
goes to the account furthest below its ideal share of the new cumulative
quantity (counting the lots already given from this fill), ties to the account
listed first. When no account holds more than its fresh allocation, this gives
exactly the fresh largest remainder allocation of steps 1 and 2.

What that guarantees, after every fill (``n`` accounts):

- The split sums to the fill, is in whole lots, and no share is negative.
- No account is ever a whole lot above its ideal share: at most ``1 - 1/n`` lots
  above. An account gets a lot only while it is the furthest below its ideal,
  and while lots are left to give the shortfalls add up to at least one lot, so
  the furthest is at least ``1/n`` lot below; ideals only grow afterwards.
- When no account had to be held back, every account is less than one lot from
  its ideal share, either way (the fresh largest remainder allocation).
- When some account had to be held back, the split is the best one that takes
  nothing back: no other split has a smaller largest shortfall from the ideal
  shares, nor a smaller sum of squared deviations. Even so, an account can end
  up more than one lot short, and no rule that keeps step 1 and never takes back
  can prevent it. Targets 1400, 1400, 100, 100, 100 (lot 100): a fill of 1900
  gives 800, 800, 100, 100, 100 (ideals 858.06, 858.06, 61.29, ...); a fill of 100
  more makes the ideals 903.23, 903.23, 64.52, ...; the small accounts keep their
  100 and the fill goes to the first account, leaving the second 103.23 short.
  A shortfall is matched by the other accounts' excesses, so it is at most
  ``(n - 1) x (1 - 1/n)`` lots. That bound is loose: random searches over up to
  21 accounts found about 1.5 lots at worst. Later fills go first to the
  accounts furthest short.
- Whenever every ideal share is a whole number of lots, each account holds
  exactly its ideal share (none is a whole lot above it, and the total is exact).
  In particular, a ``by="qty"`` order whose targets are lot multiples summing to
  the order quantity ends, once fully filled, with every account at its target.

Fees: a fill's fee is split pro rata to the shares of that fill by the same
largest remainder method on units of money (0.0001): each account gets the whole
units of its exact share, and the units left over go to the largest remainders,
ties to the account listed first; the shares sum to the fee exactly. A negative
fee (a rebate) is split the same way by its size.

Pure: no Django, no I/O; ``Decimal`` in and out, exact integer arithmetic inside.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import lcm
from typing import Literal, get_args

from trading.numbers import MONEY_DECIMALS, ZERO, is_multiple, quantize_money

AllocationBy = Literal["qty", "ratio"]


@dataclass(frozen=True, slots=True)
class AllocationTarget:
    account: str  # the account's code
    weight: Decimal  # a target quantity or a ratio: only the proportions matter; > 0


def allocation_check(targets: Sequence[AllocationTarget], *, order_qty: Decimal, lot: Decimal, by: AllocationBy) -> list[str]:
    """Return what is wrong with the targets of a block order of ``order_qty``; empty when they are good.

    At least one target; account codes not blank and unique; weights greater than 0.
    ``by="qty"``: each weight a multiple of the lot, and together exactly ``order_qty``.
    ``by="ratio"``: any positive decimals.
    """
    _check_lot(lot)
    if by not in get_args(AllocationBy):
        raise ValueError(f"invalid `by`, was {by!r}: must be one of {', '.join(get_args(AllocationBy))}")
    errors = _target_errors(targets, lot_multiple=lot if by == "qty" else None)
    if by == "qty" and targets and all(_is_finite_decimal(target.weight) for target in targets):
        total = sum((target.weight for target in targets), ZERO)
        if total != order_qty:
            errors.append(f"invalid `allocations`, the weights sum to {total}: must sum to the order's `qty` {order_qty}")
    return errors


def allocate_fill(
    targets: Sequence[AllocationTarget], *, allocated: Mapping[str, Decimal], fill_qty: Decimal, lot: Decimal
) -> dict[str, Decimal]:
    """Return each account's share of a new fill of ``fill_qty``, in the order of ``targets``.

    ``allocated`` is what each account already holds of the earlier fills (by account code; a
    missing account holds 0). The shares sum to ``fill_qty`` exactly, are whole lots and never
    negative; an account whose share is 0 is included with 0. See the module's docstring for the
    rule and what it guarantees. A fill of 0 gives every account 0. Raise ``ValueError`` for invalid
    targets, a fill that is negative or not a whole number of lots, or holdings that are unknown
    accounts, negative or off the lot.
    """
    _check_lot(lot)
    errors = _target_errors(targets)
    if errors:
        raise ValueError("; ".join(errors))
    if not _is_finite_decimal(fill_qty) or fill_qty < 0:
        raise ValueError(f"invalid `fill_qty`, was {fill_qty}: must be 0 or more")
    if not is_multiple(fill_qty, lot):
        raise ValueError(f"invalid `fill_qty`, was {fill_qty}: must be a multiple of the lot size {lot}")
    accounts = [target.account for target in targets]
    for account, held in allocated.items():
        if account not in accounts:
            raise ValueError(f"invalid `allocated[{account!r}]`, was {held}: not one of the allocation's accounts")
    held_lots = []
    for account in accounts:
        held = allocated.get(account, ZERO)
        if not _is_finite_decimal(held) or held < 0 or not is_multiple(held, lot):
            raise ValueError(
                f"invalid `allocated[{account!r}]`, was {held}: must be 0 or more and a multiple of the lot size {lot}"
            )
        held_lots.append(int(held // lot))

    fill_lots = int(fill_qty // lot)
    filled_lots = sum(held_lots) + fill_lots  # N, the cumulative filled quantity in lots
    weights = _as_integers([target.weight for target in targets])
    total_weight = sum(weights)
    # Account i's shortfall from its ideal share, in lots times the total weight (exact integers):
    # N x w_i / W - held_i, times W. Its k-th lot of this fill ranks at that minus k x W.
    shortfalls = [filled_lots * weight - held * total_weight for weight, held in zip(weights, held_lots, strict=True)]
    lots = _largest_remainder(shortfalls, step=total_weight, count=fill_lots)
    return {account: lot * share for account, share in zip(accounts, lots, strict=True)}


def split_fee(shares: Mapping[str, Decimal], *, fee: Decimal) -> dict[str, Decimal]:
    """Return ``fee`` split pro rata to ``shares``, in money, summing to ``fee`` exactly, in the order of ``shares``.

    Largest remainder on units of 0.0001, ties to the account listed first. When every share is
    0, every part is 0, and a fee other than 0 raises ``ValueError`` (nobody to charge). Raise
    ``ValueError`` too for a fee off the money grid or a negative share.
    """
    if not _is_finite_decimal(fee) or quantize_money(fee) != fee:
        raise ValueError(f"invalid `fee`, was {fee}: must be a whole number of {Decimal(1).scaleb(-MONEY_DECIMALS)}")
    for account, share in shares.items():
        if not _is_finite_decimal(share) or share < 0:
            raise ValueError(f"invalid `shares[{account!r}]`, was {share}: must be 0 or more")
    accounts = list(shares)
    amounts = _as_integers(list(shares.values()))
    total = sum(amounts)
    if total == 0:
        if fee != 0:
            raise ValueError(f"invalid `fee`, was {fee}: every share is 0, so there is nobody to charge it to")
        return {account: quantize_money(ZERO) for account in accounts}
    units = int(abs(fee).scaleb(MONEY_DECIMALS))
    # Account i's exact part is units x a_i / total; its k-th unit ranks at that minus k, times total.
    parts = _largest_remainder([units * amount for amount in amounts], step=total, count=units)
    sign = -1 if fee < 0 else 1
    return {
        account: quantize_money(Decimal(sign * part).scaleb(-MONEY_DECIMALS)) for account, part in zip(accounts, parts, strict=True)
    }


def _largest_remainder(priorities: Sequence[int], *, step: int, count: int) -> list[int]:
    """Return how many of ``count`` units each slot gets when each unit goes to the highest priority left.

    Slot i's k-th unit (k = 0, 1, ...) has priority ``priorities[i] - k x step``; equal priorities go
    to the lower index. Starting from priorities that are exact quotas times ``step``, this is the
    largest remainder method: the whole part of each quota first, then the largest remainders.
    Found by bisecting for the priority of the last unit given, not unit by unit, so a fill of a
    million lots costs about what one of ten does.
    """
    if count == 0:
        return [0] * len(priorities)

    def units_at_or_above(level: int) -> list[int]:
        return [(priority - level) // step + 1 if priority >= level else 0 for priority in priorities]

    # The highest slot alone has `count` units at or above `low`; none has a unit above `high`.
    high = max(priorities)
    low = high - (count - 1) * step
    while low < high:  # the last unit's priority: the highest level with `count` units at or above it
        middle = (low + high + 1) // 2
        if sum(units_at_or_above(middle)) >= count:
            low = middle
        else:
            high = middle - 1
    last = low
    units = units_at_or_above(last + 1)  # every unit ranked above the last one given: fewer than `count`
    left = count - sum(units)
    for index, priority in enumerate(priorities):  # the rest tie at `last`: first listed first
        if left == 0:
            break
        if priority >= last and (priority - last) % step == 0:
            units[index] += 1
            left -= 1
    return units


def _as_integers(values: Sequence[Decimal]) -> list[int]:
    """Return ``values`` scaled by one common factor to integers, exactly (the proportions are kept)."""
    fractions = [Fraction(value) for value in values]
    scale = lcm(*(fraction.denominator for fraction in fractions))
    return [int(fraction * scale) for fraction in fractions]


def _target_errors(targets: Sequence[AllocationTarget], *, lot_multiple: Decimal | None = None) -> list[str]:
    """Return what breaks the rules every allocation follows, target by target; weights on ``lot_multiple`` if given."""
    if not targets:
        return ["invalid `allocations`, was empty: must name at least 1 account"]
    errors = []
    first_index: dict[str, int] = {}
    for index, target in enumerate(targets):
        if not target.account.strip():
            errors.append(f"invalid `allocations[{index}].account`, was {target.account!r}: must not be blank")
        elif target.account in first_index:
            errors.append(
                f"invalid `allocations[{index}].account`, was {target.account!r}: "
                f"already given in `allocations[{first_index[target.account]}]`"
            )
        else:
            first_index[target.account] = index
        if not _is_finite_decimal(target.weight):
            errors.append(f"invalid `allocations[{index}].weight`, was {target.weight}: must be a finite decimal number")
        elif target.weight <= 0:
            errors.append(f"invalid `allocations[{index}].weight`, was {target.weight}: must be greater than 0")
        elif lot_multiple is not None and not is_multiple(target.weight, lot_multiple):
            errors.append(
                f"invalid `allocations[{index}].weight`, was {target.weight}: must be a multiple of the lot size {lot_multiple}"
            )
    return errors


def _check_lot(lot: Decimal) -> None:
    if not _is_positive_decimal(lot):
        raise ValueError(f"invalid `lot`, was {lot}: must be greater than 0")


def _is_finite_decimal(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def _is_positive_decimal(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite() and value > 0
