"""Admin pages for results: assessors' grades, sign-off and release, appeals, appeal packs, CSV export."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..auth.forms import EmptyForm
from ..clock import utcnow
from ..domain.attempt_states import AttemptKind
from ..domain.errors import DomainError
from ..domain.result_states import ResultStatus
from ..extensions import db
from ..models import Apprentice, Attempt, MethodResult, OverallResult, Standard, User
from ..services import results as result_service
from ..services.banks import UnknownStandard, get_standard, spec_of
from ..services.exports import safe_csv_row
from .views import bp

KIND_CHOICES = [(AttemptKind.FIRST.value, "First attempt"), (AttemptKind.RESIT.value, "Re-sit (no further learning)"),
                (AttemptKind.RETAKE.value, "Re-take (after further learning)")]


class GradeForm(FlaskForm):
    method = SelectField("Assessment method", validators=[DataRequired()])
    grade = SelectField("Grade", validators=[DataRequired()])
    assessed_on = DateField("Date assessed", validators=[DataRequired(message="Enter the date of the assessment.")])
    assessor = StringField("Independent assessor", validators=[DataRequired(), Length(max=120)])
    kind = SelectField("Attempt", choices=KIND_CHOICES, default=AttemptKind.FIRST.value, validators=[DataRequired()])
    employer_agreed = BooleanField("The employer has agreed to this re-sit or re-take")


class EpaPeriodForm(FlaskForm):
    ends_on = DateField("EPA period ends", validators=[Optional()])


class ChangeForm(FlaskForm):
    route = SelectField("Route", choices=[("appeal", "Appeal"), ("remark", "Re-mark")], validators=[DataRequired()])
    grade = SelectField("New grade", validators=[Optional()])
    marks = IntegerField("New total marks", validators=[Optional(), NumberRange(min=0)])
    reason = TextAreaField("Reason (the appeal or re-mark decision)", validators=[DataRequired(), Length(max=result_service.MAX_REASON)])


def _standard(code: str) -> Standard:
    try:
        return get_standard(code)
    except UnknownStandard:
        abort(404)


def _grade_form(standard: Standard) -> GradeForm:
    spec = spec_of(standard)
    graded_by_marks = spec.knowledge_test.method if spec.knowledge_test else None
    form = GradeForm(prefix="g")
    form.method.choices = [(m.key, m.name) for m in spec.methods if m.key != graded_by_marks]
    form.grade.choices = [(g, g.capitalize()) for g in dict.fromkeys(g for m in spec.methods for g in m.grades)]
    return form


@bp.route("/results")
def results():  # type: ignore[no-untyped-def]
    """Results waiting for sign-off or release, and a search for an apprentice's results."""
    waiting = db.session.execute(
        select(MethodResult, Apprentice, Standard).join(Apprentice, Apprentice.id == MethodResult.apprentice_id)
        .join(Standard, Standard.id == MethodResult.standard_id)
        .where(MethodResult.current.is_(True), MethodResult.status != ResultStatus.RELEASED.value).order_by(MethodResult.recorded_at)
    ).all()
    overall = db.session.execute(
        select(OverallResult, Apprentice, Standard).join(Apprentice, Apprentice.id == OverallResult.apprentice_id)
        .join(Standard, Standard.id == OverallResult.standard_id)
        .where(OverallResult.current.is_(True), OverallResult.status != ResultStatus.RELEASED.value).order_by(OverallResult.created_at)
    ).all()
    query = (request.args.get("q") or "").strip()
    found = []
    if query:
        like = f"%{query}%"
        found = db.session.scalars(
            select(Apprentice).where(or_(Apprentice.candidate_number.ilike(like), Apprentice.uln.ilike(like),
                                         Apprentice.given_name.ilike(like), Apprentice.family_name.ilike(like)))
            .order_by(Apprentice.candidate_number).limit(50)
        ).all()
    standards = db.session.scalars(select(Standard).order_by(Standard.code)).all()
    return render_template("admin/results.html", waiting=waiting, overall=overall, query=query, found=found, standards=standards)


