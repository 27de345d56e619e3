"""Schedules: the cumulative share of a quantity each algo aims to have done by the end of each slice.

Pure. A schedule is a tuple of cumulative fractions ``f_1 <= ... <= f_n = 1``
(one per slice); ``slice_quantities`` cuts a quantity on its lot along it so
that every slice is a lot multiple and the slices sum to the quantity exactly
(the rounding carries forward: slice k is ``floor(q f_k) - floor(q f_(k-1))``,
the last takes the rest).

Fractions are Decimals with 18 places (the IS trajectory comes from a float
model and is cut to Decimals here, once); ``due_qty`` rounds ``qty x f`` to
the quantity's 4 places before flooring to the lot, so 1/3 of 900 is 300.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

from ems.core.algos import NS, AlgoParams, Strategy, slice_count
from ems.core.almgren_chriss import AcParams, ac_fractions, ac_params_for, risk_aversion_for
from trading.numbers import ZERO, floor_to

_PLACES = Decimal("1e-18")  # fine enough that qty x fraction, rounded to the qty's 4 places, is exact
ONE = Decimal(1)
_SESSION_NS = 390 * 60 * NS  # a regular session, 09:30 to 16:00


@dataclass(frozen=True, slots=True)
class ScheduleContext:
    """What the schedules need of the instrument and the market clock.

    ``session_offset_ns`` maps a schedule time to the session's time of day
    (ns since midnight of the trading day): the live shell takes it from the
    gateway's market clock; a simulated run uses 0 (its times are session times).
    """

    price: Decimal | None = None  # arrival mid
    volatility_daily: Decimal | None = None
    adv: Decimal | None = None
    spread: Decimal | None = None  # typical quoted spread, in price
    profile: tuple[Decimal, ...] = ()  # share of the day's volume per bucket from the open
    bucket_ns: int = 30 * 60 * 1_000_000_000
    open_ns: int = (9 * 3600 + 1800) * 1_000_000_000
    session_offset_ns: int = 0
    urgency: str = "MEDIUM"


def twap_fractions(slices: int) -> tuple[Decimal, ...]:
    """Equal slices: k / n."""
    _check_slices(slices)
    return (*((Decimal(k) / slices).quantize(_PLACES) for k in range(1, slices)), ONE)


def profile_fractions(
    profile: Sequence[Decimal], *, bucket_ns: int, open_ns: int, start_ns: int, slice_ns: int, slices: int
) -> tuple[Decimal, ...]:
    """The volume profile's cumulative share over the slices from ``start_ns`` (session time); TWAP where it shows none.

    The profile is the share of the day's volume per bucket from ``open_ns``;
    volume is spread evenly within a bucket.
    """
    _check_slices(slices)
    edges = [start_ns + k * slice_ns for k in range(slices + 1)]
    volumes = [_profile_volume(profile, bucket_ns, open_ns, a, b) for a, b in pairwise(edges)]
    total = sum(volumes, ZERO)
    if total <= 0:
        return twap_fractions(slices)
    running, fractions = ZERO, []
    for volume in volumes[:-1]:
        running += volume
        fractions.append((running / total).quantize(_PLACES))
    return (*fractions, ONE)


def _profile_volume(profile: Sequence[Decimal], bucket_ns: int, open_ns: int, start: int, end: int) -> Decimal:
    """The profile's volume share between two session times."""
    total = ZERO
    for i, share in enumerate(profile):
        lo, hi = open_ns + i * bucket_ns, open_ns + (i + 1) * bucket_ns
        overlap = min(hi, end) - max(lo, start)
        if overlap > 0:
            total += share * overlap / bucket_ns
    return total


def is_fractions(
    params: AlgoParams,
    context: ScheduleContext,
    *,
    slices: int,
    horizon_ns: int,
    qty: Decimal,
    start_ns: int | None = None,
) -> tuple[Decimal, ...]:
    """The Almgren-Chriss trajectory for the instrument and urgency (or the given risk aversion), no slice above
    ``max_participation`` of the volume expected in it (``participation_capped``; from ``start_ns``, the profile when
    the context has one, else ADV spread evenly over the session). The urgent front-loading the model asks for is
    bounded by what the market trades: 90 % of an order in the first minutes walks the book for nothing. When the
    window cannot finish under the cap, the cap rises to the rate that does.

    TWAP without analytics, and for nothing left to trade (the model needs shares; the shape is moot).
    """
    _check_slices(slices)
    c = context
    if not (c.price and c.volatility_daily and c.adv and c.spread) or slices == 1 or qty <= 0:
        return twap_fractions(slices)
    ac: AcParams = ac_params_for(
        shares=float(qty),
        horizon_days=horizon_ns / _SESSION_NS,
        intervals=slices,
        price=float(c.price),
        volatility_daily=float(c.volatility_daily),
        adv=float(c.adv),
        spread=float(c.spread),
    )
    given = params.get("risk_aversion")
    lam = float(given) if given is not None else risk_aversion_for(c.urgency)
    cumulative = ac_fractions(ac, lam)
    fractions = (*(min(ONE, Decimal(repr(f)).quantize(_PLACES)) for f in cumulative[:-1]), ONE)
    cap = params.get("max_participation")
    if cap is None:
        return fractions
    slice_ns = horizon_ns // slices
    volumes = [
        expected_volume(c, start_ns=(start_ns or 0) + k * slice_ns, end_ns=(start_ns or 0) + (k + 1) * slice_ns)
        for k in range(slices)
    ]
    known = [v for v in volumes if v is not None]
    if known and sum(known) > 0:  # a cap the window cannot finish under rises to the rate that finishes it
        cap = max(cap, qty / sum(known))
    return participation_capped(fractions, qty=qty, capacity=[None if v is None else cap * v for v in volumes])


