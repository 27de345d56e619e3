"""The RFQ workflow's shell: start a request, take the dealers' answers, click, expire, book the fills.

The auction itself is pure (``ems.core.rfq``). Every change here is one
transaction that locks the parent order, then the ``Rfq`` row; loads the book;
calls one function of the auction; books any fill; saves the book with its log
entries; and, once committed, sends the outbox to the dealers (the gateway's
order stream, by FIX MsgType), wakes up at the next expiry (``ems.rfq_tick``
with an eta) and pushes the ladder to the blotters.

An order worked by RFQ keeps its ``Execution`` (strategy RFQ, no ticks): it is
DONE when the order is filled, STOPPED when a request ends with quantity left
(the trader may ask again, or cancel). A parent's cancel withdraws an open
request; one waiting for a last look is left to end first.
"""

import json
import logging
import random
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.redis import redis_client
from ems.core.algos import Strategy, params_dump, params_validate
from ems.core.rfq import (
    DealerRecord,
    Outbound,
    RfqBook,
    RfqInvalid,
    RfqPolicy,
    RfqRefused,
    RfqRequest,
    RfqStep,
    Scorecard,
    dealer_outcomes,
    dealers_rank,
    dealers_select,
    ladder_build,
    last_look_apply,
    quote_decline,
    quote_hit,
    quote_receive,
    rfq_cancel,
    rfq_open,
    rfq_tick,
    rfq_wakeup_ns,
)
from ems.core.rfq_codec import book_dump, book_load
from ems.models import DealerScore, Execution, Rfq, RfqLogEntry
from oms.models import Instrument, ParentOrder
from oms.selectors import venues_halted
from oms.services import Overfill, order_event_append, parent_order_fill
from trading.clock import epoch_ns, from_epoch_ns
from trading.enums import AssetClass, OrdType, Side, VenueKind
from trading.numbers import ZERO, plain
from trading.rfq import (
    DealerView,
    LastLookReport,
    Quote,
    QuoteRequestLeg,
    QuoteRequestReject,
    QuoteResponse,
    RfqInitiator,
    RfqSide,
    RfqState,
)
from trading.states import TERMINAL, OrdStatus
from venues.marketdata import nbbo_read
from venues.models import Venue
from venues.selectors import analytics_get
from venues.sim.options import FairInputs, Leg, OptionSpec, Package, StockSpec, price_package, surface_for

log = logging.getLogger(__name__)

ACTOR = "system:rfq"
ACTIVE = (RfqState.OPEN, RfqState.EXECUTING)
_DEFAULT_VOL = 0.30  # an underlying without analytics yet: the theoretical mid still needs a volatility


@dataclass(frozen=True, slots=True)
class RfqOptions:
    """How to run one request: who to ask (empty: the scorecard chooses), for how long, and how to execute."""

    dealers: tuple[str, ...] = ()
    window_seconds: int = 30
    grace_seconds: int = 0
    threshold_px: Decimal | None = None
    allow_partial: bool = False
    two_way: bool = False
    anonymous: bool = True

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "RfqOptions":
        """Read the RFQ strategy's checked parameters (``ems.core.algos.SPECS[Strategy.RFQ]``)."""
        return cls(
            dealers=tuple(params.get("dealers") or ()),
            window_seconds=int(params.get("window_seconds", 30)),
            grace_seconds=int(params.get("grace_seconds", 0)),
            threshold_px=plain(Decimal(params["threshold_px"])) if params.get("threshold_px") not in (None, "") else None,
            allow_partial=bool(params.get("allow_partial", False)),
            two_way=bool(params.get("two_way", False)),
            anonymous=bool(params.get("anonymous", True)),
        )


def initiator_of(user: Any) -> RfqInitiator:
    """Who starts a request a user asks for: a PM for their own portfolios, otherwise the trading desk."""
    from oms import roles

    return RfqInitiator.TRADER if roles.sees_all_orders(user) else RfqInitiator.PM


def rfq_policy() -> RfqPolicy:
    """The desk's auction settings (``settings.RFQ_*``)."""
    return RfqPolicy(
        min_dealers_anonymous=settings.RFQ_MIN_DEALERS_ANONYMOUS,
        top_n=settings.RFQ_TOP_N,
        exploration_rate=settings.RFQ_EXPLORATION_RATE,
    )


