"""The room board's cost and content: one refresh runs a few SQL statements whatever the size of the room,
shows each apprentice as they are, and takes SQLite's write lock only when a time-up sweep has work to do."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from testengine.extensions import db
from testengine.models import Answer, Attempt, AttemptEvent, AttemptQuestion
from tests.factories import book_and_check_in, open_sitting

# One refresh: the signed-in user, the sitting, bookings with apprentices, their adjustments, the
# attempts with their counts, open stoppages, browser warnings, the ratio; BEGIN on SQLite.
MOST_STATEMENTS = 12


@pytest.fixture
def fill_room(app, st0663, make_user, clock):
    """A room of `n` in a repeating mix: answering with warnings, paused with adjustments, checked in with a paper, booked."""
    from testengine.services import adjustments, sittings, starts
    from testengine.services import attempts as attempt_service

    def fill(n):
        invigilator = make_user("invigilator")
        room = open_sitting(st0663, [invigilator], clock.now())
        for i in range(n):
            user = make_user("apprentice")
            kind = i % 4
            if kind == 1:
                for adjustment in (
                    {"kind": "extra_time", "extra_percent": 25, "extra_minutes": 0},
                    {"kind": "rest_breaks", "extra_percent": 0, "extra_minutes": 0},
                ):
                    adjustments.add_adjustment(
                        user.apprentice,
                        **adjustment,
                        reason="Assessed need",
                        approval_reference=f"RA-{i}",
                        approved_by="EPAO",
                        expires_on=None,
                        now=clock.now(),
                        actor=None,
                    )
                db.session.commit()
            booking = book_and_check_in(room, user, invigilator, clock.now(), check_in=kind != 3)
            if kind == 2:
                sittings.prepare_paper(booking, now=clock.now(), actor=invigilator)  # drawn at check-in, as the page does
            if kind in (0, 1):
                attempt = starts.start(booking, now=clock.now(), actor=user)
                db.session.flush()
                if kind == 0:
                    questions = db.session.scalars(
                        select(AttemptQuestion)
                        .where(AttemptQuestion.attempt_id == attempt.id)
                        .order_by(AttemptQuestion.position)
                        .limit(3)
                    )
                    for question, response in zip(questions, ["An answer", "Another answer", "   "]):
                        db.session.add(
                            Answer(
                                attempt_question_id=question.id,
                                attempt_id=attempt.id,
                                response=response,
                                revision=1,
                                saved_at=clock.now(),
                            )
                        )
                    for _ in range(2):
                        db.session.add(AttemptEvent(attempt_id=attempt.id, at=clock.now(), kind="blur", detail=None))
                else:
                    attempt_service.begin_stoppage(attempt, "pause", now=clock.now(), actor=invigilator)
            db.session.commit()
        return room.id, invigilator

    return fill


def refresh(app, login, sitting_id, invigilator):
    """One board refresh from a fresh session, as a new request in production: (response, statements run)."""
    browser = app.test_client()
    assert login(invigilator, test_client=browser).status_code == 302
    db.session.remove()
    statements: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = browser.get(f"/api/sittings/{sitting_id}/board")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json(), statements


def test_a_board_refresh_runs_the_same_few_statements_for_a_room_of_3_and_of_12(app, login, fill_room, clock):
    small, small_invigilator = fill_room(3)
    large, large_invigilator = fill_room(12)
    clock.advance(dt.timedelta(minutes=1))

    small_board, small_statements = refresh(app, login, small, small_invigilator)
    large_board, large_statements = refresh(app, login, large, large_invigilator)

    assert (len(small_board["rows"]), len(large_board["rows"])) == (3, 12)
    assert len(large_statements) == len(small_statements), "\n".join(large_statements)
    assert len(large_statements) <= MOST_STATEMENTS, "\n".join(large_statements)


def test_the_board_shows_each_kind_of_apprentice_as_they_are(app, login, fill_room, clock):
    room, invigilator = fill_room(4)
    clock.advance(dt.timedelta(minutes=10))

    board, _ = refresh(app, login, room, invigilator)

    answering, paused, checked_in, booked = board["rows"]
    assert (answering["status"], answering["answered"], answering["questions"]) == ("in progress", 2, 40)
    assert answering["warnings"] == ["Left the test window (2)"]
    assert answering["remaining_seconds"] == 110 * 60 and answering["adjustments"] == []
    # Paused at once with 25% extra time: 150 minutes, of which none has run.
    assert (paused["status"], paused["answered"], paused["questions"], paused["remaining_seconds"]) == ("paused", 0, 40, 150 * 60)
    assert paused["adjustments"] == ["Extra time 25%", "Rest breaks"] and paused["warnings"] == []
    assert (checked_in["status"], checked_in["questions"], checked_in["remaining_seconds"]) == ("checked in", 40, None)
    assert (booked["status"], booked["attempt_id"], booked["questions"], booked["answered"]) == ("booked", None, 0, 0)
    assert board["ratio"] == {"in_progress": 2, "invigilators_present": 1, "ratio": 20, "capacity": 20, "over": False}


def test_a_refresh_takes_the_write_lock_only_to_submit_an_attempt_whose_time_is_up(app, login, fill_room, clock):
    room, invigilator = fill_room(2)

    clock.advance(dt.timedelta(minutes=30))
    board, statements = refresh(app, login, room, invigilator)
    assert [row["status"] for row in board["rows"]] == ["in progress", "paused"]
    assert not [s for s in statements if s.lstrip().upper().startswith(("BEGIN IMMEDIATE", "UPDATE", "INSERT", "DELETE"))]

    clock.advance(dt.timedelta(minutes=91, seconds=1))  # the answering apprentice's 120 minutes and the grace are over
    board, statements = refresh(app, login, room, invigilator)
    answering, paused = board["rows"]
    assert (answering["status"], answering["remaining_seconds"], answering["answered"]) == ("submitted", 0, 2)
    assert paused["status"] == "paused"  # a paused clock does not run out
    assert board["ratio"]["in_progress"] == 1
    assert any(s.lstrip().upper().startswith("UPDATE") for s in statements)
    if db.engine.dialect.name == "sqlite":
        assert any(s.strip().upper() == "BEGIN IMMEDIATE" for s in statements)
    db.session.remove()
    finished = db.session.scalar(select(Attempt).where(Attempt.id == answering["attempt_id"]))
    assert (finished.state, finished.finish_reason, finished.submitted_at) == ("submitted", "time_up", finished.deadline_at)
