"""An attempt's clock, read from its row: time allowed, deadline and time left, given `now`.

The rules are domain.timing's; this reads them off an attempt (its extra time and stoppages).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..domain import timing
from ..domain.attempt_states import AttemptState
from ..models import Attempt


@dataclass(frozen=True)
class ClockStatus:
    state: str
    deadline: dt.datetime | None
    remaining_seconds: int
    stopped: bool
    allowed_minutes: float
    warnings: tuple[int, ...]


def extra_for(attempt: Attempt) -> timing.ExtraTime:
    return timing.ExtraTime(percent=attempt.extra_percent, minutes=attempt.extra_minutes)


def stoppages_of(attempt: Attempt) -> list[timing.Stoppage]:
    return [timing.Stoppage(start=s.start, end=s.end, kind=s.kind) for s in attempt.stoppages]


def compute_deadline(attempt: Attempt, now: dt.datetime) -> dt.datetime | None:
    if attempt.started_at is None:
        return None
    return timing.deadline(attempt.started_at, attempt.base_minutes, extra_for(attempt), stoppages_of(attempt), now)


def clock_status(attempt: Attempt, now: dt.datetime) -> ClockStatus:
    allowed = timing.allowed_duration(attempt.base_minutes, extra_for(attempt))
    if attempt.started_at is None:
        remaining = allowed
        deadline_at = None
    elif attempt.state in (AttemptState.SUBMITTED.value, AttemptState.ABANDONED.value):
        remaining = dt.timedelta(0)
        deadline_at = attempt.deadline_at
    elif attempt.state == AttemptState.IN_PROGRESS.value and attempt.deadline_at is not None:
        # Running: every stoppage is closed and its time already added to the stored deadline
        # (begin/end_stoppage and change_extra_time keep it), so the stoppages need not be loaded.
        deadline_at = attempt.deadline_at
        remaining = deadline_at - now
    else:
        deadline_at = compute_deadline(attempt, now)
        remaining = timing.remaining(attempt.started_at, attempt.base_minutes, extra_for(attempt), stoppages_of(attempt), now)
    return ClockStatus(
        state=attempt.state,
        deadline=deadline_at,
        remaining_seconds=max(0, int(remaining.total_seconds())),
        stopped=attempt.state in (AttemptState.PAUSED.value, AttemptState.ON_BREAK.value),
        allowed_minutes=allowed.total_seconds() / 60,
        warnings=timing.warnings_due(remaining),
    )
