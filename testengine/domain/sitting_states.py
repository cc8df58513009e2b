"""The states of a sitting (a room at a time) and of each booking in it, and the moves between them.

Tables in the manner of attempt_states.py: a move not listed is refused with IllegalTransition.
- A sitting is PLANNED until an invigilator confirms the venue checklist, which OPENS it for
  check-in and starts (confirming again, say after a room change, keeps it open). Closing is
  allowed from either; nothing leaves CLOSED, so a closed room's record stays as it was.
- A booking is checked in after the identity checks, or marked absent. An apprentice marked
  absent who turns up late can still be checked in; one checked in cannot be marked absent
  (they were there), but the check-in can be recorded again (a corrected seat or document).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from testengine.domain.errors import IllegalTransition

__all__ = [
    "BOOKING_TRANSITIONS",
    "SITTING_TRANSITIONS",
    "BookingEvent",
    "BookingStatus",
    "SittingEvent",
    "SittingState",
    "next_booking_status",
    "next_sitting_state",
]


class SittingState(StrEnum):
    PLANNED = "planned"
    OPEN = "open"  # venue checklist confirmed: check-in and starts allowed
    CLOSED = "closed"


class SittingEvent(StrEnum):
    CONFIRM_VENUE = "confirm_venue"
    CLOSE = "close"


class BookingStatus(StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    ABSENT = "absent"


class DeviceRequest(StrEnum):
    """An apprentice's request to continue on another computer, as the invigilator's board shows it."""

    NONE = ""
    WAITING = "waiting"  # asked, not yet approved
    ALLOWED = "allowed"  # approved, not yet used


class BookingEvent(StrEnum):
    CHECK_IN = "check_in"
    MARK_ABSENT = "mark_absent"


_S, _SE, _B, _BE = SittingState, SittingEvent, BookingStatus, BookingEvent

SITTING_TRANSITIONS: Mapping[SittingState, Mapping[SittingEvent, SittingState]] = MappingProxyType(
    {
        _S.PLANNED: MappingProxyType({_SE.CONFIRM_VENUE: _S.OPEN, _SE.CLOSE: _S.CLOSED}),
        _S.OPEN: MappingProxyType({_SE.CONFIRM_VENUE: _S.OPEN, _SE.CLOSE: _S.CLOSED}),
        _S.CLOSED: MappingProxyType({}),
    }
)

BOOKING_TRANSITIONS: Mapping[BookingStatus, Mapping[BookingEvent, BookingStatus]] = MappingProxyType(
    {
        _B.BOOKED: MappingProxyType({_BE.CHECK_IN: _B.CHECKED_IN, _BE.MARK_ABSENT: _B.ABSENT}),
        _B.CHECKED_IN: MappingProxyType({_BE.CHECK_IN: _B.CHECKED_IN}),
        _B.ABSENT: MappingProxyType({_BE.CHECK_IN: _B.CHECKED_IN, _BE.MARK_ABSENT: _B.ABSENT}),
    }
)


def next_sitting_state(state: SittingState | str, event: SittingEvent | str) -> SittingState:
    """The state a sitting moves to on `event`; IllegalTransition if the table has no such move."""
    try:
        state, event = SittingState(state), SittingEvent(event)
    except ValueError as exc:
        raise IllegalTransition(f"unknown sitting state or event: {exc}") from None
    target = SITTING_TRANSITIONS[state].get(event)
    if target is None:
        raise IllegalTransition(f"a {state.value} sitting cannot take event {event.value!r}")
    return target


def next_booking_status(status: BookingStatus | str, event: BookingEvent | str) -> BookingStatus:
    """The status a booking moves to on `event`; IllegalTransition if the table has no such move."""
    try:
        status, event = BookingStatus(status), BookingEvent(event)
    except ValueError as exc:
        raise IllegalTransition(f"unknown booking status or event: {exc}") from None
    target = BOOKING_TRANSITIONS[status].get(event)
    if target is None:
        raise IllegalTransition(f"a booking {status.value.replace('_', ' ')} cannot take event {event.value!r}")
    return target
