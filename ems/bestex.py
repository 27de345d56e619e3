"""Best-execution reports: read a period's records and hand them to ``ems.core.bestex``.

A period is ``[start, end)`` in whole days (UTC, the project's time zone):
fills by when they executed, child orders by when they were created, requests
for quote by when they opened. The reader's scope is ``oms.roles``: traders,
risk and admins see the whole desk; a PM only the orders of their own
portfolios. Every read is a fixed number of set-based queries (``values()``
rows, one pass each), whatever the number of orders.
"""

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final

from django.db.models import QuerySet
from django.utils import timezone

from ems.core.bestex import (
    HORIZONS_S,
    PACKAGE,
    ChildIn,
    DealerRow,
    FillIn,
    RtsClassTable,
    VenueInfo,
    VenueRow,
    business_days,
    dealer_scorecards,
    rts28,
    venue_analysis,
)
from ems.core.rfq import CHOSEN_BY_TRADER, DealerOutcome, dealer_outcomes
from ems.core.rfq_codec import book_load
from ems.markouts import DEALER_HORIZON_S
from ems.models import ChildOrder, FillMarkout, Rfq
from oms import roles
from oms.models import Fill, ParentOrder
from trading.enums import AssetClass, Side
from trading.numbers import decimal_str, plain
from trading.rfq import RFQ_TERMINAL
from trading.states import OrdStatus
from venues.models import Venue

ASSET_CLASSES: Final = (AssetClass.EQUITY.value, AssetClass.OPTION.value, PACKAGE)
MAX_DAYS: Final = 366  # a year (a leap one too); longer periods are refused: the report reads every fill


class BestexInvalid(ValueError):
    """Bad report input: ``field`` and the reason."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # exclusive

    @property
    def start_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def end_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end, time.min))


def quarter_to_date(today: date) -> Period:
    """The current calendar quarter up to and including ``today``."""
    return Period(date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today + timedelta(days=1))


def period_parse(start: str | None, end: str | None, *, today: date | None = None) -> Period:
    """Read ``start`` and ``end`` (YYYY-MM-DD, end exclusive); absent: the quarter to date. Raise ``BestexInvalid``."""
    default = quarter_to_date(today or timezone.localdate())
    first = _date("start", start) if start else default.start
    last = _date("end", end) if end else default.end
    if last <= first:
        raise BestexInvalid("end", f"invalid `end`, was {last.isoformat()}: must be after `start` {first.isoformat()}")
    if (last - first).days > MAX_DAYS:
        raise BestexInvalid("end", f"invalid period, was {(last - first).days} days: at most {MAX_DAYS}")
    return Period(first, last)


def asset_class_parse(value: str | None) -> str | None:
    if not value:
        return None
    if value not in ASSET_CLASSES:
        raise BestexInvalid("asset_class", f"invalid `asset_class`, was {value!r}: one of {', '.join(ASSET_CLASSES)}")
    return value


def _date(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value) if len(value) == 10 else _bad_date(name, value)
    except ValueError:
        return _bad_date(name, value)


def _bad_date(name: str, value: str) -> date:
    raise BestexInvalid(name, f"invalid `{name}`, was {value!r}: a date YYYY-MM-DD")


# --- reading ------------------------------------------------------------------------------


def _orders(user: Any, asset_class: str | None) -> QuerySet[ParentOrder]:
    orders = ParentOrder.objects.all() if roles.sees_all_orders(user) else roles.orders_for(user)
    if asset_class == PACKAGE:
        orders = orders.exclude(instrument__structure="")
    elif asset_class:
        orders = orders.filter(instrument__asset_class=asset_class, instrument__structure="")
    return orders


def _class_of(asset_class: str, structure: str) -> str:
    return PACKAGE if structure else asset_class


def _venues() -> dict[str, VenueInfo]:
    return {code: VenueInfo(code, name, kind) for code, name, kind in Venue.objects.values_list("code", "name", "kind")}


def _fills(user: Any, period: Period, asset_class: str | None) -> list[FillIn]:
    """The period's fills in scope, with their markouts and whether their venue was directed: four queries."""
    fills = Fill.objects.filter(
        parent__in=_orders(user, asset_class), executed_at__gte=period.start_at, executed_at__lt=period.end_at
    )
    rows = list(
        fills.values(
            "id",
            "parent_id",
            "venue",
            "child_cl_ord_id",
            "side",
            "qty",
            "px",
            "liquidity",
            "mid_px",
            "executed_at",
            "parent__instrument__asset_class",
            "parent__instrument__structure",
            "parent__instrument__multiplier",
        )
    )
    markouts: dict[int, dict[int, Decimal]] = {}
    for fill_id, horizon, bps in FillMarkout.objects.filter(fill__in=fills).values_list("fill_id", "horizon_s", "bps"):
        markouts.setdefault(fill_id, {})[horizon] = bps
    directed = _directed(rows)
    return [
        FillIn(
            seq=row["id"],
            venue=row["venue"],
            asset_class=_class_of(row["parent__instrument__asset_class"], row["parent__instrument__structure"]),
            order_key=row["child_cl_ord_id"],
            side=Side(row["side"]),
            qty=row["qty"],
            px=row["px"],
            multiplier=row["parent__instrument__multiplier"],
            liquidity=row["liquidity"],
            mid_px=row["mid_px"],
            directed=row["id"] in directed,
            markouts=markouts.get(row["id"], {}),
        )
        for row in rows
    ]


