"""The fast lane's routes: the apprentice's sitting requests, let in by the attempt capability.

Thin on purpose: validate the body, call one function of `sitting`, answer. No user is loaded
(the access rule reads the capability, not the session's user) and no ORM object is built.
"""

from __future__ import annotations

from flask import Blueprint, g, request
from pydantic import BaseModel, ConfigDict, Field

from .. import access
from ..api.errors import BodyError, json_error, parse_body, parse_query, refusal_status
from ..clock import utcnow
from ..ops.metrics import SAVES
from ..services.attempts import MAX_ANSWER_CHARS, AttemptError
from . import capability as capabilities
from . import sitting

bp = Blueprint("lane", __name__, url_prefix="/lane")


def _check_capability() -> tuple[int, str, str] | None:
    """The area's rule: a genuine, unexpired capability for the attempt in the URL (no database)."""
    attempt_id = (request.view_args or {}).get("attempt_id")
    try:
        g.capability = capabilities.read(request.headers.get(capabilities.HEADER), attempt_id, utcnow())
    except capabilities.Refused as refused:
        return refused.status, refused.code, str(refused)
    return None


access.restrict_to_capability(bp, _check_capability, owner="apprentice", within="api")


class SaveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    response: str | None = Field(default=None, max_length=MAX_ANSWER_CHARS)
    revision: int = Field(ge=1, le=2**31 - 1)


class FlagBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flagged: bool


class PositionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    position: int = Field(ge=1, le=2**31 - 1)


class EventBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(min_length=1, max_length=20)
    detail: str | None = Field(default=None, max_length=200)


class ClockQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    messages_after: int | None = Field(default=None, ge=0, le=2_147_483_647)


@bp.errorhandler(AttemptError)
def attempt_error(error: AttemptError):  # type: ignore[no-untyped-def]
    if request.endpoint == "api.lane.save":
        SAVES.labels("refused").inc()
    return json_error(refusal_status(error), error.code, str(error), **({"field": error.field} if error.field else {}))


@bp.errorhandler(BodyError)
def body_error(error: BodyError):  # type: ignore[no-untyped-def]
    return json_error(400, "invalid_body", str(error), field=error.field)


def _body(model):  # type: ignore[no-untyped-def]
    return parse_body(model, request.get_json(silent=True))


def _no_nul(value: str | None, field: str) -> None:
    if value is not None and "\x00" in value:
        raise BodyError(f"{field}: contains a NUL character", field=field)


@bp.get("/<int:attempt_id>")
def status(attempt_id: int):  # type: ignore[no-untyped-def]
    return sitting.navigator(g.capability, utcnow())


@bp.get("/<int:attempt_id>/clock")
def clock(attempt_id: int):  # type: ignore[no-untyped-def]
    query = parse_query(ClockQuery, request.args)
    return sitting.clock(g.capability, query.messages_after or 0, utcnow())


@bp.get("/<int:attempt_id>/questions/<int:position>")
def question(attempt_id: int, position: int):  # type: ignore[no-untyped-def]
    return sitting.question(g.capability, position, utcnow())


@bp.put("/<int:attempt_id>/answers/<int:position>")
def save(attempt_id: int, position: int):  # type: ignore[no-untyped-def]
    """The busiest request of a sitting: one statement."""
    data = _body(SaveBody)
    _no_nul(data.response, "response")
    result = sitting.save(g.capability, position, data.response, data.revision, utcnow())
    SAVES.labels(str(result["status"])).inc()
    return result


@bp.put("/<int:attempt_id>/flags/<int:position>")
def flag(attempt_id: int, position: int):  # type: ignore[no-untyped-def]
    data = _body(FlagBody)
    sitting.flag(g.capability, position, data.flagged, utcnow())
    return {"position": position, "flagged": data.flagged}


@bp.put("/<int:attempt_id>/position")
def position(attempt_id: int):  # type: ignore[no-untyped-def]
    data = _body(PositionBody)
    sitting.move_to(g.capability, data.position, utcnow())
    return {"position": data.position}


@bp.post("/<int:attempt_id>/events")
def event(attempt_id: int):  # type: ignore[no-untyped-def]
    data = _body(EventBody)
    _no_nul(data.detail, "detail")
    sitting.event(g.capability, data.kind, data.detail, utcnow())
    return {"recorded": True}, 201
