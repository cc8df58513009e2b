"""Admin pages for results: assessors' grades, sign-off and release, appeals, appeal packs, CSV export."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..auth.forms import EmptyForm
from ..clock import utcnow
from ..domain.errors import DomainError
from ..extensions import db
from ..form_choices import options
from ..models import Apprentice, Attempt, MethodResult, OverallResult, Standard
from ..services import eligibility, result_changes, result_letters, result_pages, standing_marks
from ..services import results as result_service
from ..services.appeal_pack import appeal_pack as gather_appeal_pack
from ..services.banks import UnknownStandard, get_standard, spec_of
from ..services.exports import safe_csv_row
from ..storage.requests import discard
from .blueprint import bp


class GradeForm(FlaskForm):
    method = SelectField("Assessment method", validators=[DataRequired()])
    grade = SelectField("Grade", validators=[DataRequired()])
    assessed_on = DateField("Date assessed", validators=[DataRequired(message="Enter the date of the assessment.")])
    assessor = StringField("Independent assessor", validators=[DataRequired(), Length(max=120)])


class AgreementForm(FlaskForm):
    """The employer's agreement to a re-sit or re-take of a failed method (the kind follows from it)."""

    method = SelectField("Failed method", validators=[DataRequired()])
    employer_contact = StringField("Who at the employer agreed", validators=[DataRequired(), Length(max=eligibility.MAX_CONTACT)])
    agreed_on = DateField("Date they agreed", validators=[DataRequired(message="Enter the date the employer agreed.")])
    further_learning = TextAreaField(
        "Further learning done (a re-take; leave empty for a re-sit)",
        validators=[Optional(), Length(max=eligibility.MAX_FURTHER_LEARNING)],
    )


class EpaPeriodForm(FlaskForm):
    ends_on = DateField("EPA period ends", validators=[Optional()])


class ChangeForm(FlaskForm):
    route = SelectField("Route", choices=options([("appeal", "Appeal"), ("remark", "Re-mark")]), validators=[DataRequired()])
    grade = SelectField("New grade", validators=[Optional()])
    reason = TextAreaField(
        "Reason (the appeal or re-mark decision)", validators=[DataRequired(), Length(max=result_changes.MAX_REASON)]
    )


def _change_form(items: list[dict[str, object]]) -> ChangeForm:
    """The change form, with one mark field per re-markable item of a knowledge test (none for other methods)."""
    fields = {
        f"item_{item['id']}": IntegerField(
            f"Question {item['position']} (out of {item['available']})",
            validators=[InputRequired(message="Enter a mark."), NumberRange(min=0, max=int(item["available"]))],  # type: ignore[call-overload]
            default=item["standing"],
        )
        for item in items
    }
    form_class = type("RemarkForm", (ChangeForm,), fields)
    return form_class(prefix="c")  # type: ignore[no-any-return]


def _standard(code: str) -> Standard:
    try:
        return get_standard(code)
    except UnknownStandard:
        abort(404)


def _grade_form(standard: Standard) -> GradeForm:
    spec = spec_of(standard)
    graded_by_marks = spec.knowledge_test.method if spec.knowledge_test else None
    form = GradeForm(prefix="g")
    form.method.choices = options([(m.key, m.name) for m in spec.methods if m.key != graded_by_marks])
    form.grade.choices = options([(g, g.capitalize()) for g in dict.fromkeys(g for m in spec.methods for g in m.grades)])
    return form


@bp.route("/results")
def results():  # type: ignore[no-untyped-def]
    """Results waiting for sign-off or release, and a search for an apprentice's results."""
    query = (request.args.get("q") or "").strip()
    waiting, overall = result_pages.waiting()
    found = result_pages.search_apprentices(query) if query else []
    standards = result_pages.standards()
    return render_template("admin/results.html", waiting=waiting, overall=overall, query=query, found=found, standards=standards)


@bp.route("/results/apprentices/<int:apprentice_id>/<code>")
def apprentice_results(apprentice_id: int, code: str):  # type: ignore[no-untyped-def]
    apprentice = db.get_or_404(Apprentice, apprentice_id)
    standard = _standard(code)
    return _results_page(apprentice, standard)