@bp.route("/results/apprentices/<int:apprentice_id>/<code>")
def apprentice_results(apprentice_id: int, code: str):  # type: ignore[no-untyped-def]
    apprentice = db.session.get(Apprentice, apprentice_id) or abort(404)
    standard = _standard(code)
    return _results_page(apprentice, standard, _grade_form(standard), EpaPeriodForm(prefix="e", ends_on=apprentice.epa_period_ends))


def _results_page(apprentice: Apprentice, standard: Standard, grade_form: GradeForm, epa_form: EpaPeriodForm):  # type: ignore[no-untyped-def]
    spec = spec_of(standard)
    methods, overall = result_service.history(apprentice.id, standard.id)
    attempts = db.session.scalars(
        select(Attempt).where(Attempt.apprentice_id == apprentice.id, Attempt.standard_id == standard.id).order_by(Attempt.id)
    ).all()
    return render_template(
        "admin/results_apprentice.html", apprentice=apprentice, standard=standard, spec=spec,
        names=result_service.method_names(spec), current=result_service.current_method_results(apprentice.id, standard.id),
        overall=result_service.current_overall(apprentice.id, standard.id), methods=methods, overall_history=overall,
        attempts=attempts, grade_form=grade_form, epa_form=epa_form, button=EmptyForm(),
        signers=_signers(apprentice.id, standard.id), second_admin=result_service.second_admin_required(),
    )


def _signers(apprentice_id: int, standard_id: int) -> dict[int, str]:
    """Who signed each current result off: the page names them, and another admin releases."""
    rows = db.session.execute(
        select(User.id, User.display_name).where(User.id.in_(
            select(MethodResult.signed_off_by_id).where(MethodResult.apprentice_id == apprentice_id, MethodResult.standard_id == standard_id)
            .union(select(OverallResult.signed_off_by_id).where(OverallResult.apprentice_id == apprentice_id, OverallResult.standard_id == standard_id))
        ))
    ).all()
    return {user_id: name for user_id, name in rows}


@bp.route("/results/apprentices/<int:apprentice_id>/<code>/grades", methods=["POST"])
def record_grade(apprentice_id: int, code: str):  # type: ignore[no-untyped-def]
    apprentice = db.session.get(Apprentice, apprentice_id) or abort(404)
    standard = _standard(code)
    form = _grade_form(standard)
    if form.validate_on_submit():
        try:
            result_service.record_method_grade(
                apprentice, standard, method_key=form.method.data or "", grade=form.grade.data or "",
                assessed_on=form.assessed_on.data, assessor=form.assessor.data or "", kind=form.kind.data or AttemptKind.FIRST.value,
                employer_agreed=bool(form.employer_agreed.data), now=utcnow(), actor=current_user,
            )
        except DomainError as refused:
            db.session.rollback()
            form.method.errors = [*form.method.errors, str(refused)]
        else:
            db.session.commit()
            flash("Grade recorded as provisional.")
            return redirect(url_for("admin.apprentice_results", apprentice_id=apprentice_id, code=code))
    return _results_page(apprentice, standard, form, EpaPeriodForm(prefix="e", ends_on=apprentice.epa_period_ends)), 400


@bp.route("/results/apprentices/<int:apprentice_id>/<code>/epa-period", methods=["POST"])
def set_epa_period(apprentice_id: int, code: str):  # type: ignore[no-untyped-def]
    apprentice = db.session.get(Apprentice, apprentice_id) or abort(404)
    standard = _standard(code)
    form = EpaPeriodForm(prefix="e")
    if not form.validate_on_submit():
        return _results_page(apprentice, standard, _grade_form(standard), form), 400
    result_service.set_epa_period_end(apprentice, form.ends_on.data, actor=current_user)
    db.session.commit()
    flash("EPA period end date saved.")
    return redirect(url_for("admin.apprentice_results", apprentice_id=apprentice_id, code=code))


class ConfirmMoveForm(FlaskForm):
    """Sign-off and release are deliberate acts: the box must be ticked, or nothing happens."""

    confirm = BooleanField("I confirm", validators=[DataRequired()])


CONFIRM_NEEDED = {
    "sign_off": "Tick the box to confirm the sign-off: nothing was signed off.",
    "release": "Tick the box to confirm the release: nothing was released.",
}