# --- the dealer panel and its scorecard ------------------------------------------------------


def dealer_panel() -> dict[str, frozenset[AssetClass]]:
    """Every active RFQ dealer that no kill switch halts, and the asset classes it quotes."""
    dealers = Venue.objects.filter(kind=VenueKind.RFQ_DEALER, active=True).exclude(code__in=venues_halted())
    return {code: frozenset(AssetClass(kind) for kind in covers or ()) for code, covers in dealers.values_list("code", "covers")}


_RECORD_FIELDS = tuple(DealerRecord.__dataclass_fields__)


def record_of(row: DealerScore) -> DealerRecord:
    return DealerRecord(**{f: getattr(row, f) for f in _RECORD_FIELDS})


def scorecard_read() -> Scorecard:
    return Scorecard({row.venue.code: record_of(row) for row in DealerScore.objects.select_related("venue")})


def dealers_ranked() -> list[dict[str, Any]]:
    """The panel in rank order with score and record, for the blotter and the API."""
    panel = dealer_panel()
    names = dict(Venue.objects.filter(code__in=panel).values_list("code", "name"))
    card = scorecard_read()
    return [
        {
            "code": r.dealer,
            "name": names.get(r.dealer, r.dealer),
            "covers": sorted(panel[r.dealer]),
            "rank": r.rank,
            "score": None if r.score is None else str(r.score),
            "summary": r.summary,
        }
        for r in dealers_rank(card, panel, rfq_policy().weights)
    ]


def _scorecard_record(book: RfqBook, mid: Decimal | None) -> None:
    """Fold a finished request into each asked dealer's record (rows locked last, in code order)."""
    outcomes = dealer_outcomes(book, mid=mid)
    venues = {v.code: v for v in Venue.objects.filter(code__in=[o.dealer for o in outcomes])}
    for outcome in sorted(outcomes, key=lambda o: o.dealer):
        venue = venues.get(outcome.dealer)
        if venue is None:
            continue
        row, _ = DealerScore.objects.select_for_update().get_or_create(venue=venue)
        record = record_of(row).plus(outcome)
        for f in _RECORD_FIELDS:
            setattr(row, f, getattr(record, f))
        row.save()


def dealer_markouts_add(markouts: Sequence[tuple[str, Decimal]]) -> None:
    """Add each (dealer, markout bps) of a fill with that dealer to its record (rows locked last, in code order)."""
    by_dealer: dict[str, list[Decimal]] = {}
    for dealer, bps in markouts:
        by_dealer.setdefault(dealer, []).append(bps)
    venues = Venue.objects.filter(code__in=by_dealer, kind=VenueKind.RFQ_DEALER).in_bulk(field_name="code")
    for code in sorted(by_dealer):
        if code in venues:
            row, _ = DealerScore.objects.select_for_update().get_or_create(venue=venues[code])
            row.markout_bps_sum += sum(by_dealer[code], ZERO)
            row.markouts += len(by_dealer[code])
            row.save(update_fields=["markout_bps_sum", "markouts", "updated_at"])


# --- the composite mid ------------------------------------------------------------------------


def composite_mid(instrument: Instrument) -> tuple[Decimal | None, str | None]:
    """Return the mid the ladder measures improvement against, and its source.

    An equity: the NBBO mid over the lit venues. An option or a package: its
    theoretical value (Black-Scholes on the underlying's NBBO mid, the
    underlying's measured volatility on the market's surface shape), since
    listed option books are thin and a package has no book at all.
    """
    redis = redis_client()
    if instrument.asset_class == AssetClass.EQUITY and not instrument.is_package:
        nbbo = nbbo_read(redis, instrument.symbol)
        return (nbbo.mid, "NBBO") if nbbo is not None and nbbo.mid else (None, None)
    underlying = instrument.underlying
    if underlying is None:
        return None, None
    nbbo = nbbo_read(redis, underlying.symbol)
    spot = nbbo.mid if nbbo is not None and nbbo.mid else underlying.ref_px
    analytics = analytics_get(underlying.symbol)
    vol = float(analytics.volatility_annual) if analytics and analytics.volatility_annual else _DEFAULT_VOL
    now = timezone.localtime()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        package = package_of(instrument)
        value = price_package(
            package, FairInputs(spot=spot, surface=surface_for(vol), day=now.date()), ns=epoch_ns(now) - epoch_ns(midnight)
        )
    except ValueError:  # expired, or terms the model cannot price
        return None, None
    return value.px, "THEORETICAL"


