"""Market analytics of one instrument from its history: ADV, realized volatility, spread, depth, volume profile.

Pure core: no Django, no I/O. Every number is a ``Decimal``; outputs are
quantized (volume and depth 4 dp, prices 8 dp, bps 4 dp, volatility 6 dp,
profile shares 6 dp).

Conventions, decided here and relied on by the algos that size against them:

- Days are the distinct dates of the history's trades and quotes.
- Only the session counts. Trades outside ``[session_open, session_close]``
  are ignored (ADV is session volume); a quote sample taken before the open
  holds from the open; time after the close is not weighted.
- A quote sample holds until the next sample of the same day, the last one
  until the close; a day starts unquoted (nothing carries over the night).
- A day with zero session volume counts as zero in ADV and is left out of the
  volume profile (its shares are undefined). A history with no volume at all
  is an error.
- Volatility: the mid is read every ``return_minutes`` from the open, plus at
  the close when the session is not a whole number of steps. A grid point
  without a two-sided quote is skipped, so the return spans the gap. Daily
  variance is the mean over days of the sum of squared intraday log returns,
  plus, when there is more than one day, the mean over nights of the squared
  close-to-open log return (each mean over the count it has, so the first day,
  which has no previous close, does not dilute the overnight term).
  Annual volatility is daily volatility times ``sqrt(trading_days_per_year)``.
- Spread is time-weighted over two-sided quoted time only; depth over all
  quoted time, a missing side counting as zero size.
- The profile's shares are rounded to 6 dp and the rounding residue goes to
  the largest bucket (the first, on a tie), so they sum to exactly 1.
"""

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from itertools import pairwise

from trading.numbers import PX_DECIMALS, QTY_DECIMALS, ZERO

NS_PER_MINUTE = 60_000_000_000
BPS = Decimal(10_000)
ONE = Decimal(1)
VOL_DECIMALS = 6
BPS_DECIMALS = 4
PROFILE_DECIMALS = 6
# Enough digits that sums of many squared returns and long sessions in ns keep their precision.
_CONTEXT = Context(prec=34)


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """A print on the consolidated tape."""

    day: date
    t: int  # nanoseconds since midnight
    px: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True)
class QuoteSample:
    """The consolidated NBBO at ``t``; a side with no quote has ``None`` for its price."""

    day: date
    t: int  # nanoseconds since midnight
    bid_px: Decimal | None
    bid_qty: Decimal
    ask_px: Decimal | None
    ask_qty: Decimal


@dataclass(frozen=True, slots=True)
class MarketHistory:
    """Trades and NBBO samples of one symbol over some days; the session bounds apply to every day."""

    symbol: str
    session_open: int  # nanoseconds since midnight
    session_close: int  # nanoseconds since midnight
    trades: list[TradeRecord]
    quotes: list[QuoteSample]


@dataclass(frozen=True, slots=True)
class Analytics:
    symbol: str
    days: int
    adv: Decimal  # shares per day
    volatility_daily: Decimal  # of log returns, as a fraction (0.02 is 2 %)
    volatility_annual: Decimal
    spread_px: Decimal  # time-weighted ask - bid
    spread_bps: Decimal  # time-weighted (ask - bid) / mid
    depth: Decimal  # time-weighted (bid_qty + ask_qty) / 2
    bucket_minutes: int
    volume_profile: tuple[Decimal, ...]  # share of the day's volume per bucket from the open; sums to 1


def analytics_compute(
    history: MarketHistory, *, bucket_minutes: int = 30, return_minutes: int = 5, trading_days_per_year: int = 252
) -> Analytics:
    """Return the instrument's analytics over the whole history (conventions in the module docstring).

    Raise ``ValueError`` for bad parameters, an empty history, a history
    without quotes, without two-sided quoted time or without traded volume.
    """
    _check_positive("bucket_minutes", bucket_minutes)
    _check_positive("return_minutes", return_minutes)
    _check_positive("trading_days_per_year", trading_days_per_year)
    if history.session_open >= history.session_close:
        raise ValueError(
            f"invalid session, `session_open` {history.session_open} is not before `session_close` {history.session_close}"
        )
    if not history.trades and not history.quotes:
        raise ValueError(f"no trades or quotes in the history of {history.symbol}")
    if not history.quotes:
        raise ValueError(f"no quote samples in the history of {history.symbol}")
    for trade in history.trades:
        if trade.qty <= 0:
            raise ValueError(f"invalid trade `qty`, was {trade.qty} ({history.symbol} {trade.day} t={trade.t})")

    with localcontext(_CONTEXT):
        days = sorted({trade.day for trade in history.trades} | {quote.day for quote in history.quotes})
        quotes_by_day = _quotes_by_day(history.quotes)
        adv, profile = _volume(history, days, bucket_minutes * NS_PER_MINUTE)
        spread_px, spread_bps, depth = _quoted(history, quotes_by_day)
        volatility_daily = _volatility_daily(history, days, quotes_by_day, return_minutes * NS_PER_MINUTE)
        volatility_annual = volatility_daily * Decimal(trading_days_per_year).sqrt()
        return Analytics(
            symbol=history.symbol,
            days=len(days),
            adv=_quantize(adv, QTY_DECIMALS),
            volatility_daily=_quantize(volatility_daily, VOL_DECIMALS),
            volatility_annual=_quantize(volatility_annual, VOL_DECIMALS),
            spread_px=_quantize(spread_px, PX_DECIMALS),
            spread_bps=_quantize(spread_bps, BPS_DECIMALS),
            depth=_quantize(depth, QTY_DECIMALS),
            bucket_minutes=bucket_minutes,
            volume_profile=_profile_round(profile),
        )


