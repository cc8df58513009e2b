"""Live updates for the sitting page: a stream of server-sent events, and the page's heartbeat.

The state is in the database, never in this process: a stream reads its attempt's row (and the
newest message for it) a few times a second and sends the clock when any of it changed, so a
pause, a resume, new time or a message made through any worker reaches the screen within about a
second. A stream ends after LIVE_STREAM_SECONDS, so it holds a server thread only for a while; the
browser's EventSource reconnects by itself, and the page keeps polling the clock as the fallback
(more slowly while a stream is open). Each process holds at most LIVE_STREAMS_PER_PROCESS streams:
beyond them it answers 204, which tells the browser to stop reconnecting and poll instead, so
streams can never take every thread from the saves.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any, cast

from flask import Blueprint, Response, current_app, request, stream_with_context
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select

from .. import access
from ..clock import utcnow
from ..extensions import db
from ..models import Attempt, InvigilatorMessage
from ..services import attempts as attempt_service
from ..services import heartbeat as heartbeat_service
from ..services import messages as message_service
from ..storage import reads_then_writes
from ..storage.requests import own_transaction, writing_from_here
from .errors import BodyError, json_error, parse_body, parse_query, refusal_status

bp = Blueprint("live", __name__, url_prefix="/attempts")
access.restrict(bp, roles=("apprentice",), within="api")

TICK_SECONDS = 0.4  # how often an open stream reads its attempt's row: well inside the 2 s a change may take
KEEPALIVE_SECONDS = 10.0  # a comment line now and then, so proxies keep an idle stream open
RETRY_MS = 1000  # how soon the browser reconnects after a stream ends


class StreamQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    client_token: str | None = Field(default=None, max_length=64)
    messages_after: int | None = Field(default=None, ge=0, le=2_147_483_647)


class HeartbeatBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_token: str = Field(min_length=1, max_length=64)


class _Slots:
    """How many streams this process holds: a bound on threads, not state of any sitting."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open = 0

    def take(self, limit: int) -> bool:
        with self.lock:
            if self.open >= limit:
                return False
            self.open += 1
            return True

    def give_back(self) -> None:
        with self.lock:
            self.open -= 1


SLOTS = _Slots()


@bp.errorhandler(attempt_service.AttemptError)
def attempt_error(error: attempt_service.AttemptError):  # type: ignore[no-untyped-def]
    return json_error(refusal_status(error), error.code, str(error))


@bp.errorhandler(BodyError)
def body_error(error: BodyError):  # type: ignore[no-untyped-def]
    return json_error(400, "invalid_body", str(error), field=error.field)


def _snapshot(attempt_id: int) -> tuple[Any, ...] | None:
    """What the page shows that others can change: state, deadline, extra time, browser, newest message.

    One small indexed read; the transaction ends with it, so no connection is held between ticks.
    """
    newest = (
        select(func.max(InvigilatorMessage.id))
        .where(
            InvigilatorMessage.sitting_id == Attempt.sitting_id,
            or_(InvigilatorMessage.apprentice_id.is_(None), InvigilatorMessage.apprentice_id == Attempt.apprentice_id),
        )
        .correlate(Attempt)
        .scalar_subquery()
    )
    row = db.session.execute(
        select(
            Attempt.state, Attempt.deadline_at, Attempt.extra_percent, Attempt.extra_minutes, Attempt.client_token, newest
        ).where(Attempt.id == attempt_id)
    ).one_or_none()
    db.session.rollback()
    return tuple(row) if row is not None else None


def _clock_event(attempt_id: int, client_token: str | None, after: int) -> tuple[str, int]:
    """The event the page applies as it applies a clock poll's reply: the clock, superseded, new messages."""
    attempt = db.session.get(Attempt, attempt_id, populate_existing=True)
    assert attempt is not None
    status = attempt_service.clock_status(attempt, utcnow())
    messages = message_service.for_attempt(attempt, after)
    body = {
        "clock": {
            "state": status.state,
            "remaining_seconds": status.remaining_seconds,
            "deadline": status.deadline.isoformat() if status.deadline else None,
            "stopped": status.stopped,
            "allowed_minutes": status.allowed_minutes,
            "warnings": list(status.warnings),
        },
        "superseded": client_token not in (None, attempt.client_token),
        "messages": [
            {"id": m.id, "body": m.body, "sent_at": m.sent_at.isoformat(), "to_room": m.apprentice_id is None} for m in messages
        ],
    }
    last = max([after, *(m.id for m in messages)])
    db.session.rollback()
    return f"id: {last}\nevent: clock\ndata: {json.dumps(body, separators=(',', ':'))}\n\n", last


def _stream(attempt_id: int, client_token: str | None, after: int, seconds: float) -> Iterator[str]:
    # Each read ends its own transaction (`_snapshot`, `_clock_event`); the request's teardown closes the session.
    yield f"retry: {RETRY_MS}\n\n"
    ends = time.monotonic() + seconds
    seen: tuple[Any, ...] | None = None
    quiet_since = time.monotonic()
    while True:
        snapshot = _snapshot(attempt_id)
        if snapshot is None:
            return
        if snapshot != seen:
            event, after = _clock_event(attempt_id, client_token, after)
            seen = snapshot
            quiet_since = time.monotonic()
            yield event
        elif time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield ": still here\n\n"
        if time.monotonic() >= ends:
            return
        time.sleep(TICK_SECONDS)


@bp.get("/<int:attempt_id>/live")
@own_transaction  # a stream: each read ends its own transaction, none is held while it runs
def stream(attempt_id: int):  # type: ignore[no-untyped-def]
    """Server-sent events: `clock` (as GET .../clock answers) at once, then whenever it changes."""
    query = parse_query(StreamQuery, request.args)
    attempt = attempt_service.own_attempt(attempt_id, current_user)
    # After a reconnect the browser says what it last had: no message is sent twice.
    last_event = request.headers.get("Last-Event-ID", "")
    after = max(query.messages_after or 0, int(last_event) if last_event.isdigit() and len(last_event) < 10 else 0)
    db.session.rollback()  # it only read: end the transaction before the stream starts
    settings = current_app.config["TESTENGINE"]
    if not SLOTS.take(int(settings["LIVE_STREAMS_PER_PROCESS"])):
        return Response(status=204, headers={"Cache-Control": "no-store"})  # poll instead: EventSource stops here
    response = Response(
        stream_with_context(_stream(attempt.id, query.client_token, after, float(settings["LIVE_STREAM_SECONDS"]))),
        mimetype="text/event-stream",
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx passes each event on at once
    # The server closes every response it started, even one whose stream never ran: the slot comes back.
    response.call_on_close(SLOTS.give_back)
    return response


@bp.put("/<int:attempt_id>/heartbeat")
@reads_then_writes
def heartbeat(attempt_id: int):  # type: ignore[no-untyped-def]
    """The page is open and reaches the server: the board shows the apprentice online."""
    data = cast(HeartbeatBody, parse_body(HeartbeatBody, request.get_json(silent=True)))
    attempt = attempt_service.own_attempt(attempt_id, current_user)
    now = utcnow()
    writing_from_here()
    beat = heartbeat_service.beat(attempt, client_token=data.client_token, now=now)
    return {"recorded": beat}