def package_of(instrument: Instrument) -> Package:
    """The pricing model's view of an option or a package (its legs as bought); max legs from settings."""
    if not instrument.is_package:
        return Package((Leg(_spec(instrument), Side.BUY),), max_legs=settings.RFQ_MAX_LEGS)
    legs = instrument.legs.select_related("instrument__underlying")
    return Package(tuple(Leg(_spec(leg.instrument), Side(leg.side), leg.ratio) for leg in legs), max_legs=settings.RFQ_MAX_LEGS)


def _spec(instrument: Instrument) -> OptionSpec | StockSpec:
    if instrument.asset_class == AssetClass.EQUITY:
        return StockSpec(instrument.symbol, tick=instrument.tick_size, lot=instrument.lot_size)
    if instrument.underlying is None or instrument.strike is None or instrument.expiry is None:
        raise ValueError(f"invalid instrument {instrument.symbol}: an option needs its underlying, strike and expiry")
    return OptionSpec(
        underlying=instrument.underlying.symbol,
        strike=instrument.strike,
        expiry=instrument.expiry,
        put_call=instrument.put_call,  # type: ignore[arg-type]
        multiplier=instrument.multiplier,
        tick=instrument.tick_size,
    )


# --- start ------------------------------------------------------------------------------------


def rfq_start(parent: ParentOrder, *, options: RfqOptions, initiator: RfqInitiator, actor: str, now: datetime | None = None) -> Rfq:
    """Open a request for what is left of ``parent`` and send it to the chosen dealers. The caller holds the parent's lock.

    Raise ``RfqRefused`` when the order cannot be quoted now (done, pending a
    cancel or amend, a request already open) and ``RfqInvalid`` for a bad
    option (too few dealers, an unknown one, a threshold past the limit).
    Nothing is stored or sent then.
    """
    now = now or timezone.now()
    status = OrdStatus(parent.status)
    if status.is_terminal or status in (OrdStatus.PENDING_NEW, OrdStatus.PENDING_CANCEL, OrdStatus.PENDING_REPLACE):
        raise RfqRefused(f"order #{parent.pk} is {status.value.lower().replace('_', ' ')}: no request for quote now")
    open_rfq = parent.rfqs.filter(state__in=ACTIVE).first()
    if open_rfq is not None:
        raise RfqRefused(f"RFQ {open_rfq.pk} is still {open_rfq.state.lower()} on order #{parent.pk}: one at a time")
    instrument = parent.instrument
    side = Side(parent.side)
    limit = _limit(parent)
    if options.threshold_px is not None:
        if options.threshold_px % instrument.tick_size != 0:
            raise RfqInvalid(f"invalid `threshold_px`, was {options.threshold_px}: not on the tick {instrument.tick_size}")
        if limit is not None and (options.threshold_px - limit) * side.sign > 0:
            raise RfqInvalid(f"invalid `threshold_px`, was {options.threshold_px}: past the order's limit {limit}")
    legs = list(instrument.legs.select_related("instrument")) if instrument.is_package else []
    if len(legs) > settings.RFQ_MAX_LEGS:
        raise RfqInvalid(f"invalid `legs`, was {len(legs)}: at most {settings.RFQ_MAX_LEGS} (RFQ_MAX_LEGS)")
    classes = {AssetClass(leg.instrument.asset_class) for leg in legs} or {AssetClass(instrument.asset_class)}
    request = RfqRequest(
        quote_req_id=f"Q{secrets.token_hex(8).upper()}",
        symbol=instrument.symbol,
        side=RfqSide.TWO_WAY if options.two_way else RfqSide(side.value),
        qty=plain(parent.qty - parent.filled_qty),
        window_ns=options.window_seconds * 1_000_000_000,
        portfolio=parent.portfolio.code,
        trader=actor if initiator is RfqInitiator.TRADER else "",
        pm=parent.created_by.get_username(),
        initiator=initiator,
        asset_classes=frozenset(classes),
        legs=tuple(QuoteRequestLeg(leg.instrument.symbol, Side(leg.side), Decimal(leg.ratio)) for leg in legs),
        grace_ns=options.grace_seconds * 1_000_000_000,
        threshold_px=options.threshold_px,
        allow_partial=options.allow_partial,
        anonymous=options.anonymous,
        firm=settings.RFQ_FIRM_NAME,
    )
    policy = rfq_policy()
    selection = dealers_select(
        request,
        scorecard_read(),
        dealer_panel(),
        rng=random.Random(request.quote_req_id),
        policy=policy,
        manual=list(options.dealers) or None,
    )
    step = rfq_open(request, selection.dealers, now_ns=epoch_ns(now), policy=policy)
    rfq = Rfq.objects.create(
        quote_req_id=request.quote_req_id,
        parent=parent,
        initiator=initiator,
        started_by=actor,
        side=request.side,
        qty=request.qty,
        state=step.book.state,
        dealers=list(selection.dealers),
        selection={"chosen": dict(selection.rationale), "excluded": dict(selection.excluded)},
        book=book_dump(step.book),
        opened_at=now,
    )
    order_event_append(
        parent=parent,
        kind="RFQ_OPENED",
        actor=actor,
        reason=step.log[0].reason if step.log else "",
        data={"rfq": rfq.pk, "dealers": list(selection.dealers), "window_seconds": options.window_seconds},
    )
    _saved(rfq, parent, step, before=None, now=now)
    return rfq


