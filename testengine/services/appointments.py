"""Assessors' appointments for assessor-led methods: independence first, then the set, then the grade.

The order is the rule: an assessor declares before the appointment that they have no conflict of
interest (they are not the apprentice's trainer or line manager, nor otherwise connected); only
then is the question set drawn and shown. A declared conflict blocks the set and the grade: the
appointment must go to another assessor. The grade goes through services.results, which derives
first attempt, re-sit or re-take from the history and caps a re-sit where the standard says, so
the overall grade follows. Services flush; the caller commits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from ..domain.errors import DomainError
from ..extensions import db
from ..models import Appointment, Apprentice, QuestionSetDraw, Role, Standard, User
from . import audit, eligibility, question_sets, results
from .banks import spec_of
from .question_sets import draw_set, rule_of, set_view
from .rows import existing


class AppointmentError(DomainError):
    code = "appointment_refused"


def create(
    *,
    apprentice: Apprentice,
    standard: Standard,
    method_key: str,
    assessor: User,
    scheduled_for: dt.datetime,
    now: dt.datetime,
    actor: User | None,
) -> Appointment:
    """Book an assessor with an apprentice for a method that has a question set."""
    if not assessor.has_role(Role.ASSESSOR.value):
        raise AppointmentError(f"{assessor.email} is not an assessor.", code="not_an_assessor")
    rule_of(spec_of(standard), method_key)  # refuses, naming the methods, when there is no set to draw
    _check_independent(apprentice, standard, method_key, assessor)
    eligibility.check(apprentice, standard, method_key, today=scheduled_for.date())  # the rule every booking path asks
    appointment = Appointment(
        apprentice_id=apprentice.id,
        standard_id=standard.id,
        method_key=method_key,
        assessor_id=assessor.id,
        scheduled_for=scheduled_for,
        conflict=None,
        evidence={},
        created_by_id=actor.id if actor else None,
        created_at=now,
    )
    db.session.add(appointment)
    db.session.flush()
    audit.record(
        actor,
        "appointment.create",
        appointment,
        after={"apprentice": apprentice.candidate_number, "method": method_key, "assessor": assessor.email},
    )
    return appointment


def _check_independent(apprentice: Apprentice, standard: Standard, method_key: str, assessor: User) -> None:
    """The conflict rule, as far as the records can tell before the assessor declares.

    An assessor never assesses themselves, nor an apprentice they declared a conflict of interest
    with (on any appointment, any method: a trainer or line manager stays one); and an apprentice
    has one open appointment per method at a time (a conflicted one is closed: it needs another).
    """
    if apprentice.user_id is not None and apprentice.user_id == assessor.id:
        raise AppointmentError(f"{assessor.email} cannot assess themselves.", code="conflict_of_interest")
    declared = db.session.scalar(
        select(Appointment.id).where(
            Appointment.assessor_id == assessor.id, Appointment.apprentice_id == apprentice.id, Appointment.conflict.is_(True)
        )
    )
    if declared is not None:
        raise AppointmentError(
            f"{assessor.email} declared a conflict of interest with candidate {apprentice.candidate_number}"
            f" (appointment {declared}): appoint another assessor.",
            code="conflict_of_interest",
        )
    open_one = db.session.scalar(
        select(Appointment.id).where(
            Appointment.apprentice_id == apprentice.id,
            Appointment.standard_id == standard.id,
            Appointment.method_key == method_key,
            Appointment.grade.is_(None),
            Appointment.conflict.is_not(True),
        )
    )
    if open_one is not None:
        raise AppointmentError(
            f"Candidate {apprentice.candidate_number} already has an open {method_key} appointment ({open_one}).",
            code="already_appointed",
        )


def for_assessor(assessor: User) -> list[Appointment]:
    return list(
        db.session.scalars(
            select(Appointment).where(Appointment.assessor_id == assessor.id).order_by(Appointment.scheduled_for, Appointment.id)
        )
    )


def assessor_appointment(appointment_id: int, assessor: User) -> Appointment:
    """The appointment if it is this assessor's; anyone else's does not exist for them."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.assessor_id != assessor.id:
        raise AppointmentError("No such appointment.", code="not_found")
    return appointment


def declare(appointment: Appointment, *, conflict: bool, note: str, now: dt.datetime, actor: User) -> None:
    """Record the assessor's declaration, once: no conflict, or a conflict (which blocks the appointment)."""
    if appointment.conflict is not None:
        raise AppointmentError("The declaration for this appointment has already been made.", code="already_declared")
    note = note.strip()
    if conflict and not note:
        raise AppointmentError("Say what the conflict of interest is.", code="note_required")
    appointment.conflict = conflict
    appointment.conflict_note = note or None
    appointment.declared_at = now
    db.session.flush()
    audit.record(actor, "appointment.declare", appointment, after={"conflict": conflict})


