"""The marker's area: the queue, marking by question or by script, second marking and moderation.

Pages live in three modules on this blueprint: this one (the queue and starting to mark),
responses.py (the marking page, scripts, groups of identical answers) and quality.py
(standardisation and the moderators' pages). Markers see candidate numbers, never names or ULNs.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ..auth.forms import EmptyForm
from ..clock import utcnow
from ..service_settings import marking_settings
from ..services import marker_pages as pages
from ..services import marking
from ..services import marking_quality as quality
from .blueprint import bp

# Pages only a moderator (a senior marker) may use; other markers get 403.
MODERATOR_ENDPOINTS: set[str] = set()


def moderator_only(view):  # type: ignore[no-untyped-def]
    """Refuse (403) anyone who is not a moderator; the area's rule has already required a marker."""
    import functools

    MODERATOR_ENDPOINTS.add(f"{bp.name}.{view.__name__}")

    @functools.wraps(view)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not current_user.is_moderator:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def require_button() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400)


def to_response(aq_id: int, role: str, via: str = ""):  # type: ignore[no-untyped-def]
    attempt_id, position = pages.position_of(aq_id)
    return redirect(url_for("marker.respond", attempt_id=attempt_id, position=position, role=role, via=via or None))


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    return render_template("marker/home.html", queue=pages.home(current_user, utcnow()), form=EmptyForm())


@bp.route("/questions/<int:question_id>/next", methods=["POST"])
def start_question(question_id: int):  # type: ignore[no-untyped-def]
    """Mark by question: every script's answer to this question in turn, in the marker's own order."""
    require_button()
    gate = quality.gates_for(current_user, [question_id])[question_id]
    if gate != quality.READY:
        flash(quality.GATE_MESSAGES[gate], "error")
        return redirect(url_for("marker.standardise", question_id=question_id))
    aq_id = marking.claim_next(current_user, "first", utcnow(), question_id=question_id, settings=marking_settings())
    if aq_id is None:
        flash("No answers to this question are waiting for you.")
        return redirect(url_for("marker.home"))
    return to_response(aq_id, "first", "question")


@bp.route("/scripts/next", methods=["POST"])
def start_script():  # type: ignore[no-untyped-def]
    """Mark by script: every answer you may mark in one script, in paper order."""
    require_button()
    now = utcnow()
    attempt_id = marking.next_script(current_user, now, settings=marking_settings())
    aq_id = (
        marking.claim_next(current_user, "first", now, attempt_id=attempt_id, settings=marking_settings()) if attempt_id else None
    )
    if aq_id is None:
        flash("No scripts have answers waiting for you.")
        return redirect(url_for("marker.home"))
    return to_response(aq_id, "first", "script")


@bp.route("/second/next", methods=["POST"])
def start_second():  # type: ignore[no-untyped-def]
    """Second marking, blind: the first mark is not shown."""
    require_button()
    aq_id = marking.claim_next(current_user, "second", utcnow(), settings=marking_settings())
    if aq_id is None:
        flash("No answers are waiting for a second mark from you.")
        return redirect(url_for("marker.home"))
    return to_response(aq_id, "second")


@bp.route("/moderation/next", methods=["POST"])
@moderator_only
def start_moderation():  # type: ignore[no-untyped-def]
    require_button()
    aq_id = marking.claim_next(current_user, "moderator", utcnow(), settings=marking_settings())
    if aq_id is None:
        flash("No disagreements are waiting for you.")
        return redirect(url_for("marker.home"))
    return to_response(aq_id, "moderator")
