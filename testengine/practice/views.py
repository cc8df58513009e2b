"""The practice area: choose a practice bank, answer, submit, read the feedback, see progress by KSB."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import access
from ..clock import utcnow
from ..domain.errors import DomainError
from ..extensions import db
from ..models import Standard
from ..services import practice as service
from ..storage.requests import discard, write_apart
from .forms import StartPracticeForm, answer_form

bp = Blueprint("practice", __name__, url_prefix="/practice")
access.restrict(bp, roles=("apprentice", "learner"))


def _grace() -> int:
    return int(current_app.config["TESTENGINE"]["SAVE_GRACE_SECONDS"])


def _start_form() -> StartPracticeForm:
    form = StartPracticeForm()
    form.standard.choices = [(s.code, f"{s.code} {s.title}") for s in service.practice_standards()]
    return form


def _own(attempt_id: int):  # type: ignore[no-untyped-def]
    try:
        return service.own_attempt(attempt_id, current_user)
    except service.PracticeRefused:
        abort(404)


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    return render_template("practice/home.html", form=_start_form(), history=service.history(current_user))


@bp.post("/start")
def start():  # type: ignore[no-untyped-def]
    form = _start_form()
    if not form.validate_on_submit():
        return render_template("practice/home.html", form=form, history=service.history(current_user)), 400
    standard = db.session.scalar(db.select(Standard).where(Standard.code == form.standard.data))
    try:
        attempt = service.start(current_user, standard, timed=form.timing.data == "timed", now=utcnow())
    except DomainError as refused:
        discard()
        form.standard.errors = [str(refused)]
        return render_template("practice/home.html", form=form, history=service.history(current_user)), 400
    return redirect(url_for("practice.paper", attempt_id=attempt.id))


def _render_paper(attempt, form=None, status: int = 200):  # type: ignore[no-untyped-def]
    questions = service.paper(attempt)
    form = form or answer_form(questions)
    remaining = None
    if attempt.ends_at is not None:
        remaining = max(0, int((attempt.ends_at - utcnow()).total_seconds() // 60))
    return render_template("practice/paper.html", attempt=attempt, questions=questions, form=form, remaining=remaining), status


@bp.get("/papers/<int:attempt_id>")
def paper(attempt_id: int):  # type: ignore[no-untyped-def]
    attempt = _own(attempt_id)
    if attempt.submitted_at is None and not service.accepts_answers(attempt, utcnow(), _grace()):
        # Time is up: what was saved is marked. A GET reads; this write stands in its own transaction.
        write_apart(lambda: service.submit(attempt, now=utcnow(), actor=current_user))
        flash("Time is up: the answers you saved have been marked.")
    if attempt.submitted_at is not None:
        return redirect(url_for("practice.feedback", attempt_id=attempt.id))
    return _render_paper(attempt)


@bp.post("/papers/<int:attempt_id>")
def answer(attempt_id: int):  # type: ignore[no-untyped-def]
    """Save the answers, or save and submit; after the time allowed nothing sent is kept."""
    attempt = _own(attempt_id)
    if attempt.submitted_at is not None:
        return redirect(url_for("practice.feedback", attempt_id=attempt.id))
    questions = service.paper(attempt)
    form = answer_form(questions, formdata=request.form)
    if not form.validate_on_submit():
        return _render_paper(attempt, form, 400)
    answers = {q["position"]: form[f"q{q['position']}"].data or "" for q in questions}
    submitting = request.form.get("action") == "submit"
    try:
        kept = service.save(attempt, answers, now=utcnow(), grace_seconds=_grace())
    except DomainError as refused:
        discard()
        flash(str(refused), "error")
        return _render_paper(attempt, form, 400)
    if not kept:
        flash("Time was up before these answers arrived, so they were not kept; the answers saved in time are marked.")
        submitting = True
    if submitting:
        service.submit(attempt, now=utcnow(), actor=current_user)
    if submitting:
        return redirect(url_for("practice.feedback", attempt_id=attempt.id))
    flash("Answers saved.")
    return redirect(url_for("practice.paper", attempt_id=attempt.id))


@bp.get("/papers/<int:attempt_id>/feedback")
def feedback(attempt_id: int):  # type: ignore[no-untyped-def]
    attempt = _own(attempt_id)
    if attempt.submitted_at is None:
        return redirect(url_for("practice.paper", attempt_id=attempt.id))
    standard = db.session.get(Standard, attempt.standard_id)
    return render_template("practice/feedback.html", attempt=attempt, standard=standard, **service.feedback(attempt))
