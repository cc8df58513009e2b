"""The sitting's fast lane: requests let in by the signed attempt capability, revoked at once by what revokes a session."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import select

from testengine.extensions import db
from testengine.models import Answer, Attempt, AttemptEvent, AttemptQuestion, User
from testengine.services import accounts


def _stored(attempt_id: int, position: int) -> Answer | None:
    db.session.expire_all()
    return db.session.scalar(
        select(Answer)
        .join(AttemptQuestion, AttemptQuestion.id == Answer.attempt_question_id)
        .where(AttemptQuestion.attempt_id == attempt_id, AttemptQuestion.position == position)
    )


def _free_text_position(sitter) -> int:  # type: ignore[no-untyped-def]
    questions = sitter.lane_get().get_json()["questions"]
    return next(q["position"] for q in questions if q["type"] != "mcq")


def test_the_lane_saves_reads_and_answers_as_the_session_api_does(start_sitter):
    sitter = start_sitter()
    position = _free_text_position(sitter)
    saved = sitter.lane_save(position, "An answer on the fast lane")
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json() == {"position": position, "revision": 1, "stored": True, "status": "saved"}
    assert _stored(sitter.attempt_id, position).response == "An answer on the fast lane"  # type: ignore[union-attr]
    again = sitter.lane_save(position, "An answer on the fast lane", revision=1)
    assert again.get_json()["status"] == "duplicate" and again.get_json()["stored"] is False

    # The reads give what the session API gives (the clock aside, which moves).
    lane_status, api_status = sitter.lane_get().get_json(), sitter.status().get_json()
    assert {k: v for k, v in lane_status.items() if k != "clock"} == {k: v for k, v in api_status.items() if k != "clock"}
    assert lane_status["clock"]["state"] == "in_progress"
    assert sitter.lane_get(f"/questions/{position}").get_json() == sitter.question(position).get_json()
    clock = sitter.lane_get("/clock?messages_after=0").get_json()
    assert clock["superseded"] is False and clock["clock"]["remaining_seconds"] > 0

    flagged = sitter.client.put(f"{sitter.lane}/flags/{position}", json={"flagged": True}, headers=sitter.lane_headers())
    assert flagged.status_code == 200 and _stored(sitter.attempt_id, position).flagged  # type: ignore[union-attr]
    moved = sitter.client.put(f"{sitter.lane}/position", json={"position": 3}, headers=sitter.lane_headers())
    assert moved.status_code == 200 and db.session.get(Attempt, sitter.attempt_id).current_position == 3  # type: ignore[union-attr]
    event = sitter.client.post(f"{sitter.lane}/events", json={"kind": "blur"}, headers=sitter.lane_headers())
    assert event.status_code == 201
    assert db.session.scalar(
        select(AttemptEvent.kind).where(AttemptEvent.attempt_id == sitter.attempt_id, AttemptEvent.kind == "blur")
    )


def test_an_mcq_answer_not_among_its_options_is_refused_from_the_capability(start_sitter):
    sitter = start_sitter()
    mcq = next(q["position"] for q in sitter.lane_get().get_json()["questions"] if q["type"] == "mcq")
    refused = sitter.lane_save(mcq, "9")
    assert refused.status_code == 400 and refused.get_json()["field"] == "response"
    assert sitter.lane_save(mcq, "0").get_json()["status"] == "saved"


def test_without_a_capability_or_with_a_forged_one_nothing_is_let_in(start_sitter):
    sitter = start_sitter()
    bare = sitter.client.put(
        f"{sitter.lane}/answers/1", json={"response": "x", "revision": 1}, headers={"X-CSRFToken": sitter.csrf}
    )
    assert bare.status_code == 401 and bare.get_json()["error"] == "capability_required"
    forged = sitter.capability[:-4] + ("AAAA" if not sitter.capability.endswith("AAAA") else "BBBB")
    refused = sitter.lane_save(1, "x", capability=forged)
    assert refused.status_code == 401 and refused.get_json()["error"] == "capability_invalid"
    assert _stored(sitter.attempt_id, 1) is None


def test_the_csrf_header_is_still_required(start_sitter):
    sitter = start_sitter()
    response = sitter.client.put(
        f"{sitter.lane}/answers/1", json={"response": "x", "revision": 1}, headers={"X-Attempt-Capability": sitter.capability}
    )
    assert response.status_code in (400, 403) and _stored(sitter.attempt_id, 1) is None


def test_refused_after_logout_even_with_the_old_cookie_replayed(app, start_sitter):
    sitter = start_sitter()
    position = _free_text_position(sitter)
    old_cookie = sitter.client.get_cookie("session").value
    assert sitter.client.post("/logout", data={"csrf_token": sitter.csrf}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", old_cookie, domain="localhost")
    refused = replay.put(
        f"{sitter.lane}/answers/{position}", json={"response": "after logout", "revision": 5}, headers=sitter.lane_headers()
    )
    assert refused.status_code == 401 and refused.get_json()["error"] == "capability_revoked"
    read = replay.get(f"{sitter.lane}/questions/{position}", headers=sitter.lane_headers())
    assert read.status_code == 401
    assert _stored(sitter.attempt_id, position) is None


def test_refused_after_a_password_reset_or_a_disabled_account(start_sitter):
    sitter, other = start_sitter(), start_sitter()
    position = _free_text_position(sitter)
    accounts.reset_password(db.session.get(User, sitter.user.id), "a brand new password 123", actor=None)
    db.session.commit()
    refused = sitter.lane_save(position, "after the reset")
    assert refused.status_code == 401 and refused.get_json()["error"] == "capability_revoked"
    assert _stored(sitter.attempt_id, position) is None

    db.session.get(User, other.user.id).active = False  # type: ignore[union-attr]
    db.session.commit()
    assert other.lane_save(position, "disabled").status_code == 401


def test_refused_after_expiry(start_sitter, clock):
    sitter = start_sitter()
    position = _free_text_position(sitter)
    clock.advance(dt.timedelta(hours=4))
    refused = sitter.lane_save(position, "far too late")
    assert refused.status_code == 401 and refused.get_json()["error"] == "capability_expired"
    assert _stored(sitter.attempt_id, position) is None


def test_refused_for_another_attempt(start_sitter):
    mine, theirs = start_sitter(), start_sitter()
    response = mine.client.put(
        f"/api/lane/{theirs.attempt_id}/answers/1", json={"response": "not mine", "revision": 1}, headers=mine.lane_headers()
    )
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    assert _stored(theirs.attempt_id, 1) is None


def test_refused_from_another_browser_window_and_a_fresh_one_is_issued_to_the_new_window(start_sitter):
    from tests.factories import Sitter

    sitter = start_sitter()
    position = _free_text_position(sitter)
    newer = Sitter(sitter.client, sitter.attempt_id)  # the test page opened again: a new browser token
    refused = sitter.lane_save(position, "from the old window")
    assert refused.status_code == 409 and refused.get_json()["error"] == "superseded"
    assert sitter.lane_get("/clock").get_json()["superseded"] is True
    assert newer.lane_save(position, "from the new window").status_code == 200
    renewed = newer.client.get(f"{newer.api}/capability?client_token={newer.token}")
    assert renewed.status_code == 200
    assert newer.lane_save(position, "again", capability=renewed.get_json()["capability"]).status_code == 200
    assert sitter.client.get(f"{sitter.api}/capability?client_token={sitter.token}").status_code == 409


def test_a_paused_attempt_refuses_saves_and_its_deadline_holds(start_sitter, room, clock):
    from testengine.services import attempts as attempt_service

    sitter = start_sitter()
    attempt = db.session.get(Attempt, sitter.attempt_id)
    attempt_service.begin_stoppage(attempt, "pause", now=clock.now(), actor=None)
    db.session.commit()
    assert sitter.lane_save(1, "x").status_code == 423
    assert sitter.lane_get().get_json()["clock"]["stopped"] is True


def test_a_save_is_one_statement(app, start_sitter):
    """Counted at the driver: BEGIN (SQLite's write lock) aside, a save on the lane runs one statement."""
    sitter = start_sitter()
    position = _free_text_position(sitter)
    sitter.lane_save(position, "warm up")  # the first request of a process builds the statement once
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        saved = sitter.lane_save(position, "counted")
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert saved.status_code == 200 and saved.get_json()["status"] == "saved"
    assert len(seen) == 1, seen
    assert seen[0].lstrip().upper().startswith("INSERT INTO ANSWERS")
