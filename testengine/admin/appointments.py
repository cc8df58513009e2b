"""Admin pages for assessors' appointments: the list, and booking an assessor with an apprentice.

The page books through services.appointments.create, as `testengine questions appoint` does, so
both apply the same rules: an assessor, a method with a question set, the conflict rule, eligibility.
"""

from __future__ import annotations

import datetime as dt

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateTimeLocalField, SelectField
from wtforms.validators import DataRequired

from ..clock import utcnow
from ..domain.errors import DomainError
from ..extensions import db
from ..models import Apprentice, Role, Standard, User, UserRole
from ..services import appointments as service
from ..services.banks import spec_of
from ..storage.requests import discard
from .views import bp


class AppointmentForm(FlaskForm):
    apprentice = SelectField("Apprentice", coerce=int, validators=[DataRequired(message="Choose the apprentice.")])
    method = SelectField("Standard and method", validators=[DataRequired(message="Choose the method.")])
    assessor = SelectField("Independent assessor", coerce=int, validators=[DataRequired(message="Choose the assessor.")])
    scheduled_for = DateTimeLocalField(
        "When (UTC)", format="%Y-%m-%dT%H:%M", validators=[DataRequired(message="Enter a date and time.")]
    )


def _methods() -> list[tuple[str, str]]:
    """Every method with a question set, as "CODE:method" choices."""
    out = []
    for standard in db.session.scalars(select(Standard).order_by(Standard.code)):
        spec = spec_of(standard)
        out += [(f"{standard.code}:{m.key}", f"{standard.code} {m.name}") for m in spec.methods if m.question_set is not None]
    return out


def _form() -> AppointmentForm:
    form = AppointmentForm()
    apprentices = db.session.scalars(
        select(Apprentice).where(Apprentice.pseudonymised_at.is_(None)).order_by(Apprentice.candidate_number)
    )
    form.apprentice.choices = [(0, "Choose the apprentice")] + [
        (a.id, f"{a.candidate_number} {a.full_name}") for a in apprentices
    ]
    form.method.choices = [("", "Choose the method"), *_methods()]
    assessors = db.session.scalars(
        select(User).join(UserRole).where(UserRole.role == Role.ASSESSOR.value, User.active.is_(True)).order_by(User.display_name)
    )
    form.assessor.choices = [(0, "Choose the assessor")] + [(u.id, f"{u.display_name} ({u.email})") for u in assessors]
    return form


def _rows() -> list[dict[str, object]]:
    rows = []
    for a in service.all_appointments():
        standard = db.session.get_one(Standard, a.standard_id)
        rows.append(
            {
                "appointment": a,
                "apprentice": db.session.get_one(Apprentice, a.apprentice_id),
                "assessor": db.session.get_one(User, a.assessor_id),
                "standard": standard.code,
                "method": spec_of(standard).method(a.method_key).name,
            }
        )
    return rows


@bp.route("/appointments", methods=["GET", "POST"])
def appointments():  # type: ignore[no-untyped-def]
    form = _form()
    if form.validate_on_submit():
        code, _sep, method_key = (form.method.data or "").partition(":")
        try:
            appointment = service.create(
                apprentice=db.session.get_one(Apprentice, form.apprentice.data),
                standard=db.session.scalars(select(Standard).where(Standard.code == code)).one(),
                method_key=method_key,
                assessor=db.session.get_one(User, form.assessor.data),
                scheduled_for=form.scheduled_for.data.replace(tzinfo=dt.UTC),
                now=utcnow(),
                actor=current_user,
            )
        except DomainError as refused:
            discard()
            form.assessor.errors = [*form.assessor.errors, str(refused)]
        else:
            flash(f"Appointment {appointment.id} booked.")
            return redirect(url_for("admin.appointments"))
    status = 400 if form.errors else 200
    return render_template("admin/appointments.html", form=form, rows=_rows()), status
