"""The bank reviewer's area: the review queue, item statistics, versioned edits.

Reviewers see questions and numbers, never people being assessed: no page here shows an
apprentice's name, ULN or candidate number, and statistics are only ever aggregates.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..auth.forms import EmptyForm
from ..clock import utcnow
from ..domain.errors import DomainError
from ..extensions import db
from ..models import Question
from ..services import bank_lint, review, review_pages
from ..services.statistics import BankStatistics, bank_statistics
from ..storage.requests import discard
from . import charts
from .blueprint import bp
from .forms import DecisionForm, RejectForm


def all_statistics() -> dict[int, BankStatistics]:
    return {standard.id: bank_statistics(standard) for standard in review_pages.standards()}


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    today = utcnow().date()
    due = review.queue(today, all_statistics())
    standards = review_pages.standards()
    lint = bank_lint.findings_by_item(list(standards))
    return render_template("reviewer/home.html", due=due, standards=standards, today=today, lint=lint)


def question_page(  # type: ignore[no-untyped-def]
    question: Question, decision_form: DecisionForm | None = None, reject_form: RejectForm | None = None
):
    versions = question.versions
    current = next(v for v in versions if v.version == question.current_version)
    pending = next((v for v in versions if v.revision_state == "pending"), None)
    stats = bank_statistics(question.standard).by_version()
    item = stats.get(current.id)
    history = review_pages.reviews_of(question)
    names = review_pages.names(
        {r.reviewer_id for r in history}
        | {v.proposed_by_id for v in versions}
        | {v.approved_by_id for v in versions}
        | {v.rejected_by_id for v in versions}
    )
    return render_template(
        "reviewer/question.html",
        question=question,
        standard=question.standard,
        current=current,
        pending=pending,
        item=item,
        option_chart=charts.option_bars(item) if item is not None and item.option_shares else None,
        version_stats=[(v, stats.get(v.id)) for v in reversed(versions)],
        history=history,
        names=names,
        due_on=review.review_date(question),
        today=utcnow().date(),
        decision_form=decision_form or DecisionForm(),
        reject_form=reject_form or RejectForm(formdata=None),
        changes=review.changes_in(pending) if pending is not None else [],
        lint=bank_lint.findings_by_item([question.standard]).get(question.external_id, []),
        button=EmptyForm(),
    )


@bp.route("/questions/<int:question_id>")
def question(question_id: int):  # type: ignore[no-untyped-def]
    return question_page(db.get_or_404(Question, question_id))


@bp.route("/questions/<int:question_id>/decision", methods=["POST"])
def decide(question_id: int):  # type: ignore[no-untyped-def]
    row = db.get_or_404(Question, question_id)
    form = DecisionForm()
    if form.validate_on_submit():
        action = review.keep if form.decision.data == "keep" else review.retire
        try:
            action(row, form.comments.data or "", actor=current_user, now=utcnow())
        except DomainError as refused:
            discard()
            if refused.code.startswith("comment"):
                form.comments.errors = [*form.comments.errors, str(refused)]
            else:  # e.g. already retired: the form is no longer on the page, so say it above
                flash(str(refused), "error")
        else:
            if form.decision.data == "keep":
                flash(f"{row.external_id}: kept; next review due {row.next_due:%d %b %Y}.")
            else:
                flash(f"{row.external_id}: retired; it will not be drawn again.")
            return redirect(url_for("reviewer.home"))
    return question_page(row, form), 400
