"""The apprentice's side: "are you ready?" before the clock starts, and the test reopening at the question they were on."""

from __future__ import annotations

from sqlalchemy import select

from testengine.extensions import db
from testengine.models import Attempt, Booking
from tests.factories import Sitter, book_and_check_in, csrf_of


def put_position(sitter, position, token=None):
    return sitter.client.put(
        f"{sitter.api}/position", json={"position": position, "client_token": token or sitter.token}, headers=sitter.headers()
    )


def stored_position(attempt_id):
    db.session.expire_all()
    return db.session.get(Attempt, attempt_id).current_position


def test_start_asks_whether_the_apprentice_is_ready_and_starts_nothing(app, room, make_user, login, clock):
    user = make_user("apprentice")
    booking = book_and_check_in(room, user, room.test_invigilator, clock.now())
    browser = app.test_client()
    login(user, test_client=browser)
    home = browser.get("/apprentice/").get_data(as_text=True)
    assert f'<form method="get" action="/apprentice/bookings/{booking.id}/start">' in home

    ready = browser.get(f"/apprentice/bookings/{booking.id}/start")

    assert ready.status_code == 200
    html = ready.get_data(as_text=True)
    assert "<h1>Are you ready to start?</h1>" in html
    assert "40 questions." in html and "You have 120 minutes." in html
    assert 'href="/apprentice/"' in html and ">Start now</button>" in html
    assert db.session.scalar(select(Attempt.state).where(Attempt.apprentice_id == user.apprentice.id)) is None  # nothing started

    started = browser.post(f"/apprentice/bookings/{booking.id}/start", data={"csrf_token": csrf_of(html)})
    assert started.status_code == 302 and "/apprentice/attempts/" in started.headers["Location"]
    # Once started, the "ready?" page sends the apprentice back to their test.
    again = browser.get(f"/apprentice/bookings/{booking.id}/start")
    assert again.status_code == 302 and again.headers["Location"] == started.headers["Location"]


def test_the_test_reopens_at_the_question_the_apprentice_was_on(start_sitter):
    sitter = start_sitter()
    assert sitter.status().get_json()["position"] == 1

    assert put_position(sitter, 17).get_json() == {"position": 17}
    assert stored_position(sitter.attempt_id) == 17

    # A reload: the page is opened again (a new browser token) and asks where to begin.
    reloaded = Sitter(sitter.client, sitter.attempt_id)
    assert reloaded.status().get_json()["position"] == 17
    assert put_position(reloaded, 3).status_code == 200
    assert reloaded.status().get_json()["position"] == 3


def test_only_the_window_holding_the_test_moves_the_position_and_only_to_a_question_on_the_paper(start_sitter):
    sitter = start_sitter()
    put_position(sitter, 5)
    newer = Sitter(sitter.client, sitter.attempt_id)  # a second window takes the test over

    stale = put_position(sitter, 9)
    assert stale.status_code == 409 and stale.get_json()["error"] == "superseded"
    missing = put_position(newer, 41)
    assert missing.status_code == 404 and missing.get_json()["error"] == "no_such_question"
    invalid = put_position(newer, 0)
    assert invalid.status_code == 400 and invalid.get_json()["field"] == "position"
    no_csrf = newer.client.put(f"{newer.api}/position", json={"position": 2, "client_token": newer.token})
    assert no_csrf.status_code == 400
    assert stored_position(sitter.attempt_id) == 5


def test_a_submitted_test_keeps_its_last_position(start_sitter):
    sitter = start_sitter()
    put_position(sitter, 12)
    assert sitter.submit().status_code == 200

    refused = put_position(sitter, 2)

    assert refused.status_code == 409 and refused.get_json()["error"] == "already_submitted"
    assert stored_position(sitter.attempt_id) == 12


def test_someone_elses_attempt_position_is_not_found(start_sitter):
    mine, theirs = start_sitter(), start_sitter()
    response = mine.client.put(
        f"/api/attempts/{theirs.attempt_id}/position", json={"position": 2, "client_token": mine.token}, headers=mine.headers()
    )
    assert response.status_code == 404
    assert stored_position(theirs.attempt_id) is None


def test_a_booking_of_someone_else_has_no_ready_page(app, room, make_user, login, clock):
    owner, other = make_user("apprentice"), make_user("apprentice")
    book_and_check_in(room, owner, room.test_invigilator, clock.now())
    booking_id = db.session.scalar(select(Booking.id).where(Booking.apprentice_id == owner.apprentice.id))
    browser = app.test_client()
    login(other, test_client=browser)
    assert browser.get(f"/apprentice/bookings/{booking_id}/start").status_code == 404
