"""The server's clock stepping backward during a sitting (an NTP correction, a virtual machine moved):
Resume still works, and the time left after it is what it was before the stoppage."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from testengine.extensions import db
from testengine.models import Attempt, Incident
from testengine.service_settings import attempt_settings
from testengine.services import attempts as attempt_service
from testengine.services import sittings, starts
from tests.web.test_invigilation import post_button

BACK = dt.timedelta(minutes=10)


@pytest.fixture
def sitter(app, room, make_user, clock):
    from tests.factories import book_and_check_in

    user = make_user("apprentice")
    booking = book_and_check_in(room, user, room.test_invigilator, clock.now())
    attempt = starts.start(booking, now=clock.now(), actor=user)
    db.session.commit()
    return attempt


def _staff(app, login, room):
    staff = app.test_client()
    login(room.test_invigilator, test_client=staff)
    return staff, f"/invigilate/sittings/{room.id}"


def _left(staff, room, attempt_id):
    rows = staff.get(f"/api/sittings/{room.id}/board").get_json()["rows"]
    return next(row["remaining_seconds"] for row in rows if row.get("attempt_id") == attempt_id)


def _left_now(attempt_id, clock):
    db.session.expire_all()
    return attempt_service.clock_status(db.session.get(Attempt, attempt_id), clock.now()).remaining_seconds


@pytest.mark.parametrize("action", ["pause", "rest-break"])
def test_a_stoppage_resumed_after_the_clock_steps_back_10_minutes_keeps_the_time_left(app, room, login, clock, sitter, action):
    staff, page = _staff(app, login, room)
    clock.advance(dt.timedelta(minutes=25))
    before = _left_now(sitter.id, clock)
    assert before == 95 * 60
    assert post_button(staff, page, f"{page}/attempts/{sitter.id}/{action}").status_code == 200
    clock.advance(dt.timedelta(minutes=2))
    clock.advance(-BACK)  # the server's clock goes back
    assert _left(staff, room, sitter.id) == before  # the board: frozen, not 10 minutes more
    resumed = post_button(staff, page, f"{page}/attempts/{sitter.id}/resume")
    assert resumed.status_code == 200, resumed.get_data(as_text=True)[:500]
    assert "Resumed with the time that was left." in resumed.get_data(as_text=True)
    assert _left_now(sitter.id, clock) == before
    assert db.session.get(Attempt, sitter.id).state == "in_progress"
    incident = db.session.scalar(select(Incident).where(Incident.sitting_id == room.id, Incident.kind == "clock_step"))
    assert incident is not None and incident.apprentice_ids == [sitter.apprentice_id]
    assert "went back 480 s" in incident.notes
    report = staff.get(f"{page}/report").get_data(as_text=True)
    assert "Server clock went back (time left unchanged)" in report  # the invigilator sees it in the room's report
    # Time then runs as usual.
    clock.advance(dt.timedelta(minutes=5))
    assert _left_now(sitter.id, clock) == before - 5 * 60


def test_a_room_pause_resumed_after_the_clock_steps_back_keeps_everyones_time(app, room, login, clock, sitter):
    staff, page = _staff(app, login, room)
    clock.advance(dt.timedelta(minutes=12))
    before = _left_now(sitter.id, clock)
    assert post_button(staff, page, f"{page}/pause-room", reason="Fire alarm", confirm="y").status_code == 200
    clock.advance(-BACK)
    assert _left(staff, room, sitter.id) == before
    resumed = post_button(staff, page, f"{page}/resume-room")
    assert resumed.status_code == 200
    assert "The room has resumed" in resumed.get_data(as_text=True)
    assert _left_now(sitter.id, clock) == before
    pause = db.session.scalar(select(Incident).where(Incident.sitting_id == room.id, Incident.kind == "room_pause"))
    assert pause.ended_at == pause.occurred_at  # clamped to its start, not before it
    assert "Resumed after 0.0 minutes." in pause.notes
    assert db.session.get(type(room), room.id).room_paused_at is None


def test_the_sweep_after_a_backward_step_submits_nothing_early(app, room, login, clock, sitter):
    staff, page = _staff(app, login, room)
    clock.advance(dt.timedelta(minutes=100))  # 20 minutes left
    post_button(staff, page, f"{page}/attempts/{sitter.id}/pause")
    clock.advance(-BACK)
    post_button(staff, page, f"{page}/attempts/{sitter.id}/resume")
    assert _left_now(sitter.id, clock) == 20 * 60
    clock.advance(dt.timedelta(minutes=20))  # exactly at the deadline: within grace
    staff.get(f"/api/sittings/{room.id}/board")
    assert sittings.sweep(db.session.get(type(room), room.id), clock.now(), settings=attempt_settings()).submitted == []
    db.session.commit()
    assert db.session.get(Attempt, sitter.id).state == "in_progress"
    clock.advance(dt.timedelta(seconds=61))  # and past the grace, as ever: submitted, finished at the deadline
    assert len(sittings.sweep(db.session.get(type(room), room.id), clock.now(), settings=attempt_settings()).submitted) == 1
    db.session.commit()
    attempt = db.session.get(Attempt, sitter.id)
    assert attempt.state == "submitted"
    assert attempt.submitted_at == clock.now() - dt.timedelta(seconds=61)


def test_an_extra_time_change_while_paused_after_a_step_back_gives_exactly_the_change(app, room, clock, sitter):
    clock.advance(dt.timedelta(minutes=30))
    attempt_service.begin_stoppage(sitter, "pause", now=clock.now(), actor=None)
    db.session.commit()
    clock.advance(-BACK)
    attempt_service.change_extra_time(sitter, percent=0, minutes=15, now=clock.now(), actor=None, reason="adjustment confirmed")
    attempt_service.end_stoppage(sitter, now=clock.now(), actor=None)
    db.session.commit()
    assert _left_now(sitter.id, clock) == (90 + 15) * 60
