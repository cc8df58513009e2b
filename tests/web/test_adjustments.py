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
    response = client.post(
        f"/admin/apprentices/{apprentice.id}/adjustments",
        data={
            "csrf_token": token,
            "kind": "extra_time",
            "extra_percent": "25",
            "extra_minutes": "0",
            "reason": "Specialist dyslexia assessment seen",
            "approval_reference": "RA-7",
            "approved_by": "Head of Quality",
        },
    )
    assert response.status_code == 302
    db.session.refresh(apprentice)
    assert [(a.kind, a.extra_percent, a.approval_reference) for a in apprentice.adjustments] == [("extra_time", 25, "RA-7")]
    missing = client.post(
        f"/admin/apprentices/{apprentice.id}/adjustments",
        data={"csrf_token": token, "kind": "extra_time", "reason": "x", "approval_reference": "R", "approved_by": "A"},
    )
    assert "Extra time needs a percentage" in missing.get_data(as_text=True)


def test_changing_extra_time_mid_test_is_audited_and_never_into_the_past(app, client, login_as, start_sitter, clock):
    sitter = start_sitter()
    attempt = db.session.get(Attempt, sitter.attempt_id)
    login_as("admin")
    page = client.get(f"/admin/apprentices/{attempt.apprentice_id}/adjustments")
    token = csrf_token_from(page.get_data(as_text=True))
    prefix = f"a{attempt.id}-"
    response = client.post(
        f"/admin/attempts/{attempt.id}/extra-time",
        data={
            f"{prefix}csrf_token": token,
            f"{prefix}extra_percent": "25",
            f"{prefix}extra_minutes": "0",
            f"{prefix}reason": "Late evidence accepted",
        },
    )
    assert response.status_code == 302
    assert sitter.status().get_json()["clock"]["remaining_seconds"] == 150 * 60
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "attempt.extra_time"))
    assert (
        entry.before == {"extra_percent": 0, "extra_minutes": 0}
        and entry.after["extra_percent"] == 25
        and entry.reason == "Late evidence accepted"
    )
    # 140 minutes in, cutting back to no extra time would put the deadline in the past: refused.
    clock.advance(dt.timedelta(minutes=140))
    response = client.post(
        f"/admin/attempts/{attempt.id}/extra-time",
        data={
            f"{prefix}csrf_token": token,
            f"{prefix}extra_percent": "0",
            f"{prefix}extra_minutes": "0",
            f"{prefix}reason": "Mistake",
        },
        follow_redirects=True,
    )
    assert "past" in response.get_data(as_text=True)
    db.session.refresh(attempt)
    assert attempt.extra_percent == 25


# --- removing an adjustment ----------------------------------------------------------------------


def _extra_time(apprentice, clock, percent=25, reference="RA-9"):
    from testengine.services.adjustments import add_adjustment

    adjustment = add_adjustment(
        apprentice,
        kind="extra_time",
        extra_percent=percent,
        extra_minutes=0,
        reason="Assessment report seen",
        approval_reference=reference,
        approved_by="Head of Quality",
        expires_on=None,
        now=clock.now(),
        actor=None,
    )
    db.session.commit()
    return adjustment


def _remove(client, adjustment, **data):
    page = client.get(f"/admin/apprentices/{adjustment.apprentice_id}/adjustments")
    token = csrf_token_from(page.get_data(as_text=True))
    prefix = f"r{adjustment.id}-"
    return client.post(
        f"/admin/adjustments/{adjustment.id}/remove",
        data={f"{prefix}csrf_token": token, **{f"{prefix}{k}": v for k, v in data.items()}},
    )


def test_removing_an_adjustment_needs_a_reason_and_confirmation_and_is_audited(client, login_as, make_user, clock):
    admin = login_as("admin")
    apprentice = make_user("apprentice").apprentice
    adjustment = _extra_time(apprentice, clock)
    page = client.get(f"/admin/apprentices/{apprentice.id}/adjustments").get_data(as_text=True)
    assert "Remove extra time (RA-9)" in page
    no_reason = _remove(client, adjustment, confirm="y")
    assert no_reason.status_code == 400 and "Give the reason for removing this adjustment." in no_reason.get_data(as_text=True)
    unconfirmed = _remove(client, adjustment, reason="Entered against the wrong apprentice")
    assert unconfirmed.status_code == 400 and "Tick the box to confirm the removal." in unconfirmed.get_data(as_text=True)
    db.session.refresh(adjustment)
    assert adjustment.revoked_at is None
    assert _remove(client, adjustment, reason="Entered against the wrong apprentice", confirm="y").status_code == 302
    db.session.refresh(adjustment)
    assert adjustment.revoked_at == clock.now() and not adjustment.in_force(clock.now().date())
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "adjustment.remove"))
    assert (entry.actor_id, entry.reason, entry.before["reference"]) == (admin.id, "Entered against the wrong apprentice", "RA-9")
    assert "removed" in client.get(f"/admin/apprentices/{apprentice.id}/adjustments").get_data(as_text=True)
    again = _remove(client, adjustment, reason="twice", confirm="y")
    assert again.status_code == 400


def test_removing_extra_time_shortens_a_running_test_but_never_into_the_past(
    app, client, login_as, make_user, start_sitter, clock
):
    user = make_user("apprentice")
    adjustment = _extra_time(user.apprentice, clock, percent=50)
    sitter = start_sitter(user)
    attempt = db.session.get(Attempt, sitter.attempt_id)
    assert attempt.extra_percent == 50
    login_as("admin")
    # 130 minutes in: without the adjustment the 120-minute test would have ended already. Refused.
    clock.advance(dt.timedelta(minutes=130))
    refused = _remove(client, adjustment, reason="Evidence withdrawn", confirm="y")
    assert refused.status_code == 400 and "past" in refused.get_data(as_text=True)
    db.session.refresh(adjustment)
    db.session.refresh(attempt)
    assert adjustment.revoked_at is None and attempt.extra_percent == 50
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "adjustment.remove")) is None


def test_removing_extra_time_early_in_a_test_takes_it_off_that_test_too(app, client, login_as, make_user, start_sitter, clock):
    user = make_user("apprentice")
    adjustment = _extra_time(user.apprentice, clock, percent=50)
    sitter = start_sitter(user)
    login_as("admin")
    clock.advance(dt.timedelta(minutes=10))
    assert _remove(client, adjustment, reason="Evidence withdrawn", confirm="y").status_code == 302
    attempt = db.session.get(Attempt, sitter.attempt_id)
    db.session.refresh(attempt)
    assert (attempt.extra_percent, attempt.extra_minutes) == (0, 0)
    assert sitter.status().get_json()["clock"]["remaining_seconds"] == 110 * 60
    change = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "attempt.extra_time"))
    assert change.reason.startswith("adjustment RA-9 removed: Evidence withdrawn")


def test_only_admins_remove_adjustments(app, login, make_user, clock):
    adjustment = _extra_time(make_user("apprentice").apprentice, clock)
    for role in ("marker", "reviewer", "invigilator"):
        browser = app.test_client()
        login(make_user(role), test_client=browser)
        token = csrf_token_from(browser.get("/account/password").get_data(as_text=True))
        response = browser.post(
            f"/admin/adjustments/{adjustment.id}/remove",
            data={f"r{adjustment.id}-csrf_token": token, f"r{adjustment.id}-reason": "x", f"r{adjustment.id}-confirm": "y"},
        )
        assert response.status_code == 403
    db.session.refresh(adjustment)
    assert adjustment.revoked_at is None
