"""Sitting a test: start, save (an upsert that never loses or reorders), submit once, sweep at time-up.

The clock is the server's: the deadline comes from domain.timing, given `now`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..domain import timing
from ..domain.attempt_states import AttemptEvent, AttemptState, next_state
from ..domain.errors import DomainError, IllegalTransition
from ..domain.question_types import get_type
from ..extensions import db
from ..models import (
    Answer,
    Apprentice,
    Attempt,
    AttemptEvent as AttemptEventRow,
    AttemptQuestion,
    Mark,
    QuestionVersion,
    Stoppage,
    User,
)
from . import audit, results

MAX_ANSWER_CHARS = 5000
BROWSER_EVENTS = {"blur", "focus_lost", "paste", "resize", "offline", "online", "copy", "fullscreen_exit", "device_change"}


class AttemptError(DomainError):
    """An attempt refused an action; `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, *, code: str, status: int = 409) -> None:
        super().__init__(message, code=code)
        self.status = status


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


def own_attempt(attempt_id: int, user: User) -> Attempt:
    """The apprentice's own attempt, or 404: another person's attempt does not exist for them."""
    attempt = db.session.get(Attempt, attempt_id)
    apprentice = user.apprentice
    if attempt is None or apprentice is None or attempt.apprentice_id != apprentice.id:
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
    audit.record(actor, "attempt.start", attempt, after={"started_at": now.isoformat(), "deadline": attempt.deadline_at.isoformat() if attempt.deadline_at else None})


def open_in_browser(attempt: Attempt, *, now: dt.datetime) -> str:
    """A page load claims the attempt for this browser; the older browser is told it was replaced."""
    previous = attempt.client_token
    token = secrets.token_urlsafe(24)
    attempt.client_token = token
    attempt.last_seen_at = now
    if previous is not None:
        db.session.add(AttemptEventRow(attempt_id=attempt.id, at=now, kind="second_browser", detail="opened in another window; the earlier one was stopped"))
    db.session.flush()
    return token


def is_overdue(attempt: Attempt, now: dt.datetime) -> bool:
    """Still open although its time and grace have run out: the next request submits it."""
    return (
        attempt.state == AttemptState.IN_PROGRESS.value
        and attempt.deadline_at is not None
        and timing.is_expired(attempt.deadline_at, now)
    )


def finalise_if_expired(attempt: Attempt, now: dt.datetime) -> bool:
    """Submit an attempt whose time ran out, recording the deadline (not now) as its finish. Idempotent."""
    if attempt.state != AttemptState.IN_PROGRESS.value or attempt.deadline_at is None:
        return False
    if not timing.is_expired(attempt.deadline_at, now):
        return False
    return _finish(attempt, finished_at=attempt.deadline_at, reason="time_up", actor=None, event=AttemptEvent.EXPIRE)


def _finish(attempt: Attempt, *, finished_at: dt.datetime, reason: str, actor: User | None, event: AttemptEvent) -> bool:
    target = next_state(AttemptState(attempt.state), event).value
    # A conditional update: of many simultaneous finishes exactly one changes the row.
    result = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.state == attempt.state)
        .values(state=target, submitted_at=finished_at, finish_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(attempt)
        return False
    db.session.refresh(attempt)
    auto_mark(attempt, now=finished_at)
    audit.record(actor, "attempt.submit", attempt, after={"reason": reason, "finished_at": finished_at.isoformat()})
    return True


def submit(attempt: Attempt, *, now: dt.datetime, actor: User | None, reason: str = "candidate") -> None:
    if attempt.state in (AttemptState.SUBMITTED.value, AttemptState.ABANDONED.value):
        raise AttemptError("This test has already been submitted.", code="already_submitted")
    if finalise_if_expired(attempt, now):
        return
    if attempt.state not in (AttemptState.IN_PROGRESS.value, AttemptState.ON_BREAK.value, AttemptState.PAUSED.value):
        raise AttemptError("This test has not started.", code="not_started")
    if attempt.state != AttemptState.IN_PROGRESS.value:
        _close_open_stoppages(attempt, now)
    if not _finish(attempt, finished_at=now, reason=reason, actor=actor, event=AttemptEvent.SUBMIT):
        raise AttemptError("This test has already been submitted.", code="already_submitted")


def _close_open_stoppages(attempt: Attempt, now: dt.datetime) -> None:
    for stoppage in attempt.stoppages:
        if stoppage.end is None:
            stoppage.end = now
    db.session.flush()


def auto_mark(attempt: Attempt, *, now: dt.datetime) -> None:
    """Mark what needs no marker: MCQs, and blank answers of any type (0). Short answers wait for a marker."""
    rows = db.session.execute(
        select(AttemptQuestion, QuestionVersion, Answer)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .outerjoin(Answer, Answer.attempt_question_id == AttemptQuestion.id)
        .where(AttemptQuestion.attempt_id == attempt.id)
    ).all()
    pending = 0
    total = 0
    for aq, version, answer in rows:
        response = answer.response if answer is not None else None
        mark = get_type(version.type).mark(version.content, response)
        if mark is None:
            pending += 1
            continue
        total += mark
        db.session.add(Mark(attempt_question_id=aq.id, attempt_id=attempt.id, marker_id=None, role="auto", mark=mark, created_at=now))
    attempt.marking_state = "marking" if pending else "complete"
    attempt.total_marks = None if pending else total
    db.session.flush()
    if not pending:  # nothing for a marker: the provisional knowledge-test result now
        results.record_knowledge_test(attempt, now=now, actor=None)


def _require_writable(attempt: Attempt, client_token: str | None, now: dt.datetime) -> None:
    if attempt.state in (AttemptState.SUBMITTED.value, AttemptState.ABANDONED.value):
        raise AttemptError("This test has been submitted; nothing more can be saved.", code="already_submitted")
    if attempt.state == AttemptState.NOT_STARTED.value:
        raise AttemptError("This test has not started yet.", code="not_started")
    if attempt.state in (AttemptState.PAUSED.value, AttemptState.ON_BREAK.value):
        raise AttemptError("The clock is stopped; your answer will be saved when the test resumes.", code="paused", status=423)
    if client_token is not None and attempt.client_token is not None and client_token != attempt.client_token:
        raise AttemptError(
            "This test was opened in another browser window, so this one has stopped. Continue in the newer window.",
            code="superseded",
        )
    if attempt.deadline_at is not None and not timing.save_accepted(attempt.deadline_at, now):
        raise AttemptError("Time is up: answers can no longer be saved.", code="time_up", status=409)


def _question_at(attempt: Attempt, position: int) -> int:
    aq_id = db.session.scalar(
        select(AttemptQuestion.id).where(AttemptQuestion.attempt_id == attempt.id, AttemptQuestion.position == position)
    )
    if aq_id is None:
        raise AttemptError(f"There is no question {position} on this paper.", code="no_such_question", status=404)
    return aq_id


def _insert():  # type: ignore[no-untyped-def]
    return postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert


def save_answer(attempt: Attempt, position: int, *, response: str | None, revision: int, client_token: str | None, now: dt.datetime) -> dict[str, Any]:
    """Store an answer if its revision is newer than what is stored; a replay or an older revision changes nothing.

    One statement (an upsert with a condition), so two racing saves cannot lose the newer one.
    """
    _require_writable(attempt, client_token, now)
    if response is not None and len(response) > MAX_ANSWER_CHARS:
        raise AttemptError(f"Answers are limited to {MAX_ANSWER_CHARS} characters.", code="too_long", status=413)
    aq_id = _question_at(attempt, position)
    insert = _insert()
    statement = insert(Answer).values(
        attempt_question_id=aq_id, attempt_id=attempt.id, response=response, revision=revision, saved_at=now, flagged=False
    )
    statement = statement.on_conflict_do_update(
        index_elements=[Answer.attempt_question_id],
        set_={"response": statement.excluded.response, "revision": statement.excluded.revision, "saved_at": statement.excluded.saved_at},
        where=Answer.revision < statement.excluded.revision,
    ).returning(Answer.revision)
    stored = db.session.execute(statement).scalar()
    if stored is None:
        current = db.session.scalar(select(Answer.revision).where(Answer.attempt_question_id == aq_id))
        return {"position": position, "revision": current, "stored": False, "status": "stale" if (current or 0) > revision else "duplicate"}
    attempt.last_seen_at = now
    return {"position": position, "revision": stored, "stored": True, "status": "saved"}


def set_flag(attempt: Attempt, position: int, *, flagged: bool, client_token: str | None, now: dt.datetime) -> None:
    _require_writable(attempt, client_token, now)
    aq_id = _question_at(attempt, position)
    insert = _insert()
    statement = insert(Answer).values(attempt_question_id=aq_id, attempt_id=attempt.id, response=None, revision=0, saved_at=now, flagged=flagged)
    statement = statement.on_conflict_do_update(index_elements=[Answer.attempt_question_id], set_={"flagged": statement.excluded.flagged})
    db.session.execute(statement)


def record_browser_event(attempt: Attempt, kind: str, detail: str | None, now: dt.datetime) -> None:
    if kind not in BROWSER_EVENTS:
        raise AttemptError(f"Unknown event {kind!r}.", code="invalid_event", status=400)
    db.session.add(AttemptEventRow(attempt_id=attempt.id, at=now, kind=kind, detail=(detail or "")[:200]))
    attempt.last_seen_at = now
    db.session.flush()


def answers_of(attempt: Attempt) -> dict[int, Answer]:
    rows = db.session.execute(
        select(AttemptQuestion.position, Answer).join(Answer, Answer.attempt_question_id == AttemptQuestion.id).where(AttemptQuestion.attempt_id == attempt.id)
    ).all()
    return {position: answer for position, answer in rows}


def answered_count(attempt_ids: list[int]) -> dict[int, int]:
    if not attempt_ids:
        return {}
    rows = db.session.execute(
        select(Answer.attempt_id, func.count(Answer.id))
        .where(Answer.attempt_id.in_(attempt_ids), Answer.response.is_not(None), func.length(func.trim(Answer.response)) > 0)
        .group_by(Answer.attempt_id)
    ).all()
    return {attempt_id: count for attempt_id, count in rows}


# --- the clock: pauses, rest breaks, extra time -------------------------------------------

def begin_stoppage(attempt: Attempt, kind: str, *, now: dt.datetime, actor: User | None, incident_id: int | None = None) -> None:
    event = AttemptEvent.BEGIN_BREAK if kind == "rest_break" else AttemptEvent.PAUSE
    _transition(attempt, event)
    db.session.add(Stoppage(attempt_id=attempt.id, kind=kind, start=now, end=None, by_user_id=actor.id if actor else None, incident_id=incident_id))
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
    audit.record(actor, "attempt.resume", attempt, before={"deadline": before.isoformat() if before else None}, after={"deadline": attempt.deadline_at.isoformat() if attempt.deadline_at else None})


def change_extra_time(attempt: Attempt, *, percent: int, minutes: int, now: dt.datetime, actor: User | None, reason: str) -> None:
    """Extra time changed mid-attempt: audited, and a cut that would put the deadline in the past is refused."""
    new = timing.ExtraTime(percent=percent, minutes=minutes)
    if attempt.started_at is not None and attempt.state not in ("submitted", "abandoned"):
        timing.check_extra_time_change(attempt.started_at, attempt.base_minutes, extra_for(attempt), new, stoppages_of(attempt), now)
    before = {"extra_percent": attempt.extra_percent, "extra_minutes": attempt.extra_minutes}
    attempt.extra_percent, attempt.extra_minutes = percent, minutes
    attempt.deadline_at = compute_deadline(attempt, now)
    db.session.flush()
    audit.record(actor, "attempt.extra_time", attempt, before=before, after={"extra_percent": percent, "extra_minutes": minutes}, reason=reason)


def apprentice_for(user: User) -> Apprentice | None:
    return user.apprentice
