"""The order state machine: FIX 4.4 OrdStatus (tag 39) as a literal transition table.

One table serves parent and child orders. ``next_status`` is the only way a
status changes; it raises ``IllegalTransition`` for a pair the table lacks, so
a record is changed only after its transition succeeded.
"""

from decimal import Decimal
from enum import StrEnum
from typing import Final


class OrdStatus(StrEnum):
    PENDING_NEW = "PENDING_NEW"
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    PENDING_REPLACE = "PENDING_REPLACE"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def is_working(self) -> bool:
        """Return whether the order may still trade (its leaves count against the parent)."""
        return self not in TERMINAL


class OrdEvent(StrEnum):
    """What happens to an order. A fill is PARTIAL_FILL or FILL by what it leaves."""

    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    PARTIAL_FILL = "PARTIAL_FILL"
    FILL = "FILL"
    CANCEL_REQUEST = "CANCEL_REQUEST"
    CANCEL = "CANCEL"
    CANCEL_REJECT = "CANCEL_REJECT"
    REPLACE_REQUEST = "REPLACE_REQUEST"
    REPLACE = "REPLACE"
    REPLACE_REJECT = "REPLACE_REJECT"
    EXPIRE = "EXPIRE"


TERMINAL: Final = frozenset({OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED})


class _Resume(StrEnum):
    """Back to NEW, or PARTIALLY_FILLED if anything has filled (after a pending state ends)."""

    RESUME = "RESUME"


RESUME: Final = _Resume.RESUME

S = OrdStatus
E = OrdEvent

TRANSITIONS: Final[dict[tuple[OrdStatus, OrdEvent], OrdStatus | _Resume]] = {
    # Sent, not yet acknowledged. Venues may fill or cancel before the ack arrives.
    (S.PENDING_NEW, E.ACCEPT): S.NEW,
    (S.PENDING_NEW, E.REJECT): S.REJECTED,
    (S.PENDING_NEW, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PENDING_NEW, E.FILL): S.FILLED,
    (S.PENDING_NEW, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PENDING_NEW, E.CANCEL): S.CANCELED,
    (S.PENDING_NEW, E.EXPIRE): S.EXPIRED,
    # Working, nothing filled.
    (S.NEW, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.NEW, E.FILL): S.FILLED,
    (S.NEW, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.NEW, E.CANCEL): S.CANCELED,  # unsolicited: IOC remainder, venue-side cancel
    (S.NEW, E.REPLACE_REQUEST): S.PENDING_REPLACE,
    (S.NEW, E.EXPIRE): S.EXPIRED,
    # Working, part filled.
    (S.PARTIALLY_FILLED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, E.CANCEL): S.CANCELED,
    (S.PARTIALLY_FILLED, E.REPLACE_REQUEST): S.PENDING_REPLACE,
    (S.PARTIALLY_FILLED, E.EXPIRE): S.EXPIRED,
    # A cancel is on its way; fills may still race it.
    (S.PENDING_CANCEL, E.CANCEL): S.CANCELED,
    (S.PENDING_CANCEL, E.CANCEL_REJECT): RESUME,
    (S.PENDING_CANCEL, E.PARTIAL_FILL): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, E.FILL): S.FILLED,  # the fill raced the cancel and won
    (S.PENDING_CANCEL, E.EXPIRE): S.EXPIRED,
    # A replace is on its way; fills may still race it, and a cancel may overtake it.
    (S.PENDING_REPLACE, E.REPLACE): RESUME,
    (S.PENDING_REPLACE, E.REPLACE_REJECT): RESUME,
    (S.PENDING_REPLACE, E.PARTIAL_FILL): S.PENDING_REPLACE,
    (S.PENDING_REPLACE, E.FILL): S.FILLED,
    (S.PENDING_REPLACE, E.CANCEL): S.CANCELED,
    (S.PENDING_REPLACE, E.EXPIRE): S.EXPIRED,
    # FILLED, CANCELED, REJECTED and EXPIRED are terminal: no event leaves them.
}


class IllegalTransition(ValueError):
    def __init__(self, status: OrdStatus, event: OrdEvent) -> None:
        super().__init__(f"illegal order transition: {event} in status {status}")
        self.status = status
        self.event = event


def next_status(status: OrdStatus, event: OrdEvent, *, has_fills: bool) -> OrdStatus:
    """Return the status after ``event``; raise ``IllegalTransition`` if the table forbids it.

    ``has_fills`` says whether the order has filled anything; it decides where a
    pending cancel or replace goes back to when it ends.
    """
    target = TRANSITIONS.get((status, event))
    if target is None:
        raise IllegalTransition(status, event)
    if isinstance(target, _Resume):
        return OrdStatus.PARTIALLY_FILLED if has_fills else OrdStatus.NEW
    return target


def fill_event(*, leaves_qty_after: Decimal) -> OrdEvent:
    """Return FILL when the fill leaves nothing, PARTIAL_FILL otherwise."""
    return OrdEvent.FILL if leaves_qty_after == 0 else OrdEvent.PARTIAL_FILL