def _directed(rows: Sequence[Mapping[str, Any]]) -> set[int]:
    """The fills (ids) at a dealer the trader or PM named: the fill's request is its parent's latest opened by then."""
    dealer_rows = [row for row in rows if not row["liquidity"]]  # RFQ fills carry no liquidity flag
    if not dealer_rows:
        return set()
    rfqs: dict[int, list[tuple[datetime, dict[str, Any]]]] = {}
    requests = Rfq.objects.filter(parent_id__in={row["parent_id"] for row in dealer_rows})
    for parent_id, opened_at, selection in requests.order_by("opened_at", "id").values_list("parent_id", "opened_at", "selection"):
        rfqs.setdefault(parent_id, []).append((opened_at, selection or {}))
    directed = set()
    for row in dealer_rows:
        opened = [selection for at, selection in rfqs.get(row["parent_id"], []) if at <= row["executed_at"]]
        if opened:
            why = str((opened[-1].get("chosen") or {}).get(row["venue"], ""))
            if why.startswith(CHOSEN_BY_TRADER):
                directed.add(row["id"])
    return directed


def _children(user: Any, period: Period, asset_class: str | None) -> list[ChildIn]:
    children = ChildOrder.objects.filter(
        parent__in=_orders(user, asset_class), created_at__gte=period.start_at, created_at__lt=period.end_at
    )
    out = []
    for venue, qty, filled, status, sent_at, acked_at in children.values_list(
        "venue__code", "qty", "filled_qty", "status", "sent_at", "acked_at"
    ):
        latency = None
        if sent_at is not None and acked_at is not None and acked_at >= sent_at:
            delta = acked_at - sent_at
            latency = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        out.append(ChildIn(venue, qty, filled, status == OrdStatus.REJECTED, latency))
    return out


def venues_report(*, user: Any, period: Period, asset_class: str | None = None) -> tuple[VenueRow, ...]:
    """Each venue's analysis over ``period`` for what ``user`` may see (``ems.core.bestex.venue_analysis``)."""
    return venue_analysis(_fills(user, period, asset_class), _children(user, period, asset_class), _venues())


def best_execution_report(*, user: Any, period: Period, asset_class: str | None = None) -> tuple[RtsClassTable, ...]:
    """The RTS 28 tables over ``period`` for what ``user`` may see (``ems.core.bestex.rts28``)."""
    return rts28(_fills(user, period, asset_class), _venues(), days=business_days(period.start, period.end))


