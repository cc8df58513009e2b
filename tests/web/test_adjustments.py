"""Reasonable adjustments: recorded as evidence, applied to the clock, changed mid-test only with an audit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from testengine.extensions import db
from testengine.models import Attempt, AuditEntry
from tests.conftest import csrf_token_from


def test_admin_records_an_adjustment_with_its_evidence(client, login_as, make_user):
    login_as("admin")
    apprentice = make_user("apprentice").apprentice
    page = client.get(f"/admin/apprentices/{apprentice.id}/adjustments")
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post(f"/admin/apprentices/{apprentice.id}/adjustments", data={
        "csrf_token": token, "kind": "extra_time", "extra_percent": "25", "extra_minutes": "0",
        "reason": "Specialist dyslexia assessment seen", "approval_reference": "RA-7", "approved_by": "Head of Quality"})
    assert response.status_code == 302
    db.session.refresh(apprentice)
    assert [(a.kind, a.extra_percent, a.approval_reference) for a in apprentice.adjustments] == [("extra_time", 25, "RA-7")]
    missing = client.post(f"/admin/apprentices/{apprentice.id}/adjustments", data={"csrf_token": token, "kind": "extra_time", "reason": "x", "approval_reference": "R", "approved_by": "A"})
    assert "Extra time needs a percentage" in missing.get_data(as_text=True)


def test_changing_extra_time_mid_test_is_audited_and_never_into_the_past(app, client, login_as, start_sitter, clock):
    sitter = start_sitter()
    attempt = db.session.get(Attempt, sitter.attempt_id)
    login_as("admin")
    page = client.get(f"/admin/apprentices/{attempt.apprentice_id}/adjustments")
    token = csrf_token_from(page.get_data(as_text=True))
    prefix = f"a{attempt.id}-"
    response = client.post(f"/admin/attempts/{attempt.id}/extra-time", data={f"{prefix}csrf_token": token, f"{prefix}extra_percent": "25", f"{prefix}extra_minutes": "0", f"{prefix}reason": "Late evidence accepted"})
    assert response.status_code == 302
    assert sitter.status().get_json()["clock"]["remaining_seconds"] == 150 * 60
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "attempt.extra_time"))
    assert entry.before == {"extra_percent": 0, "extra_minutes": 0} and entry.after["extra_percent"] == 25 and entry.reason == "Late evidence accepted"
    # 140 minutes in, cutting back to no extra time would put the deadline in the past: refused.
    clock.advance(dt.timedelta(minutes=140))
    response = client.post(f"/admin/attempts/{attempt.id}/extra-time", data={f"{prefix}csrf_token": token, f"{prefix}extra_percent": "0", f"{prefix}extra_minutes": "0", f"{prefix}reason": "Mistake"}, follow_redirects=True)
    assert "past" in response.get_data(as_text=True)
    db.session.refresh(attempt)
    assert attempt.extra_percent == 25