@transaction.atomic
def rfq_request(*, parent_id: int, given: Mapping[str, Any], actor: str, initiator: RfqInitiator) -> Rfq:
    """A trader or a PM asks dealers for what is left of an order (the blotter's and the API's RFQ).

    ``given`` are the RFQ strategy's parameters, checked like an order's
    (``ParamError`` names the field). The order must not be worked by another
    algo meanwhile (its children could fill too): stop or cancel that first.
    Its execution becomes an RFQ execution, RUNNING until the request ends.
    """
    from ems.algos import ACTOR as EMS_ACTOR
    from ems.algos import order_facts

    parent = ParentOrder.objects.locked().get(pk=parent_id)
    now = timezone.now()
    params = params_validate(Strategy.RFQ, given, order_facts(parent, start=now))
    execution = Execution.objects.filter(parent=parent).first()
    if execution is not None and execution.status == Execution.RUNNING and execution.strategy != Strategy.RFQ:
        raise RfqRefused(f"order #{parent.pk} is worked by {execution.strategy}: cancel it, or wait for it to stop")
    if parent.children.exclude(status__in=TERMINAL).exists():
        raise RfqRefused(f"order #{parent.pk} still has child orders working: wait for them to end")
    rfq = rfq_start(parent, options=RfqOptions.from_params(params.values), initiator=initiator, actor=actor, now=now)
    rationale = f"RFQ asked by {actor}"
    if execution is None:
        Execution.objects.create(
            parent=parent, strategy=Strategy.RFQ, base_strategy=Strategy.RFQ, rule="explicit", rationale=rationale, start_at=now
        )
    elif execution.strategy != Strategy.RFQ or execution.status != Execution.RUNNING:
        before = execution.strategy
        execution.strategy, execution.status, execution.next_tick_at = Strategy.RFQ, Execution.RUNNING, None
        execution.params = params_dump(params)
        execution.save()
        order_event_append(
            parent=parent, kind="STRATEGY_SWITCH", actor=EMS_ACTOR, reason=rationale, data={"from": before, "to": "RFQ"}
        )
    return rfq


def _limit(parent: ParentOrder) -> Decimal | None:
    """The order's limit price, if it is a limit order: no hit and no threshold may go past it."""
    return parent.limit_px if parent.ord_type == OrdType.LIMIT else None


