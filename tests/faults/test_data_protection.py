"""Data protection: pseudonymisation after the retention period, and the subject access export."""

from __future__ import annotations

import datetime as dt
import json
import stat

from sqlalchemy import func, select

from testengine.extensions import db
from testengine.models import (
    Adjustment,
    Answer,
    Apprentice,
    Attempt,
    AuditEntry,
    Booking,
    Incident,
    Mark,
    MethodResult,
    User,
)
from testengine.services import data_protection
from tests.conftest import PASSWORD, csrf_token_from
from tests.faults.conftest import release_results

RETENTION = 2190  # the default TESTENGINE_RETENTION_DAYS


def _cli(app, *args):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["data", *args])


def _snapshot(attempt_id: int) -> dict[str, object]:
    """What pseudonymisation must keep: answers, marks, the attempt's timings and totals."""
    attempt = db.session.get(Attempt, attempt_id)
    db.session.refresh(attempt)
    return {
        "answers": sorted(
            db.session.execute(
                select(Answer.attempt_question_id, Answer.response, Answer.revision).where(Answer.attempt_id == attempt_id)
            ).all()
        ),
        "marks": sorted(
            db.session.execute(select(Mark.attempt_question_id, Mark.role, Mark.mark).where(Mark.attempt_id == attempt_id)).all()
        ),
        "attempt": (
            attempt.state,
            attempt.started_at,
            attempt.submitted_at,
            attempt.deadline_at,
            attempt.marking_state,
            attempt.total_marks,
        ),
        "results": sorted(
            db.session.execute(
                select(MethodResult.method_key, MethodResult.grade, MethodResult.marks).where(
                    MethodResult.apprentice_id == attempt.apprentice_id
                )
            ).all()
        ),
    }


def test_nobody_is_due_before_the_retention_period_ends(app, clock, finish_apprentice):
    finished = finish_apprentice()
    clock.advance(dt.timedelta(hours=3))  # the sitting's window has ended; the results are released after it
    release_results(finished.apprentice.id, clock.now())
    clock.advance(dt.timedelta(days=RETENTION - 1))
    assert data_protection.due_for_pseudonymisation(clock.now(), RETENTION) == []
    clock.advance(dt.timedelta(days=1))
    due = data_protection.due_for_pseudonymisation(clock.now(), RETENTION)
    assert [row.candidate_number for row in due] == [finished.apprentice.candidate_number]


