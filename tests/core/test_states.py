"""The FIX 4.4 order state machine: every (status, event) pair, against a literal table."""

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.states import TERMINAL, TRANSITIONS, IllegalTransition, OrdEvent, OrdStatus, fill_event, next_status

S = OrdStatus
E = OrdEvent

# Written out by hand from FIX 4.4 (not derived from the module): the status each legal
# event leads to, as (with fills, without fills). Pairs absent here must be illegal.
EXPECTED: dict[tuple[OrdStatus, OrdEvent], tuple[OrdStatus, OrdStatus]] = {
    (S.PENDING_NEW, E.ACCEPT): (S.NEW, S.NEW),
    (S.PENDING_NEW, E.REJECT): (S.REJECTED, S.REJECTED),
    (S.PENDING_NEW, E.PARTIAL_FILL): (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    (S.PENDING_NEW, E.FILL): (S.FILLED, S.FILLED),
    (S.PENDING_NEW, E.CANCEL_REQUEST): (S.PENDING_CANCEL, S.PENDING_CANCEL),
    (S.PENDING_NEW, E.CANCEL): (S.CANCELED, S.CANCELED),
    (S.PENDING_NEW, E.EXPIRE): (S.EXPIRED, S.EXPIRED),
    (S.NEW, E.PARTIAL_FILL): (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    (S.NEW, E.FILL): (S.FILLED, S.FILLED),
    (S.NEW, E.CANCEL_REQUEST): (S.PENDING_CANCEL, S.PENDING_CANCEL),
    (S.NEW, E.CANCEL): (S.CANCELED, S.CANCELED),
    (S.NEW, E.REPLACE_REQUEST): (S.PENDING_REPLACE, S.PENDING_REPLACE),
    (S.NEW, E.EXPIRE): (S.EXPIRED, S.EXPIRED),
    (S.PARTIALLY_FILLED, E.PARTIAL_FILL): (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    (S.PARTIALLY_FILLED, E.FILL): (S.FILLED, S.FILLED),
    (S.PARTIALLY_FILLED, E.CANCEL_REQUEST): (S.PENDING_CANCEL, S.PENDING_CANCEL),
    (S.PARTIALLY_FILLED, E.CANCEL): (S.CANCELED, S.CANCELED),
    (S.PARTIALLY_FILLED, E.REPLACE_REQUEST): (S.PENDING_REPLACE, S.PENDING_REPLACE),
    (S.PARTIALLY_FILLED, E.EXPIRE): (S.EXPIRED, S.EXPIRED),
    (S.PENDING_CANCEL, E.CANCEL): (S.CANCELED, S.CANCELED),
    (S.PENDING_CANCEL, E.CANCEL_REJECT): (S.PARTIALLY_FILLED, S.NEW),
    (S.PENDING_CANCEL, E.PARTIAL_FILL): (S.PENDING_CANCEL, S.PENDING_CANCEL),
    (S.PENDING_CANCEL, E.FILL): (S.FILLED, S.FILLED),
    (S.PENDING_CANCEL, E.EXPIRE): (S.EXPIRED, S.EXPIRED),
    (S.PENDING_REPLACE, E.REPLACE): (S.PARTIALLY_FILLED, S.NEW),
    (S.PENDING_REPLACE, E.REPLACE_REJECT): (S.PARTIALLY_FILLED, S.NEW),
    (S.PENDING_REPLACE, E.PARTIAL_FILL): (S.PENDING_REPLACE, S.PENDING_REPLACE),
    (S.PENDING_REPLACE, E.FILL): (S.FILLED, S.FILLED),
    (S.PENDING_REPLACE, E.CANCEL): (S.CANCELED, S.CANCELED),
    (S.PENDING_REPLACE, E.EXPIRE): (S.EXPIRED, S.EXPIRED),
}

TERMINAL_STATUSES = [S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED]


def test_expected_table_and_module_table_cover_the_same_pairs():
    # given / when
    module_pairs = set(TRANSITIONS)
    # then
    assert module_pairs == set(EXPECTED)


@pytest.mark.parametrize(("status", "event"), list(itertools.product(OrdStatus, OrdEvent)))
@pytest.mark.parametrize("has_fills", [True, False])
def test_every_status_event_pair(status, event, has_fills):
    # given
    expected = EXPECTED.get((status, event))
    if expected is not None:
        # when
        result = next_status(status, event, has_fills=has_fills)
        # then
        assert result is (expected[0] if has_fills else expected[1])
    else:
        # when / then
        with pytest.raises(IllegalTransition) as info:
            next_status(status, event, has_fills=has_fills)
        assert info.value.status is status
        assert info.value.event is event
        assert str(status) in str(info.value)
        assert str(event) in str(info.value)


def test_illegal_transition_is_a_value_error():
    # given / when / then
    with pytest.raises(ValueError, match=r"illegal order transition: ACCEPT in status FILLED"):
        next_status(S.FILLED, E.ACCEPT, has_fills=True)


def test_terminal_set_is_exactly_the_four_final_statuses():
    # given / when / then
    assert set(TERMINAL) == set(TERMINAL_STATUSES)
    assert [s for s in OrdStatus if s.is_terminal] == TERMINAL_STATUSES
    assert [s for s in OrdStatus if s.is_working] == [
        S.PENDING_NEW,
        S.NEW,
        S.PARTIALLY_FILLED,
        S.PENDING_CANCEL,
        S.PENDING_REPLACE,
    ]


@pytest.mark.parametrize("status", TERMINAL_STATUSES)
@pytest.mark.parametrize("event", list(OrdEvent))
def test_terminal_statuses_accept_no_event(status, event):
    # given a terminal status
    # when / then
    with pytest.raises(IllegalTransition):
        next_status(status, event, has_fills=True)
    with pytest.raises(IllegalTransition):
        next_status(status, event, has_fills=False)


@pytest.mark.parametrize(
    ("leaves", "expected"),
    [
        ("0", E.FILL),
        ("0.0000", E.FILL),
        ("1", E.PARTIAL_FILL),
        ("0.0001", E.PARTIAL_FILL),
        ("250", E.PARTIAL_FILL),
    ],
)
def test_fill_event_is_fill_only_when_nothing_is_left(leaves, expected):
    # given / when
    event = fill_event(leaves_qty_after=Decimal(leaves))
    # then
    assert event is expected


@settings(max_examples=200)
@given(events=st.lists(st.sampled_from(list(OrdEvent)), max_size=30), fills=st.lists(st.booleans(), min_size=30, max_size=30))
def test_random_event_sequences_never_leave_a_terminal_status(events, fills):
    # given an order sent to a venue
    status = S.PENDING_NEW
    reached_terminal = False
    for event, has_fills in zip(events, fills, strict=False):
        # when
        try:
            after = next_status(status, event, has_fills=has_fills)
        except IllegalTransition:
            # then a refused event leaves the status as it was
            assert (status, event) not in EXPECTED
            continue
        # then
        assert not reached_terminal, f"{event} moved terminal {status} to {after}"
        assert after in set(OrdStatus)
        status = after
        reached_terminal = status.is_terminal
    assert reached_terminal == status.is_terminal