def _locked(**lookup: Any) -> tuple[ParentOrder, Rfq, RfqBook]:
    """Lock the request's parent, then the request (the lock order), and load its book; ``Rfq.DoesNotExist`` if none."""
    parent_id = Rfq.objects.values_list("parent_id", flat=True).get(**lookup)
    parent = ParentOrder.objects.locked().get(pk=parent_id)
    rfq = Rfq.objects.select_for_update().get(**lookup)
    return parent, rfq, book_load(rfq.book)


# --- the dealers' answers ---------------------------------------------------------------------


def rfq_apply(messages: Iterable[dict[str, str]]) -> int:
    """Apply the dealers' quotes (S), declines (AG) and last-look reports (8), each in its own transaction.

    Return how many changed a request. A message for an unknown request, or one
    the auction refuses as malformed, is logged and dropped (redelivery of the
    same message changes nothing: a quote id is taken once, a last look once).
    """
    applied = 0
    for fields in messages:
        kind = fields.get("msg_type", "")
        body = {k: v for k, v in fields.items() if k != "msg_type"}
        try:
            if kind == "S":
                message: Quote | QuoteRequestReject | LastLookReport = Quote.from_wire(body)
            elif kind == "AG":
                message = QuoteRequestReject.from_wire(body)
            elif kind == "8":
                message = LastLookReport.from_wire(body)
            else:
                raise ValueError(f"invalid `msg_type`, was {kind!r}")
        except ValueError as exc:
            log.error("dropping malformed dealer message %s: %s", fields, exc)
            continue
        applied += _apply_one(message)
    return applied


@transaction.atomic
def _apply_one(message: Quote | QuoteRequestReject | LastLookReport) -> int:
    try:
        parent, rfq, book = _locked(quote_req_id=message.quote_req_id)
    except Rfq.DoesNotExist:
        log.warning("dropping %s for unknown request %s", type(message).__name__, message.quote_req_id)
        return 0
    now = timezone.now()
    now_ns = epoch_ns(now)
    try:
        if isinstance(message, Quote):
            step = quote_receive(book, message, now_ns=now_ns)
        elif isinstance(message, QuoteRequestReject):
            step = quote_decline(book, message, now_ns=now_ns)
        else:
            step = _last_look(parent, book, message, now=now)
    except (ValueError, RfqRefused) as exc:
        log.error("dealer message refused for RFQ %s: %s (%s)", rfq.pk, exc, message)
        return 0
    if step.book == book:
        return 0  # a redelivery
    _saved(rfq, parent, step, before=book, now=now)
    return 1


def _last_look(parent: ParentOrder, book: RfqBook, report: LastLookReport, *, now: datetime) -> RfqStep:
    """Apply a dealer's answer to our hit; book the fill (per leg for a package) when it accepted as hit."""
    hit = next((h for h in book.hits if h.quote_resp_id == report.quote_resp_id), None)
    if hit is None:
        raise ValueError(f"invalid `quote_resp_id`, was {report.quote_resp_id!r}")
    accepted, reason = report.accepted, report.text
    if accepted and (report.last_qty != hit.qty or report.last_px != hit.px or report.dealer != hit.dealer):
        # Fill-or-kill at the quoted price: anything else is not the trade we agreed; refuse to book it.
        accepted = False
        reason = f"the dealer reported {report.last_qty} @ {report.last_px}, not the {hit.qty} @ {hit.px} hit: not booked"
        log.error("RFQ %s: %s", book.request.quote_req_id, reason)
    step = last_look_apply(book, quote_resp_id=report.quote_resp_id, accepted=accepted, now_ns=epoch_ns(now), reason=reason)
    if accepted and hit.accepted is None:
        try:
            fill = parent_order_fill(
                parent=parent,
                child_cl_ord_id=hit.quote_resp_id,
                venue=hit.dealer,
                exec_id=report.exec_id or hit.quote_resp_id,
                qty=hit.qty,
                px=hit.px,
                fee=ZERO,
                liquidity="",
                executed_at=now,
                actor=f"dealer:{hit.dealer}",
                leg_px=report.leg_prices,
                mid_px=composite_mid(parent.instrument)[0],
            )
        except (Overfill, ValueError) as exc:
            # The auction cannot give more than the order's leaves; leg prices that do not make the price are the
            # dealer's error. Either way nothing was booked: record a reject so the book and the order agree.
            log.error("RFQ %s: fill of %s not booked: %s", book.request.quote_req_id, hit.quote_resp_id, exc)
            return last_look_apply(book, quote_resp_id=report.quote_resp_id, accepted=False, now_ns=epoch_ns(now), reason=str(exc))
        if fill is not None:
            from ems.markouts import markouts_schedule
            from ems.publish import blotter_publish_fill

            transaction.on_commit(partial(blotter_publish_fill, fill_id=fill.pk))  # the fills grid and the order's row
            transaction.on_commit(partial(markouts_schedule, fill_id=fill.pk))
    return step


