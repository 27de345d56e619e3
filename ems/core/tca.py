"""Transaction cost analysis: the formulas, pure and in Decimal.

Sign convention: every cost in bps is positive when it cost us money (we
bought above, or sold below, the benchmark) and negative when it earned us
some. The one exception is ``markout_bps``, which is positive when the price
moved our way after the fill (good for us), as in ``ems.markouts``.

Outputs in bps are quantized to 0.01 bps and fractions to 0.000001 (the same
0.01 bps), half to even. Prices, quantities and fees are Decimal; a fee is
positive when we paid it and negative for a rebate.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from trading.enums import Side
from trading.numbers import ZERO, avg_px, quantize_px

BPS: Final = Decimal(10_000)
BPS_STEP: Final = Decimal("0.01")
FRACTION_STEP: Final = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class TcaFill:
    """One of our fills: ``qty`` shares at ``px``, ``fee`` in $ (negative: a rebate), at ``t_ns``.

    ``mid`` is the market's mid prevailing when it filled (None when unknown):
    with it, ``shortfall`` splits the fill's cost from the arrival mid into
    impact (against this mid) and timing (the mid's drift since arrival).
    """

    qty: Decimal
    px: Decimal
    fee: Decimal
    t_ns: int
    liquidity: str  # ADDED or REMOVED (trading.enums.Liquidity); anything else: unknown (an RFQ's, say)
    mid: Decimal | None = None


@dataclass(frozen=True, slots=True)
class MarketPrint:
    """A trade on the tape: ``qty`` shares at ``px`` at ``t_ns`` (ours included)."""

    t_ns: int
    qty: Decimal
    px: Decimal


@dataclass(frozen=True, slots=True)
class Shortfall:
    """An order's implementation shortfall and its parts, in bps of ``notional`` (positive: a cost).

    ``delay_bps + impact_bps + timing_bps + opportunity_bps + fees_bps == total_bps`` exactly.
    """

    total_bps: Decimal
    delay_bps: Decimal
    impact_bps: Decimal
    timing_bps: Decimal
    opportunity_bps: Decimal
    fees_bps: Decimal
    filled_qty: Decimal
    avg_px: Decimal | None  # None when nothing filled
    notional: Decimal  # order_qty * decision_mid, $: the paper portfolio


def shortfall(
    *,
    side: Side,
    order_qty: Decimal,
    arrival_mid: Decimal,
    decision_mid: Decimal,
    fills: Sequence[TcaFill],
    end_mid: Decimal,
    fees_included: bool = True,
) -> Shortfall:
    """Return the implementation shortfall against the paper portfolio ``order_qty`` at ``decision_mid``.

    Perold's decomposition, in $ then bps of ``order_qty * decision_mid``
    (``s`` = +1 for a buy, -1 for a sell):

    - delay: ``s * filled_qty * (arrival_mid - decision_mid)``, the drift
      between the decision and the order reaching us, on what we executed;
    - impact: ``s * sum(qty * (px - mid))``, each fill against the mid
      prevailing when it filled (``TcaFill.mid``; the arrival mid for a fill
      without one): the price our own trading paid;
    - timing: ``s * sum(qty * (mid - arrival_mid))`` over the fills with a
      mid, how the market moved between arrival and each fill (the cost of
      when we traded; 0 for a fill without a mid, which keeps it all in
      impact). Impact plus timing is ``s * sum(qty * (px - arrival_mid))``;
    - opportunity: ``s * (order_qty - filled_qty) * (end_mid - decision_mid)``,
      what the unfilled rest missed;
    - fees: the fills' fees (0 when ``fees_included`` is False, leaving the
      price-only shortfall).

    The total is rounded to 0.01 bps and the parts are apportioned (largest
    remainder) so that they add up to it exactly; each part is within 0.01
    bps of its exact value. Raise ValueError for a non-positive mid or order
    quantity, a fill with a non-positive quantity or price, or fills over the
    order quantity.
    """
    _check_positive(order_qty=order_qty, arrival_mid=arrival_mid, decision_mid=decision_mid, end_mid=end_mid)
    _check_fills(fills)
    sign = side.sign
    filled_qty = sum((fill.qty for fill in fills), ZERO)
    if filled_qty > order_qty:
        raise ValueError(f"invalid `fills`, filled {filled_qty}: more than `order_qty` ({order_qty})")
    notional = order_qty * decision_mid
    delay = sign * filled_qty * (arrival_mid - decision_mid)
    impact = sign * sum((fill.qty * (fill.px - (arrival_mid if fill.mid is None else fill.mid)) for fill in fills), ZERO)
    timing = sign * sum((fill.qty * (fill.mid - arrival_mid) for fill in fills if fill.mid is not None), ZERO)
    opportunity = sign * (order_qty - filled_qty) * (end_mid - decision_mid)
    fees = sum((fill.fee for fill in fills), ZERO) if fees_included else ZERO
    parts = [delay, impact, timing, opportunity, fees]
    total_bps, (delay_bps, impact_bps, timing_bps, opportunity_bps, fees_bps) = _apportion(
        sum(parts, ZERO) / notional * BPS, [part / notional * BPS for part in parts]
    )
    filled_notional = sum((fill.qty * fill.px for fill in fills), ZERO)
    return Shortfall(
        total_bps=total_bps,
        delay_bps=delay_bps,
        impact_bps=impact_bps,
        timing_bps=timing_bps,
        opportunity_bps=opportunity_bps,
        fees_bps=fees_bps,
        filled_qty=filled_qty,
        avg_px=avg_px(qty=filled_qty, notional=filled_notional) if filled_qty else None,
        notional=notional,
    )


def interval_vwap(prints: Sequence[MarketPrint], start_ns: int, end_ns: int) -> Decimal | None:
    """Return the market's VWAP over the prints with ``start_ns <= t_ns <= end_ns``, on the price grid.

    None when no volume printed in the interval. Raise ValueError when the
    interval ends before it starts or a print has a negative quantity or a
    non-positive price.
    """
    if end_ns < start_ns:
        raise ValueError(f"invalid `end_ns`, was {end_ns}: before `start_ns` ({start_ns})")
    volume = ZERO
    notional = ZERO
    for i, trade in enumerate(prints):
        if trade.qty < 0:
            raise ValueError(f"invalid `prints[{i}].qty`, was {trade.qty}: must be >= 0")
        if trade.px <= 0:
            raise ValueError(f"invalid `prints[{i}].px`, was {trade.px}: must be positive")
        if start_ns <= trade.t_ns <= end_ns:
            volume += trade.qty
            notional += trade.qty * trade.px
    return quantize_px(notional / volume) if volume else None


def vwap_slippage_bps(*, side: Side, avg_px: Decimal, vwap: Decimal) -> Decimal:
    """Return ``s * (avg_px - vwap) / vwap`` in bps: positive when we did worse than the market's VWAP."""
    _check_positive(avg_px=avg_px, vwap=vwap)  # named as the caller knows them
    return slippage_bps(side=side, avg_px=avg_px, benchmark=vwap)


