"""The apprentice's area: their sittings, the test itself, their results."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import access
from ..auth.forms import EmptyForm
from ..clock import utcnow
from ..extensions import db, write_now, write_transaction
from ..models import Attempt, Booking, Sitting
from ..services import attempts as attempt_service
from ..services import sittings as sitting_service

bp = Blueprint("apprentice", __name__, url_prefix="/apprentice")
access.restrict(bp, roles=("apprentice",))

DEVICE_COOKIE = "te_device"


def _apprentice():  # type: ignore[no-untyped-def]
    apprentice = current_user.apprentice
    if apprentice is None:
        abort(403)
    return apprentice


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    apprentice = _apprentice()
    now = utcnow()
    rows = []
    for booking in db.session.scalars(select(Booking).where(Booking.apprentice_id == apprentice.id).order_by(Booking.id.desc())):
        attempt = sitting_service.latest_attempt(booking)
        if attempt is not None and attempt_service.is_overdue(attempt, now):
            write_now(lambda attempt=attempt: attempt_service.finalise_if_expired(attempt, now))
        rows.append({"booking": booking, "sitting": booking.sitting, "attempt": attempt})
    return render_template("apprentice/home.html", apprentice=apprentice, rows=rows, form=EmptyForm())


@bp.route("/bookings/<int:booking_id>/start", methods=["POST"])
def start(booking_id: int):  # type: ignore[no-untyped-def]
    apprentice = _apprentice()
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.apprentice_id != apprentice.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        attempt = sitting_service.start(booking, now=utcnow(), actor=current_user)
    except sitting_service.SittingError as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return redirect(url_for("apprentice.home"))
    db.session.commit()
    return redirect(url_for("apprentice.sit", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>")
def sit(attempt_id: int):  # type: ignore[no-untyped-def]
    """The test page: one question at a time through the API; this page holds no question content.

    Opening it claims the attempt for this browser (a write), so it runs in a locked transaction.
    """
    db.session.commit()
    with write_transaction():
        return _open_sitting_page(attempt_id)


def _open_sitting_page(attempt_id: int):  # type: ignore[no-untyped-def]
    try:
        attempt = attempt_service.own_attempt(attempt_id, current_user)
    except attempt_service.AttemptError:
        abort(404)
    now = utcnow()
    attempt_service.finalise_if_expired(attempt, now)
    if attempt.state in ("submitted", "abandoned"):
        db.session.commit()
        return redirect(url_for("apprentice.finished", attempt_id=attempt.id))
    if attempt.state == "not_started":
        abort(409)
    device = request.cookies.get(DEVICE_COOKIE)
    if attempt.device_id is not None and device != attempt.device_id:
        # Another computer (or browser profile): only with the invigilator's permission, used once.
        booking = db.session.scalar(
            select(Booking).where(Booking.sitting_id == attempt.sitting_id, Booking.apprentice_id == attempt.apprentice_id)
        )
        if booking is None or not booking.device_change_allowed:
            db.session.rollback()
            return render_template("apprentice/ask_invigilator.html", attempt=attempt), 403
        booking.device_change_allowed = False
        attempt_service.record_browser_event(attempt, "device_change", None, now)
    device = device or secrets.token_urlsafe(24)
    attempt.device_id = device
    token = attempt_service.open_in_browser(attempt, now=now)
    sitting = db.session.get(Sitting, attempt.sitting_id) if attempt.sitting_id else None
    display = {a.kind for a in sitting_service.in_force_adjustments(attempt_service.apprentice_for(current_user), now.date())}
    db.session.commit()
    response = make_response(render_template("apprentice/sit.html", attempt=attempt, client_token=token, sitting=sitting, display=display))
    response.set_cookie(DEVICE_COOKIE, device, max_age=365 * 24 * 3600, httponly=True, samesite="Strict", secure=request.is_secure, path="/apprentice/")
    return response


@bp.route("/attempts/<int:attempt_id>/finished")
def finished(attempt_id: int):  # type: ignore[no-untyped-def]
    try:
        attempt = attempt_service.own_attempt(attempt_id, current_user)
    except attempt_service.AttemptError:
        abort(404)
    if attempt.state not in ("submitted", "abandoned"):
        return redirect(url_for("apprentice.sit", attempt_id=attempt.id))
    answered = attempt_service.answered_count([attempt.id]).get(attempt.id, 0)
    return render_template("apprentice/finished.html", attempt=attempt, answered=answered, total=len(attempt.questions))


from . import results as _results  # noqa: E402,F401  (registers the result pages on this blueprint)
