"""A save must fit its question (an MCQ answer is one of its options), and one unreadable or failing
attempt never stops submitting, the room board or the sweep for the others."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from testengine.extensions import db
from testengine.models import (
    Answer,
    Attempt,
    AttemptQuestion,
    AuditEntry,
    Incident,
    Mark,
    QuestionVersion,
)
from testengine.services import attempts as attempt_service
from tests.conftest import csrf_token_from
from tests.web.test_save_fast_path import statements, stored

CORRUPT = "9" * 4301  # past Python's limit for turning digits into an integer


def _type_at(attempt_id: int, position: int) -> str:
    return db.session.scalar(
        select(QuestionVersion.type)
        .join(AttemptQuestion, AttemptQuestion.question_version_id == QuestionVersion.id)
        .where(AttemptQuestion.attempt_id == attempt_id, AttemptQuestion.position == position)
    )


def test_an_mcq_save_that_is_not_one_of_its_options_is_refused_naming_the_field(start_sitter: Any) -> None:
    sitter = start_sitter()
    assert _type_at(sitter.attempt_id, 1) == "mcq" and _type_at(sitter.attempt_id, 15) == "short_answer"
    for bad in ("4", "C", "An answer", "-1", "1.0", CORRUPT[:5000]):
        refused = sitter.save(1, bad)
        body = refused.get_json()
        assert refused.status_code == 400, body
        assert body["error"] == "invalid_response" and body["field"] == "response"
        assert body["message"] == "response: must be one of the question's options (0, 1, 2, 3)."
    assert stored(sitter.attempt_id, 1) is None
    assert sitter.save(1, "2").get_json()["status"] == "saved"
    assert sitter.save(1, "").get_json()["status"] == "saved"  # clearing a choice is allowed
    assert stored(sitter.attempt_id, 1) == ("", sitter.revisions[1])
    assert sitter.save(15, "4").get_json()["status"] == "saved"  # a short answer is free text, as before


def test_an_mcq_save_costs_no_more_statements_than_before(start_sitter: Any) -> None:
    sitter = start_sitter()
    assert sitter.save(1, "0").status_code == 200  # the paper's accepted responses are read once per attempt
    for value in ("3", "not an option"):
        with statements() as seen:
            response = sitter.save(1, value)
        work = [s for s in seen if s not in {"BEGIN", "COMMIT", "ROLLBACK"}]
        assert len(work) <= 4, seen
        assert response.status_code == (200 if value == "3" else 400)
    assert stored(sitter.attempt_id, 1) == ("3", 2)


def _corrupt(attempt_id: int, position: int = 1) -> None:
    """Write a response no save would accept straight into the database, as an old row or another tool might have."""
    aq = db.session.scalar(
        select(AttemptQuestion).where(AttemptQuestion.attempt_id == attempt_id, AttemptQuestion.position == position)
    )
    assert aq is not None
    db.session.add(
        Answer(attempt_question_id=aq.id, attempt_id=attempt_id, response=CORRUPT, revision=1, saved_at=aq.attempt.started_at)
    )
    db.session.commit()


def _state(attempt_id: int) -> str:
    db.session.rollback()
    return db.session.scalar(select(Attempt.state).where(Attempt.id == attempt_id))


def _first_mark(attempt_id: int) -> int | None:
    return db.session.scalar(
        select(Mark.mark)
        .join(AttemptQuestion, AttemptQuestion.id == Mark.attempt_question_id)
        .where(AttemptQuestion.attempt_id == attempt_id, AttemptQuestion.position == 1)
    )


def test_a_corrupt_stored_response_is_marked_0_on_submit_and_recorded(start_sitter: Any) -> None:
    corrupt, other = start_sitter(), start_sitter()
    _corrupt(corrupt.attempt_id)
    assert other.save(1, "1").status_code == 200
    submitted = corrupt.submit()
    assert submitted.status_code == 200, submitted.get_json()
    assert other.submit().status_code == 200
    assert _state(corrupt.attempt_id) == _state(other.attempt_id) == "submitted"
    assert _first_mark(corrupt.attempt_id) == 0
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "answer.unreadable", AuditEntry.object_id == str(corrupt.attempt_id))
    )
    assert entry is not None and entry.after["position"] == 1 and entry.after["length"] == 4301


def _past_the_deadline(clock: Any) -> None:
    clock.advance(dt.timedelta(minutes=125))  # 120 minutes and the grace


def test_the_board_submits_the_room_at_time_up_despite_a_corrupt_response(
    app: Any, room: Any, start_sitter: Any, login: Any, clock: Any
) -> None:
    sitters = [start_sitter() for _ in range(3)]
    _corrupt(sitters[1].attempt_id)
    _past_the_deadline(clock)
    staff = app.test_client()
    login(room.test_invigilator, test_client=staff)
    board = staff.get(f"/api/sittings/{room.id}/board")
    assert board.status_code == 200, board.get_data(as_text=True)[:300]
    assert board.get_json()["failed"] == []
    assert [_state(s.attempt_id) for s in sitters] == ["submitted"] * 3


def test_the_sweep_submits_every_other_attempt_and_reports_the_corrupt_response(app: Any, start_sitter: Any, clock: Any) -> None:
    sitters = [start_sitter() for _ in range(3)]
    _corrupt(sitters[0].attempt_id)
    _past_the_deadline(clock)
    result = app.test_cli_runner().invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert "Submitted 3 attempt(s) whose time was up." in result.output
    assert (
        f"Unreadable response, attempt {sitters[0].attempt_id}: question 1: the stored response (4301 characters) must be one of the question's options"
        in result.output
    )
    assert [_state(s.attempt_id) for s in sitters] == ["submitted"] * 3
    assert _first_mark(sitters[0].attempt_id) == 0


@pytest.fixture
def one_attempt_fails(monkeypatch: Any) -> Any:
    """Marking raises for one chosen attempt, whatever the cause (a fault the code cannot foresee)."""
    chosen: dict[str, int] = {}
    real = attempt_service.auto_mark

    def auto_mark(attempt: Any, *, now: Any) -> Any:
        if attempt.id == chosen.get("id"):
            raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")
        return real(attempt, now=now)

    monkeypatch.setattr(attempt_service, "auto_mark", auto_mark)
    return chosen


def _failure_records(attempt_id: int) -> tuple[int, int]:
    audits = db.session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "attempt.submit_failed", AuditEntry.object_id == str(attempt_id)
        )
    )
    incidents = db.session.scalar(
        select(func.count(Incident.id)).where(
            Incident.kind == "technical_fault", Incident.notes.like(f"Attempt {attempt_id} could not be submitted%")
        )
    )
    return audits, incidents


def test_a_failing_attempt_does_not_stop_the_sweep_which_reports_it_and_exits_non_zero(
    app: Any, start_sitter: Any, clock: Any, one_attempt_fails: Any
) -> None:
    sitters = [start_sitter() for _ in range(3)]
    bad = sitters[1].attempt_id
    one_attempt_fails["id"] = bad
    _past_the_deadline(clock)
    result = app.test_cli_runner().invoke(args=["sweep"])
    assert result.exit_code == 1, result.output
    assert "Submitted 2 attempt(s) whose time was up." in result.output
    assert f"Could not submit attempt {bad}: ValueError: Exceeds the limit" in result.output
    assert "1 attempt(s) could not be submitted" in result.output
    assert [_state(s.attempt_id) for s in sitters] == ["submitted", "in_progress", "submitted"]
    assert _failure_records(bad) == (1, 1)
    # Run again (cron, every minute): still reported, recorded once.
    again = app.test_cli_runner().invoke(args=["sweep"])
    assert again.exit_code == 1 and f"Could not submit attempt {bad}" in again.output
    assert _failure_records(bad) == (1, 1)


def test_the_board_shows_a_failing_attempt_and_submits_the_rest(
    app: Any, room: Any, start_sitter: Any, login: Any, clock: Any, one_attempt_fails: Any
) -> None:
    sitters = [start_sitter() for _ in range(3)]
    bad = sitters[0].attempt_id
    one_attempt_fails["id"] = bad
    _past_the_deadline(clock)
    staff = app.test_client()
    login(room.test_invigilator, test_client=staff)
    board = staff.get(f"/api/sittings/{room.id}/board")
    assert board.status_code == 200
    data = board.get_json()
    assert [f["attempt_id"] for f in data["failed"]] == [bad]
    [row] = [r for r in data["rows"] if r["attempt_id"] == bad]
    assert any("could not be submitted" in w for w in row["warnings"])
    assert [_state(s.attempt_id) for s in sitters] == ["in_progress", "submitted", "submitted"]
    assert _failure_records(bad) == (1, 1)
    # The invigilator's page lists the incident; the administrators' audit log has the entry.
    page = staff.get(f"/invigilate/sittings/{room.id}/report").get_data(as_text=True)
    assert f"Attempt {bad} could not be submitted" in page
    # Closing the room tries again for each attempt on its own and says who is still sitting.
    token = csrf_token_from(staff.get(f"/invigilate/sittings/{room.id}").get_data(as_text=True))
    closed = staff.post(
        f"/invigilate/sittings/{room.id}/close", data={"csrf_token": token, "confirm": "y"}, follow_redirects=True
    )
    assert closed.status_code == 200 and "1 apprentice(s) are still sitting the test" in closed.get_data(as_text=True)
