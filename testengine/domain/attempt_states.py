"""The states of one apprentice's attempt at a test, and the only moves between them.

Written out as a table so that every move an invigilator, the apprentice or the clock can make
is listed once, and anything not listed is refused with IllegalTransition. Two choices matter:
- A paused attempt cannot expire. Its clock is stopped (see timing.py), so its deadline keeps
  moving; only an invigilator can end it (SUBMIT) or abandon it.
- Nothing leaves SUBMITTED or ABANDONED: a submitted attempt is marked as it stands, and an
  abandoned one is a fact of the record, not something to reopen.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from testengine.domain.errors import IllegalTransition

__all__ = [
    "ACTIVE_STATES",
    "FINISHED_STATES",
    "OPEN_STATES",
    "TRANSITIONS",
    "AttemptEvent",
    "AttemptKind",
    "AttemptState",
    "accepts_answers",
    "is_open",
    "next_state",
]


class AttemptState(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"  # stopped by an invigilator (one apprentice or the whole room)
    ON_BREAK = "on_break"  # a supervised rest break, a reasonable adjustment
    SUBMITTED = "submitted"  # by the apprentice, by an invigilator, or by the clock
    ABANDONED = "abandoned"


class AttemptEvent(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    BEGIN_BREAK = "begin_break"
    END_BREAK = "end_break"
    SUBMIT = "submit"
    EXPIRE = "expire"  # the time and its grace are over (timing.is_expired)
    ABANDON = "abandon"


class AttemptKind(StrEnum):
    """Which try at a method this is: the first, a re-sit (no further learning) or a re-take
    (after further learning). Stored on attempts and on the method results graded from them."""

    FIRST = "first"
    RESIT = "resit"
    RETAKE = "retake"


_S, _E = AttemptState, AttemptEvent

# Issued and not yet finished: at most one such attempt per apprentice per sitting.
OPEN_STATES: tuple[AttemptState, ...] = (_S.NOT_STARTED, _S.IN_PROGRESS, _S.PAUSED, _S.ON_BREAK)
# Started and not yet finished: what the room's invigilation ratio counts.
ACTIVE_STATES: tuple[AttemptState, ...] = (_S.IN_PROGRESS, _S.PAUSED, _S.ON_BREAK)
FINISHED_STATES: tuple[AttemptState, ...] = (_S.SUBMITTED, _S.ABANDONED)

TRANSITIONS: Mapping[AttemptState, Mapping[AttemptEvent, AttemptState]] = MappingProxyType(
    {
        _S.NOT_STARTED: MappingProxyType({_E.START: _S.IN_PROGRESS, _E.ABANDON: _S.ABANDONED}),
        _S.IN_PROGRESS: MappingProxyType(
            {
                _E.PAUSE: _S.PAUSED,
                _E.BEGIN_BREAK: _S.ON_BREAK,
                _E.SUBMIT: _S.SUBMITTED,
                _E.EXPIRE: _S.SUBMITTED,
                _E.ABANDON: _S.ABANDONED,
            }
        ),
        _S.PAUSED: MappingProxyType({_E.RESUME: _S.IN_PROGRESS, _E.SUBMIT: _S.SUBMITTED, _E.ABANDON: _S.ABANDONED}),
        _S.ON_BREAK: MappingProxyType({_E.END_BREAK: _S.IN_PROGRESS, _E.SUBMIT: _S.SUBMITTED}),
        _S.SUBMITTED: MappingProxyType({}),
        _S.ABANDONED: MappingProxyType({}),
    }
)


def next_state(state: AttemptState, event: AttemptEvent) -> AttemptState:
    """The state an attempt moves to on `event`; IllegalTransition if the table has no such move.

    Plain strings ("paused", "resume") are accepted as their enum values, since states come back
    from the database and events from forms as text.
    """
    try:
        state, event = AttemptState(state), AttemptEvent(event)
    except ValueError as exc:
        raise IllegalTransition(f"unknown attempt state or event: {exc}") from None
    target = TRANSITIONS[state].get(event)
    if target is None:
        raise IllegalTransition(f"an attempt in state {state.value!r} cannot take event {event.value!r}")
    return target


def accepts_answers(state: AttemptState) -> bool:
    """Whether answers may be saved: only while the clock runs (not paused, not on a break)."""
    return AttemptState(state) is AttemptState.IN_PROGRESS


def is_open(state: AttemptState) -> bool:
    """Whether the attempt can still change: anything but submitted or abandoned."""
    return AttemptState(state) not in FINISHED_STATES
