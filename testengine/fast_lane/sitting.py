"""The fast lane's use cases: run one statement, and only when it finds no row, say why.

Refusals are the attempt service's errors, so the API answers them as it always has.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..domain import timing
from ..domain.attempt_states import FINISHED_STATES, AttemptState
from ..domain.question_types import response_problem
from ..extensions import db
from ..models import Attempt, User
from ..service_settings import attempt_settings
from ..services import attempts as attempt_service
from ..services import responses
from ..services.attempts import AttemptError
from ..storage import group_commit, write_transaction
from ..storage.requests import write_apart
from . import capability as capabilities
from .capability import Capability
from .statements import statement

STOPPED = (AttemptState.PAUSED.value, AttemptState.ON_BREAK.value)


def issue_for(attempt: Attempt, user: User, browser_token: str, now: dt.datetime) -> str:
    """The capability the test page hands this browser window: valid to the deadline and its grace."""
    deadline = attempt_service.clock_status(attempt, now).deadline or now
    return capabilities.issue(
        attempt_id=attempt.id,
        user_id=user.id,
        session_version=user.session_version,
        browser_token=browser_token,
        expires_at=max(deadline, now) + attempt_settings().grace,
        seed=attempt.seed,
        closed=responses.accepted_of(attempt),
    )


def first_screen(token: str, attempt_id: int, now: dt.datetime) -> dict[str, Any] | None:
    """What the test page shows first (navigator, clock, the question on screen), so it needs no request
    before the first question appears; None when the attempt cannot show one (stopped, finished)."""
    cap = capabilities.read(token, attempt_id, now)
    try:
        status = navigator(cap, now)
        return {"status": status, "question": question(cap, status["position"], now)}
    except AttemptError:
        return None


def _params(cap: Capability, **extra: Any) -> dict[str, Any]:
    return {
        "attempt_id": cap.attempt_id,
        "user_id": cap.user_id,
        "session_version": cap.session_version,
        "browser_token": cap.browser_token,
        **extra,
    }


def _read(name: str, params: dict[str, Any]) -> list[Any]:
    engine = db.engine
    with engine.connect() as connection:
        return list(connection.execute(statement(name, engine.dialect.name), params).all())


def _write(name: str, params: dict[str, Any]) -> Any:
    """Run one writing statement; its RETURNING value, or None when its conditions found no row.

    On a SQLite file it joins the group commit (one transaction and fsync for the saves arriving
    together); elsewhere it commits alone (PostgreSQL groups concurrent commits itself).
    """
    engine = db.engine
    written = statement(name, engine.dialect.name)
    committer = group_commit.committer_for(engine)
    if committer is not None:
        return committer.run([(written, params)], timeout=attempt_settings().write_timeout)
    with write_transaction(), engine.begin() as connection:
        return connection.execute(written, params).scalar()


def _overdue(state: str, deadline_at: dt.datetime | None, now: dt.datetime) -> bool:
    return (
        state == AttemptState.IN_PROGRESS.value
        and deadline_at is not None
        and timing.is_expired(deadline_at, now, attempt_settings().grace)
    )


def _submit_overdue(attempt_id: int, now: dt.datetime) -> Attempt:
    """Time and grace ran out: submit it now (through the attempt service, exactly once)."""
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt is not None
    write_apart(lambda: attempt_service.finalise_if_expired(attempt, now, settings=attempt_settings()))
    return attempt


def explain(cap: Capability, now: dt.datetime, position: int | None = None) -> Any:
    """A statement found no row: why, from the attempt and account as they are now (raises when refused).

    Returns the row when nothing refuses (a save that was stale or a duplicate).
    """
    rows = _read("why", {"attempt_id": cap.attempt_id, "position": position or 0})
    row = rows[0] if rows else None
    if row is None or row.user_id != cap.user_id:
        raise AttemptError("No such attempt.", code="not_found", status=404)
    if not row.active or row.session_version != cap.session_version:
        raise AttemptError("You have been signed out; sign in again to continue.", code="capability_revoked", status=401)
    if row.state in FINISHED_STATES:
        raise AttemptError("This test has been submitted; nothing more can be saved.", code="already_submitted")
    if row.state == AttemptState.NOT_STARTED.value:
        raise AttemptError("This test has not started yet.", code="not_started")
    if row.state in STOPPED:
        raise AttemptError("The clock is stopped; your answer will be saved when the test resumes.", code="paused", status=423)
    if row.client_token != cap.browser_token:
        raise AttemptError(
            "This test was opened in another browser window, so this one has stopped. Continue in the newer window.",
            code="superseded",
        )
    if row.deadline_at is not None and not timing.save_accepted(row.deadline_at, now, attempt_settings().grace):
        if _overdue(row.state, row.deadline_at, now):
            _submit_overdue(cap.attempt_id, now)
        raise AttemptError("Time is up: answers can no longer be saved.", code="time_up", status=409)
    if position is not None and not row.on_paper:
        raise AttemptError(f"There is no question {position} on this paper.", code="no_such_question", status=404)
    return row


def save(cap: Capability, position: int, response: str | None, revision: int, now: dt.datetime) -> dict[str, Any]:
    """One statement: the conditional upsert that also checks the account, session, attempt and window."""
    if response_problem(cap.closed.get(position), response) is not None:
        explain(cap, now, position)  # a refusal of the attempt comes first, as on the page
        problem = response_problem(cap.closed.get(position), response)
        raise AttemptError(f"response: {problem}.", code="invalid_response", status=400, field="response")
    params = _params(
        cap,
        position=position,
        cutoff=now - attempt_settings().grace,
        response=response,
        revision=revision,
        saved_at=now,
        flagged=False,
    )
    stored = _write("save", params)
    if stored is None:
        current = explain(cap, now, position).revision
        return {
            "position": position,
            "revision": current,
            "stored": False,
            "status": "stale" if (current or 0) > revision else "duplicate",
        }
    return {"position": position, "revision": stored, "stored": True, "status": "saved"}


def flag(cap: Capability, position: int, flagged: bool, now: dt.datetime) -> None:
    params = _params(
        cap,
        position=position,
        cutoff=now - attempt_settings().grace,
        response=None,
        revision=0,
        saved_at=now,
        flagged=flagged,
    )
    if _write("flag", params) is None:
        explain(cap, now, position)


def event(cap: Capability, kind: str, detail: str | None, now: dt.datetime) -> None:
    if kind not in attempt_service.BROWSER_EVENTS:
        raise AttemptError(f"Unknown event {kind!r}.", code="invalid_event", status=400)
    if _write("event", _params(cap, at=now, kind=kind, detail=(detail or "")[:200])) is None:
        explain(cap, now)


def move_to(cap: Capability, position: int, now: dt.datetime) -> None:
    """Keep the question on screen (and that the apprentice was seen), for this window only."""
    if _write("position", _params(cap, position=position, seen_at=now)) is None:
        row = explain(cap, now, position)
        if row is not None:  # in time and held, but the statement found nothing: the position is not on the paper
            raise AttemptError(f"There is no question {position} on this paper.", code="no_such_question", status=404)


def clock_of(row: Any, attempt_id: int, now: dt.datetime) -> dict[str, Any]:
    """The clock from a row's columns; a stopped clock (worked out from its stoppages) through the attempt service."""
    source: Any = row
    if row.state in STOPPED or (row.state == AttemptState.IN_PROGRESS.value and row.deadline_at is None):
        source = db.session.get(Attempt, attempt_id)
    if _overdue(row.state, row.deadline_at, now):
        source = _submit_overdue(attempt_id, now)
    status = attempt_service.clock_status(source, now)
    return {
        "state": status.state,
        "remaining_seconds": status.remaining_seconds,
        "deadline": status.deadline.isoformat() if status.deadline else None,
        "stopped": status.stopped,
        "allowed_minutes": status.allowed_minutes,
        "warnings": list(status.warnings),
    }


