"""Live updates for the sitting page (server-sent events) and its heartbeat, as the board shows it.

The stream reads the database, never this process's memory: a change committed by anyone (here, the
test itself between two reads of the stream) is the next event. A stream ends by itself after
LIVE_STREAM_SECONDS (1 s in tests), and a process holds at most LIVE_STREAMS_PER_PROCESS of them.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest

from testengine.domain import presence
from testengine.extensions import db
from testengine.models import Attempt
from testengine.services import attempts as attempt_service
from testengine.services import invigilation, messages


def open_stream(sitter: Any, **query: Any) -> Any:
    headers = query.pop("headers", {})
    response = sitter.client.get(
        f"{sitter.api}/live", query_string={"client_token": sitter.token, **query}, headers=headers, buffered=False
    )
    return response


def events(chunks: Any, wanted: int, seconds: float = 20.0) -> list[dict[str, Any]]:
    """Read the stream until `wanted` clock events have come (or it ends): each as {id, data}."""
    found: list[dict[str, Any]] = []
    ends = time.monotonic() + seconds
    for chunk in chunks:
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        if "event: clock" in text:
            fields = dict(line.split(": ", 1) for line in text.strip().splitlines())
            found.append({"id": int(fields["id"]), "data": json.loads(fields["data"])})
        if len(found) >= wanted or time.monotonic() > ends:
            break
    return found


def long_streams(app: Any) -> None:
    """Streams that outlast the test's steps, however slow the machine (the test closes its stream itself)."""
    app.config["TESTENGINE"] = {**app.config["TESTENGINE"], "LIVE_STREAM_SECONDS": 60}


def test_the_stream_sends_the_clock_at_once_and_then_each_change_others_commit(app, start_sitter, room, clock):
    long_streams(app)
    sitter = start_sitter()
    response = open_stream(sitter)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Accel-Buffering"] == "no"
    chunks = iter(response.response)
    assert next(chunks).decode().startswith("retry: ")
    [first] = events(chunks, 1)
    assert first["data"]["clock"]["state"] == "in_progress" and first["data"]["clock"]["stopped"] is False
    assert first["data"]["superseded"] is False and first["data"]["messages"] == []

    # The invigilator pauses the apprentice (another request, another worker: only the database knows).
    attempt = db.session.get(Attempt, sitter.attempt_id)
    attempt_service.begin_stoppage(attempt, "pause", now=clock.now(), actor=room.test_invigilator)
    db.session.commit()
    [paused] = events(chunks, 1)
    assert paused["data"]["clock"]["state"] == "paused" and paused["data"]["clock"]["stopped"] is True

    # A message to the room: the next event carries it, and its id is the event's id.
    sent = messages.send(room, apprentice_id=None, body="Ten minutes to the fire drill.", now=clock.now(), actor=None)
    db.session.commit()
    [told] = events(chunks, 1)
    assert [m["body"] for m in told["data"]["messages"]] == ["Ten minutes to the fire drill."]
    assert told["id"] == sent.id
    response.close()


def test_a_reconnecting_browser_gets_only_newer_messages_and_a_replaced_window_is_told(app, start_sitter, room, clock):
    long_streams(app)
    sitter = start_sitter()
    first = messages.send(room, apprentice_id=None, body="First.", now=clock.now(), actor=None)
    messages.send(room, apprentice_id=sitter.user.apprentice.id, body="Second, to you.", now=clock.now(), actor=None)
    db.session.commit()
    # The browser reconnects saying the last event it had (Last-Event-ID): the first message is not sent again.
    response = open_stream(sitter, headers={"Last-Event-ID": str(first.id)})
    [event] = events(iter(response.response), 1)
    assert [m["body"] for m in event["data"]["messages"]] == ["Second, to you."]
    response.close()
    # Another window opens the test: this one's stream says it was replaced.
    sitter.client.get(f"/apprentice/attempts/{sitter.attempt_id}")
    response = open_stream(sitter, messages_after=event["id"])
    [event] = events(iter(response.response), 1)
    assert event["data"]["superseded"] is True and event["data"]["messages"] == []
    response.close()


def test_the_stream_ends_by_itself(start_sitter):
    sitter = start_sitter()
    started = time.monotonic()
    body = open_stream(sitter).get_data(as_text=True)  # reads to the end: LIVE_STREAM_SECONDS is 1 in tests
    assert time.monotonic() - started < 5
    assert body.count("event: clock") == 1  # nothing changed: the clock once, at the start


