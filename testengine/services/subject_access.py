"""Subject access: everything held about one apprentice as JSON, except their answers, which UK law
lets an assessment organisation withhold (exam scripts: DPA 2018, Schedule 2, paragraph 25(1)).
People who acted on the record are shown by role; the export itself is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, func, or_, select

from ..extensions import db
from ..models import (
    Answer,
    Apprentice,
    Attempt,
    AttemptEvent,
    AttemptQuestion,
    AuditEntry,
    Booking,
    Mark,
    MethodResult,
    OverallResult,
    QuestionVersion,
    Sitting,
    Standard,
    User,
)
from ..models.people import ULN_PATTERN
from . import audit
from .data_protection import incidents_naming

EXAM_SCRIPT_EXEMPTION = (
    "Your answers to the test questions are not included. Information recorded by candidates during "
    "an exam is exempt from the right of access (Data Protection Act 2018, Schedule 2, Part 4, "
    "paragraph 25(1)). Your marks, the markers' comments and your grades are included."
)
THIRD_PARTY_NOTE = "People who acted on your record (invigilators, markers, administrators) are shown by their role, not by name."


class DataProtectionError(Exception):
    """Asked for someone who is not there (an unknown ULN or candidate number)."""


def find_apprentice(identifier: str) -> Apprentice:
    """By ULN (10 digits) or candidate number (a pseudonymised apprentice has only the latter)."""
    identifier = identifier.strip()
    if ULN_PATTERN.match(identifier):
        by_identifier = select(Apprentice).where(Apprentice.uln == identifier)
    else:
        by_identifier = select(Apprentice).where(Apprentice.candidate_number == identifier.upper())
    apprentice: Apprentice | None = db.session.scalar(by_identifier)
    if apprentice is None:
        raise DataProtectionError(f"No apprentice with ULN or candidate number {identifier!r}.")
    return apprentice


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _by(entry: AuditEntry, user: User | None) -> str:
    if entry.actor_id is None:
        return "system"
    if user is not None and entry.actor_id == user.id:
        return "you"
    return "staff"


def _attempts(apprentice: Apprentice) -> list[dict[str, Any]]:
    attempts = list(db.session.scalars(select(Attempt).where(Attempt.apprentice_id == apprentice.id).order_by(Attempt.id)))
    ids = [attempt.id for attempt in attempts]
    if not ids:
        return []
    standards = {s.id: s.code for s in db.session.scalars(select(Standard))}
    sittings = {
        s.id: s
        for s in db.session.scalars(select(Sitting).where(Sitting.id.in_({a.sitting_id for a in attempts if a.sitting_id})))
    }
    questions: dict[int, list[tuple[AttemptQuestion, str]]] = {}
    for aq, kind in db.session.execute(
        select(AttemptQuestion, QuestionVersion.type)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .where(AttemptQuestion.attempt_id.in_(ids))
        .order_by(AttemptQuestion.attempt_id, AttemptQuestion.position)
    ):
        questions.setdefault(aq.attempt_id, []).append((aq, kind))
    marks: dict[int, list[dict[str, Any]]] = {}
    for mark in db.session.scalars(select(Mark).where(Mark.attempt_id.in_(ids)).order_by(Mark.created_at, Mark.id)):
        marks.setdefault(mark.attempt_question_id, []).append(
            {"role": mark.role, "mark": mark.mark, "comment": mark.comment, "at": _iso(mark.created_at)}
        )
    answered = set(
        db.session.scalars(
            select(Answer.attempt_question_id).where(
                Answer.attempt_id.in_(ids), Answer.response.is_not(None), func.length(func.trim(Answer.response)) > 0
            )
        )
    )
    events: dict[int, list[dict[str, Any]]] = {}
    for event in db.session.scalars(
        select(AttemptEvent).where(AttemptEvent.attempt_id.in_(ids)).order_by(AttemptEvent.at, AttemptEvent.id)
    ):
        events.setdefault(event.attempt_id, []).append({"kind": event.kind, "at": _iso(event.at), "detail": event.detail})

    out = []
    for attempt in attempts:
        sitting = sittings.get(attempt.sitting_id) if attempt.sitting_id else None
        out.append(
            {
                "id": attempt.id,
                "standard": standards.get(attempt.standard_id),
                "sitting": {"id": sitting.id, "title": sitting.title, "venue": sitting.venue} if sitting else None,
                "kind": attempt.kind,
                "state": attempt.state,
                "issued_at": _iso(attempt.issued_at),
                "started_at": _iso(attempt.started_at),
                "deadline_at": _iso(attempt.deadline_at),
                "submitted_at": _iso(attempt.submitted_at),
                "finish_reason": attempt.finish_reason,
                "base_minutes": attempt.base_minutes,
                "extra_percent": attempt.extra_percent,
                "extra_minutes": attempt.extra_minutes,
                "pauses_and_breaks": [{"kind": s.kind, "start": _iso(s.start), "end": _iso(s.end)} for s in attempt.stoppages],
                "browser_events": events.get(attempt.id, []),
                "device_id": attempt.device_id,
                "last_seen_at": _iso(attempt.last_seen_at),
                "marking_state": attempt.marking_state,
                "total_marks": attempt.total_marks,
                "questions": [
                    {
                        "position": aq.position,
                        "type": kind,
                        "marks_available": aq.marks,
                        "answered": aq.id in answered,
                        "marks": marks.get(aq.id, []),
                    }
                    for aq, kind in questions.get(attempt.id, [])
                ],
                "answers": "withheld (exam scripts exemption; see 'exemptions')",
            }
        )
    return out


def _results(apprentice: Apprentice) -> dict[str, list[dict[str, Any]]]:
    standards = {s.id: s.code for s in db.session.scalars(select(Standard))}
    method = [
        {
            "id": r.id,
            "standard": standards.get(r.standard_id),
            "method": r.method_key,
            "grade": r.grade,
            "achieved_grade": r.achieved_grade,
            "marks": r.marks,
            "attempt": r.attempt_id,
            "assessed_on": _iso(r.assessed_on),
            "kind": r.kind,
            "employer_agreed": r.employer_agreed,
            "current": r.current,
            "status": r.status,
            "recorded_at": _iso(r.recorded_at),
            "signed_off_at": _iso(r.signed_off_at),
            "released_at": _iso(r.released_at),
            "change_route": r.change_route,
            "change_reason": r.change_reason,
            "replaces": r.replaces_id,
        }
        for r in db.session.scalars(
            select(MethodResult).where(MethodResult.apprentice_id == apprentice.id).order_by(MethodResult.id)
        )
    ]
    overall = [
        {
            "id": r.id,
            "standard": standards.get(r.standard_id),
            "grade": r.grade,
            "current": r.current,
            "status": r.status,
            "created_at": _iso(r.created_at),
            "signed_off_at": _iso(r.signed_off_at),
            "released_at": _iso(r.released_at),
            "change_reason": r.change_reason,
        }
        for r in db.session.scalars(
            select(OverallResult).where(OverallResult.apprentice_id == apprentice.id).order_by(OverallResult.id)
        )
    ]
    return {"methods": method, "overall": overall}


def _audit_entries(apprentice: Apprentice, user: User | None, objects: dict[str, list[int]]) -> list[dict[str, Any]]:
    conditions = [and_(AuditEntry.object_type == "apprentices", AuditEntry.object_id == str(apprentice.id))]
    if user is not None:
        conditions.append(and_(AuditEntry.object_type == "users", AuditEntry.object_id == str(user.id)))
        conditions.append(AuditEntry.actor_id == user.id)
    for object_type, ids in objects.items():
        if ids:
            conditions.append(and_(AuditEntry.object_type == object_type, AuditEntry.object_id.in_([str(i) for i in ids])))
    return [
        {
            "at": _iso(entry.at),
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "by": _by(entry, user),
            "before": entry.before,
            "after": entry.after,
            "reason": entry.reason,
        }
        for entry in db.session.scalars(select(AuditEntry).where(or_(*conditions)).order_by(AuditEntry.at, AuditEntry.id))
    ]


def subject_access_export(apprentice: Apprentice, *, now: dt.datetime) -> dict[str, Any]:
    """Everything held about one apprentice, as plain JSON-ready data, except their answers (exempt)."""
    user = apprentice.user
    bookings = list(db.session.scalars(select(Booking).where(Booking.apprentice_id == apprentice.id).order_by(Booking.id)))
    incidents = incidents_naming(apprentice)
    attempts = _attempts(apprentice)
    results = _results(apprentice)
    objects = {
        "attempts": [a["id"] for a in attempts],
        "bookings": [b.id for b in bookings],
        "adjustments": [a.id for a in apprentice.adjustments],
        "incidents": [i.id for i in incidents],
        "method_results": [r["id"] for r in results["methods"]],
        "overall_results": [r["id"] for r in results["overall"]],
    }
    return {
        "export": "testengine subject access export",
        "generated_at": _iso(now),
        "exemptions": [EXAM_SCRIPT_EXEMPTION],
        "notes": [THIRD_PARTY_NOTE],
        "account": None
        if user is None
        else {
            "email": user.email,
            "display_name": user.display_name,
            "roles": sorted(user.roles),
            "active": user.active,
            "created_at": _iso(user.created_at),
            "failed_sign_ins": user.failed_logins,
            "locked_until": _iso(user.locked_until),
        },
        "apprentice": {
            "uln": apprentice.uln,
            "candidate_number": apprentice.candidate_number,
            "given_name": apprentice.given_name,
            "family_name": apprentice.family_name,
            "epa_period_ends": _iso(apprentice.epa_period_ends),
            "created_at": _iso(apprentice.created_at),
            "pseudonymised_at": _iso(apprentice.pseudonymised_at),
        },
        "adjustments": [
            {
                "kind": a.kind,
                "extra_percent": a.extra_percent,
                "extra_minutes": a.extra_minutes,
                "reason": a.reason,
                "approval_reference": a.approval_reference,
                "expires_on": _iso(a.expires_on),
                "created_at": _iso(a.created_at),
                "revoked_at": _iso(a.revoked_at),
            }
            for a in apprentice.adjustments
        ],
        "bookings": [
            {
                "sitting": {
                    "id": b.sitting.id,
                    "title": b.sitting.title,
                    "venue": b.sitting.venue,
                    "window_start": _iso(b.sitting.window_start),
                    "window_end": _iso(b.sitting.window_end),
                },
                "status": b.status,
                "seat": b.seat,
                "identity_document": b.id_document_type,
                "identity_document_last_characters": b.id_last_digits,
                "photo_matched": b.photo_matched,
                "uln_confirmed": b.uln_confirmed,
                "checked_in_at": _iso(b.checked_in_at),
                "late": b.late,
            }
            for b in bookings
        ],
        "attempts": attempts,
        "results": results,
        "incidents": [
            {
                "sitting": i.sitting_id,
                "kind": i.kind,
                "occurred_at": _iso(i.occurred_at),
                "ended_at": _iso(i.ended_at),
                "notes": i.notes,
                "other_candidates_named": len([a for a in i.apprentice_ids or [] if a != apprentice.id]),
            }
            for i in incidents
        ],
        "audit": _audit_entries(apprentice, user, objects),
    }


def record_export(apprentice: Apprentice, *, actor: User | None) -> None:
    """Subject access requests are themselves recorded (who asked, when), without the content."""
    audit.record(actor, "apprentice.subject_access_export", apprentice, after={"candidate_number": apprentice.candidate_number})
