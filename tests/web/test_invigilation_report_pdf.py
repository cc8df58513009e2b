"""The invigilation report as PDF: the font is embedded, times are local with their zone, and each incident
names the apprentices involved."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from testengine.config import ConfigError, load_settings
from testengine.extensions import db
from testengine.services import sittings
from tests.factories import book_and_check_in, open_sitting

UTC = dt.UTC


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


@pytest.fixture
def summer_room(app, st0663, make_user, clock):
    """A sitting on a July morning (British Summer Time), with two apprentices and two incidents."""
    clock.freeze(dt.datetime(2026, 7, 3, 8, 30, tzinfo=UTC))
    invigilator = make_user("invigilator")
    room = open_sitting(st0663, [invigilator], clock.now())
    welsh, polish = make_user("apprentice", name="Dafydd Dŵr-Ŷnys"), make_user("apprentice", name="Łucja Żak")
    for user in (welsh, polish):
        book_and_check_in(room, user, invigilator, clock.now())
    clock.advance(dt.timedelta(minutes=35))
    sittings.log_incident(
        room,
        kind="illness",
        apprentice_ids=[welsh.apprentice.id, polish.apprentice.id],
        now=clock.now(),
        actor=invigilator,
        notes="Both felt faint 🤒 after the fire drill; water given.",
    )
    sittings.log_incident(
        room,
        kind="technical_fault",
        apprentice_ids=[],
        now=clock.now() + dt.timedelta(minutes=5),
        actor=invigilator,
        notes="Projector flicker",
    )
    db.session.commit()
    return room, invigilator, welsh, polish


def test_the_report_pdf_lists_incident_apprentices_and_local_times(app, client, login, summer_room):
    room, invigilator, welsh, polish = summer_room
    login(invigilator)
    response = client.get(f"/invigilate/sittings/{room.id}/report?format=pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _text(response.data)
    assert "Invigilation report" in text and "Morning sitting" in text
    assert "3 July 2026, 10:05:00 BST" in text  # the incident at 09:05 UTC is 10:05 in London in July
    assert "UTC" not in text and "T09:" not in text  # no raw ISO times
    assert "Times shown in Europe/London" in text
    for user in (welsh, polish):
        assert f"{user.apprentice.candidate_number} {user.apprentice.full_name}" in text
    assert "Dafydd Dŵr-Ŷnys" in text and "Łucja Żak" in text
    assert "Both felt faint □ after the fire drill; water given." in text
    assert "Technical fault The whole room Projector flicker" in text
    assert "_" not in text  # no raw values (in_progress, checked_in, technical_fault)


def test_the_display_time_zone_is_a_setting_checked_at_start_up(tmp_path):
    settings = load_settings(
        tmp_path, {"TESTENGINE_DISPLAY_TIMEZONE": "America/New_York", "TESTENGINE_SECRET_KEY": "x" * 32}, None
    )
    assert ZoneInfo(settings["DISPLAY_TIMEZONE"]).key == "America/New_York"
    assert load_settings(tmp_path, {"TESTENGINE_SECRET_KEY": "x" * 32}, None)["DISPLAY_TIMEZONE"] == "Europe/London"
    with pytest.raises(ConfigError, match="TESTENGINE_DISPLAY_TIMEZONE='Mars/Olympus'"):
        load_settings(tmp_path, {"TESTENGINE_DISPLAY_TIMEZONE": "Mars/Olympus", "TESTENGINE_SECRET_KEY": "x" * 32}, None)
