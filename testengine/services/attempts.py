"""Sitting a test: start, save (an upsert that never loses or reorders), submit once, sweep at time-up.

The clock is the server's: the deadline comes from domain.timing, given `now`.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Boolean, Integer, String, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm.attributes import set_committed_value

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
from ..models.types import UTCDateTime
from ..storage.group_commit import run_write
from . import audit, responses, results
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


def _require_writable(attempt: Attempt, client_token: str | None, now: dt.datetime, grace: dt.timedelta) -> None:
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
    if attempt.deadline_at is not None and not timing.save_accepted(attempt.deadline_at, now, grace):
        raise AttemptError("Time is up: answers can no longer be saved.", code="time_up", status=409)


def _question_at(attempt: Attempt, position: int) -> int:
    aq_id = db.session.scalar(
        select(AttemptQuestion.id).where(AttemptQuestion.attempt_id == attempt.id, AttemptQuestion.position == position)
    )
    if aq_id is None:
        raise AttemptError(f"There is no question {position} on this paper.", code="no_such_question", status=404)
    return aq_id


def check_save(
    attempt: Attempt,
    position: int,
    response: str | None,
    client_token: str | None,
    now: dt.datetime,
    *,
    settings: AttemptSettings,
) -> None:
    """Everything a save can be refused for before it writes, in the order a person needs to hear it:
    the attempt's state, then the response's length, then whether the question can take it."""
    _require_writable(attempt, client_token, now, settings.grace)
    if response is not None and len(response) > MAX_ANSWER_CHARS:
        raise AttemptError(f"Answers are limited to {MAX_ANSWER_CHARS} characters.", code="too_long", status=413)
    problem = responses.response_problem_at(attempt, position, response)
    if problem is not None:
        raise AttemptError(f"response: {problem}.", code="invalid_response", status=400, field="response")


# How stale `last_seen_at` may get before a save refreshes it: the board's idle warning counts in
# minutes, and writing it on every save would double the statements of the busiest request.
LAST_SEEN_EVERY = dt.timedelta(seconds=30)


_UPSERTS: dict[tuple[str, bool, bool], Any] = {}


def _answer_upsert_statement(dialect: str, *, flag_only: bool, with_token: bool):  # type: ignore[no-untyped-def]
    """Built once per kind and reused: constructing the statement cost more than running it."""
    key = (dialect, flag_only, with_token)
    statement = _UPSERTS.get(key)
    if statement is not None:
        return statement
    conditions = [
        AttemptQuestion.attempt_id == bindparam("attempt_id", type_=Integer()),
        AttemptQuestion.position == bindparam("position", type_=Integer()),
        Attempt.state == AttemptState.IN_PROGRESS.value,
        or_(Attempt.deadline_at.is_(None), Attempt.deadline_at >= bindparam("cutoff", type_=UTCDateTime())),
    ]
    if with_token:
        conditions.append(or_(Attempt.client_token.is_(None), Attempt.client_token == bindparam("client_token", type_=String())))
    source = (
        select(
            AttemptQuestion.id,
            AttemptQuestion.attempt_id,
            bindparam("response", type_=String()),
            bindparam("revision", type_=Integer()),
            bindparam("saved_at", type_=UTCDateTime()),
            bindparam("flagged", type_=Boolean()),
        )
        .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
        .where(*conditions)
    )
    answers = Answer.__table__  # Core, not the ORM's bulk insert: parameters are bound at each run
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(answers).from_select(
        ["attempt_question_id", "attempt_id", "response", "revision", "saved_at", "flagged"], source
    )
    if flag_only:
        statement = statement.on_conflict_do_update(
            index_elements=[answers.c.attempt_question_id], set_={"flagged": statement.excluded.flagged}
        )
    else:
        statement = statement.on_conflict_do_update(
            index_elements=[answers.c.attempt_question_id],
            set_={
                "response": statement.excluded.response,
                "revision": statement.excluded.revision,
                "saved_at": statement.excluded.saved_at,
            },
            where=answers.c.revision < statement.excluded.revision,
        )
    statement = statement.returning(answers.c.revision)
    _UPSERTS[key] = statement
    return statement


def _answer_upsert(
    attempt: Attempt,
    position: int,
    client_token: str | None,
    now: dt.datetime,
    *,
    response: str | None,
    revision: int,
    flagged: bool,
    flag_only: bool,
    settings: AttemptSettings,
) -> int | None:
    """INSERT ... SELECT that finds its row only while the attempt is open to this browser and in time.

    The state, browser token, deadline (with its grace) and position are checked in the statement
    that writes, so a pause, a submit or a newer window committed a moment earlier cannot be
    slipped past, even though the request read the attempt before it took the write lock.
    """
    statement = _answer_upsert_statement(db.engine.dialect.name, flag_only=flag_only, with_token=client_token is not None)
    params = {
        "attempt_id": attempt.id,
        "position": position,
        "cutoff": now - settings.grace,
        "response": response,
        "revision": revision,
        "saved_at": now,
        "flagged": flagged,
    }
    if client_token is not None:
        params["client_token"] = client_token
    steps: list[tuple[Any, dict[str, Any]]] = [(statement, params)]
    seen = attempt.last_seen_at is None or now - attempt.last_seen_at >= LAST_SEEN_EVERY
    if seen:
        steps.append((_SEEN, {"seen_attempt": attempt.id, "seen_at": now}))
    stored: int | None = run_write(db.session, steps, timeout=settings.write_timeout)
    if seen:
        set_committed_value(attempt, "last_seen_at", now)
    return stored


_SEEN = (
    update(Attempt.__table__)
    .where(Attempt.__table__.c.id == bindparam("seen_attempt", type_=Integer()))
    .values(last_seen_at=bindparam("seen_at", type_=UTCDateTime()))
)


def _explain_refusal(
    attempt: Attempt, position: int, client_token: str | None, now: dt.datetime, settings: AttemptSettings
) -> None:
    """The conditional write found no row: say why, from the attempt as it is now (raises if refused)."""
    db.session.refresh(attempt)
    _require_writable(attempt, client_token, now, settings.grace)
    _question_at(attempt, position)


def save_answer(
    attempt: Attempt,
    position: int,
    *,
    response: str | None,
    revision: int,
    client_token: str | None,
    now: dt.datetime,
    settings: AttemptSettings,
) -> dict[str, Any]:
    """Store an answer if its revision is newer than what is stored; a replay or an older revision changes nothing.

    One statement (a conditional upsert), so two racing saves cannot lose the newer one and a save
    cannot land after a pause, a submit or the deadline. Statements in all: the upsert, and at most
    every LAST_SEEN_EVERY an update of `last_seen_at`.
    """
    check_save(attempt, position, response, client_token, now, settings=settings)
    stored = _answer_upsert(
        attempt,
        position,
        client_token,
        now,
        response=response,
        revision=revision,
        flagged=False,
        flag_only=False,
        settings=settings,
    )
    if stored is None:
        _explain_refusal(attempt, position, client_token, now, settings)
        current = db.session.scalar(
            select(Answer.revision)
            .join(AttemptQuestion, AttemptQuestion.id == Answer.attempt_question_id)
            .where(AttemptQuestion.attempt_id == attempt.id, AttemptQuestion.position == position)
        )
        return {
            "position": position,
            "revision": current,
            "stored": False,
            "status": "stale" if (current or 0) > revision else "duplicate",
        }
    return {"position": position, "revision": stored, "stored": True, "status": "saved"}


def set_flag(
    attempt: Attempt, position: int, *, flagged: bool, client_token: str | None, now: dt.datetime, settings: AttemptSettings
) -> None:
    _require_writable(attempt, client_token, now, settings.grace)
    stored = _answer_upsert(
        attempt, position, client_token, now, response=None, revision=0, flagged=flagged, flag_only=True, settings=settings
    )
    if stored is None:
        _explain_refusal(attempt, position, client_token, now, settings)


def remember_position(attempt: Attempt, position: int, *, client_token: str) -> None:
    """Keep the question on screen, so a reload (or another computer) opens there rather than at question 1.

    One conditional UPDATE: only the browser window that holds the attempt moves it, and only while
    the attempt is open, whatever another request committed since the attempt was read.
    """
    _question_at(attempt, position)
    moved = cast(
        "CursorResult[Any]",
        db.session.execute(
            update(Attempt)
            .where(
                Attempt.id == attempt.id,
                Attempt.state.in_(_STARTED_OPEN),
                or_(Attempt.client_token.is_(None), Attempt.client_token == client_token),
            )
            .values(current_position=position)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if moved != 1:
        db.session.refresh(attempt)
        if attempt.state in (AttemptState.SUBMITTED.value, AttemptState.ABANDONED.value):
            raise AttemptError("This test has been submitted.", code="already_submitted")
        if attempt.state == AttemptState.NOT_STARTED.value:
            raise AttemptError("This test has not started yet.", code="not_started")
        raise AttemptError("This test was opened in another browser window, so this one has stopped.", code="superseded")


_STARTED_OPEN = (AttemptState.IN_PROGRESS.value, AttemptState.PAUSED.value, AttemptState.ON_BREAK.value)


def record_browser_event(attempt: Attempt, kind: str, detail: str | None, now: dt.datetime) -> None:
    if kind not in BROWSER_EVENTS:
        raise AttemptError(f"Unknown event {kind!r}.", code="invalid_event", status=400)
    db.session.add(AttemptEventRow(attempt_id=attempt.id, at=now, kind=kind, detail=(detail or "")[:200]))
    attempt.last_seen_at = now
    db.session.flush()


def answers_of(attempt: Attempt) -> dict[int, Answer]:
    rows = db.session.execute(
        select(AttemptQuestion.position, Answer)
        .join(Answer, Answer.attempt_question_id == AttemptQuestion.id)
        .where(AttemptQuestion.attempt_id == attempt.id)
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