def _agreement_form(standard: Standard) -> AgreementForm:
    form = AgreementForm(prefix="r")
    form.method.choices = options([(m.key, m.name) for m in spec_of(standard).methods])
    if form.agreed_on.data is None and not form.is_submitted():
        form.agreed_on.data = utcnow().date()
    return form


def _results_page(
    apprentice: Apprentice,
    standard: Standard,
    *,
    grade_form: GradeForm | None = None,
    epa_form: EpaPeriodForm | None = None,
    agreement_form: AgreementForm | None = None,
):  # type: ignore[no-untyped-def]
    spec = spec_of(standard)
    methods, overall = result_service.history(apprentice.id, standard.id)
    attempts = result_pages.attempts_of(apprentice, standard)
    today = utcnow().date()
    eligible = {}
    for m in spec.methods:
        try:
            eligible[m.key] = eligibility.check(apprentice, standard, m.key, today=today).kind.value
        except DomainError as refused:
            eligible[m.key] = str(refused)
    return render_template(
        "admin/results_apprentice.html",
        apprentice=apprentice,
        standard=standard,
        spec=spec,
        names=result_letters.method_names(spec),
        current=result_service.current_method_results(apprentice.id, standard.id),
        overall=result_service.current_overall(apprentice.id, standard.id),
        methods=methods,
        overall_history=overall,
        attempts=attempts,
        grade_form=grade_form or _grade_form(standard),
        epa_form=epa_form or EpaPeriodForm(prefix="e", ends_on=apprentice.epa_period_ends),
        agreement_form=agreement_form or _agreement_form(standard),
        agreements=eligibility.agreements(apprentice, standard),
        eligible=eligible,
        button=EmptyForm(),
        signers=result_pages.signers(apprentice.id, standard.id),
        second_admin=_second_admin_required(),
    )


@bp.route("/results/apprentices/<int:apprentice_id>/<code>/grades", methods=["POST"])
def record_grade(apprentice_id: int, code: str):  # type: ignore[no-untyped-def]
    """An assessor's grade; whether it is a first attempt, a re-sit or a re-take follows from the history."""
    apprentice = db.get_or_404(Apprentice, apprentice_id)
    standard = _standard(code)
    form = _grade_form(standard)
    status = 400
    if form.validate_on_submit():
        try:
            result_service.record_method_grade(
                apprentice,
                standard,
                method_key=form.method.data or "",
                grade=form.grade.data or "",
                assessed_on=form.assessed_on.data,
                assessor=form.assessor.data or "",
                now=utcnow(),
                actor=current_user,
            )
        except DomainError as refused:
            discard()
            form.method.errors = [*form.method.errors, str(refused)]
            status = 409
        else:
            flash("Grade recorded as provisional.")
            return redirect(url_for("admin.apprentice_results", apprentice_id=apprentice_id, code=code))
    return _results_page(apprentice, standard, grade_form=form), status


@bp.route("/results/apprentices/<int:apprentice_id>/<code>/agreements", methods=["POST"])
def record_agreement(apprentice_id: int, code: str):  # type: ignore[no-untyped-def]
    """The employer's agreement to a re-sit (or, with further learning, a re-take) of a failed method."""
    apprentice = db.get_or_404(Apprentice, apprentice_id)
    standard = _standard(code)
    form = _agreement_form(standard)
    status = 400
    if form.validate_on_submit():
        try:
            eligibility.record_agreement(
                apprentice,
                standard,
                form.method.data or "",
                employer_contact=form.employer_contact.data or "",
                agreed_on=form.agreed_on.data,
                further_learning=form.further_learning.data,
                now=utcnow(),
                actor=current_user,
            )
        except DomainError as refused:
            discard()
            form.method.errors = [*form.method.errors, str(refused)]
            status = 409
        else:
            flash("The employer's agreement is recorded.")
            return redirect(url_for("admin.apprentice_results", apprentice_id=apprentice_id, code=code))
    return _results_page(apprentice, standard, agreement_form=form), status


@bp.route("/results/apprentices/<int:apprentice_id>/<code>/epa-period", methods=["POST"])
def set_epa_period(apprentice_id: int, code: str):  # type: ignore[no-untyped-def]
    apprentice = db.get_or_404(Apprentice, apprentice_id)
    standard = _standard(code)
    form = EpaPeriodForm(prefix="e")
    if not form.validate_on_submit():
        return _results_page(apprentice, standard, epa_form=form), 400
    result_service.set_epa_period_end(apprentice, form.ends_on.data, actor=current_user)
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


