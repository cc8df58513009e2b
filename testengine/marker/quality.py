"""Standardisation (every marker) and the moderators' pages: standardisation sets, clearances,
marker statistics and the second-marking sample."""

from __future__ import annotations

import csv
import io
import math

from flask import Response, flash, redirect, render_template, url_for
from flask_login import current_user

from ..auth.forms import EmptyForm
from ..clock import utcnow
from ..domain.errors import DomainError
from ..services import marker_pages as pages
from ..services import marking_progress as progress
from ..services import marking_quality as quality
from ..services.exports import safe_csv_row
from ..services.marking_progress import MarkingError
from ..storage.requests import discard
from .blueprint import bp
from .forms import ClearForm, FromAnswerForm, StandardisationItemForm, standardisation_form
from .responses import short_answer_question
from .views import moderator_only, require_button


@bp.route("/standardisation/<int:question_id>", methods=["GET", "POST"])
def standardise(question_id: int):  # type: ignore[no-untyped-def]
    """Mark a question's standardisation answers; at 80% exact agreement or more, mark it live."""
    info = short_answer_question(question_id)
    items = quality.standardisation_items(question_id)
    clearance = quality.clearance_of(current_user.id, question_id)
    gate = quality.gates_for(current_user, [question_id])[question_id]
    form = standardisation_form([item.id for item in items])
    if clearance is None and items and form.validate_on_submit():
        given = {item.id: form[f"item_{item.id}"].data for item in items}
        try:
            clearance = quality.submit_standardisation(current_user, question_id, given, now=utcnow())
        except DomainError as refused:
            discard()
            flash(str(refused), "error")
        else:
            if clearance.status == "passed":
                flash("You agreed with the reference marks closely enough: you can now mark this question.")
            else:
                flash(
                    "Your marks were below the agreement needed. A moderator must clear you before you mark this question.",
                    "error",
                )
        return redirect(url_for("marker.standardise", question_id=question_id))
    results = quality.my_standardisation(current_user, question_id) if clearance is not None else []
    return render_template(
        "marker/standardise.html",
        question=info,
        items=items,
        form=form,
        clearance=clearance,
        gate=gate,
        results=results,
        gate_message=quality.GATE_MESSAGES.get(gate),
        threshold=quality.STANDARDISATION_THRESHOLD,
        button=EmptyForm(),
    )


@bp.route("/moderation/standardisation")
@moderator_only
def standardisation_sets():  # type: ignore[no-untyped-def]
    return render_template("marker/standardisation_sets.html", rows=pages.standardisation_overview())


@bp.route("/moderation/standardisation/<int:question_id>", methods=["GET", "POST"])
@moderator_only
def standardisation_set(question_id: int):  # type: ignore[no-untyped-def]
    """A question's standardisation answers: add one typed in, or take one from the real answers."""
    info = short_answer_question(question_id)
    form = StandardisationItemForm()
    if form.validate_on_submit():
        try:
            quality.add_standardisation_item(
                question_id,
                response=form.response.data or "",
                reference_mark=form.reference_mark.data,
                rationale=form.rationale.data,
                moderator=current_user,
                now=utcnow(),
            )
        except DomainError as refused:
            discard()
            flash(str(refused), "error")
        else:
            flash("Standardisation answer added.")
            return redirect(url_for("marker.standardisation_set", question_id=question_id))
    answers = pages.real_answers(question_id)
    answer_forms = {(a.attempt_id, a.position): FromAnswerForm(prefix=f"a{a.attempt_id}-{a.position}") for a in answers}
    return render_template(
        "marker/standardisation_set.html",
        question=info,
        items=quality.standardisation_items(question_id),
        form=form,
        answers=answers,
        answer_forms=answer_forms,
    )


