"""Routing policy: a quantity, side, limit and urgency in; the venue orders to send, and why, out.

Pure: venues, statistics, settings and a seeded ``rng`` in, a ``RoutePlan`` out.
The shell sends the plan's orders and calls ``route`` again for whatever did
not fill (with fresh books), so "re-route the rest" is the same decision made
again, never a special case.

What the policy does, in order:

1. **Exclude** venues that cannot take an order now: not OPEN, silent longer
   than ``stale_ms`` (a dead feed or a lost session), or in the request's
   ``avoid`` list (a venue that just rejected us).
2. **Hand off to RFQ** a block the lit and dark markets cannot absorb without
   large impact: a large share of ADV, a large expected square-root impact, or
   (without ADV) many times the displayed depth.
3. **Dark first** for a mid-sized quantity (at least the dark minimum, and more
   than the far touch shows) unless urgency is HIGH: MEDIUM pings every usable
   pool at once with IOCs, split by each pool's score, before touching lit
   markets; LOW rests a share in the pools and the rest on a lit book.
4. **Sweep** the lit books (unless urgency is LOW and the order may rest):
   take displayed size up to the limit, cheapest fee-adjusted price first,
   ties to the better-scored venue; one IOC per venue priced at the worst level
   taken there, each held back by the latency difference so all arrive at once
   and the slower venues are not faded by the first fill.
5. **Post** what is left, when the order may rest, on the venue with the best
   expected fill (score, queue ahead, maker fee): at the touch (HIGH: at the
   limit, as the sweep took all displayed within it), displaying at most ``max_display_share`` of the
   depth shown there (an iceberg for the rest).

Leakage controls: sizes of dark and displayed pieces vary by up to
``size_jitter``; resting orders wait a random delay up to ``max_delay_ms``; dark
orders carry a minimum execution size. Totals are exact: the orders never add up
to more than the request, and no price is past the limit.
"""

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from itertools import takewhile
from types import MappingProxyType
from typing import Final

from router.core.market import OPEN, RouteRequest, RouterParams, VenueBook
from router.core.scoring import VenueScore, VenueStats, score_weights, weighted_score
from trading.enums import OrdType, Peg, Side, TimeInForce, Urgency, VenueKind
from trading.numbers import ZERO, floor_to

BPS = Decimal(10_000)
RESTING: Final = (TimeInForce.DAY, TimeInForce.GTC)  # the time in force of an order that may rest
_NO_STATS = VenueStats()


class Action(StrEnum):
    SWEEP = "SWEEP"
    POST = "POST"
    DARK_PING = "DARK_PING"
    DARK_REST = "DARK_REST"
    RFQ = "RFQ"


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """One order to send: where, how much, at what price, and the leakage settings."""

    venue: str
    action: Action
    qty: Decimal
    ord_type: OrdType
    limit_px: Decimal | None
    tif: TimeInForce
    display_qty: Decimal | None = None  # iceberg peak; None shows it all
    min_qty: Decimal = ZERO  # dark: the smallest execution accepted
    peg: Peg | None = None
    post_only: bool = False
    delay_us: int = 0  # hold this long before sending
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RoutePlan:
    orders: tuple[VenueOrder, ...]
    rfq: bool  # a block: hand it to the RFQ workflow (no orders)
    unrouted_qty: Decimal  # left for a later decision
    reasons: tuple[str, ...]
    excluded: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    scores: Mapping[str, VenueScore] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def actions(self) -> tuple[Action, ...]:
        if self.rfq:
            return (Action.RFQ,)
        return tuple(dict.fromkeys(order.action for order in self.orders))

    @property
    def routed_qty(self) -> Decimal:
        return sum((order.qty for order in self.orders), ZERO)


class BadRequest(ValueError):
    pass


def route(
    request: RouteRequest,
    venues: Sequence[VenueBook],
    *,
    stats: Mapping[str, VenueStats],
    params: RouterParams,
    rng: random.Random,
) -> RoutePlan:
    """Decide where ``request.qty`` goes now. Never more than the request in total, never past its limit.

    Raise ``BadRequest`` for a quantity that is not positive or not a lot multiple.
    """
    _check(request)
    usable, excluded = usable_venues(venues, avoid=request.avoid, params=params)
    weights = score_weights(params)
    scores = {
        v.code: weighted_score(stats.get(v.code, _NO_STATS), declared_latency_ms=v.latency_ms, weights=weights, rng=rng)
        for v in usable
    }
    return _Routing(request, usable, scores, params, rng).plan(excluded)


