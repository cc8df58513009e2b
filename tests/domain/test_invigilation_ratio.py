"""The invigilation ratio (ST0663: one invigilator for every 20 apprentices), as plain rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testengine.domain.errors import DomainError
from testengine.domain.invigilation import (
    RatioBreach,
    RatioState,
    capacity,
    check_can_start,
    over_ratio,
)


@pytest.mark.parametrize(
    ("invigilators", "ratio", "room"),
    [(0, 20, 0), (1, 20, 20), (2, 20, 40), (3, 1, 3), (-1, 20, 0)],
)
def test_capacity_is_invigilators_times_the_ratio(invigilators: int, ratio: int, room: int) -> None:
    assert capacity(invigilators, ratio) == room


@pytest.mark.parametrize("ratio", [0, -20])
def test_a_ratio_below_one_is_refused(ratio: int) -> None:
    with pytest.raises(ValueError, match="^ratio must be at least 1$"):
        capacity(1, ratio)


@pytest.mark.parametrize(
    ("in_progress", "invigilators", "over"),
    [(20, 1, False), (21, 1, True), (40, 2, False), (41, 2, True), (1, 0, True), (0, 0, False)],
)
def test_over_ratio_only_past_the_capacity(in_progress: int, invigilators: int, over: bool) -> None:
    assert over_ratio(in_progress, invigilators, 20) is over
    state = RatioState(in_progress, invigilators, 20)
    assert state.over is over
    assert state.capacity == capacity(invigilators, 20)


@pytest.mark.parametrize(("in_progress", "invigilators"), [(0, 1), (19, 1), (39, 2)])
def test_a_start_within_the_ratio_is_allowed(in_progress: int, invigilators: int) -> None:
    check_can_start(in_progress, invigilators, 20)


def test_the_twenty_first_apprentice_waits_for_a_second_invigilator() -> None:
    with pytest.raises(RatioBreach) as err:
        check_can_start(20, 1, 20)
    assert err.value.code == "ratio"
    assert isinstance(err.value, DomainError)
    assert str(err.value) == (
        "Cannot start: 20 apprentices are already in progress with 1 invigilator present "
        "(at most 20 per invigilator). Another invigilator must sign in first."
    )


def test_the_message_counts_invigilators_in_the_plural() -> None:
    with pytest.raises(RatioBreach) as err:
        check_can_start(40, 2, 20)
    assert str(err.value) == (
        "Cannot start: 40 apprentices are already in progress with 2 invigilators present "
        "(at most 20 per invigilator). Another invigilator must sign in first."
    )


def test_no_start_without_an_invigilator() -> None:
    with pytest.raises(RatioBreach) as err:
        check_can_start(0, 0, 20)
    assert err.value.code == "ratio"
    assert str(err.value) == "No invigilator is signed in to this room, so no test can start."


@given(st.integers(0, 200), st.integers(1, 10), st.integers(1, 30))
def test_a_start_is_allowed_exactly_when_it_keeps_the_room_within_the_ratio(
    in_progress: int, invigilators: int, ratio: int
) -> None:
    allowed = in_progress + 1 <= invigilators * ratio
    if allowed:
        check_can_start(in_progress, invigilators, ratio)
        assert not over_ratio(in_progress + 1, invigilators, ratio)
    else:
        with pytest.raises(RatioBreach):
            check_can_start(in_progress, invigilators, ratio)