@bp.route("/moderation/standardisation/<int:question_id>/from/<int:attempt_id>/<int:position>", methods=["POST"])
@moderator_only
def standardisation_from_answer(question_id: int, attempt_id: int, position: int):  # type: ignore[no-untyped-def]
    short_answer_question(question_id)
    aq_id = pages.response_id(attempt_id, position)
    form = FromAnswerForm(prefix=f"a{attempt_id}-{position}")
    if aq_id is None or not form.validate_on_submit():
        flash("Choose the reference mark for that answer.", "error")
        return redirect(url_for("marker.standardisation_set", question_id=question_id))
    try:
        item = quality.add_item_from_response(
            aq_id, reference_mark=form.reference_mark.data, rationale=None, moderator=current_user, now=utcnow()
        )
        if item.question_id != question_id:
            raise MarkingError("That answer is to another question.", code="wrong_question")
    except DomainError as refused:
        discard()
        flash(str(refused), "error")
    else:
        flash("Standardisation answer added from a real answer (its text only).")
    return redirect(url_for("marker.standardisation_set", question_id=question_id))


@bp.route("/moderation/clearances")
@moderator_only
def clearances():  # type: ignore[no-untyped-def]
    rows = pages.failed_standardisation()
    forms = {(r.marker_id, r.question.question_id): ClearForm(prefix=f"c{r.marker_id}-{r.question.question_id}") for r in rows}
    return render_template("marker/clearances.html", rows=rows, forms=forms)


@bp.route("/moderation/questions/<int:question_id>/markers/<int:user_id>/clear", methods=["POST"])
@moderator_only
def clear(question_id: int, user_id: int):  # type: ignore[no-untyped-def]
    """Let a marker below the threshold mark the question live: the moderator's decision, with its reason."""
    form = ClearForm(prefix=f"c{user_id}-{question_id}")
    if not form.validate_on_submit():
        flash("Give the reason for clearing this marker.", "error")
        return redirect(url_for("marker.clearances"))
    try:
        quality.clear_marker(user_id, question_id, moderator=current_user, reason=form.reason.data or "", now=utcnow())
    except DomainError as refused:
        discard()
        flash(str(refused), "error")
    else:
        flash("The marker is cleared to mark this question.")
    return redirect(url_for("marker.clearances"))


@bp.route("/moderation/statistics")
@moderator_only
def statistics():  # type: ignore[no-untyped-def]
    return render_template("marker/statistics.html", rows=quality.marker_statistics())


STATISTICS_HEADER = [
    "marker",
    "answers marked",
    "mean seconds per answer",
    "compared",
    "exact agreement",
    "quadratic weighted kappa",
    "mean mark",
    "peers' mean mark",
]


@bp.route("/moderation/statistics.csv")
@moderator_only
def statistics_csv():  # type: ignore[no-untyped-def]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(STATISTICS_HEADER)
    for row in quality.marker_statistics():
        s = row.summary
        writer.writerow(
            safe_csv_row(
                [
                    row.name,
                    s.volume,
                    _num(s.mean_seconds),
                    s.compared,
                    _num(s.exact_agreement),
                    _num(s.qwk),
                    _num(s.mean_mark),
                    _num(s.peer_mean_mark),
                ]
            )
        )
    return Response(
        out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=marker-statistics.csv"}
    )


def _num(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.3f}"  # NaN (nothing to compare) is an empty cell


@bp.route("/moderation/samples")
@moderator_only
def samples():  # type: ignore[no-untyped-def]
    return render_template(
        "marker/samples.html",
        rows=progress.waiting_for_sample(),
        form=EmptyForm(),
        fraction=progress.SECOND_MARKING_FRACTION,
        margin=progress.BOUNDARY_MARGIN,
    )


@bp.route("/moderation/sittings/<int:sitting_id>/sample", methods=["POST"])
@moderator_only
def draw_sample(sitting_id: int):  # type: ignore[no-untyped-def]
    """Draw the second-marking sample now for a sitting whose other scripts are still outstanding."""
    require_button()
    try:
        chosen = progress.draw_sample_now(sitting_id, now=utcnow(), actor=current_user)
    except DomainError as refused:
        discard()
        flash(str(refused), "error")
    else:
        flash(f"Sample drawn: {len(chosen or ())} script(s) go to a second marker; the others are complete.")
    return redirect(url_for("marker.samples"))