def usable_venues(
    venues: Iterable[VenueBook], *, avoid: Mapping[str, str], params: RouterParams
) -> tuple[list[VenueBook], dict[str, str]]:
    """Split venues into those that can take an order now and the rest, each with why not."""
    usable, excluded = [], {}
    for venue in venues:
        if venue.code in avoid:
            excluded[venue.code] = f"avoided: {avoid[venue.code]}"
        elif venue.age_ms is None:
            excluded[venue.code] = "no market data"
        elif venue.state != OPEN:
            excluded[venue.code] = f"session {venue.state.lower()}"
        elif venue.age_ms > params.stale_ms:
            excluded[venue.code] = f"stale: last update {venue.age_ms / 1000:.1f} s ago (limit {params.stale_ms / 1000:.1f} s)"
        else:
            usable.append(venue)
    return usable, excluded


def _check(request: RouteRequest) -> None:
    if request.qty <= 0:
        raise BadRequest(f"invalid `qty`, was {request.qty}: must be positive")
    if request.lot <= 0 or request.qty % request.lot:
        raise BadRequest(f"invalid `qty`, was {request.qty}: not a multiple of the lot {request.lot}")


def _within(side: Side, px: Decimal, limit: Decimal | None) -> bool:
    return limit is None or (px <= limit if side is Side.BUY else px >= limit)