def test_dry_run_lists_who_would_be_affected_and_changes_nothing(app, clock, finish_apprentice):
    finished = finish_apprentice("Ann Lee")
    release_results(finished.apprentice.id, clock.now())
    audit_before = db.session.scalar(select(func.count(AuditEntry.id)))
    clock.advance(dt.timedelta(days=RETENTION + 1))
    result = _cli(app, "retention", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"{finished.apprentice.candidate_number}\tAnn Lee" in result.output
    assert "1 apprentice(s) would be pseudonymised" in result.output
    db.session.expire_all()
    apprentice = db.session.get(Apprentice, finished.apprentice.id)
    assert (apprentice.given_name, apprentice.family_name, apprentice.pseudonymised_at) == ("Ann", "Lee", None)
    assert apprentice.uln is not None and apprentice.user.active
    assert db.session.scalar(select(func.count(AuditEntry.id))) == audit_before


def test_retention_replaces_identity_and_keeps_answers_marks_and_grades(app, client, clock, finish_apprentice, room):
    finished = finish_apprentice("Ann Lee", short_answer="I would refer it to the safeguarding lead.")
    other = finish_apprentice("Bob Stone")
    release_results(finished.apprentice.id, clock.now())
    release_results(other.apprentice.id, clock.now() + dt.timedelta(days=400))  # released later: not due yet
    old_email, old_uln, user_id = finished.user.email, finished.apprentice.uln, finished.user.id
    kept = _snapshot(finished.attempt_id)
    kept_other = _snapshot(other.attempt_id)

    clock.advance(dt.timedelta(days=RETENTION + 1))
    result = _cli(app, "retention")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{finished.apprentice.candidate_number}\tpseudonymised",
        f"1 apprentice(s) pseudonymised (retention {RETENTION} days).",
    ]

    db.session.expire_all()
    apprentice = db.session.get(Apprentice, finished.apprentice.id)
    user = db.session.get(User, user_id)
    number = apprentice.candidate_number
    assert (apprentice.given_name, apprentice.family_name, apprentice.uln) == ("Candidate", number, None)
    assert apprentice.pseudonymised_at == clock.now()
    assert not user.active and user.email != old_email and "Ann" not in user.display_name and "Lee" not in user.display_name
    assert db.session.scalar(select(User.id).where(User.email == old_email)) is None
    assert db.session.scalar(select(Apprentice.id).where(Apprentice.uln == old_uln)) is None
    # Identity details, health reasons, the device cookie, and the name in the invigilator's note.
    assert all(
        a.reason == data_protection.REMOVED_REASON
        for a in db.session.scalars(select(Adjustment).where(Adjustment.apprentice_id == apprentice.id))
    )
    assert db.session.scalar(select(Adjustment.approval_reference).where(Adjustment.apprentice_id == apprentice.id)) == "RA-77"
    booking = db.session.scalar(select(Booking).where(Booking.apprentice_id == apprentice.id))
    assert booking.id_last_digits is None and booking.checked_in_at is not None
    assert db.session.get(Attempt, finished.attempt_id).device_id is None
    notes = [i.notes for i in db.session.scalars(select(Incident)) if apprentice.id in i.apprentice_ids]
    assert notes == [
        f"[candidate {number}] felt unwell at 10:05; ULN [candidate {number}] checked. [candidate {number}] carried on."
    ]
    other_notes = [i.notes for i in db.session.scalars(select(Incident)) if other.apprentice.id in i.apprentice_ids]
    assert any("Bob Stone felt unwell" in note for note in other_notes)

    # The assessment record is untouched, for them and for everyone else.
    assert _snapshot(finished.attempt_id) == kept
    assert _snapshot(other.attempt_id) == kept_other
    assert db.session.get(Apprentice, other.apprentice.id).family_name == "Stone"

    # Audited, without repeating what was removed.
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "apprentice.pseudonymise"))
    assert entry.object_id == str(apprentice.id) and entry.actor_label == "system"
    assert entry.after["candidate_number"] == number and entry.after["incident_notes_redacted"] == 1
    text = json.dumps([entry.after, entry.before, entry.reason])
    assert "Ann" not in text and old_uln not in text and old_email not in text

    # The account can no longer sign in, by the old email or the candidate number.
    for identifier in (old_email, number):
        page = client.get("/login")
        response = client.post(
            "/login",
            data={"identifier": identifier, "password": PASSWORD, "csrf_token": csrf_token_from(page.get_data(as_text=True))},
        )
        assert response.status_code == 401

    # Running it again finds nobody new.
    again = _cli(app, "retention")
    assert again.output.strip().endswith("0 apprentice(s) pseudonymised (retention 2190 days).")
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "apprentice.pseudonymise")) == 1


def test_an_open_attempt_or_an_unreleased_result_holds_the_record(app, clock, finish_apprentice, start_sitter, make_user, st0663):
    finished = finish_apprentice("Ann Lee")
    release_results(finished.apprentice.id, clock.now())
    waiting = finish_apprentice("Cy Pending")
    db.session.add(
        MethodResult(
            apprentice_id=waiting.apprentice.id,
            standard_id=st0663.id,
            method_key="observation",
            grade="pass",
            achieved_grade="pass",
            assessed_on=clock.now().date(),
            assessor="An Assessor",
            recorded_at=clock.now(),
            status="signed_off",
            current=True,
        )
    )
    db.session.commit()
    sitting_now = start_sitter(make_user("apprentice", name="Dee Sitting"))  # never submitted, never swept
    clock.advance(dt.timedelta(days=RETENTION + 30))
    due = {row.apprentice_id for row in data_protection.due_for_pseudonymisation(clock.now(), RETENTION)}
    assert due == {finished.apprentice.id}
    assert sitting_now.attempt_id and waiting.apprentice.id not in due