# --- the trader's actions ---------------------------------------------------------------------


@transaction.atomic
def rfq_hit(*, rfq_id: int, quote_id: str, actor: str, qty: Decimal | None = None, side: Side | None = None) -> Rfq:
    """Hit (or lift) one quote on the ladder for ``qty`` (default: all it shows or all that is left), fill-or-kill.

    Raise ``RfqRefused`` with the reason when the click cannot trade: the quote
    expired or was replaced, the grace period runs, a last look is pending, the
    price is past the order's limit, the dealer is halted by a kill switch. Nothing is sent then.
    """
    parent, rfq, book = _locked(pk=rfq_id)
    halted = venues_halted().intersection(q.dealer for q in book.quotes if q.quote_id == quote_id)
    if halted:
        raise RfqRefused(f"dealer {halted.pop()} is halted by a kill switch: trade on another quote")
    now = timezone.now()
    step = quote_hit(book, quote_id=quote_id, now_ns=epoch_ns(now), qty=qty, side=side, limit_px=_limit(parent))
    order_event_append(
        parent=parent,
        kind="RFQ_HIT",
        actor=actor,
        reason=step.log[-1].reason if step.log else "",
        data={"rfq": rfq.pk, "quote_id": quote_id},
    )
    _saved(rfq, parent, step, before=book, now=now)
    return rfq


@transaction.atomic
def rfq_withdraw(*, rfq_id: int, actor: str, reason: str = "") -> Rfq:
    """Cancel an open request (``RfqRefused`` while a last look is pending, or once it has ended)."""
    parent, rfq, book = _locked(pk=rfq_id)
    now = timezone.now()
    step = rfq_cancel(book, now_ns=epoch_ns(now), reason=reason or f"cancelled by {actor}")
    _saved(rfq, parent, step, before=book, now=now)
    return rfq


def rfq_withdraw_for_parent(parent: ParentOrder, *, actor: str) -> bool:
    """The parent's cancel or amend: withdraw its open request. Return False while one waits for a last look."""
    for rfq in parent.rfqs.select_for_update().filter(state__in=ACTIVE):
        book = book_load(rfq.book)
        now = timezone.now()
        try:
            step = rfq_cancel(book, now_ns=epoch_ns(now), reason=f"the order's cancel or amend, by {actor}")
        except RfqRefused:
            return False
        _saved(rfq, parent, step, before=book, now=now)
    return True


def rfq_active(parent: ParentOrder) -> bool:
    return parent.rfqs.filter(state__in=ACTIVE).exists()


# --- time -------------------------------------------------------------------------------------


@transaction.atomic
def rfq_wake(*, rfq_id: int, now: datetime | None = None) -> bool:
    """Expire what is due on the request (quotes, the window). Safe at any time; return True if it changed."""
    parent, rfq, book = _locked(pk=rfq_id)
    if book.state.is_terminal:
        return False
    now = now or timezone.now()
    step = rfq_tick(book, now_ns=epoch_ns(now))
    if step.book == book:
        _wakeup_schedule(rfq, step.book, now=now, force=True)
        rfq.save(update_fields=["wakeup_at"])
        return False
    _saved(rfq, parent, step, before=book, now=now)
    return True


def rfqs_overdue(*, now: datetime, late_s: int) -> int:
    """Wake the requests whose wake-up is overdue by ``late_s`` (a lost task); return how many."""
    ids = list(Rfq.objects.filter(state__in=ACTIVE, wakeup_at__lt=now - timedelta(seconds=late_s)).values_list("pk", flat=True))
    for rfq_id in ids:
        rfq_wake(rfq_id=rfq_id, now=now)
    return len(ids)


