"""Run the router against the simulated market: the scenario tests' and the benchmark's execution loop.

Pure (no Django). ``sim_venues`` shows the router a ``SimMarket`` the way the
live shell shows it the market-data cache; ``sim_route`` works one order to the
end the way the EMS does: route, send, wait for every child to finish, then
route what did not fill again with fresh books, up to ``rounds`` decisions.
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import count

from router.core.market import RouteRequest, RouterParams, VenueBook
from router.core.policy import RESTING, Action, RoutePlan, VenueOrder, route
from router.core.scoring import VenueStats
from trading.enums import ExecType, OrdType, Side, TimeInForce, VenueKind
from trading.messages import ExecutionReport, NewOrder
from trading.numbers import ZERO
from venues.sim.market import SimMarket

_ids = count(1)


def sim_venues(market: SimMarket, symbol: str, *, levels: int = 10) -> list[VenueBook]:
    """Every venue of ``market`` as the router sees it now (fresh: age 0)."""
    books = [
        VenueBook(
            code=code,
            kind=VenueKind.LIT,
            state=venue.state.value,
            maker_fee=venue.spec.maker_fee,
            taker_fee=venue.spec.taker_fee,
            latency_ms=Decimal(venue.spec.latency_ns) / 1_000_000,
            age_ms=0,
            bids=tuple((px, qty) for px, qty, _ in venue.depth(symbol, Side.BUY, levels)),
            asks=tuple((px, qty) for px, qty, _ in venue.depth(symbol, Side.SELL, levels)),
        )
        for code, venue in market.lit.items()
    ]
    books += [
        VenueBook(
            code=code,
            kind=VenueKind.DARK,
            state=pool.state.value,
            maker_fee=pool.spec.maker_fee,
            taker_fee=pool.spec.taker_fee,
            latency_ms=Decimal(pool.spec.latency_ns) / 1_000_000,
            age_ms=0,
        )
        for code, pool in market.dark.items()
    ]
    return books


@dataclass(slots=True)
class SimFill:
    venue: str
    qty: Decimal
    px: Decimal
    fee: Decimal


@dataclass(slots=True)
class SimExecution:
    """What working one order did: every decision, every order sent and every fill."""

    plans: list[RoutePlan] = field(default_factory=list)
    sent: list[VenueOrder] = field(default_factory=list)
    fills: list[SimFill] = field(default_factory=list)
    reports: list[ExecutionReport] = field(default_factory=list)

    @property
    def filled_qty(self) -> Decimal:
        return sum((f.qty for f in self.fills), ZERO)

    def cost_bps(self, *, side: Side, arrival_mid: Decimal) -> Decimal:
        """Average price with fees against the arrival mid, in bps; positive is a cost. Needs a fill."""
        qty = self.filled_qty
        notional = sum((f.qty * f.px for f in self.fills), ZERO)
        fees = sum((f.fee for f in self.fills), ZERO)
        cost = (notional + fees) / qty - arrival_mid if side is Side.BUY else arrival_mid - (notional - fees) / qty
        return cost / arrival_mid * 10_000


def sim_send(market: SimMarket, symbol: str, side: Side, order: VenueOrder) -> str:
    """Send one planned order into ``market``; return its ``cl_ord_id``."""
    cl_ord_id = f"R{next(_ids)}"
    market.send(
        NewOrder(
            cl_ord_id=cl_ord_id,
            venue=order.venue,
            symbol=symbol,
            side=side,
            ord_type=order.ord_type,
            qty=order.qty,
            limit_px=order.limit_px,
            tif=order.tif,
            post_only=order.post_only,
            min_qty=order.min_qty,
            display_qty=order.display_qty,
            peg=order.peg,
            delay_us=order.delay_us,
        )
    )
    return cl_ord_id


def sim_route(
    market: SimMarket,
    request: RouteRequest,
    *,
    params: RouterParams,
    rng: random.Random,
    stats: Mapping[str, VenueStats] | None = None,
    rounds: int = 5,
    wait_ns: int = 50_000_000,
) -> SimExecution:
    """Work ``request`` through the router until filled, nothing is left to route, or ``rounds`` decisions.

    Each round sends the plan, runs the market ``wait_ns`` at a time until every
    IOC child is done, and routes the unfilled rest again (dark pools count as
    tried once pinged). Stops at an RFQ plan, and after a plan with a resting
    order (left working).
    """
    run = SimExecution()
    left = request.qty
    dark_tried = request.dark_tried
    for _ in range(rounds):
        plan = route(
            replace(request, qty=left, dark_tried=dark_tried),
            sim_venues(market, request.symbol),
            stats=stats or {},
            params=params,
            rng=rng,
        )
        run.plans.append(plan)
        if plan.rfq or not plan.orders:
            break
        sent = {sim_send(market, request.symbol, request.side, order): order for order in plan.orders}
        run.sent += plan.orders
        dark_tried = dark_tried or any(o.action is Action.DARK_PING for o in plan.orders)
        filled_before = run.filled_qty
        ioc = {cl for cl, o in sent.items() if o.tif not in RESTING}
        _run_until_done(market, run, watch=set(sent), until_done=ioc, wait_ns=wait_ns)
        left -= run.filled_qty - filled_before  # resting orders are not waited for: they fill later or never
        if left <= 0 or any(o.tif in RESTING for o in plan.orders):
            break  # done, or something rests: routing again now would count its quantity twice
    return run


def sim_single_order(market: SimMarket, symbol: str, venue: str, side: Side, qty: Decimal) -> SimExecution:
    """Send one market IOC of ``qty`` to ``venue`` (no router) and run the market until it is done."""
    market.send(NewOrder("ONE", venue, symbol, side, OrdType.MARKET, qty, None, TimeInForce.IOC))
    run = SimExecution()
    _run_until_done(market, run, watch={"ONE"}, until_done={"ONE"})
    return run


def _run_until_done(
    market: SimMarket, run: SimExecution, *, watch: set[str], until_done: set[str], wait_ns: int = 50_000_000
) -> None:
    """Run ``market`` ``wait_ns`` at a time until every order in ``until_done`` is done; record ``watch``'s reports and fills."""
    waiting = set(until_done)
    while waiting:
        market.run_until(market.now + wait_ns)
        reports, _ = market.drain()
        for report in reports:
            if not isinstance(report, ExecutionReport) or report.cl_ord_id not in watch:
                continue
            run.reports.append(report)
            if report.exec_type is ExecType.TRADE:
                run.fills.append(SimFill(report.venue, report.last_qty, report.last_px, report.fee))
            if report.ord_status.is_terminal:
                waiting.discard(report.cl_ord_id)