def _second_admin_required() -> bool:
    """TESTENGINE_RELEASE_NEEDS_SECOND_ADMIN: on unless the EPAO turned it off."""
    return bool(current_app.config["TESTENGINE"].get("RELEASE_NEEDS_SECOND_ADMIN", True))


def _apply(result: MethodResult | OverallResult, action: str) -> None:
    try:
        if action == "release":
            result_service.release(result, now=utcnow(), actor=current_user, second_admin=_second_admin_required())
        else:
            result_service.sign_off(result, now=utcnow(), actor=current_user)
    except DomainError as refused:
        discard()
        flash(str(refused), "error")
    else:
        flash(f"{result.grade.capitalize()} {result.status.replace('_', ' ')}.")


@bp.route("/results/methods/<int:result_id>/<any(sign_off, release):action>", methods=["POST"])
def move_method_result(result_id: int, action: str):  # type: ignore[no-untyped-def]
    return _move(db.get_or_404(MethodResult, result_id), action)


@bp.route("/results/overall/<int:result_id>/<any(sign_off, release):action>", methods=["POST"])
def move_overall_result(result_id: int, action: str):  # type: ignore[no-untyped-def]
    return _move(db.get_or_404(OverallResult, result_id), action)


@bp.route("/results/methods/<int:result_id>/change", methods=["GET", "POST"])
def change_result(result_id: int):  # type: ignore[no-untyped-def]
    """An appeal or re-mark outcome for a released result: the only way a released grade changes.

    A knowledge test is re-marked item by item (the marker-marked items, each starting from the
    mark that stands); the total and the grade follow from the marks. Other methods take a grade.
    """
    result = db.get_or_404(MethodResult, result_id)
    standard = db.session.get(Standard, result.standard_id)
    apprentice = db.session.get(Apprentice, result.apprentice_id)
    assert standard is not None and apprentice is not None
    spec = spec_of(standard)
    by_marks = spec.knowledge_test is not None and spec.knowledge_test.method == result.method_key
    items = result_changes.remark_items(result.attempt_id) if by_marks and result.attempt_id else []
    form = _change_form(items)
    form.grade.choices = options([("", "Choose a grade")] + [(g, g.capitalize()) for g in spec.method(result.method_key).grades])
    standing = standing_marks.standing_total(result.attempt_id) if by_marks and result.attempt_id else None
    status = 200
    if form.validate_on_submit():
        try:
            result_changes.change_after_release(
                result,
                route=form.route.data or "",
                reason=form.reason.data or "",
                now=utcnow(),
                actor=current_user,
                grade=None if by_marks else form.grade.data,
                item_marks={int(item["id"]): form[f"item_{item['id']}"].data for item in items} if by_marks else None,  # type: ignore[call-overload]
            )
        except DomainError as refused:
            discard()
            form.reason.errors = [*form.reason.errors, str(refused)]
            status = 409
        else:
            flash("The result was re-graded and released; the earlier grade is kept in the history.")
            return redirect(url_for("admin.apprentice_results", apprentice_id=apprentice.id, code=standard.code))
    elif form.is_submitted():
        status = 400
    fields = [(item, form[f"item_{item['id']}"]) for item in items]
    return render_template(
        "admin/results_change.html",
        result=result,
        standard=standard,
        apprentice=apprentice,
        name=result_letters.method_names(spec)[result.method_key],
        by_marks=by_marks,
        standing=standing,
        form=form,
        fields=fields,
    ), status


@bp.route("/results/export.csv")
def export_results():  # type: ignore[no-untyped-def]
    """Every method result ever recorded (history included), safe to open in a spreadsheet."""
    methods, overall = result_pages.everything()
    out = io.StringIO()
    writer = csv.writer(out)
    for row in result_letters.export_rows(methods, overall):
        writer.writerow(safe_csv_row(row))
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=results-{utcnow():%Y%m%d}.csv"},
    )


@bp.route("/attempts/<int:attempt_id>/appeal-pack")
def appeal_pack(attempt_id: int):  # type: ignore[no-untyped-def]
    attempt = db.get_or_404(Attempt, attempt_id)
    return render_template("admin/appeal_pack.html", pack=gather_appeal_pack(attempt))
