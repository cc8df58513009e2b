"""Where a script is in marking, and its second-marking decision, as states with their moves.

- A submitted script is UNMARKED for an instant: at submission it becomes COMPLETE when every
  answer was marked automatically, otherwise MARKING until every answer has a mark that stands
  (domain.mark_standing). Nothing leaves COMPLETE: later changes are re-marks of a result.
- Second marking is decided once per script: at once (SELECTED, near a grade boundary), or
  WAITING for its sitting's seeded sample and then SELECTED or NOT_SELECTED. A waiting script
  moved near a boundary by a changed first mark is selected without waiting.
- MarkingStage is what a marker or admin is told about a script: the step it waits for.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from testengine.domain.errors import IllegalTransition

__all__ = [
    "MARKING_TRANSITIONS",
    "SAMPLE_TRANSITIONS",
    "MarkingStage",
    "MarkingState",
    "SampleStatus",
    "next_marking_state",
    "next_sample_status",
]


class MarkingState(StrEnum):
    UNMARKED = "unmarked"
    MARKING = "marking"
    COMPLETE = "complete"


class SampleStatus(StrEnum):
    WAITING = "waiting"  # for the sitting's sample
    SELECTED = "selected"
    NOT_SELECTED = "not_selected"


class MarkingStage(StrEnum):
    FIRST = "first"  # waiting for a first marker
    SAMPLE = "sample"  # first-marked, waiting for the second-marking sample
    SECOND = "second"  # selected, waiting for a second marker
    MODERATION = "moderation"  # a disagreement waits for a moderator
    COMPLETE = "complete"  # every mark stands


MARKING_TRANSITIONS: Mapping[MarkingState, frozenset[MarkingState]] = MappingProxyType(
    {
        MarkingState.UNMARKED: frozenset({MarkingState.MARKING, MarkingState.COMPLETE}),
        MarkingState.MARKING: frozenset({MarkingState.COMPLETE}),
        MarkingState.COMPLETE: frozenset(),
    }
)

SAMPLE_TRANSITIONS: Mapping[SampleStatus, frozenset[SampleStatus]] = MappingProxyType(
    {
        SampleStatus.WAITING: frozenset({SampleStatus.SELECTED, SampleStatus.NOT_SELECTED}),
        SampleStatus.SELECTED: frozenset(),
        SampleStatus.NOT_SELECTED: frozenset(),
    }
)


def next_marking_state(state: MarkingState | str, target: MarkingState | str) -> MarkingState:
    """`target` if a script may move there from `state`; IllegalTransition otherwise."""
    current, wanted = MarkingState(state), MarkingState(target)
    if wanted not in MARKING_TRANSITIONS[current]:
        raise IllegalTransition(f"a script {current.value} cannot become {wanted.value}")
    return wanted


def next_sample_status(status: SampleStatus | str, target: SampleStatus | str) -> SampleStatus:
    """`target` if a second-marking decision may move there; IllegalTransition otherwise."""
    current, wanted = SampleStatus(status), SampleStatus(target)
    if wanted not in SAMPLE_TRANSITIONS[current]:
        raise IllegalTransition(f"a decision {current.value} cannot become {wanted.value}")
    return wanted
