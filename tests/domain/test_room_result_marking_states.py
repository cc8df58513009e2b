"""Every (state, event) pair of sittings, bookings, results and marking, with its outcome or a refusal."""

from __future__ import annotations

import itertools

import pytest

from testengine.domain.attempt_states import (
    ACTIVE_STATES,
    FINISHED_STATES,
    OPEN_STATES,
    AttemptKind,
    AttemptState,
)
from testengine.domain.errors import IllegalTransition
from testengine.domain.marking_states import (
    MarkingState,
    SampleStatus,
    next_marking_state,
    next_sample_status,
)
from testengine.domain.result_states import ResultAction, ResultStatus, next_status
from testengine.domain.sitting_states import (
    BookingEvent,
    BookingStatus,
    SittingEvent,
    SittingState,
    next_booking_status,
    next_sitting_state,
)

X = IllegalTransition
S, SE, B, BE = SittingState, SittingEvent, BookingStatus, BookingEvent
R, RA, M, D = ResultStatus, ResultAction, MarkingState, SampleStatus

SITTING = {
    (S.PLANNED, SE.CONFIRM_VENUE): S.OPEN,
    (S.PLANNED, SE.CLOSE): S.CLOSED,
    (S.OPEN, SE.CONFIRM_VENUE): S.OPEN,  # confirmed again, e.g. after a room change
    (S.OPEN, SE.CLOSE): S.CLOSED,
    (S.CLOSED, SE.CONFIRM_VENUE): X,  # a closed room's record stays as it was
    (S.CLOSED, SE.CLOSE): X,
}
BOOKING = {
    (B.BOOKED, BE.CHECK_IN): B.CHECKED_IN,
    (B.BOOKED, BE.MARK_ABSENT): B.ABSENT,
    (B.CHECKED_IN, BE.CHECK_IN): B.CHECKED_IN,  # a corrected seat or document
    (B.CHECKED_IN, BE.MARK_ABSENT): X,  # they were there
    (B.ABSENT, BE.CHECK_IN): B.CHECKED_IN,  # turned up late after all
    (B.ABSENT, BE.MARK_ABSENT): B.ABSENT,
}
RESULT = {
    (R.PROVISIONAL, RA.SIGN_OFF): R.SIGNED_OFF,
    (R.PROVISIONAL, RA.RELEASE): X,  # never released unchecked
    (R.SIGNED_OFF, RA.SIGN_OFF): X,
    (R.SIGNED_OFF, RA.RELEASE): R.RELEASED,
    (R.RELEASED, RA.SIGN_OFF): X,  # only an appeal or re-mark, as a new result
    (R.RELEASED, RA.RELEASE): X,
}


def test_every_pair_is_in_the_tables() -> None:
    assert set(SITTING) == set(itertools.product(SittingState, SittingEvent))
    assert set(BOOKING) == set(itertools.product(BookingStatus, BookingEvent))
    assert set(RESULT) == set(itertools.product(ResultStatus, ResultAction))


@pytest.mark.parametrize(("move", "outcome"), SITTING.items())
def test_sitting_moves(move: tuple[SittingState, SittingEvent], outcome: object) -> None:
    if outcome is X:
        with pytest.raises(IllegalTransition):
            next_sitting_state(*move)
    else:
        assert next_sitting_state(*move) is outcome
        assert next_sitting_state(move[0].value, move[1].value) is outcome  # as stored


@pytest.mark.parametrize(("move", "outcome"), BOOKING.items())
def test_booking_moves(move: tuple[BookingStatus, BookingEvent], outcome: object) -> None:
    if outcome is X:
        with pytest.raises(IllegalTransition):
            next_booking_status(*move)
    else:
        assert next_booking_status(*move) is outcome


@pytest.mark.parametrize(("move", "outcome"), RESULT.items())
def test_result_moves(move: tuple[ResultStatus, ResultAction], outcome: object) -> None:
    if outcome is X:
        with pytest.raises(IllegalTransition):
            next_status(*move)
    else:
        assert next_status(move[0].value, move[1].value) is outcome


def test_a_refused_result_move_is_worded_for_the_admin() -> None:
    with pytest.raises(IllegalTransition, match="A provisional result cannot be released."):
        next_status("provisional", "release")


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (M.UNMARKED, M.MARKING, True),  # answers wait for markers
        (M.UNMARKED, M.COMPLETE, True),  # every answer marked automatically
        (M.MARKING, M.COMPLETE, True),
        (M.MARKING, M.UNMARKED, False),
        (M.COMPLETE, M.MARKING, False),  # later changes are re-marks of the result
        (M.UNMARKED, M.UNMARKED, False),
        (D.WAITING, D.SELECTED, True),
        (D.WAITING, D.NOT_SELECTED, True),
        (D.SELECTED, D.NOT_SELECTED, False),
        (D.NOT_SELECTED, D.SELECTED, False),
        (D.SELECTED, D.WAITING, False),
    ],
)
def test_marking_and_sample_moves(current: object, target: object, allowed: bool) -> None:
    move = next_marking_state if isinstance(current, MarkingState) else next_sample_status
    if allowed:
        assert move(current, target) is target  # type: ignore[operator]
    else:
        with pytest.raises(IllegalTransition):
            move(current, target)  # type: ignore[operator]


@pytest.mark.parametrize("stray", ["", "Released", "in progress", "closed "])
def test_unknown_states_are_refused_not_guessed(stray: str) -> None:
    with pytest.raises(IllegalTransition):
        next_sitting_state(stray, SE.CLOSE)
    with pytest.raises(IllegalTransition):
        next_booking_status(stray, BE.CHECK_IN)
    with pytest.raises(IllegalTransition):
        next_status(stray, RA.SIGN_OFF)


def test_attempt_state_groups_partition_the_states() -> None:
    assert set(OPEN_STATES) | set(FINISHED_STATES) == set(AttemptState)
    assert not set(OPEN_STATES) & set(FINISHED_STATES)
    assert set(ACTIVE_STATES) == set(OPEN_STATES) - {AttemptState.NOT_STARTED}


def test_stored_values_do_not_change() -> None:
    """The database keeps these strings: renaming one would need a migration."""
    assert [s.value for s in SittingState] == ["planned", "open", "closed"]
    assert [s.value for s in BookingStatus] == ["booked", "checked_in", "absent"]
    assert [s.value for s in ResultStatus] == ["provisional", "signed_off", "released"]
    assert [s.value for s in MarkingState] == ["unmarked", "marking", "complete"]
    assert [s.value for s in SampleStatus] == ["waiting", "selected", "not_selected"]
    assert [k.value for k in AttemptKind] == ["first", "resit", "retake"]
    assert [s.value for s in AttemptState] == ["not_started", "in_progress", "paused", "on_break", "submitted", "abandoned"]
    assert f"{AttemptState.SUBMITTED}" == "submitted"  # str-valued: safe in f-strings and URLs
