"""Wall-clock instants as integer nanoseconds since the Unix epoch: the pure cores' time, exact both ways."""

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def epoch_ns(at: datetime) -> int:
    """``at`` (timezone-aware) as ns since the epoch; integer arithmetic, no float rounding."""
    return (at - _EPOCH) // _US * 1000


def from_epoch_ns(ns: int) -> datetime:
    """The UTC instant ``ns`` after the epoch, to the microsecond (a datetime holds no finer)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)