def clock(cap: Capability, messages_after: int, now: dt.datetime) -> dict[str, Any]:
    rows = _read("clock", _params(cap, after=messages_after))
    if not rows:
        explain(cap, now)
        raise AttemptError("No such attempt.", code="not_found", status=404)
    first = rows[0]
    messages = [
        {"id": r.message_id, "body": r.body, "sent_at": r.sent_at.isoformat(), "to_room": r.message_to is None}
        for r in rows
        if r.message_id is not None
    ]
    return {"clock": clock_of(first, cap.attempt_id, now), "superseded": not first.current, "messages": messages}


def navigator(cap: Capability, now: dt.datetime) -> dict[str, Any]:
    rows = _read("navigator", _params(cap))
    if not rows:
        explain(cap, now)
        raise AttemptError("This test has no questions.", code="no_such_question", status=404)
    questions = [
        {
            "position": r.position,
            "type": r.type,
            "marks": r.marks,
            "answered": bool(r.response and r.response.strip()),
            "flagged": bool(r.flagged),
        }
        for r in rows
    ]
    kept = rows[0].current_position
    position = kept if kept and kept <= len(questions) else 1
    return {
        "attempt": cap.attempt_id,
        "clock": clock_of(rows[0], cap.attempt_id, now),
        "questions": questions,
        "position": position,
    }


def question(cap: Capability, position: int, now: dt.datetime) -> dict[str, Any]:
    """Only this question, only what a candidate may see: never the key, rationales or marking guide."""
    rows = _read("question", _params(cap, position=position))
    if not rows:
        explain(cap, now, position)
        raise AttemptError(f"There is no question {position} on this paper.", code="no_such_question", status=404)
    row = rows[0]
    if _overdue(row.state, row.deadline_at, now):
        _submit_overdue(cap.attempt_id, now)
        raise AttemptError("This test has been submitted.", code="already_submitted")
    if row.state in FINISHED_STATES:
        raise AttemptError("This test has been submitted.", code="already_submitted")
    if row.state in STOPPED:
        raise AttemptError("The clock is stopped.", code="paused", status=423)
    body: dict[str, Any] = {
        "position": row.position,
        "count": row.count,
        "type": row.type,
        "marks": row.marks,
        "stem": row.stem,
        "response": row.response,
        "revision": row.revision or 0,
        "flagged": bool(row.flagged),
        "max_length": attempt_service.MAX_ANSWER_CHARS,
    }
    if row.type == "mcq":
        options = row.content["options"]
        order = row.option_order or list(range(len(options)))
        # The browser gets option text in this paper's order, labelled by the ORIGINAL index it saves back.
        body["options"] = [{"value": str(original), "text": options[original]["text"]} for original in order]
    return body