def dealers_report(*, user: Any, period: Period, asset_class: str | None = None) -> tuple[DealerRow, ...]:
    """Each dealer's scorecard over the requests that opened in ``period`` and have ended, in ``user``'s scope.

    The outcomes are the live scorecard's (``ems.core.rfq.dealer_outcomes``);
    the distance to mid is measured against the mid recorded with the
    request's first fill, so only requests that traded have one, and the
    markout is its fill's at ``DEALER_HORIZON_S``.
    """
    requests = Rfq.objects.filter(
        parent__in=_orders(user, asset_class),
        opened_at__gte=period.start_at,
        opened_at__lt=period.end_at,
        state__in=[s.value for s in RFQ_TERMINAL],
    )
    books = [(parent_id, book_load(book)) for parent_id, book in requests.order_by("id").values_list("parent_id", "book")]
    hit_ids = {h.quote_resp_id for _, book in books for h in book.hits if h.accepted}
    fills: dict[tuple[int, str], tuple[int, Decimal | None]] = {}
    if hit_ids:
        rows = Fill.objects.filter(parent_id__in={p for p, _ in books}, child_cl_ord_id__in=hit_ids)
        for fill_id, parent_id, key, mid in rows.order_by("id").values_list("id", "parent_id", "child_cl_ord_id", "mid_px"):
            fills.setdefault((parent_id, key), (fill_id, mid))
    markouts = dict(
        FillMarkout.objects.filter(fill_id__in=[f for f, _ in fills.values()], horizon_s=DEALER_HORIZON_S).values_list(
            "fill_id", "bps"
        )
    )
    outcomes: list[DealerOutcome] = []
    for parent_id, book in books:
        mid = None
        dealer_markouts: dict[str, Decimal] = {}
        for hit in (h for h in book.hits if h.accepted):
            booked = fills.get((parent_id, hit.quote_resp_id))
            if booked is None:
                continue
            fill_id, fill_mid = booked
            mid = mid or fill_mid
            if fill_id in markouts:
                dealer_markouts.setdefault(hit.dealer, markouts[fill_id])
        outcomes.extend(dealer_outcomes(book, mid=mid, markouts=dealer_markouts))
    names = dict(Venue.objects.filter(code__in={o.dealer for o in outcomes}).values_list("code", "name"))
    return dealer_scorecards(outcomes, names)


# --- JSON and CSV ---------------------------------------------------------------------------------


def _n(value: Decimal | None) -> str | None:
    return None if value is None else decimal_str(plain(value))


def _p(value: Decimal | None) -> str | None:
    return decimal_str(value)


def period_json(period: Period, asset_class: str | None) -> dict[str, Any]:
    return {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "business_days": business_days(period.start, period.end),
        "asset_class": asset_class,
    }


def venue_row_json(row: VenueRow) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "fills": row.fills,
        "orders_executed": row.orders_executed,
        "filled_qty": _n(row.filled_qty),
        "notional": _n(row.notional),
        "volume_share_pct": _p(row.volume_share_pct),
        "children": row.children,
        "children_qty": _n(row.children_qty),
        "children_filled_qty": _n(row.children_filled_qty),
        "fill_rate_pct": _p(row.fill_rate_pct),
        "rejects": row.rejects,
        "reject_rate_pct": _p(row.reject_rate_pct),
        "passive_pct": _p(row.passive_pct),
        "aggressive_pct": _p(row.aggressive_pct),
        "effective_spread_bps": _p(row.effective_spread_bps),
        "spread_fills": row.spread_fills,
        "markouts": [{"horizon_s": h, "bps": _p(row.markout_bps[h]), "fills": row.markout_fills[h]} for h in HORIZONS_S],
        "acks": row.acks,
        "latency_ms_mean": _p(row.latency_ms_mean),
        "latency_ms_median": _p(row.latency_ms_median),
    }