def expected_volume(context: ScheduleContext, *, start_ns: int, end_ns: int) -> Decimal | None:
    """The market volume expected between two schedule times: from the profile, else ADV evenly over the session; None
    without ADV."""
    from_profile = expected_profile_volume(context, start_ns=start_ns, end_ns=end_ns)
    if from_profile is not None:
        return from_profile
    return None if not context.adv else context.adv * (end_ns - start_ns) / _SESSION_NS


def participation_capped(fractions: Sequence[Decimal], *, qty: Decimal, capacity: Sequence[Decimal | None]) -> tuple[Decimal, ...]:
    """``fractions`` with no slice above its ``capacity`` (None: any): the excess moves to the next slices that have room,
    so a front-loaded trajectory stays as front-loaded as the volume allows; the last slice takes what none could."""
    out: list[Decimal] = []
    done, carry, before = ZERO, ZERO, ZERO
    for k, (fraction, room) in enumerate(zip(fractions, capacity, strict=True)):
        want = (fraction - before) * qty + carry
        before = fraction
        take = want if room is None or k == len(fractions) - 1 else min(want, room)
        carry = want - take
        done += take
        out.append(ONE if k == len(fractions) - 1 else min(ONE, (done / qty).quantize(_PLACES)))
    return tuple(out)


def schedule_fractions(
    params: AlgoParams, context: ScheduleContext, *, start_ns: int, slice_ns: int, slices: int, qty: Decimal
) -> tuple[Decimal, ...]:
    """The schedule of a scheduled algo (TWAP, VWAP, IS); POV and the rest follow the market, not a curve: TWAP shape."""
    if params.strategy is Strategy.VWAP and context.profile:
        return profile_fractions(
            context.profile,
            bucket_ns=context.bucket_ns,
            open_ns=context.open_ns,
            start_ns=start_ns + context.session_offset_ns,
            slice_ns=slice_ns,
            slices=slices,
        )
    if params.strategy is Strategy.IS:
        return is_fractions(params, context, slices=slices, horizon_ns=slices * slice_ns, qty=qty, start_ns=start_ns)
    return twap_fractions(slices)


def due_qty(qty: Decimal, fraction: Decimal, lot: Decimal) -> Decimal:
    """``qty x fraction`` on the lot (floored), after rounding off the fraction's last-place error."""
    return floor_to((qty * fraction).quantize(Decimal("0.0001")), lot)


def segment_fractions(
    params: AlgoParams, context: ScheduleContext, *, start_ns: int, end_ns: int, qty: Decimal
) -> tuple[Decimal, ...]:
    """The schedule of a segment (a start, a switch, an amend) from ``start_ns`` to ``end_ns`` on ``qty``.

    Empty for an algo that keeps none (IMMEDIATE, DARK, RFQ) or a window already over.
    """
    if not params.strategy.scheduled or end_ns <= start_ns:
        return ()
    slices = slice_count(params, start_ns=start_ns, end_ns=end_ns)
    slice_ns = int(params["slice_seconds"]) * NS
    return schedule_fractions(params, context, start_ns=start_ns, slice_ns=slice_ns, slices=slices, qty=qty)


def slice_quantities(qty: Decimal, lot: Decimal, fractions: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """Cut ``qty`` along ``fractions`` on the lot; the slices sum to ``qty`` exactly (a lot multiple)."""
    cumulative = [due_qty(qty, f, lot) for f in fractions[:-1]] + [qty]
    out, before = [], ZERO
    for wanted in cumulative:
        cum = max(wanted, before)
        out.append(cum - before)
        before = cum
    return tuple(out)


def expected_profile_volume(context: ScheduleContext, *, start_ns: int, end_ns: int) -> Decimal | None:
    """The market volume expected between two schedule times from ADV and the profile; None without them."""
    if not context.adv or not context.profile:
        return None
    share = _profile_volume(
        context.profile,
        context.bucket_ns,
        context.open_ns,
        start_ns + context.session_offset_ns,
        end_ns + context.session_offset_ns,
    )
    return context.adv * share


def _check_slices(slices: int) -> None:
    if slices < 1:
        raise ValueError(f"invalid `slices`, was {slices}: at least 1")
