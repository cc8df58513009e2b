"""The attempt API an apprentice's browser uses: one question at a time, saves, flags, events, submit."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from .. import access
from ..clock import utcnow
from ..domain.attempt_states import FINISHED_STATES, AttemptState
from ..extensions import db
from ..fast_lane import sitting as lane
from ..models import Answer, AttemptQuestion, QuestionVersion
from ..ops.metrics import SAVES
from ..service_settings import attempt_settings
from ..services import answers as answer_service
from ..services import attempts as attempt_service
from ..services import messages as message_service
from ..storage import reads_then_writes
from ..storage.requests import write_apart, writing_from_here
from .errors import BodyError, json_error, parse_body, parse_query, refusal_status

bp = Blueprint("attempts", __name__, url_prefix="/attempts")
access.restrict(bp, roles=("apprentice",), within="api")


class SaveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    response: str | None = Field(default=None, max_length=attempt_service.MAX_ANSWER_CHARS)
    revision: int = Field(ge=1, le=2**31 - 1)
    client_token: str = Field(min_length=1, max_length=64)


class FlagBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flagged: bool
    client_token: str = Field(min_length=1, max_length=64)


class EventBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(min_length=1, max_length=20)
    detail: str | None = Field(default=None, max_length=200)
    client_token: str = Field(min_length=1, max_length=64)


class ClockQuery(BaseModel):
    """The clock's query string; its limits are docs/openapi.yaml's (a test keeps the two equal)."""

    model_config = ConfigDict(extra="ignore")
    client_token: str | None = Field(default=None, max_length=64)
    messages_after: int | None = Field(default=None, ge=0, le=2_147_483_647)


class PositionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    position: int = Field(ge=1, le=2**31 - 1)
    client_token: str = Field(min_length=1, max_length=64)


class SubmitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirm: bool
    client_token: str = Field(min_length=1, max_length=64)


def _clock(attempt: Any, now: Any = None) -> dict[str, Any]:
    status = attempt_service.clock_status(attempt, now or utcnow())
    return {
        "state": status.state,
        "remaining_seconds": status.remaining_seconds,
        "deadline": status.deadline.isoformat() if status.deadline else None,
        "stopped": status.stopped,
        "allowed_minutes": status.allowed_minutes,
        "warnings": list(status.warnings),
    }


def _submit_if_time_is_up(attempt, now) -> None:  # type: ignore[no-untyped-def]
    """Past the deadline and its grace: submit it now (kept, even though the request is then refused)."""
    if attempt_service.is_overdue(attempt, now, settings=attempt_settings()) and write_apart(
        lambda: attempt_service.finalise_if_expired(attempt, now, settings=attempt_settings())
    ):
        raise attempt_service.AttemptError("Time is up: answers can no longer be saved.", code="time_up", status=409)


def _load(attempt_id: int):  # type: ignore[no-untyped-def]
    """The apprentice's attempt for a read; if its time ran out, submit it first in its own write."""
    attempt = attempt_service.own_attempt(attempt_id, current_user)
    now = utcnow()
    if attempt_service.is_overdue(attempt, now, settings=attempt_settings()):
        write_apart(lambda: attempt_service.finalise_if_expired(attempt, now, settings=attempt_settings()))
    return attempt


@bp.errorhandler(attempt_service.AttemptError)
def attempt_error(error: attempt_service.AttemptError):  # type: ignore[no-untyped-def]
    if request.endpoint == "api.attempts.save":
        SAVES.labels("refused").inc()
    return json_error(refusal_status(error), error.code, str(error), **({"field": error.field} if error.field else {}))


@bp.errorhandler(BodyError)
def body_error(error: BodyError):  # type: ignore[no-untyped-def]
    return json_error(400, "invalid_body", str(error), field=error.field)


def _body(model):  # type: ignore[no-untyped-def]
    return parse_body(model, request.get_json(silent=True))


@bp.get("/<int:attempt_id>")
def status(attempt_id: int):  # type: ignore[no-untyped-def]
    attempt = _load(attempt_id)
    # One query for the whole navigator (it was one per question): position, type, marks and the answer.
    rows = db.session.execute(
        select(AttemptQuestion.position, QuestionVersion.type, AttemptQuestion.marks, Answer.response, Answer.flagged)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .outerjoin(Answer, Answer.attempt_question_id == AttemptQuestion.id)
        .where(AttemptQuestion.attempt_id == attempt.id)
        .order_by(AttemptQuestion.position)
    ).all()
    navigator = [
        {
            "position": position,
            "type": kind,
            "marks": marks,
            "answered": bool(response and response.strip()),
            "flagged": bool(flagged),
        }
        for position, kind, marks, response, flagged in rows
    ]
    # The question the apprentice was on (kept by `position` below), so a reload opens there.
    position = attempt.current_position if attempt.current_position and attempt.current_position <= len(navigator) else 1
    return {"attempt": attempt.id, "clock": _clock(attempt), "questions": navigator, "position": position}


@bp.get("/<int:attempt_id>/clock")
def clock(attempt_id: int):  # type: ignore[no-untyped-def]
    query = parse_query(ClockQuery, request.args)
    attempt = _load(attempt_id)
    # The invigilator's messages not yet on this page (it sends the last id it shows): one small indexed read.
    messages = [
        {"id": m.id, "body": m.body, "sent_at": m.sent_at.isoformat(), "to_room": m.apprentice_id is None}
        for m in message_service.for_attempt(attempt, query.messages_after or 0)
    ]
    return {"clock": _clock(attempt), "superseded": query.client_token not in (None, attempt.client_token), "messages": messages}