def _check_positive(name: str, value: int) -> None:
    if value <= 0:
        raise ValueError(f"invalid `{name}`, was {value}")


def _quantize(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(ONE.scaleb(-decimals), rounding=ROUND_HALF_EVEN)


def _quotes_by_day(quotes: list[QuoteSample]) -> dict[date, list[QuoteSample]]:
    by_day: dict[date, list[QuoteSample]] = defaultdict(list)
    for quote in quotes:
        by_day[quote.day].append(quote)
    # A stable sort: of two samples at the same instant the later one in the input wins.
    return {day: sorted(samples, key=lambda q: q.t) for day, samples in by_day.items()}


def _mid(quote: QuoteSample) -> Decimal | None:
    """Return the quote's mid, or None when a side is missing; reject a non-positive mid (no log return)."""
    if quote.bid_px is None or quote.ask_px is None:
        return None
    mid = (quote.bid_px + quote.ask_px) / 2
    if mid <= 0:
        raise ValueError(f"invalid quote, mid was {mid} ({quote.day} t={quote.t})")
    return mid


def _volume(history: MarketHistory, days: list[date], bucket_ns: int) -> tuple[Decimal, list[Decimal]]:
    """Return ADV over all days and the unrounded mean share per bucket over the days that traded."""
    session_ns = history.session_close - history.session_open
    bucket_count = -(-session_ns // bucket_ns)  # a partial last bucket counts
    volume_by_day: dict[date, list[Decimal]] = {day: [ZERO] * bucket_count for day in days}
    for trade in history.trades:
        if not history.session_open <= trade.t <= history.session_close:
            continue
        # A print exactly at the close belongs to the last bucket.
        bucket = min((trade.t - history.session_open) // bucket_ns, bucket_count - 1)
        volume_by_day[trade.day][bucket] += trade.qty
    totals = {day: sum(buckets, ZERO) for day, buckets in volume_by_day.items()}
    traded_days = [day for day in days if totals[day] > 0]
    if not traded_days:
        raise ValueError(f"no traded volume in the session on any of the {len(days)} days of {history.symbol}")
    adv = sum(totals.values(), ZERO) / len(days)
    profile = [
        sum((volume_by_day[day][bucket] / totals[day] for day in traded_days), ZERO) / len(traded_days)
        for bucket in range(bucket_count)
    ]
    return adv, profile


def _profile_round(profile: list[Decimal]) -> tuple[Decimal, ...]:
    """Round each share and put the residue in the largest bucket, so the shares sum to exactly 1."""
    rounded = [_quantize(share, PROFILE_DECIMALS) for share in profile]
    largest = rounded.index(max(rounded))
    rounded[largest] += ONE - sum(rounded, ZERO)
    return tuple(rounded)


def _quoted(history: MarketHistory, quotes_by_day: dict[date, list[QuoteSample]]) -> tuple[Decimal, Decimal, Decimal]:
    """Return the time-weighted spread in price and in bps (two-sided time) and depth (all quoted time)."""
    spread_px_ns = ZERO
    spread_bps_ns = ZERO
    two_sided_ns = 0
    depth_ns = ZERO
    quoted_ns = 0
    for samples in quotes_by_day.values():
        for i, quote in enumerate(samples):
            start = max(quote.t, history.session_open)
            end = min(samples[i + 1].t if i + 1 < len(samples) else history.session_close, history.session_close)
            if end <= start:
                continue
            duration = end - start
            bid_qty = quote.bid_qty if quote.bid_px is not None else ZERO
            ask_qty = quote.ask_qty if quote.ask_px is not None else ZERO
            depth_ns += (bid_qty + ask_qty) / 2 * duration
            quoted_ns += duration
            mid = _mid(quote)
            if mid is None or quote.bid_px is None or quote.ask_px is None:
                continue
            spread = quote.ask_px - quote.bid_px
            spread_px_ns += spread * duration
            spread_bps_ns += spread / mid * BPS * duration
            two_sided_ns += duration
    if two_sided_ns == 0:
        raise ValueError(f"no two-sided quotes in the session in the history of {history.symbol}")
    return spread_px_ns / two_sided_ns, spread_bps_ns / two_sided_ns, depth_ns / quoted_ns


def _mid_path(history: MarketHistory, samples: list[QuoteSample], step_ns: int) -> list[Decimal]:
    """Return the day's mids on the return grid, skipping grid points without a two-sided quote."""
    grid = list(range(history.session_open, history.session_close + 1, step_ns))
    if grid[-1] != history.session_close:
        grid.append(history.session_close)
    times = [quote.t for quote in samples]
    path = []
    for point in grid:
        index = bisect_right(times, point) - 1
        mid = _mid(samples[index]) if index >= 0 else None
        if mid is not None:
            path.append(mid)
    return path


def _volatility_daily(
    history: MarketHistory, days: list[date], quotes_by_day: dict[date, list[QuoteSample]], step_ns: int
) -> Decimal:
    paths = [path for day in days if (path := _mid_path(history, quotes_by_day.get(day, []), step_ns))]
    if not paths:
        raise ValueError(f"no two-sided quotes in the session in the history of {history.symbol}")
    intraday = [sum(((b / a).ln() ** 2 for a, b in pairwise(path)), ZERO) for path in paths]
    variance = sum(intraday, ZERO) / len(intraday)
    overnight = [(today[0] / yesterday[-1]).ln() ** 2 for yesterday, today in pairwise(paths)]
    if overnight:
        variance += sum(overnight, ZERO) / len(overnight)
    return variance.sqrt()
