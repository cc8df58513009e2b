"""The invigilator's room page: actions that stop or end a sitting are confirmed, incidents say what happened,
the board and the report speak in words, and a request to move to another computer can be approved in one click."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from testengine.extensions import db
from testengine.models import Attempt, Booking, Incident, Sitting
from tests.conftest import csrf_token_from


@pytest.fixture
def staff(app, room, login):
    """The room's invigilator, signed in; `staff.page` is the room page's URL."""
    client = app.test_client()
    assert login(room.test_invigilator, test_client=client).status_code == 302
    client.page = f"/invigilate/sittings/{room.id}"
    return client


def post(client, url, **fields):
    token = csrf_token_from(client.get(client.page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **fields})


def fresh(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({}, ["Reason for pausing the room: Give the reason", "Yes, stop every apprentice&#39;s clock now: Tick to confirm"]),
        ({"reason": "Fire alarm"}, ["Tick to confirm the whole room is paused."]),
        ({"reason": "   ", "confirm": "y"}, ["Give the reason (it is recorded in the incident log)."]),
    ],
)
def test_pausing_the_room_needs_a_reason_and_a_confirmation(room, staff, start_sitter, fields, errors):
    sitter = start_sitter()

    refused = post(staff, f"{staff.page}/pause-room", **fields)

    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    for error in errors:
        assert error in html
    assert fresh(Sitting, room.id).room_paused_at is None
    assert fresh(Attempt, sitter.attempt_id).state == "in_progress"
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 0


def test_a_confirmed_pause_stops_every_clock_and_records_its_reason(room, staff, start_sitter):
    sitter = start_sitter()

    paused = post(staff, f"{staff.page}/pause-room", reason="Fire alarm: evacuating to the car park", confirm="y")

    assert paused.status_code == 302
    assert fresh(Sitting, room.id).room_paused_at is not None
    assert fresh(Attempt, sitter.attempt_id).state == "paused"
    incident = db.session.scalar(select(Incident).where(Incident.sitting_id == room.id))
    assert (incident.kind, incident.notes) == ("room_pause", "Fire alarm: evacuating to the car park")
    # The apprentice's clock says it is stopped on its very next reply.
    assert sitter.client.get(f"{sitter.api}/clock").get_json()["clock"]["stopped"] is True


def test_closing_the_sitting_is_refused_without_the_confirmation(room, staff):
    refused = post(staff, f"{staff.page}/close")

    assert refused.status_code == 400
    assert "Tick to confirm that you want to close the sitting." in refused.get_data(as_text=True)
    assert fresh(Sitting, room.id).state == "open"

    closed = post(staff, f"{staff.page}/close", confirm="y")
    assert closed.status_code == 302 and closed.headers["Location"].endswith(f"{staff.page}/report")
    assert fresh(Sitting, room.id).state == "closed"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"kind": "illness", "notes": ""}, "Notes: Say what happened."),
        ({"kind": "illness", "notes": "  \n "}, "Notes: Say what happened."),
        ({"kind": "fire_alarm", "notes": "Alarm went off"}, "Type: Not a valid choice."),
        ({"notes": "No type chosen"}, "Type: "),
    ],
)
def test_an_incident_needs_a_type_from_the_policy_and_notes(room, staff, fields, error):
    refused = post(staff, f"{staff.page}/incidents", **fields)

    assert refused.status_code == 400
    assert error in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 0


def test_an_incident_with_notes_is_recorded(room, staff):
    recorded = post(staff, f"{staff.page}/incidents", kind="illness", notes="Felt faint at 10:05; water given.")

    assert recorded.status_code == 302
    incident = db.session.scalar(select(Incident).where(Incident.sitting_id == room.id))
    assert (incident.kind, incident.notes) == ("illness", "Felt faint at 10:05; water given.")


def test_the_service_refuses_an_incident_without_notes(room, clock):
    from testengine.services import sittings

    with pytest.raises(sittings.SittingError, match="Notes"):
        sittings.log_incident(room, kind="other", apprentice_ids=[], now=clock.now(), actor=room.test_invigilator, notes=" ")


def test_the_board_says_submitted_not_zero_minutes(room, staff, start_sitter, clock):
    done, sitting_still = start_sitter(), start_sitter()
    clock.advance(dt.timedelta(minutes=20))
    assert done.submit().status_code == 200

    rows = {row["attempt_id"]: row for row in staff.get(f"/api/sittings/{room.id}/board").get_json()["rows"]}

    assert rows[done.attempt_id]["time_left"] == "Submitted"
    assert rows[sitting_still.attempt_id]["time_left"] == "100 min"
    page = staff.get(staff.page).get_data(as_text=True)
    assert '<td class="remaining">Submitted</td>' in page
    assert '<td class="remaining">0 min</td>' not in page


def test_the_report_shows_words_not_stored_values(room, staff, start_sitter):
    done, _still_sitting = start_sitter(), start_sitter()
    assert done.submit().status_code == 200

    report = staff.get(f"{staff.page}/report").get_data(as_text=True)

    assert "(Submitted by the apprentice)" in report and "(In progress)" in report
    assert "Passport (any country)" in report  # the identity document, as the policy names it
    assert "Apprentice started:" in report  # the room timeline
    for raw in ("candidate</td>", "in_progress", "room_paused", ">passport<", "invigilator_in"):
        assert raw not in report


def test_labels_come_from_one_place_and_the_policy():
    from testengine.labels import VOCABULARIES, label

    assert label("in_progress", "attempt_state") == "In progress"
    assert label("candidate", "finish_reason") == "Submitted by the apprentice"
    assert label("in_progress", "finish_reason") == "In progress"
    assert label("room_pause", "incident_type") == "Whole room paused"
    assert label("driving_licence", "identity_document") == "UK photocard driving licence"
    assert label("something_new", "room_event") == "Something new"
    assert label(None, "attempt_state") == ""
    assert "booking_status" in VOCABULARIES
    with pytest.raises(KeyError):
        label("x", "no_such_vocabulary")


def test_a_request_from_a_new_computer_appears_on_the_board_and_is_approved_in_one_click(app, room, staff, start_sitter, login):
    sitter = start_sitter()
    booking_id = db.session.scalar(select(Booking.id).where(Booking.apprentice_id == sitter.user.apprentice.id))
    # The apprentice's computer fails; on another one (no device cookie) the test is not opened but asked for.
    other_computer = app.test_client()
    login(sitter.user, test_client=other_computer)
    asked = other_computer.get(f"/apprentice/attempts/{sitter.attempt_id}")
    assert asked.status_code == 403
    assert "Your request has been sent to the invigilator" in asked.get_data(as_text=True)
    assert other_computer.get(f"/apprentice/attempts/{sitter.attempt_id}").status_code == 403  # asking twice: one request

    [row] = staff.get(f"/api/sittings/{room.id}/board").get_json()["rows"]
    assert row["device_request"] == "waiting"
    assert row["warnings"] == ["Asks to continue on another computer"]
    page = staff.get(staff.page).get_data(as_text=True)
    approve_url = f"{staff.page}/bookings/{booking_id}/allow-device"
    assert f'action="{approve_url}"' in page and "Approve the new computer" in page

    # The approval is a form POST with its CSRF token; without the token nothing changes.
    assert staff.post(approve_url).status_code == 400
    assert fresh(Booking, booking_id).device_change_allowed is False
    assert post(staff, approve_url).status_code == 302
    assert fresh(Booking, booking_id).device_change_allowed is True
    [row] = staff.get(f"/api/sittings/{room.id}/board").get_json()["rows"]
    assert row["device_request"] == "allowed" and row["warnings"] == []

    # The apprentice tries again on the new computer: the test opens there, and the request is done.
    assert other_computer.get(f"/apprentice/attempts/{sitter.attempt_id}").status_code == 200
    [row] = staff.get(f"/api/sittings/{room.id}/board").get_json()["rows"]
    assert row["device_request"] == "" and "Asks to continue on another computer" not in row["warnings"]
    assert fresh(Booking, booking_id).device_change_allowed is False