def slippage_bps(*, side: Side, avg_px: Decimal, benchmark: Decimal) -> Decimal:
    """Return ``s * (avg_px - benchmark) / benchmark`` in bps: positive is a cost (bought above it, sold below).

    Against the arrival mid it is the blotter's "arrival slippage so far": the filled part's shortfall,
    before fees and without the unfilled rest (that is ``shortfall``'s opportunity cost).
    """
    _check_positive(avg_px=avg_px, benchmark=benchmark)
    return _bps(side.sign * (avg_px - benchmark) / benchmark)


def participation(*, our_qty: Decimal, market_qty: Decimal) -> Decimal | None:
    """Return our share of the market's volume (which includes ours) as a fraction; None if the market traded nothing."""
    if our_qty < 0:
        raise ValueError(f"invalid `our_qty`, was {our_qty}: must be >= 0")
    if market_qty < 0:
        raise ValueError(f"invalid `market_qty`, was {market_qty}: must be >= 0")
    if our_qty > market_qty:
        raise ValueError(f"invalid `market_qty`, was {market_qty}: less than `our_qty` ({our_qty}), which it includes")
    if not market_qty:
        return None
    return _fraction(our_qty / market_qty)


def markout_bps(*, side: Side, px: Decimal, mid_later: Decimal) -> Decimal:
    """Return ``s * (mid_later - px) / px`` in bps: positive is good for us (after a buy the mid rose).

    The same sign and denominator as ``ems.markouts.markout_bps``, rounded to 0.01 bps.
    """
    _check_positive(px=px, mid_later=mid_later)
    return _bps(side.sign * (mid_later - px) / px)


def effective_spread_bps(*, side: Side, px: Decimal, mid: Decimal) -> Decimal:
    """Return ``2 * s * (px - mid) / mid`` in bps, ``mid`` at the time of the fill: positive is a cost."""
    _check_positive(px=px, mid=mid)
    return _bps(2 * side.sign * (px - mid) / mid)


def realized_spread_bps(*, side: Side, px: Decimal, mid_later: Decimal) -> Decimal:
    """Return ``2 * s * (px - mid_later) / mid_later`` in bps: the spread we paid net of where the mid went."""
    _check_positive(px=px, mid_later=mid_later)
    return _bps(2 * side.sign * (px - mid_later) / mid_later)


