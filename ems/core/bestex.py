"""Best execution: venue analysis, dealer scorecards and the RTS 28 table, pure and in Decimal.

Values in, values out: the shell (``ems.bestex``) reads a period's fills, child
orders, markouts and requests for quote and hands them here as the dataclasses
below. Every figure is defined where it is computed; the report page repeats
the definitions.

Conventions:

- **Volume** is notional: ``|qty * px * multiplier|`` in the instrument's
  currency (a package's net price may be negative, a credit: its size counts).
- **Percentages** are in percent (``12.34`` is 12.34%), 0.01 steps. A set of
  shares of one whole (volume shares, order shares, passive/aggressive/other)
  is rounded by largest remainder, so the shares add up to exactly 100.00 when
  the whole is not empty (ties to the earlier item in the listed order).
- **bps** are 0.01 bps steps, half to even. The effective spread is a cost:
  positive when we paid more than the mid (``ems.core.tca.effective_spread_bps``).
  A markout is positive when the mid later moved our way (after a buy it rose),
  negative when it moved against us: adverse selection, the trace of
  information leaking from where we traded.
- Averages of bps are **notional-weighted** over the fills that have the
  measure (a fill without a mid has no effective spread; a markout not yet
  recorded counts for nothing), so a venue's figure is what a dollar traded
  there paid or earned.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Final

from ems.core.rfq import DealerOutcome, DealerRecord, Scorecard
from ems.core.tca import effective_spread_bps
from trading.enums import Liquidity, Side, VenueKind
from trading.numbers import ZERO

HORIZONS_S: Final = (1, 5, 30, 60)  # the markout horizons recorded (ems.markouts.HORIZONS_S)
TOP_N: Final = 5  # RTS 28: the top five execution venues per class
PACKAGE: Final = "PACKAGE"  # a multi-leg package is its own class, whatever its legs
CLASS_ORDER: Final = ("EQUITY", "OPTION", PACKAGE)
KIND_ORDER: Final = (VenueKind.LIT.value, VenueKind.DARK.value, VenueKind.RFQ_DEALER.value)

HUNDRED: Final = Decimal(100)
PCT_STEP: Final = Decimal("0.01")
STEPS_IN_WHOLE: Final = 10_000  # 100.00% in 0.01% steps
BPS_STEP: Final = Decimal("0.01")
MS_STEP: Final = Decimal("0.01")


# --- inputs -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VenueInfo:
    code: str
    name: str
    kind: str  # trading.enums.VenueKind


@dataclass(frozen=True, slots=True)
class FillIn:
    """One of our fills in the period.

    ``order_key`` names the order it executed: a child's ``cl_ord_id``, or an
    RFQ hit's ``quote_resp_id``. ``seq`` orders fills in booking order (the
    fill's id), which decides an order's first fill. ``directed``: the venue was
    chosen by a person rather than the router (see ``rts28``). ``markouts``:
    bps per horizon (seconds) recorded so far.
    """

    seq: int
    venue: str
    asset_class: str  # EQUITY, OPTION or PACKAGE
    order_key: str
    side: Side
    qty: Decimal
    px: Decimal
    multiplier: Decimal = Decimal(1)
    liquidity: str = ""  # ADDED, REMOVED, or blank (an RFQ fill: neither)
    mid_px: Decimal | None = None
    directed: bool = False
    markouts: Mapping[int, Decimal] = field(default_factory=dict)

    @property
    def notional(self) -> Decimal:
        return abs(self.qty * self.px * self.multiplier)


@dataclass(frozen=True, slots=True)
class ChildIn:
    """One child order sent in the period: its size, what filled, whether the venue rejected it, its ack latency."""

    venue: str
    qty: Decimal
    filled_qty: Decimal
    rejected: bool
    ack_latency_us: int | None = None  # acknowledged - sent; None: never acknowledged (or not sent)


# --- outputs ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VenueRow:
    """One venue's analysis over the period (see ``venue_analysis`` for each figure's definition)."""

    code: str
    name: str
    kind: str
    fills: int
    orders_executed: int
    filled_qty: Decimal
    notional: Decimal
    volume_share_pct: Decimal
    children: int
    children_qty: Decimal
    children_filled_qty: Decimal
    fill_rate_pct: Decimal | None
    rejects: int
    reject_rate_pct: Decimal | None
    passive_pct: Decimal | None
    aggressive_pct: Decimal | None
    effective_spread_bps: Decimal | None
    spread_fills: int
    markout_bps: Mapping[int, Decimal | None]
    markout_fills: Mapping[int, int]
    acks: int
    latency_ms_mean: Decimal | None
    latency_ms_median: Decimal | None


@dataclass(frozen=True, slots=True)
class DealerRow:
    """One dealer's scorecard over the period's requests (see ``dealer_scorecards``)."""

    code: str
    name: str
    requests: int
    responses: int
    response_rate_pct: Decimal | None
    wins: int
    win_ratio_pct: Decimal | None
    covers: int
    avg_cover_bps: Decimal | None
    distances: int
    avg_distance_bps: Decimal | None
    last_looks: int
    last_look_rejects: int
    last_look_reject_pct: Decimal | None
    markouts: int
    avg_markout_bps: Decimal | None


@dataclass(frozen=True, slots=True)
class RtsVenueRow:
    """One of a class's top venues, RTS 28 style (see ``rts28``)."""

    rank: int
    code: str
    name: str
    kind: str
    notional: Decimal
    orders: int
    trades: int
    volume_pct: Decimal
    orders_pct: Decimal
    passive_pct: Decimal
    aggressive_pct: Decimal
    directed_pct: Decimal
    below_one_trade_per_day: bool