def dealer_row_json(row: DealerRow) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "requests": row.requests,
        "responses": row.responses,
        "response_rate_pct": _p(row.response_rate_pct),
        "wins": row.wins,
        "win_ratio_pct": _p(row.win_ratio_pct),
        "covers": row.covers,
        "avg_cover_bps": _p(row.avg_cover_bps),
        "distances": row.distances,
        "avg_distance_bps": _p(row.avg_distance_bps),
        "last_looks": row.last_looks,
        "last_look_rejects": row.last_look_rejects,
        "last_look_reject_pct": _p(row.last_look_reject_pct),
        "markouts": row.markouts,
        "avg_markout_bps": _p(row.avg_markout_bps),
    }


def rts_table_json(table: RtsClassTable) -> dict[str, Any]:
    return {
        "asset_class": table.asset_class,
        "notional": _n(table.notional),
        "orders": table.orders,
        "trades": table.trades,
        "business_days": table.business_days,
        "below_one_trade_per_day": any(v.below_one_trade_per_day for v in table.venues),
        "venues": [
            {
                "rank": v.rank,
                "code": v.code,
                "name": v.name,
                "kind": v.kind,
                "notional": _n(v.notional),
                "orders": v.orders,
                "trades": v.trades,
                "volume_pct": _p(v.volume_pct),
                "orders_pct": _p(v.orders_pct),
                "passive_pct": _p(v.passive_pct),
                "aggressive_pct": _p(v.aggressive_pct),
                "directed_pct": _p(v.directed_pct),
                "below_one_trade_per_day": v.below_one_trade_per_day,
            }
            for v in table.venues
        ],
    }


VENUE_CSV: Final = (
    "code", "name", "kind", "fills", "orders_executed", "filled_qty", "notional", "volume_share_pct", "children",
    "children_qty", "children_filled_qty", "fill_rate_pct", "rejects", "reject_rate_pct", "passive_pct", "aggressive_pct",
    "effective_spread_bps", "spread_fills", *(f"markout_{h}s_bps" for h in HORIZONS_S), "acks", "latency_ms_mean",
    "latency_ms_median",
)  # fmt: skip
RTS_CSV: Final = (
    "asset_class", "rank", "venue_name", "venue_code", "kind", "volume_pct", "orders_pct", "passive_pct", "aggressive_pct",
    "directed_pct", "below_one_trade_per_day", "notional", "orders", "trades", "class_notional", "class_orders",
    "business_days",
)  # fmt: skip


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return out.getvalue()


def venues_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    def flat(row: Mapping[str, Any]) -> list[Any]:
        values = {**row, **{f"markout_{m['horizon_s']}s_bps": m["bps"] for m in row["markouts"]}}
        return [values[key] for key in VENUE_CSV]

    return _csv(VENUE_CSV, (flat(row) for row in rows))


def dealers_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    header = tuple(dealer_row_json(DealerRow("", "", 0, 0, None, 0, None, 0, None, 0, None, 0, 0, None, 0, None)))
    return _csv(header, ([row[key] for key in header] for row in rows))


def rts_csv(tables: Iterable[Mapping[str, Any]]) -> str:
    """One row per (class, rank, venue); Y/N for the one-trade-a-day flag, as RTS 28 writes it."""
    rows = []
    for table in tables:
        for v in table["venues"]:
            rows.append(
                [
                    table["asset_class"],
                    v["rank"],
                    v["name"],
                    v["code"],
                    v["kind"],
                    v["volume_pct"],
                    v["orders_pct"],
                    v["passive_pct"],
                    v["aggressive_pct"],
                    v["directed_pct"],
                    "Y" if v["below_one_trade_per_day"] else "N",
                    v["notional"],
                    v["orders"],
                    v["trades"],
                    table["notional"],
                    table["orders"],
                    table["business_days"],
                ]
            )
    return _csv(RTS_CSV, rows)