def qty_weighted_bps(values: Sequence[tuple[Decimal, Decimal]]) -> Decimal | None:
    """Return the mean of ``(qty, bps)`` pairs weighted by quantity, rounded to 0.01 bps; None for no quantity.

    An order's figure from its fills' (effective spread, realized spread, markout): the
    quantity-weighted mean of the figures the fills show. Raise ValueError for a negative quantity.
    """
    total = ZERO
    weighted = ZERO
    for i, (qty, bps) in enumerate(values):
        if qty < 0:
            raise ValueError(f"invalid `values[{i}]` quantity, was {qty}: must be >= 0")
        total += qty
        weighted += qty * bps
    return _bps_round(weighted / total) if total else None


def tracking_error(*, schedule: Sequence[tuple[int, Decimal]], executed: Sequence[tuple[int, Decimal]], qty: Decimal) -> Decimal:
    """Return the RMS over the schedule's points of ``(executed cumulative - scheduled cumulative) / qty``.

    ``schedule`` holds ``(t_ns, cumulative quantity due by t_ns)``, times
    strictly increasing and quantities non-decreasing; ``executed`` holds our
    fills as ``(t_ns, qty)`` in any order, and the executed cumulative at ``t``
    is the sum of the fills with ``t_ns <= t``. A fraction of ``qty`` (0.03 is
    3 %). Raise ValueError for an empty or disordered schedule, a negative
    quantity or a non-positive ``qty``.
    """
    _check_positive(qty=qty)
    if not schedule:
        raise ValueError("invalid `schedule`, was empty: need at least one point")
    for i, (t_ns, due) in enumerate(schedule):
        if due < 0:
            raise ValueError(f"invalid `schedule[{i}]` quantity, was {due}: must be >= 0")
        if i and t_ns <= schedule[i - 1][0]:
            raise ValueError(f"invalid `schedule[{i}]` time, was {t_ns}: times must increase")
        if i and due < schedule[i - 1][1]:
            raise ValueError(f"invalid `schedule[{i}]` quantity, was {due}: a cumulative quantity cannot fall")
    for i, (_, done) in enumerate(executed):
        if done < 0:
            raise ValueError(f"invalid `executed[{i}]` quantity, was {done}: must be >= 0")
    fills = sorted(executed, key=lambda fill: fill[0])
    squares = ZERO
    done = ZERO
    next_fill = 0
    for t_ns, due in schedule:
        while next_fill < len(fills) and fills[next_fill][0] <= t_ns:
            done += fills[next_fill][1]
            next_fill += 1
        squares += ((done - due) / qty) ** 2
    return _fraction((squares / len(schedule)).sqrt())


def _apportion(total: Decimal, parts: list[Decimal]) -> tuple[Decimal, list[Decimal]]:
    """Round ``total`` and ``parts`` to 0.01 bps so that the rounded parts add up to the rounded total.

    Largest remainder: the steps the parts' rounding lost (fewer than the
    parts: each lost at most half a step) go to the parts rounded furthest the
    other way, one each; ties to the earlier part.
    """
    rounded_total = _bps_round(total)
    rounded = [_bps_round(part) for part in parts]
    steps = int((rounded_total - sum(rounded, ZERO)) / BPS_STEP)
    direction = 1 if steps > 0 else -1
    # the remainder each part lost in the direction we must move it, largest first
    order = sorted(range(len(parts)), key=lambda i: -direction * (parts[i] - rounded[i]))
    for i in order[: abs(steps)]:
        rounded[i] += direction * BPS_STEP
    return rounded_total, rounded


def _bps(fraction: Decimal) -> Decimal:
    return _bps_round(fraction * BPS)


def _bps_round(bps: Decimal) -> Decimal:
    return bps.quantize(BPS_STEP, rounding=ROUND_HALF_EVEN)


def _fraction(value: Decimal) -> Decimal:
    return value.quantize(FRACTION_STEP, rounding=ROUND_HALF_EVEN)


def _check_positive(**values: Decimal) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"invalid `{name}`, was {value}: must be positive")


def _check_fills(fills: Sequence[TcaFill]) -> None:
    for i, fill in enumerate(fills):
        if not fill.qty > 0:
            raise ValueError(f"invalid `fills[{i}].qty`, was {fill.qty}: must be positive")
        if not fill.px > 0:
            raise ValueError(f"invalid `fills[{i}].px`, was {fill.px}: must be positive")
        if fill.mid is not None and not fill.mid > 0:
            raise ValueError(f"invalid `fills[{i}].mid`, was {fill.mid}: must be positive")