def test_an_apprentice_who_is_also_staff_keeps_their_account(app, clock, finish_apprentice):
    from testengine.services.accounts import set_roles

    finished = finish_apprentice("Ann Lee")
    set_roles(finished.user, ["apprentice", "invigilator"], actor=None)
    db.session.commit()
    clock.advance(dt.timedelta(hours=3))
    release_results(finished.apprentice.id, clock.now())
    email = finished.user.email
    clock.advance(dt.timedelta(days=RETENTION + 1))
    assert _cli(app, "retention").exit_code == 0
    db.session.expire_all()
    user = db.session.get(User, finished.user.id)
    assert user.active and user.email == email
    assert (user.apprentice.family_name, user.apprentice.uln) == (user.apprentice.candidate_number, None)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "apprentice.pseudonymise"))
    assert entry.after["account"] == "kept (staff roles)"


def test_a_failed_retention_run_changes_nobody(app, clock, finish_apprentice, monkeypatch):
    first = finish_apprentice("Ann Lee")
    second = finish_apprentice("Bob Stone")
    for finished in (first, second):
        release_results(finished.apprentice.id, clock.now())
    clock.advance(dt.timedelta(days=RETENTION + 1))
    real = data_protection.audit.record

    def failing(actor, action, obj=None, **kwargs):  # type: ignore[no-untyped-def]
        if action == "apprentice.pseudonymise" and obj.id == second.apprentice.id:
            raise RuntimeError("disk full")
        return real(actor, action, obj, **kwargs)

    monkeypatch.setattr(data_protection.audit, "record", failing)
    result = _cli(app, "retention")
    assert result.exit_code != 0
    db.session.rollback()
    names = {(a.given_name, a.family_name) for a in db.session.scalars(select(Apprentice))}
    assert {("Ann", "Lee"), ("Bob", "Stone")} <= names
    assert db.session.scalar(select(func.count(Apprentice.id)).where(Apprentice.pseudonymised_at.is_not(None))) == 0


def test_subject_access_export_has_the_record_but_not_the_answers(app, clock, finish_apprentice, tmp_path):
    finished = finish_apprentice("Ann Lee", short_answer="Refer to the designated safeguarding lead at once.")
    other = finish_apprentice("Bob Stone")
    path = tmp_path / "sar.json"
    result = _cli(app, "export", "--candidate", finished.apprentice.uln, str(path))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_text()
    data = json.loads(raw)

    assert data["account"]["email"] == finished.user.email and data["account"]["roles"] == ["apprentice"]
    assert data["apprentice"]["uln"] == finished.apprentice.uln and data["apprentice"]["family_name"] == "Lee"
    assert "Schedule 2" in data["exemptions"][0] and "paragraph 25" in data["exemptions"][0]
    assert [a["kind"] for a in data["adjustments"]] == ["extra_time"] and "Dyslexia" in data["adjustments"][0]["reason"]
    assert len(data["bookings"]) == 1 and data["bookings"][0]["status"] == "checked_in"
    (attempt,) = data["attempts"]
    db_attempt = db.session.get(Attempt, finished.attempt_id)
    assert attempt["id"] == finished.attempt_id and attempt["state"] == "submitted"
    assert (
        attempt["started_at"] == db_attempt.started_at.isoformat()
        and attempt["submitted_at"] == db_attempt.submitted_at.isoformat()
    )
    assert attempt["extra_percent"] == 25 and len(attempt["questions"]) == 40
    marked = {q["position"]: q["marks"] for q in attempt["questions"]}
    for position in list(finished.answers)[:3]:  # the three correct MCQs: an automatic 1 each
        assert [m["mark"] for m in marked[position]] == [1]
    assert sum(q["answered"] for q in attempt["questions"]) == len(finished.answers)
    assert attempt["answers"].startswith("withheld")
    assert "safeguarding lead" not in raw  # the answer itself is withheld
    assert len(data["incidents"]) == 1 and "Ann Lee felt unwell" in data["incidents"][0]["notes"]
    actions = {entry["action"] for entry in data["audit"]}
    assert {
        "user.create",
        "adjustment.add",
        "sitting.book",
        "booking.check_in",
        "paper.issue",
        "attempt.start",
        "attempt.submit",
        "incident.log",
    } <= actions
    assert all(entry["by"] in {"you", "staff", "system"} for entry in data["audit"])
    # Nothing about the other apprentice, and no staff email.
    assert "Bob" not in raw and other.user.email not in raw and other.apprentice.uln not in raw
    assert "invigilator" not in raw.lower().replace("invigilators", "")
    # The export itself is recorded.
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "apprentice.subject_access_export"))
    assert entry is not None and entry.object_id == str(finished.apprentice.id)


