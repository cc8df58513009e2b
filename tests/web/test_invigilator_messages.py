"""The invigilator's messages: to one apprentice or the room, through a CSRF-checked form; refused input
names its field and sends nothing; each reaches only its apprentices' clock poll and stays in the report."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from testengine.extensions import db
from testengine.models import Attempt, InvigilatorMessage
from tests.conftest import csrf_token_from


@pytest.fixture
def staff(app, room, login):
    client = app.test_client()
    assert login(room.test_invigilator, test_client=client).status_code == 302
    client.page = f"/invigilate/sittings/{room.id}"
    return client


def send(client, **fields):
    token = csrf_token_from(client.get(client.page).get_data(as_text=True))
    return client.post(f"{client.page}/messages", data={"csrf_token": token, **fields})


def polled(sitter, after=0):
    response = sitter.client.get(f"/api/attempts/{sitter.attempt_id}/clock?messages_after={after}")
    assert response.status_code == 200
    return [(m["body"], m["to_room"]) for m in response.get_json()["messages"]], response.get_json()["messages"]


def test_a_message_reaches_its_apprentice_or_the_whole_room_and_the_report_keeps_it(room, staff, start_sitter):
    alex, sam = start_sitter(), start_sitter()
    sam_apprentice = db.session.get(Attempt, sam.attempt_id).apprentice_id
    assert polled(alex)[0] == []

    assert send(staff, recipient="room", body="Ten minutes until the fire drill: stay seated.").status_code == 302
    assert send(staff, recipient=str(sam_apprentice), body="Sam, please raise your hand.").status_code == 302

    assert polled(alex)[0] == [("Ten minutes until the fire drill: stay seated.", True)]
    shown, raw = polled(sam)
    assert shown == [("Ten minutes until the fire drill: stay seated.", True), ("Sam, please raise your hand.", False)]
    assert polled(sam, after=raw[0]["id"])[0] == [("Sam, please raise your hand.", False)]
    assert polled(sam, after=raw[1]["id"])[0] == []

    report = staff.get(f"/invigilate/sittings/{room.id}/report").get_data(as_text=True)
    assert "to Whole room" in report and "Ten minutes until the fire drill: stay seated." in report
    assert "Sam, please raise your hand." in report
    exported = staff.get(f"/invigilate/sittings/{room.id}/report?format=csv").get_data(as_text=True)
    assert "Ten minutes until the fire drill: stay seated." in exported and "Sam, please raise your hand." in exported
    pdf = staff.get(f"/invigilate/sittings/{room.id}/report?format=pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Messages to apprentices" in text and "Sam, please raise your hand." in " ".join(text.split())


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"recipient": "room", "body": ""}, "Message: Write the message."),
        ({"recipient": "room", "body": "   "}, "Message: Write the message."),
        ({"recipient": "room", "body": "x" * 501}, "Message: Keep the message to 500 characters."),
        ({"recipient": "999999", "body": "Hello"}, "Send to: Not a valid choice"),
        ({"body": "Hello"}, "Send to: "),
    ],
)
def test_a_refused_message_names_its_field_and_sends_nothing(room, staff, start_sitter, fields, error):
    start_sitter()
    refused = send(staff, **fields)
    assert refused.status_code == 400
    assert error in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(InvigilatorMessage)) == 0


def test_sending_needs_the_csrf_token_and_the_invigilator_role(app, room, staff, start_sitter, login, make_user):
    sitter = start_sitter()
    assert staff.post(f"{staff.page}/messages", data={"recipient": "room", "body": "No token"}).status_code == 400
    # The apprentice cannot send one (403), nor can an invigilator of another room (404).
    home = sitter.client.get("/apprentice/").get_data(as_text=True)
    assert (
        sitter.client.post(
            f"{staff.page}/messages", data={"csrf_token": csrf_token_from(home), "recipient": "room", "body": "Hi"}
        ).status_code
        == 403
    )
    other = app.test_client()
    login(make_user("invigilator"), test_client=other)
    token = csrf_token_from(other.get("/invigilate/").get_data(as_text=True))
    assert other.post(f"{staff.page}/messages", data={"csrf_token": token, "recipient": "room", "body": "Hi"}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(InvigilatorMessage)) == 0