@dataclass(frozen=True, slots=True)
class RtsClassTable:
    asset_class: str
    notional: Decimal
    orders: int
    trades: int
    business_days: int
    venues: tuple[RtsVenueRow, ...]  # the top five, best first


# --- helpers ----------------------------------------------------------------------------


def shares_pct(parts: Sequence[Decimal]) -> list[Decimal]:
    """Return each part's share of their sum in percent, 0.01 steps, adding up to exactly 100.00.

    Largest remainder: each share is first rounded down; the steps still
    missing go one each to the parts that lost most, ties to the earlier part.
    All zeros (or no parts): all shares are 0. Raise ValueError for a negative part.
    """
    for i, part in enumerate(parts):
        if part < 0:
            raise ValueError(f"invalid `parts[{i}]`, was {part}: must be >= 0")
    total = sum((Fraction(part) for part in parts), Fraction(0))
    if not total:
        return [ZERO.quantize(PCT_STEP) for _ in parts]
    # In exact fractions: equal remainders must tie (Decimal division rounds at its precision, and could split them).
    exact = [Fraction(part) * STEPS_IN_WHOLE / total for part in parts]
    floored = [math.floor(share) for share in exact]
    missing = STEPS_IN_WHOLE - sum(floored)
    order = sorted(range(len(parts)), key=lambda i: (-(exact[i] - floored[i]), i))
    for i in order[:missing]:
        floored[i] += 1
    return [(Decimal(steps) * PCT_STEP).quantize(PCT_STEP) for steps in floored]


