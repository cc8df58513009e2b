"""Sitting a test through the API the page uses: saves, revisions, the clock, submission, closed book."""

from __future__ import annotations

import datetime as dt
import json
import threading

from sqlalchemy import func, select

from testengine.extensions import db
from testengine.models import Answer, Attempt, AuditEntry, Mark


def test_start_gives_a_40_question_paper_and_a_120_minute_clock(start_sitter):
    sitter = start_sitter()
    status = sitter.status().get_json()
    assert len(status["questions"]) == 40
    assert [q["type"] for q in status["questions"]].count("mcq") == 14
    assert sum(q["marks"] for q in status["questions"]) == 66
    assert status["clock"]["remaining_seconds"] == 120 * 60
    assert status["clock"]["allowed_minutes"] == 120


def test_a_save_is_stored_and_shown_after_reload(start_sitter):
    sitter = start_sitter()
    assert sitter.save(15, "Refer to the designated safeguarding lead.").get_json()["stored"] is True
    again = type(sitter)(sitter.client, sitter.attempt_id)  # a reload: a new page, a new token
    assert again.question(15).get_json()["response"] == "Refer to the designated safeguarding lead."


def test_replay_is_stored_once_and_older_revision_never_overwrites(start_sitter):
    sitter = start_sitter()
    assert sitter.save(20, "second draft", revision=2).get_json()["status"] == "saved"
    replay = sitter.save(20, "second draft", revision=2).get_json()
    assert replay["stored"] is False and replay["status"] == "duplicate"
    stale = sitter.save(20, "first draft", revision=1).get_json()
    assert stale["stored"] is False and stale["status"] == "stale" and stale["revision"] == 2
    assert sitter.question(20).get_json()["response"] == "second draft"
    assert db.session.scalar(select(func.count(Answer.id)).where(Answer.attempt_id == sitter.attempt_id)) == 1


def test_save_at_deadline_plus_60s_accepted_and_61s_refused(start_sitter, clock):
    sitter = start_sitter()
    clock.advance(dt.timedelta(minutes=120, seconds=60))
    assert sitter.save(16, "just in time").status_code == 200
    clock.advance(dt.timedelta(seconds=1))
    refused = sitter.save(16, "too late")
    assert refused.status_code == 409 and refused.get_json()["error"] == "time_up"
    attempt = db.session.get(Attempt, sitter.attempt_id)
    db.session.refresh(attempt)
    assert attempt.state == "submitted" and attempt.finish_reason == "time_up"
    assert attempt.submitted_at == attempt.deadline_at  # the deadline, not the moment the sweep ran
    answer = db.session.scalar(select(Answer).where(Answer.attempt_id == sitter.attempt_id))
    assert answer.response == "just in time"


def test_abandoned_browser_is_submitted_at_the_deadline(start_sitter, clock, app):
    sitter = start_sitter()
    sitter.save(17, "typed in the last seconds")
    clock.advance(dt.timedelta(hours=3))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sweep"])
    assert "Submitted 1 attempt" in result.output
    attempt = db.session.get(Attempt, sitter.attempt_id)
    db.session.refresh(attempt)
    assert attempt.state == "submitted" and attempt.submitted_at == attempt.deadline_at
    assert runner.invoke(args=["sweep"]).output.startswith("Submitted 0")  # idempotent


def test_25_percent_extra_time_gives_150_minutes(app, room, make_user, start_sitter, clock):
    from testengine.services.adjustments import add_adjustment

    user = make_user("apprentice")
    add_adjustment(
        user.apprentice,
        kind="extra_time",
        extra_percent=25,
        extra_minutes=0,
        reason="report",
        approval_reference="RA-1",
        approved_by="Admin",
        expires_on=None,
        now=clock.now(),
        actor=None,
    )
    db.session.commit()
    sitter = start_sitter(user)
    assert sitter.status().get_json()["clock"]["remaining_seconds"] == 150 * 60


def test_rest_break_moves_the_deadline_by_its_length(app, start_sitter, clock):
    from testengine.services import attempts

    sitter = start_sitter()
    attempt = db.session.get(Attempt, sitter.attempt_id)
    before = attempt.deadline_at
    attempts.begin_stoppage(attempt, "rest_break", now=clock.now(), actor=None)
    db.session.commit()
    clock.advance(dt.timedelta(minutes=10))
    refused = sitter.save(18, "during the break")
    assert refused.status_code == 423 and refused.get_json()["error"] == "paused"
    attempts.end_stoppage(attempt, now=clock.now(), actor=None)
    db.session.commit()
    assert attempt.deadline_at - before == dt.timedelta(minutes=10)
    assert sitter.status().get_json()["clock"]["remaining_seconds"] == 120 * 60


def test_twenty_parallel_finishes_give_one_submission(app, start_sitter):
    sitter = start_sitter()
    sitter.save(1, "0")
    statuses: list[int] = []
    cookie = sitter.client.get_cookie("session").value

    def finish() -> None:
        client = app.test_client()
        client.set_cookie("session", cookie)
        response = client.post(
            f"/api/attempts/{sitter.attempt_id}/submit",
            json={"confirm": True, "client_token": sitter.token},
            headers=sitter.headers(),
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=finish) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(200) == 1, statuses
    assert statuses.count(409) == 19, statuses
    assert (
        db.session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.action == "attempt.submit", AuditEntry.object_id == str(sitter.attempt_id)
            )
        )
        == 1
    )
    after = sitter.save(2, "after finishing")
    assert after.status_code == 409 and after.get_json()["error"] == "already_submitted"