def _wakeup_schedule(rfq: Rfq, book: RfqBook, *, now: datetime, force: bool = False) -> None:
    """Ask for a wake-up at the book's next expiry, unless one already waits for that time or earlier."""
    due_ns = rfq_wakeup_ns(book, now_ns=epoch_ns(now))
    due = from_epoch_ns(due_ns) if due_ns is not None else None
    previous = rfq.wakeup_at
    rfq.wakeup_at = due
    if due is None:
        return
    if force or previous is None or previous <= now or due < previous:
        from ems.tasks import rfq_tick as rfq_tick_task

        transaction.on_commit(partial(rfq_tick_task.apply_async, args=(rfq.pk,), eta=due))


# --- saving a step ----------------------------------------------------------------------------


def _saved(rfq: Rfq, parent: ParentOrder, step: RfqStep, *, before: RfqBook | None, now: datetime) -> None:
    """Store the step (book, columns, log), and on commit send its outbox, schedule the wake-up and publish.

    When the request has just ended: fold it into the dealers' scorecard, and
    finish the order's execution (DONE when filled, STOPPED with quantity left).
    """
    book = step.book
    rfq.book = book_dump(book)
    rfq.state = book.state
    rfq.filled_qty = book.filled_qty
    rfq.avg_px = book.avg_px if book.filled_qty else ZERO
    rfq.reason = book.reason
    rfq.closed_at = from_epoch_ns(book.closed_ns) if book.closed_ns is not None else None
    if before is not None:
        rfq.version += 1
    _wakeup_schedule(rfq, book, now=now)
    ended = book.state.is_terminal and (before is None or not before.state.is_terminal)
    if ended:  # once: a request that ended never changes again (and has no wake-up left)
        _scorecard_record(book, composite_mid(parent.instrument)[0])
    rfq.save()
    RfqLogEntry.objects.bulk_create(
        RfqLogEntry(
            rfq=rfq, at=from_epoch_ns(e.at_ns), event=e.event, state=e.state, reason=e.reason, dealer=e.dealer, quote_id=e.quote_id
        )
        for e in step.log
    )
    if step.outbox:
        transaction.on_commit(partial(_send, list(step.outbox)))
    if ended:
        _ended(rfq, parent, book)
    transaction.on_commit(partial(_publish, rfq.pk, parent.pk))


def _ended(rfq: Rfq, parent: ParentOrder, book: RfqBook) -> None:
    from ems.algos import execution_finish, parent_settle

    order_event_append(
        parent=parent,
        kind="RFQ_ENDED",
        actor=ACTOR,
        reason=f"RFQ {rfq.pk} {book.state.value.lower()}: {book.reason}",
        data={"rfq": rfq.pk, "state": book.state.value, "filled_qty": book.filled_qty},
    )
    execution = Execution.objects.filter(parent=parent, status=Execution.RUNNING, strategy=Strategy.RFQ).first()
    if execution is not None:
        filled = OrdStatus(parent.status) is OrdStatus.FILLED
        left = plain(parent.qty - parent.filled_qty)
        why = f"RFQ {rfq.pk} {book.state.value.lower()}: {book.reason}"
        if not filled:
            why += f"; {left} left: ask again or cancel"
        execution_finish(execution, status=Execution.DONE if filled else Execution.STOPPED, reason=why)
    parent_settle(parent)


def _send(outbox: Sequence[Outbound]) -> None:
    """Send the auction's messages to the dealers over the gateway's stream, one pipeline."""
    pipe = redis_client().pipeline(transaction=False)
    for message in outbox:
        pipe.xadd(settings.GATEWAY_ORDER_STREAM, outbound_wire(message))  # type: ignore[arg-type]
    pipe.execute()


def outbound_wire(message: Outbound) -> dict[str, str]:
    """The stream form of one outbound message: its wire dict with its FIX MsgType (a request's legs as JSON)."""
    if isinstance(message, DealerView):
        request, legs = message.to_wire()
        return {"msg_type": "R", **request, "legs": json.dumps(legs)}
    if isinstance(message, QuoteResponse):
        return {"msg_type": "AJ", **message.to_wire()}
    return {"msg_type": "AI", **message.to_wire()}