def test_no_stream_beyond_the_limit_the_page_polls_instead(start_sitter, app):
    sitter = start_sitter()
    app.config["TESTENGINE"] = {**app.config["TESTENGINE"], "LIVE_STREAMS_PER_PROCESS": 0}
    refused = open_stream(sitter)
    assert refused.status_code == 204 and refused.get_data() == b""
    assert sitter.client.get(f"{sitter.api}/clock").status_code == 200  # the fallback still answers


def test_someone_elses_attempt_has_no_stream_and_a_bad_query_is_refused(start_sitter):
    sitter, other = start_sitter(), start_sitter()
    assert other.client.get(f"{sitter.api}/live").status_code == 404
    too_long = sitter.client.get(f"{sitter.api}/live", query_string={"client_token": "x" * 65})
    assert too_long.status_code == 400 and too_long.get_json()["field"] == "client_token"


def heartbeat(sitter: Any, token: str | None = None) -> Any:
    return sitter.client.put(f"{sitter.api}/heartbeat", json={"client_token": token or sitter.token}, headers=sitter.headers())


def row_of(room: Any, now: dt.datetime, attempt_id: int) -> dict[str, Any]:
    return next(r for r in invigilation.board(room, now)["rows"] if r["attempt_id"] == attempt_id)


def test_the_board_shows_online_from_the_heartbeat_offline_when_it_stops_and_when_each_last_saved(start_sitter, room, clock):
    sitter = start_sitter()
    row = row_of(room, clock.now(), sitter.attempt_id)
    assert (row["connection"], row["connection_label"], row["last_saved"]) == ("unknown", "", "")

    assert heartbeat(sitter).get_json() == {"recorded": True}
    saved_at = clock.now()
    question = sitter.question(1).get_json()
    answer = question["options"][0]["value"] if question["type"] == "mcq" else "An answer"
    assert sitter.save(1, answer).status_code == 200
    row = row_of(room, clock.now(), sitter.attempt_id)
    assert (row["connection"], row["connection_label"]) == ("online", "Online")
    assert row["last_saved"] == f"{saved_at:%H:%M:%S}" and row["last_heard"] == f"{saved_at:%H:%M:%S}"

    # The network goes: no heartbeat for longer than two beats and a margin.
    clock.advance(presence.OFFLINE_AFTER + dt.timedelta(seconds=1))
    row = row_of(room, clock.now(), sitter.attempt_id)
    assert row["connection"] == "offline" and row["connection_label"] == f"Offline since {saved_at:%H:%M:%S} UTC"
    # Back: online again at its next heartbeat.
    assert heartbeat(sitter).get_json() == {"recorded": True}
    assert row_of(room, clock.now(), sitter.attempt_id)["connection"] == "online"


def test_a_replaced_window_or_a_finished_test_does_not_count_as_online(start_sitter, room, clock):
    sitter = start_sitter()
    old_token = sitter.token
    sitter.client.get(f"/apprentice/attempts/{sitter.attempt_id}")  # another window takes the test over
    assert heartbeat(sitter, old_token).get_json() == {"recorded": False}
    assert db.session.get(Attempt, sitter.attempt_id).heartbeat_at is None
    bad = sitter.client.put(f"{sitter.api}/heartbeat", json={"client_token": ""}, headers=sitter.headers())
    assert bad.status_code == 400 and bad.get_json()["field"] == "client_token"
    no_csrf = sitter.client.put(f"{sitter.api}/heartbeat", json={"client_token": old_token})
    assert no_csrf.status_code in (400, 403)


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        (None, presence.Connection.UNKNOWN),
        (dt.timedelta(0), presence.Connection.ONLINE),
        (presence.OFFLINE_AFTER, presence.Connection.ONLINE),
        (presence.OFFLINE_AFTER + dt.timedelta(seconds=1), presence.Connection.OFFLINE),
        (-dt.timedelta(minutes=5), presence.Connection.ONLINE),  # the server's clock stepped back
    ],
)
def test_online_means_heard_from_within_the_window(since, expected):
    now = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
    assert presence.connection(None if since is None else now - since, now) == expected