def test_an_apprentice_cannot_read_or_write_anothers_attempt(start_sitter):
    first = start_sitter()
    second = start_sitter()
    assert second.client.get(first.api).status_code == 404
    assert second.client.get(f"{first.api}/questions/1").status_code == 404
    response = second.client.put(
        f"{first.api}/answers/1", json={"response": "x", "revision": 1, "client_token": second.token}, headers=second.headers()
    )
    assert response.status_code == 404
    assert second.client.get(f"/apprentice/attempts/{first.attempt_id}").status_code == 404


def test_no_response_to_an_apprentice_contains_a_key_or_marking_guide(start_sitter):
    sitter = start_sitter()
    bodies = [sitter.status().get_data(as_text=True)]
    for position in range(1, 41):
        bodies.append(sitter.question(position).get_data(as_text=True))
    bodies.append(sitter.client.get(f"/apprentice/attempts/{sitter.attempt_id}").get_data(as_text=True))
    text = "\n".join(bodies)
    for secret in (
        '"correct"',
        '"rationale"',
        '"indicative_content"',
        '"two_marks"',
        '"one_mark"',
        '"zero_marks"',
        '"acceptable_alternatives"',
        '"guide"',
    ):
        assert secret not in text, secret
    # Options carry their original index as the value, never a correctness flag.
    mcq = next(json.loads(b) for b in bodies[1:41] if json.loads(b)["type"] == "mcq")
    assert sorted(o["value"] for o in mcq["options"]) == ["0", "1", "2", "3"]


def test_submission_marks_mcqs_and_blank_answers_automatically(start_sitter):
    sitter = start_sitter()
    status = sitter.status().get_json()
    first_mcq = next(q["position"] for q in status["questions"] if q["type"] == "mcq")
    sitter.save(first_mcq, sitter.question(first_mcq).get_json()["options"][0]["value"])
    assert sitter.submit().status_code == 200
    marks = db.session.scalars(select(Mark).where(Mark.attempt_id == sitter.attempt_id)).all()
    # 14 MCQs marked, 25 blank short answers marked 0; only answered short answers wait for a marker.
    assert len(marks) == 14 + 26
    assert all(m.role == "auto" for m in marks)
    attempt = db.session.get(Attempt, sitter.attempt_id)
    assert attempt.marking_state == "complete" and attempt.total_marks in (0, 1)


def test_second_browser_supersedes_the_first(start_sitter):
    sitter = start_sitter()
    newer = type(sitter)(sitter.client, sitter.attempt_id)
    old = sitter.save(23, "from the old window")
    assert old.status_code == 409 and old.get_json()["error"] == "superseded"
    assert newer.save(23, "from the new window").status_code == 200


def test_new_computer_needs_the_invigilators_permission(app, start_sitter, login, room):
    from testengine.services import invigilation

    sitter = start_sitter()
    other_computer = app.test_client()
    login(sitter.user, test_client=other_computer)
    assert other_computer.get(f"/apprentice/attempts/{sitter.attempt_id}").status_code == 403
    booking = room.bookings[-1]
    invigilation.allow_device_change(booking, actor=room.test_invigilator)
    db.session.commit()
    page = other_computer.get(f"/apprentice/attempts/{sitter.attempt_id}")
    assert page.status_code == 200
    # The permission is used once.
    third = app.test_client()
    login(sitter.user, test_client=third)
    assert third.get(f"/apprentice/attempts/{sitter.attempt_id}").status_code == 403


def test_browser_events_are_recorded_for_the_invigilator(start_sitter, room, app, login):
    sitter = start_sitter()
    assert sitter.event("blur").status_code == 201
    assert sitter.event("paste").status_code == 201
    bad = sitter.event("launch_missiles")
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_event"


def test_malformed_saves_get_json_errors(start_sitter):
    sitter = start_sitter()
    api = f"{sitter.api}/answers/1"
    cases = [
        {"response": "x"},
        {"response": "x", "revision": 0, "client_token": sitter.token},
        {"response": "x", "revision": "one", "client_token": sitter.token},
        {"response": "x" * 6000, "revision": 1, "client_token": sitter.token},
        {"response": "x", "revision": 1, "client_token": sitter.token, "extra": True},
    ]
    for body in cases:
        response = sitter.client.put(api, json=body, headers=sitter.headers())
        assert response.status_code == 400, body
        assert response.get_json()["error"] == "invalid_body"
    assert (
        sitter.client.put(
            f"{sitter.api}/answers/41",
            json={"response": "x", "revision": 1, "client_token": sitter.token},
            headers=sitter.headers(),
        ).status_code
        == 404
    )
    no_csrf = sitter.client.put(api, json={"response": "x", "revision": 1, "client_token": sitter.token})
    assert no_csrf.status_code == 400 and no_csrf.get_json()["error"] == "csrf_failed"
