"""Revisions: propose a new version of a question, and approve or reject someone else's."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ..auth.forms import EmptyForm
from ..clock import utcnow
from ..domain.errors import DomainError
from ..extensions import db
from ..models import Question, QuestionVersion
from ..services import review, review_pages
from ..storage.requests import discard
from .blueprint import bp
from .forms import REVISION_FORMS, RejectForm, RevisionForm, text_of
from .views import question_page


def _revision_form(version: QuestionVersion) -> RevisionForm:
    form_class = REVISION_FORMS.get(version.type) or abort(404)
    return form_class()


@bp.route("/questions/<int:question_id>/revise", methods=["GET", "POST"])
def revise(question_id: int):  # type: ignore[no-untyped-def]
    question = db.get_or_404(Question, question_id)
    current = next(v for v in question.versions if v.version == question.current_version)
    form = _revision_form(current)
    general: list[str] = []
    if not form.is_submitted():
        form.fill(current.stem, current.content)
    elif form.validate_on_submit():
        try:
            version = review.propose_revision(
                question,
                stem=text_of(form.stem),
                content_fields=form.content_fields(),
                comments=form.comments.data or "",
                actor=current_user,
                now=utcnow(),
            )
        except review.RevisionInvalid as refused:
            discard()
            for problem in refused.problems:
                field = form.field_for(problem.path)
                if field is None:
                    general.append(problem.message)
                else:
                    field.errors = [*field.errors, problem.message]
        except DomainError as refused:
            discard()
            target = form.comments if refused.code.startswith("comment") else None
            if target is None:
                general.append(str(refused))
            else:
                target.errors = [*target.errors, str(refused)]
        else:
            flash(
                f"{question.external_id}: version {version.version} proposed. Another reviewer must approve it before it is used."
            )
            return redirect(url_for("reviewer.question", question_id=question.id))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "reviewer/revise.html",
        form=form,
        question=question,
        current=current,
        general=general,
        content_template=f"reviewer/revise_{current.type}.html",
    ), status


@bp.route("/approvals")
def approvals():  # type: ignore[no-untyped-def]
    return render_template("reviewer/approvals.html", rows=review_pages.revisions_waiting())


def _decide(version_id: int, approve: bool):  # type: ignore[no-untyped-def]
    version = db.get_or_404(QuestionVersion, version_id)
    reject_form = RejectForm()
    if approve and not EmptyForm().validate_on_submit():
        abort(400)
    if not approve and not reject_form.validate_on_submit():
        if reject_form.csrf_token.errors:
            abort(400)
        return question_page(version.question, reject_form=reject_form), 400
    try:
        if approve:
            review.approve_revision(version, actor=current_user, now=utcnow())
        else:
            review.reject_revision(version, reason=reject_form.reason.data or "", actor=current_user, now=utcnow())
    except DomainError as refused:
        discard()
        if refused.code.startswith("reason"):
            reject_form.reason.errors = [*reject_form.reason.errors, str(refused)]
            return question_page(version.question, reject_form=reject_form), 400
        flash(str(refused), "error")
        return question_page(version.question), 403 if isinstance(refused, review.SelfApproval) else 409
    what = "approved: it is now the current version" if approve else "rejected: the current version stands"
    flash(f"{version.question.external_id} version {version.version} {what}.")
    return redirect(url_for("reviewer.question", question_id=version.question_id))


@bp.route("/revisions/<int:version_id>/approve", methods=["POST"])
def approve(version_id: int):  # type: ignore[no-untyped-def]
    return _decide(version_id, approve=True)


@bp.route("/revisions/<int:version_id>/reject", methods=["POST"])
def reject(version_id: int):  # type: ignore[no-untyped-def]
    return _decide(version_id, approve=False)
