"""The words people read for the values the engine stores: one place, fed by the domain's enums and the policy.

Pages show "In progress", not `in_progress`; "Submitted by the apprentice", not `candidate`. Templates
use the `label` filter (`{{ attempt.state|label("attempt_state") }}`) and code calls `label()`, so a
value is worded once. A value a vocabulary does not know is shown readably rather than raw.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from .domain.attempt_states import AttemptState
from .models.sittings import BookingStatus, SittingState
from .policy import load_policy


def _by_enum(words: Mapping[Enum, str]) -> dict[str, str]:
    return {member.value: text for member, text in words.items()}


ATTEMPT_STATES = _by_enum(
    {
        AttemptState.NOT_STARTED: "Not started",
        AttemptState.IN_PROGRESS: "In progress",
        AttemptState.PAUSED: "Paused",
        AttemptState.ON_BREAK: "On rest break",
        AttemptState.SUBMITTED: "Submitted",
        AttemptState.ABANDONED: "Abandoned",
    }
)
BOOKING_STATUSES = _by_enum(
    {BookingStatus.BOOKED: "Booked", BookingStatus.CHECKED_IN: "Checked in", BookingStatus.ABSENT: "Absent"}
)
SITTING_STATES = _by_enum({SittingState.PLANNED: "Planned", SittingState.OPEN: "Open", SittingState.CLOSED: "Closed"})
# Why an attempt finished (attempts.finish_reason): who or what submitted it.
FINISH_REASONS = {
    "candidate": "Submitted by the apprentice",
    "time_up": "Time ran out",
    "invigilator": "Submitted by the invigilator",
}
ATTENDANCE = {"present": "Present", "late": "Late", "absent": "Absent", "not recorded": "Not recorded"}
ROOM_EVENTS = {
    "invigilator_in": "Invigilator signed in",
    "invigilator_out": "Invigilator signed out",
    "venue_confirmed": "Venue confirmed",
    "start": "Apprentice started",
    "room_paused": "Room paused",
    "room_resumed": "Room resumed",
    "closed": "Sitting closed",
}

_FIXED: dict[str, Mapping[str, str]] = {
    "attempt_state": ATTEMPT_STATES,
    "booking_status": BOOKING_STATUSES,
    "sitting_state": SITTING_STATES,
    "finish_reason": {**ATTEMPT_STATES, **FINISH_REASONS},  # an unfinished attempt reports its state
    "attendance": ATTENDANCE,
    "room_event": ROOM_EVENTS,
}
# Vocabularies that are data in the invigilation policy, read when asked (the policy is cached).
_FROM_POLICY: dict[str, Callable[[], Mapping[str, str]]] = {
    "incident_type": lambda: {c.key: c.name for c in load_policy().incident_types},
    "identity_document": lambda: {d.key: d.name for d in load_policy().identity.documents},
}
VOCABULARIES = (*_FIXED, *_FROM_POLICY)


def label(value: Any, vocabulary: str) -> str:
    """The words for `value` in `vocabulary`; an unknown value readably ("some_value" -> "Some value")."""
    if value is None or value == "":
        return ""
    if isinstance(value, Enum):
        value = value.value
    words = _FIXED.get(vocabulary)
    if words is None:
        if vocabulary not in _FROM_POLICY:
            raise KeyError(f"no vocabulary {vocabulary!r}; one of {', '.join(VOCABULARIES)}")
        words = _FROM_POLICY[vocabulary]()
    text = str(value)
    return words.get(text) or text.replace("_", " ").capitalize()


def register(app: Any) -> None:
    """Make `label` a Jinja filter: `{{ value|label("attempt_state") }}`."""
    app.add_template_filter(label, "label")
