"""Sitting a test: start, submit once, sweep at time-up, the clock. Saves are in `answers`.

The clock is the server's: the deadline comes from domain.timing, given `now`.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult

from ..domain import timing
from ..domain.attempt_states import FINISHED_STATES, AttemptEvent, AttemptState, next_state
from ..domain.errors import DomainError, IllegalTransition
from ..domain.mark_standing import MarkRole
from ..domain.marking_states import MarkingState, next_marking_state
from ..domain.question_types import get_type
from ..extensions import db
from ..models import (
    Answer,
    Apprentice,
    Attempt,
    AttemptQuestion,
    Incident,
    Mark,
    QuestionVersion,
    Stoppage,
    User,
)
from ..models import (
    AttemptEvent as AttemptEventRow,
)
from . import audit, results
from .attempt_clock import ClockStatus as ClockStatus  # the clock is read through this module too
from .attempt_clock import clock_status as clock_status
from .attempt_clock import compute_deadline, extra_for, stoppages_of

log = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 5000
BROWSER_EVENTS = {"blur", "focus_lost", "paste", "resize", "offline", "online", "copy", "fullscreen_exit", "device_change"}


class AttemptError(DomainError):
    """An attempt refused an action; `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, *, code: str, status: int = 409, field: str | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.field = field  # the request field at fault, when there is one


@dataclass(frozen=True)
class AttemptSettings:
    """What the attempt services need from the app's settings, given by the caller (a view, a command, a test)."""

    grace: dt.timedelta = timing.GRACE  # TESTENGINE_SAVE_GRACE_SECONDS: answers in flight still count
    write_timeout: float = 35.0  # how long a save waits for the group commit: the SQLite busy timeout, and a margin


DEFAULT_SETTINGS = AttemptSettings()


def own_attempt(attempt_id: int, user: User) -> Attempt:
    """The apprentice's own attempt, or 404: another person's attempt does not exist for them."""
    attempt: Attempt | None = db.session.scalar(
        select(Attempt)
        .join(Apprentice, Apprentice.id == Attempt.apprentice_id)
        .where(Attempt.id == attempt_id, Apprentice.user_id == user.id)
    )
    if attempt is None:
        raise AttemptError("No such attempt.", code="not_found", status=404)
    return attempt


def _transition(attempt: Attempt, event: AttemptEvent) -> None:
    try:
        attempt.state = next_state(AttemptState(attempt.state), event).value
    except IllegalTransition as refused:
        raise AttemptError(str(refused), code="illegal_transition") from None


def start(attempt: Attempt, *, now: dt.datetime, actor: User | None) -> None:
    _transition(attempt, AttemptEvent.START)
    attempt.started_at = now
    attempt.deadline_at = compute_deadline(attempt, now)
    db.session.flush()
    audit.record(
        actor,
        "attempt.start",
        attempt,
        after={"started_at": now.isoformat(), "deadline": attempt.deadline_at.isoformat() if attempt.deadline_at else None},
    )


def open_in_browser(attempt: Attempt, *, now: dt.datetime) -> str:
    """A page load claims the attempt for this browser; the older browser is told it was replaced."""
    previous = attempt.client_token
    token = secrets.token_urlsafe(24)
    attempt.client_token = token
    attempt.last_seen_at = now
    if previous is not None:
        db.session.add(
            AttemptEventRow(
                attempt_id=attempt.id,
                at=now,
                kind="second_browser",
                detail="the test page was opened again in this browser (a reload or another tab); any earlier window was stopped",
            )
        )
    db.session.flush()
    return token


def is_overdue(attempt: Attempt, now: dt.datetime, *, settings: AttemptSettings) -> bool:
    """Still open although its time and grace have run out: the next request submits it."""
    return (
        attempt.state == AttemptState.IN_PROGRESS.value
        and attempt.deadline_at is not None
        and timing.is_expired(attempt.deadline_at, now, settings.grace)
    )


def finalise_if_expired(attempt: Attempt, now: dt.datetime, *, settings: AttemptSettings) -> bool:
    """Submit an attempt whose time ran out, recording the deadline (not now) as its finish. Idempotent."""
    return finalise_reporting(attempt, now, settings=settings) is not None


def finalise_reporting(attempt: Attempt, now: dt.datetime, *, settings: AttemptSettings) -> list[str] | None:
    """finalise_if_expired, returning what marking found unreadable (None: nothing was submitted)."""
    if attempt.state != AttemptState.IN_PROGRESS.value or attempt.deadline_at is None:
        return None
    if not timing.is_expired(attempt.deadline_at, now, settings.grace):
        return None
    return _finish(attempt, finished_at=attempt.deadline_at, reason="time_up", actor=None, event=AttemptEvent.EXPIRE)


def _finish(
    attempt: Attempt, *, finished_at: dt.datetime, reason: str, actor: User | None, event: AttemptEvent
) -> list[str] | None:
    """Move the attempt to its finished state (exactly once) and mark it; None if another request did first."""
    target = next_state(AttemptState(attempt.state), event).value
    # A conditional update: of many simultaneous finishes exactly one changes the row.
    result = cast(
        "CursorResult[Any]",
        db.session.execute(
            update(Attempt)
            .where(Attempt.id == attempt.id, Attempt.state == attempt.state)
            .values(state=target, submitted_at=finished_at, finish_reason=reason)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        db.session.refresh(attempt)
        return None
    db.session.refresh(attempt)
    unreadable = auto_mark(attempt, now=finished_at)
    audit.record(actor, "attempt.submit", attempt, after={"reason": reason, "finished_at": finished_at.isoformat()})
    return unreadable


def submit(
    attempt: Attempt, *, now: dt.datetime, actor: User | None, settings: AttemptSettings, reason: str = "candidate"
) -> None:
    if attempt.state in (AttemptState.SUBMITTED.value, AttemptState.ABANDONED.value):
        raise AttemptError("This test has already been submitted.", code="already_submitted")
    if finalise_if_expired(attempt, now, settings=settings):
        return
    if attempt.state not in (AttemptState.IN_PROGRESS.value, AttemptState.ON_BREAK.value, AttemptState.PAUSED.value):
        raise AttemptError("This test has not started.", code="not_started")
    if attempt.state != AttemptState.IN_PROGRESS.value:
        _close_open_stoppages(attempt, now)
    if _finish(attempt, finished_at=now, reason=reason, actor=actor, event=AttemptEvent.SUBMIT) is None:
        raise AttemptError("This test has already been submitted.", code="already_submitted")


def _close_open_stoppages(attempt: Attempt, now: dt.datetime) -> None:
    """End the stoppages still going at `now`. If the server's clock went back under them, they end at
    their start and the step is kept (it moves the deadline back, so the time left is unchanged) and
    shown to the invigilator as an incident: a resume never fails, and never gives or takes time."""
    going = [stoppage for stoppage in attempt.stoppages if stoppage.end is None]
    closing = timing.end_stoppages([stoppage.start for stoppage in going], now)
    for stoppage in going:
        stoppage.end = closing.end
    step = closing.clock_step
    if step is not None and step.end is not None:
        db.session.add(Stoppage(attempt_id=attempt.id, kind=step.kind, start=step.start, end=step.end))
        seconds = int((step.start - step.end).total_seconds())
        if attempt.sitting_id is not None:
            db.session.add(
                Incident(
                    sitting_id=attempt.sitting_id,
                    kind="clock_step",
                    occurred_at=now,
                    apprentice_ids=[attempt.apprentice_id],
                    notes=f"The server clock went back {seconds} s while the clock was stopped; the time left is unchanged.",
                )
            )
        audit.record(None, "attempt.clock_step", attempt, after={"before": step.start.isoformat(), "after": step.end.isoformat()})
    db.session.flush()


def auto_mark(attempt: Attempt, *, now: dt.datetime) -> list[str]:
    """Mark what needs no marker: MCQs, and blank answers of any type (0). Short answers wait for a marker.

    Returns what was unreadable (a stored response no question of its type can take), each marked 0.
    """
    rows = db.session.execute(
        select(AttemptQuestion, QuestionVersion, Answer)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .outerjoin(Answer, Answer.attempt_question_id == AttemptQuestion.id)
        .where(AttemptQuestion.attempt_id == attempt.id)
    ).all()
    pending = 0
    total = 0
    unreadable: list[str] = []
    for aq, version, answer in rows:
        response = answer.response if answer is not None else None
        kind = get_type(version.type)
        problem = kind.response_problem(version.content, response)
        if problem is not None:  # stored before saves were checked, or written around them: 0, and said so
            unreadable.append(
                f"question {aq.position}: the stored response ({len(response or '')} characters) {problem}; marked 0"
            )
            audit.record(
                None,
                "answer.unreadable",
                attempt,
                after={"position": aq.position, "problem": f"response {problem}", "length": len(response or "")},
            )
        mark = kind.mark(version.content, response)
        if mark is None:
            pending += 1
            continue
        total += mark
        db.session.add(
            Mark(
                attempt_question_id=aq.id,
                attempt_id=attempt.id,
                marker_id=None,
                role=MarkRole.AUTO.value,
                mark=mark,
                created_at=now,
            )
        )
    attempt.marking_state = next_marking_state(
        attempt.marking_state, MarkingState.MARKING if pending else MarkingState.COMPLETE
    ).value
    attempt.total_marks = None if pending else total
    db.session.flush()
    if not pending:  # nothing for a marker: the provisional knowledge-test result now
        results.record_knowledge_test(attempt, now=now, actor=None)
    return unreadable


# --- the clock: pauses, rest breaks, extra time -------------------------------------------


def begin_stoppage(attempt: Attempt, kind: str, *, now: dt.datetime, actor: User | None, incident_id: int | None = None) -> None:
    event = AttemptEvent.BEGIN_BREAK if kind == "rest_break" else AttemptEvent.PAUSE
    _transition(attempt, event)
    db.session.add(
        Stoppage(
            attempt_id=attempt.id, kind=kind, start=now, end=None, by_user_id=actor.id if actor else None, incident_id=incident_id
        )
    )
    db.session.flush()
    db.session.refresh(attempt)
    audit.record(actor, f"attempt.{kind}.begin", attempt, after={"at": now.isoformat()})


def end_stoppage(attempt: Attempt, *, now: dt.datetime, actor: User | None) -> None:
    event = AttemptEvent.END_BREAK if attempt.state == AttemptState.ON_BREAK.value else AttemptEvent.RESUME
    _transition(attempt, event)
    _close_open_stoppages(attempt, now)
    db.session.refresh(attempt)
    before = attempt.deadline_at
    attempt.deadline_at = compute_deadline(attempt, now)
    db.session.flush()
    audit.record(
        actor,
        "attempt.resume",
        attempt,
        before={"deadline": before.isoformat() if before else None},
        after={"deadline": attempt.deadline_at.isoformat() if attempt.deadline_at else None},
    )


def change_extra_time(attempt: Attempt, *, percent: int, minutes: int, now: dt.datetime, actor: User | None, reason: str) -> None:
    """Extra time changed mid-attempt: audited, and a cut that would put the deadline in the past is refused."""
    new = timing.ExtraTime(percent=percent, minutes=minutes)
    if attempt.started_at is not None and attempt.state not in FINISHED_STATES:
        timing.check_extra_time_change(
            attempt.started_at, attempt.base_minutes, extra_for(attempt), new, stoppages_of(attempt), now
        )
    before = {"extra_percent": attempt.extra_percent, "extra_minutes": attempt.extra_minutes}
    attempt.extra_percent, attempt.extra_minutes = percent, minutes
    attempt.deadline_at = compute_deadline(attempt, now)
    db.session.flush()
    audit.record(
        actor,
        "attempt.extra_time",
        attempt,
        before=before,
        after={"extra_percent": percent, "extra_minutes": minutes},
        reason=reason,
    )


def apprentice_for(user: User) -> Apprentice | None:
    return user.apprentice
