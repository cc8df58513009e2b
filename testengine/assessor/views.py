"""The assessor's area: their appointments; the declaration of independence; the set; evidence and grade."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .. import access
from ..auth.forms import EmptyForm
from ..clock import utcnow
from ..domain.errors import DomainError
from ..form_choices import options
from ..models import Apprentice, Standard
from ..services import appointments as service
from ..services.banks import spec_of
from ..services.rows import existing
from ..storage.requests import discard

bp = Blueprint("assessor", __name__, url_prefix="/assess")
access.restrict(bp, roles=("assessor",))


class DeclarationForm(FlaskForm):
    conflict = RadioField(
        "Conflict of interest",
        choices=options(
            [
                (
                    "no",
                    "I have no conflict of interest: I am not this apprentice's trainer or line manager, "
                    "and have no other connection with them or their employer",
                ),
                ("yes", "I have a conflict of interest"),
            ]
        ),
        validators=[DataRequired(message="Choose one.")],
    )
    note = TextAreaField("If you have a conflict, what it is", validators=[Optional(), Length(max=1000)])
    confirm = BooleanField("My declaration is true", validators=[DataRequired(message="Confirm your declaration.")])


class SwapForm(FlaskForm):
    """Swap one assessor's-choice question (its 1-based position) for another the bank allows."""

    position = HiddenField(validators=[DataRequired()])
    replacement = StringField("Replace it with", validators=[DataRequired(message="Choose a question."), Length(max=80)])


def grade_form(ksbs: dict[str, str], grades: tuple[str, ...]):  # type: ignore[no-untyped-def]
    class GradeForm(FlaskForm):
        grade = SelectField(
            "Grade for the method",
            choices=options([("", "Choose a grade")] + [(g, g.title()) for g in grades]),
            validators=[DataRequired(message="Choose the grade.")],
        )

    for code, name in ksbs.items():
        setattr(
            GradeForm,
            f"ksb_{code}",
            TextAreaField(
                f"{code} {name}", validators=[DataRequired(message=f"Record the evidence for {code}."), Length(max=2000)]
            ),
        )
    return GradeForm()


def _appointment(appointment_id: int):  # type: ignore[no-untyped-def]
    try:
        return service.assessor_appointment(appointment_id, current_user)
    except service.AppointmentError:
        abort(404)


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    rows = []
    for a in service.for_assessor(current_user):
        apprentice = existing(Apprentice, a.apprentice_id)
        standard = existing(Standard, a.standard_id)
        rows.append(
            {
                "appointment": a,
                "candidate": apprentice.candidate_number,
                "standard": standard.code,
                "method": spec_of(standard).method(a.method_key).name,
            }
        )
    return render_template("assessor/home.html", rows=rows)


def _page(appointment, declaration=None, grading=None):  # type: ignore[no-untyped-def]
    apprentice = existing(Apprentice, appointment.apprentice_id)
    standard = existing(Standard, appointment.standard_id)
    method = spec_of(standard).method(appointment.method_key)
    questions = service.question_set(appointment)
    if grading is None and questions is not None and appointment.grade is None:
        grading = grade_form(service.method_ksbs(appointment), method.grades)
    return render_template(
        "assessor/appointment.html",
        appointment=appointment,
        apprentice=apprentice,
        standard=standard,
        method=method,
        questions=questions,
        declaration=declaration or DeclarationForm(),
        grading=grading,
        open_form=EmptyForm(),
        swaps=service.swap_menu(appointment),
        ksb_fields=[f for f in (grading or []) if f.name.startswith("ksb_")],
    )


@bp.post("/appointments/<int:appointment_id>/swap")
def swap(appointment_id: int):  # type: ignore[no-untyped-def]
    """Ask another unseen question of the bank in one of the assessor's-choice slots."""
    appointment = _appointment(appointment_id)
    form = SwapForm()  # the service checks that the slot allows the replacement
    if not form.validate_on_submit() or not (form.position.data or "").isdecimal():
        flash("Choose the question to ask instead.", "error")
        return redirect(url_for("assessor.appointment", appointment_id=appointment.id)), 303
    try:
        service.swap(appointment, int(form.position.data), form.replacement.data, now=utcnow(), actor=current_user)
    except DomainError as refused:
        discard()
        flash(str(refused), "error")
        return redirect(url_for("assessor.appointment", appointment_id=appointment.id)), 303
    flash(f"Question {form.position.data} is now {form.replacement.data}.")
    return redirect(url_for("assessor.appointment", appointment_id=appointment.id))


@bp.get("/appointments/<int:appointment_id>")
def appointment(appointment_id: int):  # type: ignore[no-untyped-def]
    return _page(_appointment(appointment_id))


@bp.post("/appointments/<int:appointment_id>/declare")
def declare(appointment_id: int):  # type: ignore[no-untyped-def]
    appointment = _appointment(appointment_id)
    form = DeclarationForm()
    if not form.validate_on_submit():
        return _page(appointment, declaration=form), 400
    try:
        service.declare(
            appointment, conflict=form.conflict.data == "yes", note=form.note.data or "", now=utcnow(), actor=current_user
        )
    except service.AppointmentError as refused:
        discard()
        form.note.errors = [str(refused)]
        return _page(appointment, declaration=form), 400
    flash(
        "Conflict of interest declared: this appointment needs another assessor."
        if appointment.conflict
        else "Declaration recorded. You can open the question set."
    )
    return redirect(url_for("assessor.appointment", appointment_id=appointment.id))


@bp.post("/appointments/<int:appointment_id>/set")
def open_set(appointment_id: int):  # type: ignore[no-untyped-def]
    appointment = _appointment(appointment_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        service.open_set(appointment, now=utcnow(), actor=current_user)
    except DomainError as refused:
        discard()
        flash(str(refused), "error")
        return redirect(url_for("assessor.appointment", appointment_id=appointment.id)), 303
    return redirect(url_for("assessor.appointment", appointment_id=appointment.id))


@bp.post("/appointments/<int:appointment_id>/grade")
def grade(appointment_id: int):  # type: ignore[no-untyped-def]
    appointment = _appointment(appointment_id)
    if service.question_set(appointment) is None or appointment.grade is not None:
        flash("The question set must be open and the method not yet graded.", "error")
        return redirect(url_for("assessor.appointment", appointment_id=appointment.id))
    standard = existing(Standard, appointment.standard_id)
    form = grade_form(service.method_ksbs(appointment), spec_of(standard).method(appointment.method_key).grades)
    if not form.validate_on_submit():
        return _page(appointment, grading=form), 400
    evidence = {f.name.removeprefix("ksb_"): f.data for f in form if f.name.startswith("ksb_")}
    try:
        service.record_grade(appointment, evidence=evidence, grade=form.grade.data, now=utcnow(), actor=current_user)
    except DomainError as refused:
        discard()
        form.grade.errors = [str(refused)]
        return _page(appointment, grading=form), 400
    flash(f"Grade recorded: {appointment.grade}.")
    return redirect(url_for("assessor.appointment", appointment_id=appointment.id))