def _move(result: MethodResult | OverallResult, action: str):  # type: ignore[no-untyped-def]
    form = ConfirmMoveForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors or not form.is_submitted():
            abort(400)
        flash(CONFIRM_NEEDED[action], "error")
    else:
        _apply(result, action)
    standard = db.session.get(Standard, result.standard_id)
    assert standard is not None
    return redirect(url_for("admin.apprentice_results", apprentice_id=result.apprentice_id, code=standard.code))


def _apply(result: MethodResult | OverallResult, action: str) -> None:
    try:
        getattr(result_service, action)(result, now=utcnow(), actor=current_user)
    except DomainError as refused:
        db.session.rollback()
        flash(str(refused), "error")
    else:
        db.session.commit()
        flash(f"{result.grade.capitalize()} {result.status.replace('_', ' ')}.")


@bp.route("/results/methods/<int:result_id>/<any(sign_off, release):action>", methods=["POST"])
def move_method_result(result_id: int, action: str):  # type: ignore[no-untyped-def]
    return _move(db.session.get(MethodResult, result_id) or abort(404), action)


@bp.route("/results/overall/<int:result_id>/<any(sign_off, release):action>", methods=["POST"])
def move_overall_result(result_id: int, action: str):  # type: ignore[no-untyped-def]
    return _move(db.session.get(OverallResult, result_id) or abort(404), action)


@bp.route("/results/methods/<int:result_id>/change", methods=["GET", "POST"])
def change_result(result_id: int):  # type: ignore[no-untyped-def]
    """An appeal or re-mark outcome for a released result: the only way a released grade changes."""
    result = db.session.get(MethodResult, result_id) or abort(404)
    standard = db.session.get(Standard, result.standard_id)
    apprentice = db.session.get(Apprentice, result.apprentice_id)
    assert standard is not None and apprentice is not None
    spec = spec_of(standard)
    by_marks = spec.knowledge_test is not None and spec.knowledge_test.method == result.method_key
    form = ChangeForm(prefix="c")
    form.grade.choices = [("", "Choose a grade")] + [(g, g.capitalize()) for g in spec.method(result.method_key).grades]
    standing = result_service.standing_total(result.attempt_id) if by_marks and result.attempt_id else None
    if request.method == "GET" and standing is not None:
        form.marks.data = standing
    if form.validate_on_submit():
        try:
            result_service.change_after_release(
                result, route=form.route.data or "", reason=form.reason.data or "", now=utcnow(), actor=current_user,
                grade=None if by_marks else form.grade.data, marks=form.marks.data if by_marks else None,
            )
        except DomainError as refused:
            db.session.rollback()
            form.reason.errors = [*form.reason.errors, str(refused)]
        else:
            db.session.commit()
            flash("The result was re-graded and released; the earlier grade is kept in the history.")
            return redirect(url_for("admin.apprentice_results", apprentice_id=apprentice.id, code=standard.code))
    return render_template("admin/results_change.html", result=result, standard=standard, apprentice=apprentice,
                           name=result_service.method_names(spec)[result.method_key], by_marks=by_marks, standing=standing, form=form)


@bp.route("/results/export.csv")
def export_results():  # type: ignore[no-untyped-def]
    """Every method result ever recorded (history included), safe to open in a spreadsheet."""
    methods = db.session.execute(
        select(MethodResult, Apprentice, Standard).join(Apprentice, Apprentice.id == MethodResult.apprentice_id)
        .join(Standard, Standard.id == MethodResult.standard_id).order_by(Standard.code, Apprentice.candidate_number, MethodResult.id)
    ).all()
    overall = db.session.execute(
        select(OverallResult, Apprentice, Standard).join(Apprentice, Apprentice.id == OverallResult.apprentice_id)
        .join(Standard, Standard.id == OverallResult.standard_id).order_by(Standard.code, Apprentice.candidate_number, OverallResult.id)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out)
    for row in result_service.export_rows(methods, overall):
        writer.writerow(safe_csv_row(row))
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=results-{utcnow():%Y%m%d}.csv"})


@bp.route("/attempts/<int:attempt_id>/appeal-pack")
def appeal_pack(attempt_id: int):  # type: ignore[no-untyped-def]
    attempt = db.session.get(Attempt, attempt_id) or abort(404)
    return render_template("admin/appeal_pack.html", pack=result_service.appeal_pack(attempt))
