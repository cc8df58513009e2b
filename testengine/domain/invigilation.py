"""The invigilation ratio and room rules, as plain functions."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import DomainError


class RatioBreach(DomainError):
    code = "ratio"


class InAnotherRoom(DomainError):
    code = "in_another_room"


def check_can_sign_in(other_room: str | None) -> None:
    """One invigilator is in one room at a time: refuse a sign-in while they are present in another open room.

    `other_room` names the open room they are still signed in to (None when there is none). A person
    counted in two rooms would let one invigilator cover twice the apprentices the ratio allows.
    """
    if other_room is not None:
        raise InAnotherRoom(
            f"You are still signed in to {other_room}. Sign out of that room first: "
            "an invigilator can be present in only one room at a time."
        )


def capacity(invigilators_present: int, ratio: int) -> int:
    """How many apprentices may be in progress with this many invigilators in the room."""
    if ratio < 1:
        raise ValueError("ratio must be at least 1")
    return max(0, invigilators_present) * ratio


def over_ratio(in_progress: int, invigilators_present: int, ratio: int) -> bool:
    return in_progress > capacity(invigilators_present, ratio)


def check_can_start(in_progress: int, invigilators_present: int, ratio: int) -> None:
    """Refuse the start that would put more than `ratio` apprentices per invigilator in progress."""
    if invigilators_present < 1:
        raise RatioBreach("No invigilator is signed in to this room, so no test can start.")
    if in_progress + 1 > capacity(invigilators_present, ratio):
        raise RatioBreach(
            f"Cannot start: {in_progress} apprentices are already in progress with "
            f"{invigilators_present} invigilator{'s' if invigilators_present != 1 else ''} present "
            f"(at most {ratio} per invigilator). Another invigilator must sign in first."
        )


@dataclass(frozen=True)
class RatioState:
    in_progress: int
    invigilators_present: int
    ratio: int

    @property
    def capacity(self) -> int:
        return capacity(self.invigilators_present, self.ratio)

    @property
    def over(self) -> bool:
        return over_ratio(self.in_progress, self.invigilators_present, self.ratio)