def test_export_to_stdout_after_pseudonymisation_by_candidate_number(app, clock, finish_apprentice):
    finished = finish_apprentice("Ann Lee")
    release_results(finished.apprentice.id, clock.now())
    number, uln = finished.apprentice.candidate_number, finished.apprentice.uln
    clock.advance(dt.timedelta(days=RETENTION + 1))
    assert _cli(app, "retention").exit_code == 0
    gone = _cli(app, "export", "--candidate", uln)
    assert gone.exit_code == 2 and "No apprentice" in gone.output
    result = _cli(app, "export", "--candidate", number.lower())
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["apprentice"]["uln"] is None and data["apprentice"]["pseudonymised_at"]
    assert "Ann" not in json.dumps([data["apprentice"], data["account"], data["incidents"], data["adjustments"]])
    assert "apprentice.pseudonymise" in {entry["action"] for entry in data["audit"]}


def test_retention_shows_progress_on_a_terminal_and_nothing_else_changes(app, clock, finish_apprentice, monkeypatch):
    from testengine.cli import progress as cli_progress

    first, second = finish_apprentice("Ann Lee"), finish_apprentice("Bob Stone")
    for finished in (first, second):
        release_results(finished.apprentice.id, clock.now())
    clock.advance(dt.timedelta(days=RETENTION + 1))
    monkeypatch.setattr(cli_progress, "_is_terminal", lambda stream: True)
    result = _cli(app, "retention")
    assert result.exit_code == 0, result.output
    assert result.stderr == "\rPseudonymising: 1/2 (50%)\rPseudonymising: 2/2 (100%)\n"
    assert result.stdout.splitlines()[-1] == f"2 apprentice(s) pseudonymised (retention {RETENTION} days)."


def test_after_retention_the_audit_log_names_the_apprentice_by_pseudonym_only(app, client, clock, finish_apprentice, login_as):
    """Entries hold people's ids, not their emails, so the append-only log is pseudonymised with the account."""
    finished = finish_apprentice("Ann Lee")
    release_results(finished.apprentice.id, clock.now())
    old_email, user_id = finished.user.email, finished.user.id
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.actor_id == user_id))  # they acted: start, submit
    clock.advance(dt.timedelta(days=RETENTION + 1))
    assert _cli(app, "retention").exit_code == 0

    db.session.expire_all()
    entries = list(db.session.scalars(select(AuditEntry)))
    stored = json.dumps([[e.actor_label, e.before, e.after, e.reason, e.object_id] for e in entries], default=str)
    assert old_email not in stored and "Ann Lee" not in stored
    login_as("admin")
    page = client.get("/admin/audit", query_string={"actor": "pseudonymised"}).get_data(as_text=True)
    assert f"pseudonymised-{user_id}@removed.invalid" in page
    assert old_email not in client.get("/admin/audit").get_data(as_text=True)
