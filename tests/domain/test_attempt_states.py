"""Every (state, event) pair of an attempt, with the state it leads to or a refusal."""

from __future__ import annotations

import itertools

import pytest

from testengine.domain.attempt_states import (
    AttemptEvent,
    AttemptState,
    accepts_answers,
    is_open,
    next_state,
)
from testengine.domain.errors import IllegalTransition

S, E = AttemptState, AttemptEvent
X = IllegalTransition

# Rows are states, columns events; written out in full so a missing move is visible.
TABLE: dict[AttemptState, dict[AttemptEvent, AttemptState | type[IllegalTransition]]] = {
    S.NOT_STARTED: {
        E.START: S.IN_PROGRESS,
        E.PAUSE: X,
        E.RESUME: X,
        E.BEGIN_BREAK: X,
        E.END_BREAK: X,
        E.SUBMIT: X,
        E.EXPIRE: X,
        E.ABANDON: S.ABANDONED,
    },
    S.IN_PROGRESS: {
        E.START: X,
        E.PAUSE: S.PAUSED,
        E.RESUME: X,
        E.BEGIN_BREAK: S.ON_BREAK,
        E.END_BREAK: X,
        E.SUBMIT: S.SUBMITTED,
        E.EXPIRE: S.SUBMITTED,
        E.ABANDON: S.ABANDONED,
    },
    S.PAUSED: {
        E.START: X,
        E.PAUSE: X,
        E.RESUME: S.IN_PROGRESS,
        E.BEGIN_BREAK: X,
        E.END_BREAK: X,
        E.SUBMIT: S.SUBMITTED,  # an invigilator ends it
        E.EXPIRE: X,  # the clock is stopped: a paused attempt cannot run out of time
        E.ABANDON: S.ABANDONED,
    },
    S.ON_BREAK: {
        E.START: X,
        E.PAUSE: X,
        E.RESUME: X,
        E.BEGIN_BREAK: X,
        E.END_BREAK: S.IN_PROGRESS,
        E.SUBMIT: S.SUBMITTED,
        E.EXPIRE: X,
        E.ABANDON: X,
    },
    S.SUBMITTED: dict.fromkeys(AttemptEvent, X),
    S.ABANDONED: dict.fromkeys(AttemptEvent, X),
}

CASES = [(state, event, TABLE[state][event]) for state in TABLE for event in TABLE[state]]


def test_the_table_lists_every_pair() -> None:
    assert {(s, e) for s, e, _ in CASES} == set(itertools.product(AttemptState, AttemptEvent))
    assert len(CASES) == 48


@pytest.mark.parametrize(("state", "event", "expected"), CASES)
def test_transition(state: AttemptState, event: AttemptEvent, expected: AttemptState | type[IllegalTransition]) -> None:
    if expected is IllegalTransition:
        with pytest.raises(IllegalTransition) as err:
            next_state(state, event)
        assert state.value in str(err.value)
        assert event.value in str(err.value)
        assert err.value.code == "illegal_transition"
    else:
        assert next_state(state, event) is expected


def test_values_are_lower_case_text() -> None:
    assert [e.value for e in AttemptEvent] == [
        "start",
        "pause",
        "resume",
        "begin_break",
        "end_break",
        "submit",
        "expire",
        "abandon",
    ]
    assert [s.value for s in AttemptState] == [
        "not_started",
        "in_progress",
        "paused",
        "on_break",
        "submitted",
        "abandoned",
    ]


def test_text_from_the_database_or_a_form_is_accepted() -> None:
    assert next_state("paused", "resume") is S.IN_PROGRESS  # type: ignore[arg-type]


@pytest.mark.parametrize(("state", "event"), [("finished", "start"), ("in_progress", "rewind")])
def test_unknown_states_and_events_are_refused(state: str, event: str) -> None:
    with pytest.raises(IllegalTransition) as err:
        next_state(state, event)  # type: ignore[arg-type]
    assert err.value.code == "illegal_transition"
    assert str(err.value).startswith("unknown attempt state or event: ")
    assert repr(state if state == "finished" else event) in str(err.value)


@pytest.mark.parametrize(
    ("state", "accepts", "open_"),
    [
        (S.NOT_STARTED, False, True),
        (S.IN_PROGRESS, True, True),
        (S.PAUSED, False, True),
        (S.ON_BREAK, False, True),
        (S.SUBMITTED, False, False),
        (S.ABANDONED, False, False),
    ],
)
def test_accepts_answers_and_is_open(state: AttemptState, accepts: bool, open_: bool) -> None:
    assert accepts_answers(state) is accepts
    assert is_open(state) is open_


def test_closed_states_have_no_way_out() -> None:
    for state in AttemptState:
        if not is_open(state):
            assert all(TABLE[state][event] is X for event in AttemptEvent)
