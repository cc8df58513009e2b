"""Autosave, the busiest request of a sitting: few statements, the checks in the statement that writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select, update

from testengine.extensions import db
from testengine.models import Answer, Attempt, AttemptQuestion
from testengine.service_settings import attempt_settings
from testengine.services import answers as answer_service
from testengine.services import attempts as attempt_service


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def stored(attempt_id: int, position: int) -> Any:
    db.session.rollback()
    return db.session.execute(
        select(Answer.response, Answer.revision)
        .join(AttemptQuestion, AttemptQuestion.id == Answer.attempt_question_id)
        .where(AttemptQuestion.attempt_id == attempt_id, AttemptQuestion.position == position)
    ).one_or_none()


def test_a_save_runs_four_statements_or_fewer(start_sitter: Any) -> None:
    sitter = start_sitter()
    assert sitter.save(21, "warm").status_code == 200  # also refreshes last_seen_at
    with statements() as seen:
        response = sitter.save(21, "the answer")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "saved"
    # the user with roles, the attempt, the upsert; BEGIN/COMMIT are not statements here
    work = [s for s in seen if s not in {"BEGIN", "COMMIT", "ROLLBACK"}]
    assert len(work) <= 4, seen
    assert work.count("INSERT") == 1 and "UPDATE" not in work, seen
    assert stored(sitter.attempt_id, 21) == ("the answer", 2)


def test_the_clock_in_a_save_reply_is_the_stored_deadline(start_sitter: Any, clock: Any) -> None:
    sitter = start_sitter()
    clock.advance(dt.timedelta(minutes=10))
    reply = sitter.save(22, "x").get_json()
    deadline = db.session.scalar(select(Attempt.deadline_at).where(Attempt.id == sitter.attempt_id))
    assert reply["clock"]["deadline"] == deadline.isoformat()
    assert reply["clock"]["remaining_seconds"] == int((deadline - clock.now()).total_seconds()) == 110 * 60


def test_last_seen_is_refreshed_at_most_every_half_minute(start_sitter: Any, clock: Any) -> None:
    sitter = start_sitter()
    sitter.save(21, "a")
    first = db.session.scalar(select(Attempt.last_seen_at).where(Attempt.id == sitter.attempt_id))
    clock.advance(dt.timedelta(seconds=10))
    sitter.save(21, "b")
    db.session.rollback()
    assert db.session.scalar(select(Attempt.last_seen_at).where(Attempt.id == sitter.attempt_id)) == first
    clock.advance(dt.timedelta(seconds=25))
    sitter.save(21, "c")
    db.session.rollback()
    assert db.session.scalar(select(Attempt.last_seen_at).where(Attempt.id == sitter.attempt_id)) == clock.now()


def _stale_copy(attempt_id: int) -> Attempt:
    """The attempt as a request read it, before another writer changed the row."""
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt is not None and attempt.state == "in_progress"
    return attempt


def _change_behind(attempt_id: int, **values: Any) -> None:
    db.session.execute(
        update(Attempt).where(Attempt.id == attempt_id).values(**values).execution_options(synchronize_session=False)
    )
    db.session.commit()  # another request's write, committed; the loaded object keeps what it read


@pytest.mark.parametrize(
    ("what_changed", "uses_token", "expected"),
    [
        ("a pause", False, "paused"),
        ("a newer window", True, "superseded"),
        ("a deadline moved earlier", False, "time_up"),
    ],
)
def test_a_change_committed_after_the_read_refuses_the_write(
    start_sitter: Any, clock: Any, what_changed: str, uses_token: bool, expected: str
) -> None:
    sitter = start_sitter()
    db.session.rollback()
    attempt = _stale_copy(sitter.attempt_id)
    change = {
        "a pause": {"state": "paused"},
        "a newer window": {"client_token": "a-newer-window"},
        "a deadline moved earlier": {"deadline_at": clock.now() - dt.timedelta(seconds=61)},
    }[what_changed]
    _change_behind(sitter.attempt_id, **change)
    with pytest.raises(attempt_service.AttemptError) as refused:
        answer_service.save_answer(
            attempt,
            23,
            response="should not land",
            revision=1,
            client_token=sitter.token if uses_token else None,
            now=clock.now(),
            settings=attempt_settings(),
        )
    assert refused.value.code == expected
    assert stored(sitter.attempt_id, 23) is None


def test_a_flag_on_a_missing_question_is_404_and_on_a_submitted_test_409(start_sitter: Any) -> None:
    sitter = start_sitter()
    assert sitter.flag(99).status_code == 404
    assert sitter.flag(1).status_code == 200
    assert sitter.submit().status_code == 200
    assert sitter.flag(2).status_code == 409


def test_an_older_revision_after_a_newer_one_is_stale_and_changes_nothing(start_sitter: Any) -> None:
    sitter = start_sitter()
    assert sitter.save(24, "newer", revision=5).get_json()["status"] == "saved"
    reply = sitter.save(24, "older", revision=3).get_json()
    assert reply == {**reply, "status": "stale", "stored": False, "revision": 5}
    assert sitter.save(24, "newer", revision=5).get_json()["status"] == "duplicate"
    assert stored(sitter.attempt_id, 24) == ("newer", 5)


def test_the_grace_after_the_deadline_is_the_configured_one(app: Any, start_sitter: Any, clock: Any, monkeypatch: Any) -> None:
    monkeypatch.setitem(app.config["TESTENGINE"], "SAVE_GRACE_SECONDS", 10)
    sitter = start_sitter()
    deadline = db.session.scalar(select(Attempt.deadline_at).where(Attempt.id == sitter.attempt_id))
    clock.advance(deadline - clock.now() + dt.timedelta(seconds=10))
    assert sitter.save(21, "in flight").status_code == 200
    clock.advance(dt.timedelta(seconds=1))
    refused = sitter.save(21, "too late")
    assert refused.status_code == 409 and refused.get_json()["error"] == "time_up", refused.get_json()
    assert stored(sitter.attempt_id, 21) == ("in flight", 1)
