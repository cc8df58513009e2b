"""Answers during a sitting: saves (an upsert that never loses or reorders), flags, the position, events.

Split from the attempt service (start, submit, the clock), which these rules lean on: a save is
refused for the attempt's state, its browser window and its deadline, checked in the statement
that writes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Boolean, Integer, String, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm.attributes import set_committed_value

from ..domain import timing
from ..domain.attempt_states import AttemptState
from ..extensions import db
from ..models import Answer, Attempt, AttemptQuestion
from ..models import AttemptEvent as AttemptEventRow
from ..models.types import UTCDateTime
from ..storage.group_commit import run_write
from . import responses
from .attempts import BROWSER_EVENTS, MAX_ANSWER_CHARS, AttemptError, AttemptSettings


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