def _require_clear(appointment: Appointment) -> None:
    if appointment.conflict is None:
        raise AppointmentError(
            "Declare that you have no conflict of interest before you see the question set.", code="declaration_required"
        )
    if appointment.conflict:
        raise AppointmentError(
            "You declared a conflict of interest: this appointment needs another assessor.", code="conflict_declared"
        )


def open_set(appointment: Appointment, *, now: dt.datetime, actor: User) -> QuestionSetDraw:
    """The appointment's question set, drawn the first time it is opened (after a clear declaration)."""
    _require_clear(appointment)
    if appointment.question_set_id is not None:
        return existing(QuestionSetDraw, appointment.question_set_id)
    apprentice = existing(Apprentice, appointment.apprentice_id)
    standard = existing(Standard, appointment.standard_id)
    record = draw_set(apprentice, standard, appointment.method_key, now=now, actor=actor)
    appointment.question_set_id = record.id
    db.session.flush()
    return record


def all_appointments() -> list[Appointment]:
    """Every appointment, the latest first (the administrator's list)."""
    return list(db.session.scalars(select(Appointment).order_by(Appointment.scheduled_for.desc(), Appointment.id.desc())))


def swap_menu(appointment: Appointment) -> dict[int, list[tuple[str, str]]]:
    """For each assessor's-choice question (1-based position), the questions that may replace it; empty once graded."""
    if appointment.grade is not None or appointment.conflict is not False or appointment.question_set_id is None:
        return {}
    return question_sets.swap_menu(db.session.get_one(QuestionSetDraw, appointment.question_set_id))


def swap(appointment: Appointment, position: int, replacement: str, *, now: dt.datetime, actor: User) -> None:
    """Put another unseen question of the bank in an assessor's-choice slot (1-based), before the grade."""
    _require_clear(appointment)
    if appointment.question_set_id is None or appointment.grade is not None:
        raise AppointmentError("Questions can be swapped once the set is open and before the grade.", code="not_swappable")
    record = db.session.get_one(QuestionSetDraw, appointment.question_set_id)
    question_sets.swap_question(record, position - 1, replacement, now=now, actor=actor)


def question_set(appointment: Appointment) -> list[dict[str, Any]] | None:
    """The set as the assessor reads it, or None before it has been opened (and never after a conflict)."""
    if appointment.conflict is not False or appointment.question_set_id is None:
        return None
    return set_view(existing(QuestionSetDraw, appointment.question_set_id))


def method_ksbs(appointment: Appointment) -> dict[str, str]:
    """The KSBs the assessor records evidence against: those of the set's questions and the method's rule."""
    standard = existing(Standard, appointment.standard_id)
    spec = spec_of(standard)
    codes: list[str] = list(rule_of(spec, appointment.method_key).ksbs)
    for row in question_set(appointment) or []:
        codes += [k for k in row["ksb"] if k not in codes]
    return {code: spec.ksbs.get(code, code) for code in codes}


def record_grade(
    appointment: Appointment,
    *,
    evidence: dict[str, str],
    grade: str,
    now: dt.datetime,
    actor: User,
) -> Any:
    """Record evidence per KSB and the method's grade; the grade goes to the results service."""
    _require_clear(appointment)
    if appointment.question_set_id is None:
        raise AppointmentError("Open the question set before recording the grade.", code="set_not_opened")
    ksbs = method_ksbs(appointment)
    missing = [code for code in ksbs if not (evidence.get(code) or "").strip()]
    if missing:
        raise AppointmentError(f"Record evidence for every KSB (missing: {', '.join(missing)}).", code="evidence_required")
    apprentice = existing(Apprentice, appointment.apprentice_id)
    standard = existing(Standard, appointment.standard_id)
    result = results.record_method_grade(
        apprentice,
        standard,
        method_key=appointment.method_key,
        grade=grade,
        assessed_on=now.date(),
        assessor=actor.display_name,
        now=now,
        actor=actor,
    )
    appointment.evidence = {code: evidence[code].strip() for code in ksbs}
    appointment.grade = grade
    appointment.method_result_id = result.id
    appointment.graded_at = now
    db.session.flush()
    audit.record(actor, "appointment.grade", appointment, after={"grade": grade, "result": result.id})
    return result
