"""Invigilation through the pages and the room board: the 1:20 ratio, check-in before start, room pauses, who sees what."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from testengine.extensions import db
from testengine.models import Attempt, Booking, Incident
from tests.conftest import csrf_token_from
from tests.factories import book_and_check_in, csrf_of, open_sitting


@pytest.fixture
def seat_apprentices(app, make_user, clock):
    """Book, check in and start `n` apprentices in a room through the services (the fast way to fill a room)."""
    from testengine.services import starts

    def seat(room, invigilator, n):
        started = []
        for _ in range(n):
            user = make_user("apprentice")
            booking = book_and_check_in(room, user, invigilator, clock.now())
            started.append(starts.start(booking, now=clock.now(), actor=user))
            db.session.commit()
        return started

    return seat


def start_through_the_page(app, login, user):
    """The apprentice signs in and presses "Start the test"; returns the response to the start."""
    browser = app.test_client()
    assert login(user, test_client=browser).status_code == 302
    home = browser.get("/apprentice/").get_data(as_text=True)
    booking = db.session.scalar(select(Booking).where(Booking.apprentice_id == user.apprentice.id))
    return browser, browser.post(
        f"/apprentice/bookings/{booking.id}/start", data={"csrf_token": csrf_of(home)}, follow_redirects=True
    )


def post_button(client, page_url, action_url, **fields):
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    return client.post(action_url, data={"csrf_token": token, **fields}, follow_redirects=True)


def test_21st_start_refused_with_one_invigilator_and_accepted_with_two(app, room, make_user, login, clock, seat_apprentices):
    from testengine.services import sittings

    invigilator = room.test_invigilator
    seat_apprentices(room, invigilator, 20)
    twenty_first = make_user("apprentice")
    book_and_check_in(room, twenty_first, invigilator, clock.now())

    browser, refused = start_through_the_page(app, login, twenty_first)
    assert "/apprentice/attempts/" not in refused.request.path
    assert (
        "Cannot start: 20 apprentices are already in progress with 1 invigilator present (at most 20 per invigilator)"
        in refused.get_data(as_text=True)
    )
    assert (
        db.session.scalar(
            select(Attempt).where(Attempt.apprentice_id == twenty_first.apprentice.id, Attempt.state == "in_progress")
        )
        is None
    )

    second = make_user("invigilator")
    sittings.assign_invigilator(room, second, actor=None)
    db.session.commit()
    staff = app.test_client()
    login(second, test_client=staff)
    page = f"/invigilate/sittings/{room.id}"
    assert "You are signed in to the room." in post_button(staff, page, f"{page}/sign-in").get_data(as_text=True)

    home = browser.get("/apprentice/").get_data(as_text=True)
    booking = db.session.scalar(select(Booking).where(Booking.apprentice_id == twenty_first.apprentice.id))
    accepted = browser.post(f"/apprentice/bookings/{booking.id}/start", data={"csrf_token": csrf_of(home)})
    assert accepted.status_code == 302 and "/apprentice/attempts/" in accepted.headers["Location"]
    board = staff.get(f"/api/sittings/{room.id}/board").get_json()
    assert board["ratio"] == {"in_progress": 21, "invigilators_present": 2, "ratio": 20, "capacity": 40, "over": False}


def test_an_invigilator_leaving_a_full_room_of_40_flips_it_over_ratio_blocks_starts_and_logs_an_incident(
    app, st0663, make_user, login, clock, seat_apprentices
):
    first, second = make_user("invigilator"), make_user("invigilator")
    room = open_sitting(st0663, [first, second], clock.now())
    seat_apprentices(room, first, 40)
    waiting = make_user("apprentice")
    book_and_check_in(room, waiting, first, clock.now())

    staff = app.test_client()
    login(second, test_client=staff)
    page = f"/invigilate/sittings/{room.id}"
    assert staff.get(f"/api/sittings/{room.id}/board").get_json()["ratio"]["over"] is False
    left = post_button(staff, page, f"{page}/sign-out").get_data(as_text=True)
    assert "You have signed out of the room." in left
    assert "OVER RATIO: new starts are stopped." in left

    board = staff.get(f"/api/sittings/{room.id}/board").get_json()
    assert board["ratio"] == {"in_progress": 40, "invigilators_present": 1, "ratio": 20, "capacity": 20, "over": True}
    incident = db.session.scalar(select(Incident).where(Incident.sitting_id == room.id, Incident.kind == "ratio_breach"))
    assert incident is not None and incident.reported_by_id == second.id
    assert "40 in progress with 1 invigilator(s) present" in incident.notes

    _browser, refused = start_through_the_page(app, login, waiting)
    assert "/apprentice/attempts/" not in refused.request.path
    assert "Cannot start: 40 apprentices are already in progress with 1 invigilator present" in refused.get_data(as_text=True)
    report = staff.get(f"{page}/report").get_data(as_text=True)
    assert "Exceeded 1 time(s)" in report and "Invigilation ratio exceeded" in report


def test_an_apprentice_not_checked_in_cannot_start(app, room, make_user, login, clock):
    user = make_user("apprentice")
    booking = book_and_check_in(room, user, room.test_invigilator, clock.now(), check_in=False)
    browser = app.test_client()
    login(user, test_client=browser)
    home = browser.get("/apprentice/").get_data(as_text=True)
    assert "Booked: the invigilator will check you in" in home
    assert "Start the test" not in home
    # Posting the start anyway (an old page, a crafted request) is refused too.
    refused = browser.post(f"/apprentice/bookings/{booking.id}/start", data={"csrf_token": csrf_of(home)}, follow_redirects=True)
    assert "You must be checked in by the invigilator before you can start." in refused.get_data(as_text=True)
    assert (
        db.session.scalar(select(Attempt).where(Attempt.apprentice_id == user.apprentice.id, Attempt.state != "not_started"))
        is None
    )


def test_a_room_pause_of_7_minutes_moves_every_deadline_in_the_room_by_7_minutes(app, room, login, clock, seat_apprentices):
    invigilator = room.test_invigilator
    attempts = seat_apprentices(room, invigilator, 3)
    clock.advance(dt.timedelta(minutes=12))
    before = {a.id: a.deadline_at for a in attempts}
    staff = app.test_client()
    login(invigilator, test_client=staff)
    page = f"/invigilate/sittings/{room.id}"

    paused = post_button(staff, page, f"{page}/pause-room", reason="Fire alarm", confirm="y").get_data(as_text=True)
    assert "The whole room is paused" in paused
    board = staff.get(f"/api/sittings/{room.id}/board").get_json()
    assert board["sitting"]["room_paused"] is True
    assert {row["status"] for row in board["rows"]} == {"paused"}
    clock.advance(dt.timedelta(minutes=7))
    assert {row["remaining_seconds"] for row in staff.get(f"/api/sittings/{room.id}/board").get_json()["rows"]} == {
        (120 - 12) * 60
    }

    assert "The room has resumed" in post_button(staff, page, f"{page}/resume-room").get_data(as_text=True)
    for attempt in attempts:
        db.session.refresh(attempt)
        assert attempt.state == "in_progress"
        assert attempt.deadline_at - before[attempt.id] == dt.timedelta(minutes=7)
    incident = db.session.scalar(select(Incident).where(Incident.sitting_id == room.id, Incident.kind == "room_pause"))
    assert incident.ended_at - incident.occurred_at == dt.timedelta(minutes=7)
    assert sorted(incident.apprentice_ids) == sorted(a.apprentice_id for a in attempts)
    assert "Resumed after 7.0 minutes." in incident.notes
    # The report names the apprentices by candidate number, never by internal id.
    numbers = sorted(db.session.get(Booking, b.id).apprentice.candidate_number for b in room.bookings)
    csv_line = next(
        line
        for line in staff.get(f"{page}/report?format=csv").get_data(as_text=True).splitlines()
        if line.startswith("Whole room paused")
    )
    assert " ".join(numbers) in csv_line
    assert f"(apprentices {', '.join(numbers)})" in staff.get(f"{page}/report").get_data(as_text=True)


def test_an_invigilator_sees_only_their_own_sittings(app, room, st0663, make_user, login, clock, seat_apprentices):
    [attempt] = seat_apprentices(room, room.test_invigilator, 1)
    booking = room.bookings[0]
    other = make_user("invigilator")
    theirs = open_sitting(st0663, [other], clock.now())
    theirs.title = "Afternoon sitting"
    db.session.commit()

    staff = app.test_client()
    login(other, test_client=staff)
    home = staff.get("/invigilate/").get_data(as_text=True)
    assert "Afternoon sitting" in home and "Morning sitting" not in home
    assert staff.get(f"/invigilate/sittings/{theirs.id}").status_code == 200
    token = csrf_token_from(home)
    base = f"/invigilate/sittings/{room.id}"
    for url in (base, f"{base}/report", f"{base}/report?format=csv", f"{base}/bookings/{booking.id}/check-in"):
        assert staff.get(url).status_code == 404, url
    for url in (
        f"{base}/sign-in",
        f"{base}/pause-room",
        f"{base}/resume-room",
        f"{base}/close",
        f"{base}/venue",
        f"{base}/incidents",
        f"{base}/bookings/{booking.id}/absent",
        f"{base}/bookings/{booking.id}/allow-device",
        f"{base}/attempts/{attempt.id}/pause",
    ):
        assert staff.post(url, data={"csrf_token": token}).status_code == 404, url
    board = staff.get(f"/api/sittings/{room.id}/board")
    assert board.status_code == 404 and board.get_json()["error"] == "not_found"
    # Nothing happened to the other room.
    db.session.refresh(attempt)
    assert attempt.state == "in_progress" and db.session.get(type(room), room.id).room_paused_at is None


def invigilation_urls(app, sitting_id, booking_id, attempt_id):
    """Every URL of the invigilator's area and the board API, with real ids filled in."""
    values = {"sitting_id": sitting_id, "booking_id": booking_id, "attempt_id": attempt_id, "action": "pause"}
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("invigilator.") or rule.endpoint.startswith("api.sittings."):
            path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                urls.append((method, path))
    return urls


@pytest.mark.parametrize("role", ["apprentice", "marker"])
def test_apprentices_and_markers_get_403_on_every_invigilation_page(app, room, make_user, login, clock, seat_apprentices, role):
    [attempt] = seat_apprentices(room, room.test_invigilator, 1)
    urls = invigilation_urls(app, room.id, room.bookings[0].id, attempt.id)
    assert len(urls) >= 15
    assert ("GET", f"/api/sittings/{room.id}/board") in urls
    visitor = app.test_client()
    login(make_user(role), test_client=visitor)
    token = csrf_token_from(visitor.get("/", follow_redirects=True).get_data(as_text=True))  # their own home page
    for method, url in urls:
        response = visitor.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code == 403, (method, url, response.status_code)
        if url.startswith("/api/"):
            assert response.get_json()["error"] == "forbidden"
    db.session.refresh(attempt)
    assert attempt.state == "in_progress"