def pct(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """``100 * numerator / denominator`` in 0.01 steps; None when the denominator is 0."""
    if not denominator:
        return None
    return (Decimal(numerator) * HUNDRED / Decimal(denominator)).quantize(PCT_STEP, rounding=ROUND_HALF_EVEN)


def weighted_bps(pairs: Iterable[tuple[Decimal, Decimal]]) -> tuple[Decimal | None, int]:
    """Return the weight-weighted mean of ``(weight, bps)`` pairs in 0.01 bps and how many there were; None if none."""
    weight_sum = value_sum = ZERO
    count = 0
    for weight, bps in pairs:
        weight_sum += weight
        value_sum += weight * bps
        count += 1
    if not weight_sum:
        return None, count
    return (value_sum / weight_sum).quantize(BPS_STEP, rounding=ROUND_HALF_EVEN), count


def business_days(start: date, end: date) -> int:
    """Count Monday-to-Friday days in ``[start, end)`` (no holiday calendar: every weekday counts)."""
    if end <= start:
        return 0
    days = (end - start).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    for offset in range(rest):
        if (start + timedelta(days=weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count


def _first_fills(fills: Iterable[FillIn]) -> dict[tuple[str, str], FillIn]:
    """Each (venue, order) with its first fill (lowest ``seq``)."""
    first: dict[tuple[str, str], FillIn] = {}
    for f in fills:
        key = (f.venue, f.order_key)
        if key not in first or f.seq < first[key].seq:
            first[key] = f
    return first


def _class_key(asset_class: str) -> tuple[int, str]:
    return (CLASS_ORDER.index(asset_class) if asset_class in CLASS_ORDER else len(CLASS_ORDER), asset_class)


def _kind_key(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def _info(venues: Mapping[str, VenueInfo], code: str) -> VenueInfo:
    return venues.get(code) or VenueInfo(code, code, "")


# --- venue analysis ---------------------------------------------------------------------


def venue_analysis(fills: Sequence[FillIn], children: Sequence[ChildIn], venues: Mapping[str, VenueInfo]) -> tuple[VenueRow, ...]:
    """Return one row per venue with fills or child orders in the period: lit first, then dark, then RFQ dealers.

    Within a kind: the most notional first, then by code. Per venue:

    - ``volume_share_pct``: its notional as a share of all the period's
      notional (all rows add up to 100.00);
    - ``orders_executed``: distinct orders (children, RFQ hits) with a fill there;
    - ``fill_rate_pct``: ``100 * sum(filled_qty) / sum(qty)`` over the child
      orders sent there in the period (None: no child, as for a dealer);
    - ``reject_rate_pct``: children the venue rejected per child sent;
    - ``passive_pct`` / ``aggressive_pct``: the share of its notional whose fill
      added liquidity (ADDED: our resting order was hit) / removed it (REMOVED:
      we crossed the spread); RFQ fills are neither, so both are 0 at a dealer;
    - ``effective_spread_bps``: ``2 * s * (px - mid) / mid`` per fill (``s`` = +1
      buy, -1 sell; mid when the fill was booked), notional-weighted over the
      fills with a mid (``spread_fills``); positive is a cost;
    - ``markout_bps[h]``: ``s * (mid_h - px) / px`` at ``h`` seconds after the
      fill, notional-weighted over the fills measured at ``h``
      (``markout_fills[h]``); positive: the mid moved our way; negative:
      adverse selection (information leakage);
    - ``latency_ms_mean`` / ``latency_ms_median``: from sending a child to the
      venue's acknowledgement, over the ``acks`` children acknowledged.
    """
    by_venue: dict[str, list[FillIn]] = {}
    for f in fills:
        by_venue.setdefault(f.venue, []).append(f)
    kids: dict[str, list[ChildIn]] = {}
    for c in children:
        kids.setdefault(c.venue, []).append(c)
    codes = sorted(set(by_venue) | set(kids))
    notionals = {code: sum((f.notional for f in by_venue.get(code, ())), ZERO) for code in codes}
    codes.sort(key=lambda code: (_kind_key(_info(venues, code).kind), -notionals[code], code))
    shares = dict(zip(codes, shares_pct([notionals[code] for code in codes]), strict=True))
    rows = []
    for code in codes:
        info = _info(venues, code)
        vf = by_venue.get(code, [])
        vc = kids.get(code, [])
        notional = notionals[code]
        added = sum((f.notional for f in vf if f.liquidity == Liquidity.ADDED), ZERO)
        removed = sum((f.notional for f in vf if f.liquidity == Liquidity.REMOVED), ZERO)
        passive = aggressive = None
        if notional:
            passive, aggressive, _ = shares_pct([added, removed, notional - added - removed])
        spread, spread_fills = weighted_bps(
            (f.notional, effective_spread_bps(side=f.side, px=f.px, mid=f.mid_px)) for f in vf if f.mid_px and f.px > 0
        )
        markouts: dict[int, Decimal | None] = {}
        markout_fills: dict[int, int] = {}
        for h in HORIZONS_S:
            markouts[h], markout_fills[h] = weighted_bps((f.notional, f.markouts[h]) for f in vf if h in f.markouts)
        latencies = sorted(c.ack_latency_us for c in vc if c.ack_latency_us is not None)
        child_qty = sum((c.qty for c in vc), ZERO)
        child_filled = sum((c.filled_qty for c in vc), ZERO)
        rejects = sum(1 for c in vc if c.rejected)
        rows.append(
            VenueRow(
                code=code,
                name=info.name,
                kind=info.kind,
                fills=len(vf),
                orders_executed=len({f.order_key for f in vf}),
                filled_qty=sum((f.qty for f in vf), ZERO),
                notional=notional,
                volume_share_pct=shares[code],
                children=len(vc),
                children_qty=child_qty,
                children_filled_qty=child_filled,
                fill_rate_pct=pct(child_filled, child_qty),
                rejects=rejects,
                reject_rate_pct=pct(rejects, len(vc)),
                passive_pct=passive,
                aggressive_pct=aggressive,
                effective_spread_bps=spread,
                spread_fills=spread_fills,
                markout_bps=markouts,
                markout_fills=markout_fills,
                acks=len(latencies),
                latency_ms_mean=_ms(Decimal(sum(latencies)) / len(latencies)) if latencies else None,
                latency_ms_median=_ms(_median(latencies)) if latencies else None,
            )
        )
    return tuple(rows)


def _median(values: Sequence[int]) -> Decimal:
    mid = len(values) // 2
    if len(values) % 2:
        return Decimal(values[mid])
    return Decimal(values[mid - 1] + values[mid]) / 2


def _ms(us: Decimal) -> Decimal:
    return (us / 1000).quantize(MS_STEP, rounding=ROUND_HALF_EVEN)


# --- dealer scorecards ------------------------------------------------------------------


def dealer_scorecards(outcomes: Iterable[DealerOutcome], names: Mapping[str, str]) -> tuple[DealerRow, ...]:
    """Return one row per dealer asked in the period's ended requests, by code.

    The outcomes are ``ems.core.rfq.dealer_outcomes`` of each request, so the
    figures are the RFQ scorecard's, over the period only:

    - ``response_rate_pct``: requests it quoted per request it was asked;
    - ``win_ratio_pct``: trades won per quote given;
    - ``avg_cover_bps``: when it quoted, did not win and did not reject a
      last look, how far its price was behind the best price we traded
      (``s * (its px - best px) / best px``; 0 is a tie, positive is behind);
    - ``avg_distance_bps``: its quote against the composite mid
      (``s * (px - mid) / mid``; positive is worse than mid for us), over the
      requests with a mid (``distances``);
    - ``last_look_reject_pct``: hits it rejected on last look per hit it was sent;
    - ``avg_markout_bps``: the markout of its fills at the dealer horizon
      (positive: the market moved our way after we traded with it).
    """
    card = Scorecard().update(outcomes)
    rows = []
    for code in sorted(card.records):
        r: DealerRecord = card.record(code)
        rows.append(
            DealerRow(
                code=code,
                name=names.get(code, code),
                requests=r.requests,
                responses=r.responses,
                response_rate_pct=pct(r.responses, r.requests),
                wins=r.wins,
                win_ratio_pct=pct(r.wins, r.responses),
                covers=r.covers,
                avg_cover_bps=r.avg_cover_bps,
                distances=r.distances,
                avg_distance_bps=r.avg_distance_bps,
                last_looks=r.last_looks,
                last_look_rejects=r.last_look_rejects,
                last_look_reject_pct=pct(r.last_look_rejects, r.last_looks),
                markouts=r.markouts,
                avg_markout_bps=r.avg_markout_bps,
            )
        )
    return tuple(rows)


# --- RTS 28 -----------------------------------------------------------------------------


def rts28(fills: Sequence[FillIn], venues: Mapping[str, VenueInfo], *, days: int, top_n: int = TOP_N) -> tuple[RtsClassTable, ...]:
    """Return, per instrument class with fills (EQUITY, OPTION, PACKAGE, then any other by name), its top venues.

    In the style of MiFID II RTS 28 (Commission Delegated Regulation (EU)
    2017/576), per class, the ``top_n`` venues by notional traded, ties by
    orders executed then by code. Per venue:

    - ``volume_pct``: its notional as a share of the class's notional (the
      shares of all the class's venues, not only the top, add up to 100.00);
    - ``orders_pct``: its executed orders as a share of the class's; an order
      is a child order or an RFQ hit with at least one fill at the venue;
    - ``passive_pct`` / ``aggressive_pct``: of its executed orders, those that
      provided liquidity (first fill ADDED) / took it (first fill REMOVED); an
      order's first fill decides, so a child that crossed on arrival and then
      rested counts as aggressive; an RFQ hit is neither (rounded with the
      rest by largest remainder: passive + aggressive + neither = 100.00);
    - ``directed_pct``: of its executed orders, those whose venue a person
      chose: an RFQ hit on a request whose dealers the trader or the PM named
      (``FillIn.directed``); every order the router or the scorecard's ranking
      placed is not directed;
    - ``below_one_trade_per_day``: fewer fills in the class at the venue than
      ``days`` business days in the period (RTS 28's "fewer than one trade per
      business day on average"); never with ``days == 0``.
    """
    by_class: dict[str, list[FillIn]] = {}
    for f in fills:
        by_class.setdefault(f.asset_class, []).append(f)
    tables = []
    for asset_class in sorted(by_class, key=_class_key):
        cf = by_class[asset_class]
        first = _first_fills(cf)
        per_venue: dict[str, list[FillIn]] = {}
        for f in cf:
            per_venue.setdefault(f.venue, []).append(f)
        notional = {v: sum((f.notional for f in vf), ZERO) for v, vf in per_venue.items()}
        firsts_at: dict[str, list[FillIn]] = {v: [] for v in per_venue}
        for (venue, _), f in first.items():
            firsts_at[venue].append(f)
        orders = {v: len(firsts_at[v]) for v in per_venue}
        ranked = sorted(per_venue, key=lambda v: (-notional[v], -orders[v], v))
        volume_pct = dict(zip(ranked, shares_pct([notional[v] for v in ranked]), strict=True))
        orders_pct = dict(zip(ranked, shares_pct([Decimal(orders[v]) for v in ranked]), strict=True))
        rows = []
        for rank, v in enumerate(ranked[:top_n], start=1):
            firsts = firsts_at[v]
            passive = sum(1 for f in firsts if f.liquidity == Liquidity.ADDED)
            aggressive = sum(1 for f in firsts if f.liquidity == Liquidity.REMOVED)
            directed = sum(1 for f in firsts if f.directed)
            passive_pct, aggressive_pct, _ = shares_pct(
                [Decimal(passive), Decimal(aggressive), Decimal(len(firsts) - passive - aggressive)]
            )
            info = _info(venues, v)
            trades = len(per_venue[v])
            rows.append(
                RtsVenueRow(
                    rank=rank,
                    code=v,
                    name=info.name,
                    kind=info.kind,
                    notional=notional[v],
                    orders=orders[v],
                    trades=trades,
                    volume_pct=volume_pct[v],
                    orders_pct=orders_pct[v],
                    passive_pct=passive_pct,
                    aggressive_pct=aggressive_pct,
                    directed_pct=pct(directed, len(firsts)) or ZERO.quantize(PCT_STEP),
                    below_one_trade_per_day=days > 0 and trades < days,
                )
            )
        tables.append(
            RtsClassTable(
                asset_class=asset_class,
                notional=sum(notional.values(), ZERO),
                orders=len(first),
                trades=len(cf),
                business_days=days,
                venues=tuple(rows),
            )
        )
    return tuple(tables)