@bp.get("/<int:attempt_id>/capability")
def capability(attempt_id: int):  # type: ignore[no-untyped-def]
    """A fresh attempt capability for the window that holds the attempt (its deadline moved, or it expired)."""
    query = parse_query(ClockQuery, request.args)
    attempt = _load(attempt_id)
    if attempt.state in FINISHED_STATES:
        raise attempt_service.AttemptError("This test has been submitted.", code="already_submitted")
    if query.client_token is None or query.client_token != attempt.client_token:
        raise attempt_service.AttemptError("This test was opened in another browser window.", code="superseded")
    issued = lane.issue_for(attempt, current_user, attempt.client_token, utcnow())
    return {"capability": issued}


@bp.get("/<int:attempt_id>/questions/<int:position>")
def question(attempt_id: int, position: int):  # type: ignore[no-untyped-def]
    """Only this question, only what a candidate may see: never the key, rationales or marking guide."""
    attempt = _load(attempt_id)
    if attempt.state in FINISHED_STATES:
        raise attempt_service.AttemptError("This test has been submitted.", code="already_submitted")
    if attempt.state in (AttemptState.PAUSED, AttemptState.ON_BREAK):
        raise attempt_service.AttemptError("The clock is stopped.", code="paused", status=423)
    row = db.session.execute(
        select(AttemptQuestion, QuestionVersion, Answer)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .outerjoin(Answer, Answer.attempt_question_id == AttemptQuestion.id)
        .where(AttemptQuestion.attempt_id == attempt.id, AttemptQuestion.position == position)
    ).first()
    if row is None:
        raise attempt_service.AttemptError(f"There is no question {position} on this paper.", code="no_such_question", status=404)
    aq, version, answer = row
    body: dict[str, Any] = {
        "position": aq.position,
        "count": db.session.scalar(select(func.count()).where(AttemptQuestion.attempt_id == attempt.id)),
        "type": version.type,
        "marks": aq.marks,
        "stem": version.stem,
        "response": answer.response if answer else None,
        "revision": answer.revision if answer else 0,
        "flagged": bool(answer and answer.flagged),
        "max_length": attempt_service.MAX_ANSWER_CHARS,
    }
    if version.type == "mcq":
        options = version.content["options"]
        order = aq.option_order or list(range(len(options)))
        # The browser gets option text in this paper's order, labelled by the ORIGINAL index it saves back.
        body["options"] = [{"value": str(original), "text": options[original]["text"]} for original in order]
    return body


@bp.put("/<int:attempt_id>/answers/<int:position>")
@reads_then_writes
def save(attempt_id: int, position: int):  # type: ignore[no-untyped-def]
    """The busiest request of a sitting: reads without the write lock, then one conditional upsert."""
    data = _body(SaveBody)
    if data.response is not None and "\x00" in data.response:
        raise BodyError("response: contains a NUL character", field="response")
    now = utcnow()
    attempt = attempt_service.own_attempt(attempt_id, current_user)
    _submit_if_time_is_up(attempt, now)
    # Refusals before the write lock; the paper's accepted responses are read once per attempt.
    answer_service.check_save(attempt, position, data.response, data.client_token, now, settings=attempt_settings())
    clock = _clock(attempt, now)  # from the row just read; the save below changes nothing it depends on
    writing_from_here()
    result = answer_service.save_answer(
        attempt,
        position,
        response=data.response,
        revision=data.revision,
        client_token=data.client_token,
        now=now,
        settings=attempt_settings(),
    )
    SAVES.labels(str(result.get("status", "saved"))).inc()
    return {**result, "clock": clock}


@bp.put("/<int:attempt_id>/position")
@reads_then_writes
def position(attempt_id: int):  # type: ignore[no-untyped-def]
    """The browser moved to another question: remember it (one conditional update)."""
    data = _body(PositionBody)
    attempt = attempt_service.own_attempt(attempt_id, current_user)
    writing_from_here()
    answer_service.remember_position(attempt, data.position, client_token=data.client_token)
    return {"position": data.position}


@bp.put("/<int:attempt_id>/flags/<int:position>")
@reads_then_writes
def flag(attempt_id: int, position: int):  # type: ignore[no-untyped-def]
    data = _body(FlagBody)
    now = utcnow()
    attempt = attempt_service.own_attempt(attempt_id, current_user)
    _submit_if_time_is_up(attempt, now)
    writing_from_here()
    answer_service.set_flag(
        attempt, position, flagged=data.flagged, client_token=data.client_token, now=now, settings=attempt_settings()
    )
    return {"position": position, "flagged": data.flagged}


@bp.post("/<int:attempt_id>/events")
def event(attempt_id: int):  # type: ignore[no-untyped-def]
    data = _body(EventBody)
    if data.detail is not None and "\x00" in data.detail:
        raise BodyError("detail: contains a NUL character", field="detail")
    attempt = attempt_service.own_attempt(attempt_id, current_user)
    if attempt.state in FINISHED_STATES:
        raise attempt_service.AttemptError("This test has been submitted.", code="already_submitted")
    answer_service.record_browser_event(attempt, data.kind, data.detail, utcnow())
    return {"recorded": True}, 201


@bp.post("/<int:attempt_id>/submit")
def submit(attempt_id: int):  # type: ignore[no-untyped-def]
    data = _body(SubmitBody)
    if not data.confirm:
        raise BodyError("confirm: must be true to submit", field="confirm")
    attempt = attempt_service.own_attempt(attempt_id, current_user)
    if attempt.client_token is not None and data.client_token != attempt.client_token:
        raise attempt_service.AttemptError("This test was opened in another window; submit it there.", code="superseded")
    attempt_service.submit(attempt, now=utcnow(), actor=current_user, settings=attempt_settings())
    return {"state": attempt.state, "submitted_at": attempt.submitted_at.isoformat() if attempt.submitted_at else None}
