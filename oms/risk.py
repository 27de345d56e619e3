"""Pre-trade risk, the shell: read the limits and the portfolio's exposure, run ``oms.core.risk``, log the outcome.

The caller holds the portfolio's row lock (``Portfolio.objects.select_for_update``)
for the whole submit, so two orders of one portfolio are checked one after the
other against each other's effect: two that together breach a limit cannot
both pass (tested on PostgreSQL). Limits are ``RiskLimit`` rows, managed in
admin by the risk role; every row whose scope covers the order applies, and the
strictest value of each field wins.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from oms import ports
from oms.core.risk import CheckOutcome, Exposure, Limits, OrderIntent, limits_tightest, risk_check
from oms.models import Fill, Instrument, ParentOrder, Portfolio, Position, RiskLimit
from oms.selectors import instruments_covering, kill_switch_covering, restriction_covering
from trading.enums import OrdType, Side
from trading.numbers import ZERO
from trading.states import TERMINAL


@dataclass(frozen=True, slots=True)
class RiskTerms:
    """What the checks look at in an order (new, or as amended)."""

    portfolio: Portfolio
    instrument: Instrument
    side: Side
    ord_type: OrdType
    qty: Decimal
    limit_px: Decimal | None


def limits_for(*, portfolio: Portfolio, instrument: Instrument) -> Limits:
    """The strictest of the active limit rows of the firm, the portfolio, the instrument, and the pair (of any asset
    class, or the instrument's)."""
    rows = RiskLimit.objects.filter(active=True).filter(
        Q(portfolio__isnull=True) | Q(portfolio=portfolio),
        Q(instrument__isnull=True) | Q(instrument=instrument),
        Q(asset_class="") | Q(asset_class=instrument.asset_class),
    )
    return limits_tightest(
        Limits(
            max_order_qty=row.max_order_qty,
            max_order_notional=row.max_order_notional,
            collar_bps=row.collar_bps,
            credit_limit=row.credit_limit,
            max_position_qty=row.max_position_qty,
            daily_notional=row.daily_notional,
            max_orders=row.max_orders,
            per_seconds=row.per_seconds,
            duplicate_seconds=row.duplicate_seconds,
        )
        for row in rows
    )


def reference_px(instrument: Instrument) -> Decimal | None:
    """The live mark (``ports.execution.marks``), else the instrument's reference price (the last close)."""
    mark = ports.execution.marks([instrument.pk]).get(instrument.pk)
    return mark or instrument.ref_px or None  # a mark or close of 0 is no reference


def order_risk_check(
    *,
    terms: RiskTerms,
    trader: Any,
    now: datetime,
    ref_px: Decimal | None,
    allow_duplicate: bool = False,
    replacing: ParentOrder | None = None,
) -> list[CheckOutcome]:
    """Run every pre-trade check on ``terms`` against ``ref_px`` (``reference_px``); return each outcome (a failure is
    ``not outcome.passed``).

    ``replacing``: the order being amended, whose own working quantity is left
    out of the exposure (the amended terms stand in for it), and which is
    neither throttled nor a duplicate of itself. The caller holds the
    portfolio's row lock.
    """
    limits = limits_for(portfolio=terms.portfolio, instrument=terms.instrument)
    intent = OrderIntent(
        side=terms.side,
        ord_type=terms.ord_type,
        qty=terms.qty,
        limit_px=terms.limit_px,
        ref_px=ref_px,
        multiplier=terms.instrument.multiplier,
        currency=terms.instrument.currency,
    )
    return risk_check(
        intent, _exposure(terms, limits, trader=trader, now=now, allow_duplicate=allow_duplicate, replacing=replacing), limits
    )


def outcomes_json(outcomes: list[CheckOutcome]) -> list[dict[str, Any]]:
    """The outcomes as the order's event log stores them."""
    return [
        {"check": o.check.value, "passed": o.passed, "message": o.message, "value": o.value, "limit": o.limit} for o in outcomes
    ]


def _exposure(
    terms: RiskTerms, limits: Limits, *, trader: Any, now: datetime, allow_duplicate: bool, replacing: ParentOrder | None
) -> Exposure:
    portfolio, instrument = terms.portfolio, terms.instrument
    orders = ParentOrder.objects.filter(portfolio=portfolio)
    if replacing is not None:
        orders = orders.exclude(pk=replacing.pk)
    working = orders.exclude(status__in=TERMINAL)
    here = working.filter(instrument=instrument).values("side").annotate(open=Sum(F("qty") - F("filled_qty")))
    open_qty = {row["side"]: row["open"] or ZERO for row in here}
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    fills = Fill.objects.filter(parent__portfolio=portfolio, executed_at__gte=day_start).aggregate(
        notional=Sum(_money(F("qty") * F("px") * F("parent__instrument__multiplier")))
    )
    position = Position.objects.filter(portfolio=portfolio, instrument=instrument).values_list("qty", flat=True).first()
    covered = instruments_covering(instrument)  # one read of the legs for both lists
    kill = kill_switch_covering(portfolio=portfolio, instrument_ids=covered, trader=trader)
    restriction = restriction_covering(portfolio=portfolio, instrument_ids=covered)
    recent = 0
    if limits.max_orders is not None and replacing is None:
        recent = orders.filter(created_at__gt=now - timedelta(seconds=limits.per_seconds)).count()
    duplicate_of = None
    if limits.duplicate_seconds is not None and not allow_duplicate and replacing is None:
        duplicate_of = (
            orders.filter(
                created_at__gt=now - timedelta(seconds=limits.duplicate_seconds),
                instrument=instrument,
                side=terms.side,
                ord_type=terms.ord_type,
                qty=terms.qty,
                limit_px=terms.limit_px,
            )
            .values_list("pk", flat=True)
            .first()
        )
    return Exposure(
        position_qty=position or ZERO,
        open_buy_qty=open_qty.get(Side.BUY, ZERO),
        open_sell_qty=open_qty.get(Side.SELL, ZERO),
        open_notional=_notional(working, leaves=True),
        filled_notional_today=fills["notional"] or ZERO,
        submitted_notional_today=_notional(orders.filter(created_at__gte=day_start), leaves=False),
        recent_orders=recent,
        duplicate_of=duplicate_of,
        restricted=f"{restriction.instrument}: {restriction.reason}" if restriction else None,
        kill_switch=f"{kill.target_label}: {kill.reason}" if kill else None,
    )


def _money(expression: Any) -> ExpressionWrapper:
    return ExpressionWrapper(expression, output_field=DecimalField(max_digits=36, decimal_places=12))


def _notional(orders: QuerySet[ParentOrder], *, leaves: bool) -> Decimal:
    """The orders' notional (what is left of each when ``leaves``) at the limit price, or the reference for a market order."""
    qty = F("qty") - F("filled_qty") if leaves else F("qty")
    px = Coalesce("limit_px", "instrument__ref_px")
    total = orders.aggregate(notional=Sum(_money(qty * px * F("instrument__multiplier"))))["notional"]
    return total or ZERO