def _publish(rfq_id: int, parent_id: int) -> None:
    from ems.publish import blotter_publish_rfq

    blotter_publish_rfq(rfq_id=rfq_id)


# --- what the blotter and the API show --------------------------------------------------------


def rfq_snapshot(rfq: Rfq, *, now: datetime | None = None) -> dict[str, Any]:
    """The request as the trader sees it now: terms, the live ladder (best first), quotes, hits and the log."""
    now = now or timezone.now()
    now_ns = epoch_ns(now)
    book = book_load(rfq.book)
    request = book.request
    instrument = rfq.parent.instrument
    mid, source = composite_mid(instrument) if not book.state.is_terminal else (None, None)
    ladder = ladder_build(book, now_ns=now_ns, mid=mid)

    def iso(ns: int | None) -> str | None:
        return from_epoch_ns(ns).isoformat() if ns is not None else None

    def s(value: Decimal | None) -> str | None:
        return None if value is None else format(value, "f")

    def rows(items: Sequence[Any]) -> list[dict[str, Any]]:
        return [
            {
                "quote_id": r.quote_id,
                "dealer": r.dealer,
                "side": r.side.value,
                "px": s(r.px),
                "size": s(r.size),
                "improvement_bps": s(r.improvement_bps),
                "time_left_ms": r.time_left_ms,
            }
            for r in items
        ]

    return {
        "id": rfq.pk,
        "version": rfq.version,
        "quote_req_id": rfq.quote_req_id,
        "order": rfq.parent_id,
        "symbol": request.symbol,
        "description": instrument.name or instrument.symbol,
        "side": request.side.value,
        "qty": s(request.qty),
        "filled_qty": s(book.filled_qty),
        "avg_px": s(book.avg_px) if book.filled_qty else None,
        "state": book.state.value,
        "reason": book.reason,
        "initiator": request.initiator.value,
        "started_by": rfq.started_by,
        "dealers": list(book.dealers),
        "selection": rfq.selection,
        "legs": [{"symbol": leg.leg_symbol, "side": leg.leg_side.value, "ratio": s(leg.leg_ratio_qty)} for leg in request.legs],
        "opened_at": iso(book.opened_ns),
        "expires_at": iso(book.expires_ns),
        "grace_ends_at": iso(book.grace_ends_ns),
        "closed_at": iso(book.closed_ns),
        "as_of": now.isoformat(),
        "time_left_ms": 0 if book.state.is_terminal else max(0, (book.expires_ns - now_ns) // 1_000_000),
        "threshold_px": s(request.threshold_px),
        "allow_partial": request.allow_partial,
        "anonymous": request.anonymous,
        "ladder": {
            "mid": s(mid),
            "mid_source": source,
            "offers": rows(ladder.offers),
            "bids": rows(ladder.bids),
            "hidden": ladder.hidden,
        },
        "quotes": [
            {
                "quote_id": q.quote_id,
                "dealer": q.dealer,
                "bid_px": s(q.quote.bid_px),
                "offer_px": s(q.quote.offer_px),
                "bid_size": s(q.quote.bid_size),
                "offer_size": s(q.quote.offer_size),
                "state": q.state.value,
                "arrived_at": iso(q.arrived_ns),
                "valid_until": iso(q.quote.valid_until_ns),
            }
            for q in book.quotes
        ],
        "declines": [{"dealer": d.dealer, "reason": d.reason, "text": d.text, "at": iso(d.at_ns)} for d in book.declines],
        "hits": [
            {
                "quote_resp_id": h.quote_resp_id,
                "quote_id": h.quote_id,
                "dealer": h.dealer,
                "side": h.side.value,
                "qty": s(h.qty),
                "px": s(h.px),
                "accepted": h.accepted,
                "reason": h.reason,
            }
            for h in book.hits
        ],
        "log": [
            {
                "at": e.at.isoformat(),
                "event": e.event,
                "state": e.state,
                "reason": e.reason,
                "dealer": e.dealer,
                "quote_id": e.quote_id,
            }
            for e in rfq.log.all()
        ],
    }
