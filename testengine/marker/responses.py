"""Marking pages: one answer beside its question and marking guide, a script, groups of identical answers."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.forms import EmptyForm
from ..clock import utcnow
from ..domain.errors import DomainError
from ..domain.marking_states import MarkingState
from ..service_settings import marking_settings
from ..services import marker_pages as pages
from ..services import marking
from ..services import marking_quality as quality
from ..storage.requests import discard
from .blueprint import bp
from .forms import ChangeMarkForm, MarkForm
from .views import require_button, to_response

ROLE = "<any(first, second, moderator):role>"
DONE = {
    "first": "No more answers are waiting for you here.",
    "second": "No more answers are waiting for a second mark from you.",
    "moderator": "No more disagreements are waiting for you.",
}


def _response(attempt_id: int, position: int) -> pages.ResponsePage:
    aq_id = pages.response_id(attempt_id, position)
    if aq_id is None:
        abort(404)
    page = pages.response_page(aq_id)
    if page.question.type != "short_answer":
        abort(404)  # multiple-choice answers are marked automatically: nothing for a marker here
    return page


def _next(role: str, via: str, page: pages.ResponsePage) -> int | None:
    now = utcnow()
    if role == "first" and via == "script":
        return marking.claim_next(current_user, "first", now, attempt_id=page.attempt_id, settings=marking_settings())
    if role == "first" and via == "question":
        return marking.claim_next(current_user, "first", now, question_id=page.question.question_id, settings=marking_settings())
    if role in ("second", "moderator"):
        return marking.claim_next(current_user, role, now, settings=marking_settings())
    return None


def _my_marks(page: pages.ResponsePage) -> list:  # type: ignore[type-arg]
    return [m for r in ("first", "second") for m in page.marks.by_role.get(r, []) if m.marker_id == current_user.id]


@bp.route(f"/scripts/<int:attempt_id>/responses/<int:position>/{ROLE}", methods=["GET", "POST"])
def respond(attempt_id: int, position: int, role: str):  # type: ignore[no-untyped-def]
    """The marking page: the question, its marking guide and the answer side by side; award 0, 1 or 2."""
    if role == "moderator" and not current_user.is_moderator:
        abort(403)
    page = _response(attempt_id, position)
    if marking.held_claim(page.aq_id, role, current_user) is None:
        mine = _my_marks(page)
        if mine:
            latest = mine[-1]
            script = pages.submitted_script(attempt_id)
            can_change = (
                script is not None and script.marking_state == MarkingState.MARKING and page.marks.latest("moderator") is None
            )
            form = ChangeMarkForm(mark=latest.mark, comment=latest.comment)
            return render_template(
                "marker/respond.html", page=page, role=latest.role, mine=mine, form=form, can_change=can_change
            )
        flash("You do not hold this answer. Take answers from the marking queue.", "error")
        return redirect(url_for("marker.home"))
    form = MarkForm(via=request.args.get("via", ""))
    if form.validate_on_submit():
        via = form.via.data or ""
        try:
            marking.save_mark(
                page.aq_id,
                role,
                current_user,
                mark=form.mark.data,
                comment=form.comment.data,
                now=utcnow(),
                settings=marking_settings(),
            )
        except DomainError as refused:
            discard()
            flash(str(refused), "error")
            return redirect(url_for("marker.home"))
        next_id = _next(role, via, page)
        flash("Mark saved.")
        if next_id is not None:
            return to_response(next_id, role, via)
        if via == "script":
            return redirect(url_for("marker.script", attempt_id=attempt_id))
        flash(DONE[role])
        return redirect(url_for("marker.home"))
    return render_template("marker/respond.html", page=page, role=role, form=form, release_form=EmptyForm(), mine=None)


@bp.route("/scripts/<int:attempt_id>/responses/<int:position>/change", methods=["POST"])
def change(attempt_id: int, position: int):  # type: ignore[no-untyped-def]
    """A marker corrects their own mark: a new mark with the reason; the earlier one is kept."""
    page = _response(attempt_id, position)
    form = ChangeMarkForm()
    if not form.validate_on_submit():
        flash("Choose the new mark and give the reason for the change.", "error")
    else:
        try:
            marking.change_mark(
                page.aq_id,
                current_user,
                mark=form.mark.data,
                comment=form.comment.data,
                reason=form.reason.data or "",
                now=utcnow(),
            )
        except DomainError as refused:
            discard()
            flash(str(refused), "error")
        else:
            flash("Your mark was changed; the earlier mark is kept in the record.")
    mine = _my_marks(page)
    return redirect(url_for("marker.respond", attempt_id=attempt_id, position=position, role=mine[-1].role if mine else "first"))


@bp.route(f"/scripts/<int:attempt_id>/responses/<int:position>/{ROLE}/release", methods=["POST"])
def release(attempt_id: int, position: int, role: str):  # type: ignore[no-untyped-def]
    """Give an answer back to the queue without marking it."""
    require_button()
    page = _response(attempt_id, position)
    marking.release(page.aq_id, role, current_user)
    flash("The answer went back to the queue unmarked.")
    return redirect(url_for("marker.home"))


@bp.route("/scripts/<int:attempt_id>")
def script(attempt_id: int):  # type: ignore[no-untyped-def]
    """A script by candidate number: what is marked, what waits, and its total."""
    attempt = pages.submitted_script(attempt_id)
    if attempt is None:
        abort(404)
    now = utcnow()
    page = pages.script_page(attempt, current_user, now)
    more = bool(marking.available(current_user, "first", now, attempt_id=attempt_id))
    return render_template("marker/script.html", page=page, more=more, form=EmptyForm())


@bp.route("/scripts/<int:attempt_id>/next", methods=["POST"])
def continue_script(attempt_id: int):  # type: ignore[no-untyped-def]
    require_button()
    if pages.submitted_script(attempt_id) is None:
        abort(404)
    aq_id = marking.claim_next(current_user, "first", utcnow(), attempt_id=attempt_id, settings=marking_settings())
    if aq_id is None:
        flash("Nothing more in this script is waiting for you.")
        return redirect(url_for("marker.script", attempt_id=attempt_id))
    return to_response(aq_id, "first", "script")


# --- identical answers, marked once ---------------------------------------------------------


def short_answer_question(question_id: int) -> pages.QuestionInfo:
    info = pages.current_question(question_id)
    if info is None or info.type != "short_answer":
        abort(404)
    return info


@bp.route("/questions/<int:question_id>/groups")
def groups(question_id: int):  # type: ignore[no-untyped-def]
    """Answers to one question that are identical after normalising case, spacing and punctuation."""
    info = short_answer_question(question_id)
    gate = quality.gates_for(current_user, [question_id])[question_id]
    if gate != quality.READY:
        flash(quality.GATE_MESSAGES[gate], "error")
        return redirect(url_for("marker.standardise", question_id=question_id))
    found = marking.answer_groups(current_user, question_id, utcnow())
    positions = {g.representative: pages.position_of(g.representative) for g in found}
    return render_template("marker/groups.html", question=info, groups=found, positions=positions, form=EmptyForm())


@bp.route("/questions/<int:question_id>/groups/<int:attempt_id>/<int:position>/claim", methods=["POST"])
def claim_group(question_id: int, attempt_id: int, position: int):  # type: ignore[no-untyped-def]
    require_button()
    short_answer_question(question_id)
    representative = pages.response_id(attempt_id, position)
    if representative is None:
        abort(404)
    try:
        claimed = marking.claim_group(current_user, question_id, representative, utcnow(), settings=marking_settings())
    except DomainError as refused:
        discard()
        flash(str(refused), "error")
        return redirect(url_for("marker.home"))
    if not claimed:
        flash("Those answers are no longer waiting for you.")
        return redirect(url_for("marker.groups", question_id=question_id))
    return redirect(url_for("marker.group", question_id=question_id, attempt_id=attempt_id, position=position))


@bp.route("/questions/<int:question_id>/groups/<int:attempt_id>/<int:position>", methods=["GET", "POST"])
def group(question_id: int, attempt_id: int, position: int):  # type: ignore[no-untyped-def]
    """Mark a group once: the mark is recorded (and audited) for every answer in it."""
    info = short_answer_question(question_id)
    representative = pages.response_id(attempt_id, position)
    held = marking.held_group(current_user, question_id, representative, utcnow()) if representative else None
    if held is None:
        flash("You hold none of these answers. Choose a group to mark.", "error")
        return redirect(url_for("marker.groups", question_id=question_id))
    form = MarkForm()
    if form.validate_on_submit():
        try:
            saved = marking.save_marks(
                list(held.aq_ids),
                "first",
                current_user,
                mark=form.mark.data,
                comment=form.comment.data,
                now=utcnow(),
                settings=marking_settings(),
            )
        except DomainError as refused:
            discard()
            flash(str(refused), "error")
        else:
            flash(f"Mark saved for {len(saved)} identical answers.")
        return redirect(url_for("marker.groups", question_id=question_id))
    return render_template("marker/group.html", question=info, group=held, form=form)