class _Routing:
    """One decision's working state; ``plan`` runs the steps in the module docstring."""

    def __init__(
        self,
        request: RouteRequest,
        usable: list[VenueBook],
        scores: dict[str, VenueScore],
        params: RouterParams,
        rng: random.Random,
    ) -> None:
        self.req = request
        self.side = request.side
        self.lit = [v for v in usable if v.kind is VenueKind.LIT]
        self.dark = [v for v in usable if v.kind is VenueKind.DARK]
        self.scores = scores
        self.params = params
        self.rng = rng
        self.remaining = request.qty
        self.orders: list[VenueOrder] = []
        self.reasons: list[str] = []
        self.may_rest = request.tif in RESTING and request.limit_px is not None

    def plan(self, excluded: dict[str, str]) -> RoutePlan:
        block = self._block_reason()
        if block is not None:
            return self._done(excluded, rfq=True, reasons=[block])
        if self.req.tif is TimeInForce.FOK:
            self._fill_or_kill()
            return self._done(excluded)
        if self.req.dark_only:
            self._dark_only()
            return self._done(excluded)
        if self._dark_first():
            if self.req.urgency is Urgency.MEDIUM or not self.may_rest:
                self._dark_ping()
                return self._done(excluded)
            self._dark_rest()
        if self.req.urgency is not Urgency.LOW or not self.may_rest:
            self._sweep()
        elif self.remaining:
            self.reasons.append("low urgency: no crossing the spread")
        if self.remaining and self.may_rest:
            self._post()
        if self.remaining and not self.orders:
            self.reasons.append(f"nothing to route {self.remaining} to now")
        return self._done(excluded)

    def _done(self, excluded: dict[str, str], *, rfq: bool = False, reasons: list[str] | None = None) -> RoutePlan:
        return RoutePlan(
            orders=tuple(self.orders),
            rfq=rfq,
            unrouted_qty=self.req.qty if rfq else self.remaining,
            reasons=tuple(reasons if reasons is not None else self.reasons),
            excluded=MappingProxyType(excluded),
            scores=MappingProxyType(self.scores),
        )

    # --- the market as this order sees it ------------------------------------------------

    def _all_in(self, venue: VenueBook, px: Decimal) -> Decimal:
        """Price per share after the taker fee, as a cost: lower is better for either side."""
        return px + venue.taker_fee if self.side is Side.BUY else -(px - venue.taker_fee)

    def _takeable(self) -> list[tuple[Decimal, Decimal, VenueBook, Decimal]]:
        """Every displayed far-side level within the limit as (all-in cost, px, venue, qty), best first.

        Ties in cost go to the better-scored venue, then the faster, then by code.
        """
        limit, side = self.req.limit_px, self.side
        levels = [
            (self._all_in(v, px), -self.scores[v.code].value, v.latency_ms, v.code, px, qty, v)
            for v in self.lit
            for px, qty in takewhile(lambda level: _within(side, level[0], limit), v.far(side))  # best first
            if qty > 0
        ]
        levels.sort(key=lambda level: level[:4])
        return [(cost, px, venue, qty) for cost, _, _, _, px, qty, venue in levels]

    def _touch(self, which: str) -> Decimal | None:
        """The best far (``"far"``) or near (``"near"``) price over the usable lit venues."""
        prices = [levels[0][0] for v in self.lit if (levels := getattr(v, which)(self.side))]
        if not prices:
            return None
        best_far = min if self.side is Side.BUY else max
        best_near = max if self.side is Side.BUY else min
        return (best_far if which == "far" else best_near)(prices)

    def _far_touch_qty(self) -> Decimal:
        touch = self._touch("far")
        return sum((qty for v in self.lit for px, qty in v.far(self.side)[:1] if px == touch), ZERO)

    # --- 2. RFQ ---------------------------------------------------------------------------

    def _block_reason(self) -> str | None:
        req, p = self.req, self.params
        if not req.allow_rfq:
            return None
        if req.adv:
            share = req.qty / req.adv
            if share >= p.rfq_adv_share:
                return f"block: {share:.1%} of ADV (RFQ from {p.rfq_adv_share:.1%}); ask dealers for a price"
            if req.volatility_daily:
                impact = p.impact_coefficient * req.volatility_daily * share.sqrt() * BPS
                if impact >= p.rfq_impact_bps:
                    return f"block: expected impact {impact:.0f} bps (RFQ from {p.rfq_impact_bps} bps); ask dealers"
            return None
        shown = sum((qty for v in self.lit for _, qty in v.far(self.side)), ZERO)
        if shown and req.qty > p.rfq_depth_multiple * shown:
            return f"block: {req.qty / shown:.0f}x the displayed depth (RFQ from {p.rfq_depth_multiple}x); ask dealers"
        return None

    # --- FOK: all at one venue or nothing -----------------------------------------------

    def _fill_or_kill(self) -> None:
        shown: dict[str, Decimal] = {}
        worst: dict[str, Decimal] = {}
        for _, px, venue, qty in self._takeable():
            shown[venue.code] = shown.get(venue.code, ZERO) + qty
            worst[venue.code] = px
            if shown[venue.code] >= self.req.qty:
                self._add(
                    VenueOrder(
                        venue=venue.code,
                        action=Action.SWEEP,
                        qty=self.req.qty,
                        ord_type=OrdType.LIMIT,
                        limit_px=worst[venue.code],
                        tif=TimeInForce.FOK,
                        reason=f"fill or kill: {venue.code} shows {shown[venue.code]} within the limit",
                    )
                )
                return
        self.reasons.append(f"fill or kill: no single venue shows {self.req.qty} within the limit")

    # --- 3. dark ------------------------------------------------------------------------

    def _dark_first(self) -> bool:
        if not self.dark or self.req.urgency is Urgency.HIGH or self.req.dark_tried:
            return False
        far = self._far_touch_qty()
        minimum = self._dark_min()  # on the lot: one pool can always take it all
        if self.remaining < minimum or self.remaining <= far:
            return False
        self.reasons.append(f"mid-sized ({self.remaining} > {far} at the far touch, >= dark minimum {minimum}): dark first")
        return True

    def _dark_only(self) -> None:
        """Liquidity seeking: the whole quantity rests in the pools at the mid (within the limit), nothing lit."""
        if not self.dark:
            self.reasons.append("dark only: no dark pool can take an order now (see the excluded venues)")
            return
        if self.remaining >= self._dark_min():
            pieces = self._split_dark(self.remaining)
        else:  # less than the minimum: all of it to the best-scored pool
            pieces = [(max(self.dark, key=lambda v: (self.scores[v.code].value, v.code)), self.remaining)]
        for venue, qty in pieces:
            self._add(
                VenueOrder(
                    venue=venue.code,
                    action=Action.DARK_REST,
                    qty=qty,
                    ord_type=OrdType.LIMIT if self.req.limit_px is not None else OrdType.MARKET,
                    limit_px=self.req.limit_px,
                    tif=self.req.tif if self.req.tif in RESTING else TimeInForce.DAY,
                    min_qty=min(self._dark_min(), qty),
                    peg=Peg.MID,
                    delay_us=(delay := self._delay()),
                    reason=(
                        f"dark only: rest at the mid, min {min(self._dark_min(), qty)}, after a random {delay // 1000} ms: "
                        f"{self.scores[venue.code].describe()}"
                    ),
                )
            )
        self.reasons.append(f"dark only: rest {sum(q for _, q in pieces)} in {len(pieces)} pool(s)")

    def _dark_min(self) -> Decimal:
        """The dark minimum on the lot, rounded up: flooring it would accept executions under ``dark_min_qty``."""
        wanted = self.req.dark_min_qty if self.req.dark_min_qty is not None else self.params.dark_min_qty
        lots = (wanted / self.req.lot).to_integral_value(rounding=ROUND_CEILING)
        return max(lots * self.req.lot, self.req.lot)

    def _split_dark(self, qty: Decimal) -> list[tuple[VenueBook, Decimal]]:
        """Split ``qty`` over the pools by score, each piece at least the dark minimum; sizes jittered."""
        minimum = self._dark_min()
        pools = sorted(self.dark, key=lambda v: (-self.scores[v.code].value, v.code))
        while pools:
            weights = [max(self.scores[v.code].value, 0.05) * self._jitter() for v in pools]
            total = sum(weights)
            pieces = [floor_to(qty * Decimal(repr(w / total)), self.req.lot) for w in weights]
            pieces[0] = qty - sum(pieces[1:], ZERO)  # the best pool takes the rounding: exact total
            if all(piece >= minimum for piece in pieces):  # the best pool's piece too: its weight may be the smallest
                return list(zip(pools, pieces, strict=True))
            pools = pools[:-1]  # too thin to split this far: drop the weakest pool
        return []

    def _dark_ping(self) -> None:
        pieces = self._split_dark(self.remaining)
        slowest = max(v.latency_ms for v, _ in pieces)
        for venue, qty in pieces:
            self._add(
                VenueOrder(
                    venue=venue.code,
                    action=Action.DARK_PING,
                    qty=qty,
                    ord_type=OrdType.LIMIT if self.req.limit_px else OrdType.MARKET,
                    limit_px=self.req.limit_px,
                    tif=TimeInForce.IOC,
                    min_qty=min(self._dark_min(), qty),
                    peg=Peg.MID,
                    delay_us=_us(slowest - venue.latency_ms),
                    reason=f"dark ping at the mid, min {min(self._dark_min(), qty)}: {self.scores[venue.code].describe()}",
                )
            )

    def _dark_rest(self) -> None:
        share = floor_to(self.remaining * self.params.dark_rest_share, self.req.lot)
        if share < self._dark_min():
            return
        for venue, qty in self._split_dark(share):
            self._add(
                VenueOrder(
                    venue=venue.code,
                    action=Action.DARK_REST,
                    qty=qty,
                    ord_type=OrdType.LIMIT,
                    limit_px=self.req.limit_px,
                    tif=self.req.tif,
                    min_qty=self._dark_min(),
                    peg=Peg.MID,
                    delay_us=(delay := self._delay()),
                    reason=(
                        f"rest in the dark at the mid, min {self._dark_min()}, after a random {delay // 1000} ms: "
                        f"{self.scores[venue.code].describe()}"
                    ),
                )
            )

    # --- 4. sweep -----------------------------------------------------------------------

    def _sweep(self) -> None:
        if not self.lit:
            self.reasons.append("no lit venue can take an order now (see the excluded venues)")
            return
        taken: dict[str, tuple[VenueBook, Decimal, Decimal]] = {}  # code -> venue, qty, worst px
        left = self.remaining
        for _, px, venue, shown in self._takeable():
            if not left:
                break
            qty = min(floor_to(shown, self.req.lot), left)
            if qty <= 0:
                continue
            _, before, _ = taken.get(venue.code, (venue, ZERO, px))
            taken[venue.code] = (venue, before + qty, px)
            left -= qty
        if not taken:
            if self.req.limit_px is None or not self.may_rest:
                self.reasons.append("no displayed liquidity within the limit")
            return
        slowest = max(venue.latency_ms for venue, _, _ in taken.values())
        for venue, qty, worst in taken.values():
            fee = venue.taker_fee
            self._add(
                VenueOrder(
                    venue=venue.code,
                    action=Action.SWEEP,
                    qty=qty,
                    ord_type=OrdType.LIMIT,
                    limit_px=worst,
                    tif=TimeInForce.IOC,
                    delay_us=_us(slowest - venue.latency_ms),
                    reason=f"take {qty} up to {worst} (+{fee}/sh fee); sent to arrive with the slowest venue",
                )
            )
        self.reasons.append(f"sweep {sum(q for _, q, _ in taken.values())} across {len(taken)} venue(s) within the limit")

    # --- 5. post ------------------------------------------------------------------------

    def _post_px(self) -> Decimal:
        """HIGH: at the limit (the sweep took everything displayed within it). Else join the near touch, within the limit.

        LOW and MEDIUM post only: never at or through the far touch (a one-sided, locked or crossed book), where
        the venue would reject it.
        """
        limit = self.req.limit_px
        assert limit is not None
        if self.req.urgency is Urgency.HIGH:
            return limit
        prices = [px for px in (limit, self._touch("near")) if px is not None]
        far = self._touch("far")
        if far is not None:
            prices.append(far - self.req.tick if self.side is Side.BUY else far + self.req.tick)
        return min(prices) if self.side is Side.BUY else max(prices)

    def _post(self) -> None:
        px = self._post_px()
        if not self.lit:
            return  # the sweep said why

        def expected(v: VenueBook) -> float:
            queue = v.shown_at(self.side, px)
            fee_bps = v.maker_fee / px * BPS
            queue_share = float(self.remaining / (self.remaining + queue))
            return self.scores[v.code].value * queue_share - float(self.params.fee_weight * fee_bps)

        venue = max(self.lit, key=lambda v: (expected(v), -v.latency_ms, v.code))
        queue = venue.shown_at(self.side, px)
        depth = max(queue, venue.near(self.side)[0][1] if venue.near(self.side) else ZERO)
        display = self._display(depth)
        qty = self.remaining
        shown = "all" if display is None or display >= qty else f"{display} of {qty}"
        self._add(
            VenueOrder(
                venue=venue.code,
                action=Action.POST,
                qty=qty,
                ord_type=OrdType.LIMIT,
                limit_px=px,
                tif=self.req.tif,
                display_qty=None if display is None or display >= qty else display,
                post_only=self.req.urgency is not Urgency.HIGH,
                delay_us=(delay := self._delay()),
                reason=(
                    f"rest at {px} behind {queue} (maker fee {venue.maker_fee}/sh), showing {shown}, "
                    f"after a random {delay // 1000} ms: "
                    f"{self.scores[venue.code].describe()}"
                ),
            )
        )
        self.reasons.append(f"post {qty} on {venue.code}, the best expected fill")

    def _display(self, depth: Decimal) -> Decimal | None:
        """At most ``max_display_share`` of ``depth``, jittered down, on the lot, at least one lot; None: no cap known."""
        if depth <= 0:
            return None
        cap = floor_to(depth * self.params.max_display_share, self.req.lot)
        shown = floor_to(cap * (1 - self.params.size_jitter * Decimal(repr(self.rng.random()))), self.req.lot)
        return max(shown, self.req.lot)

    # --- helpers ------------------------------------------------------------------------

    def _jitter(self) -> float:
        """A weight's random factor, 1 +/- ``size_jitter`` (a model number; sizes are Decimals cut from it)."""
        return 1 + float(self.params.size_jitter) * self.rng.uniform(-1, 1)

    def _delay(self) -> int:
        return self.rng.randint(0, self.params.max_delay_ms * 1000)

    def _add(self, order: VenueOrder) -> None:
        assert 0 < order.qty <= self.remaining, (order.qty, self.remaining)
        self.remaining -= order.qty
        self.orders.append(order)


def _us(ms: Decimal) -> int:
    return int(ms * 1000)
