"""The invigilator's area: their sittings, venue check, check-in, the live room board, incidents, the report."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField

from .. import access
from ..auth.forms import EmptyForm
from ..clock import utcnow
from ..domain.errors import DomainError
from ..extensions import db
from ..form_choices import options
from ..policy import load_policy
from ..service_settings import attempt_settings
from ..services import attempts as attempt_service
from ..services import invigilation
from ..services import messages as message_service
from ..services import sittings as sitting_service
from ..services.reports import invigilation_pdf
from ..storage.requests import discard
from .forms import CheckInForm, CloseSittingForm, IncidentForm, MessageForm, PauseRoomForm

bp = Blueprint("invigilator", __name__, url_prefix="/invigilate")
access.restrict(bp, roles=("invigilator",))


def _sitting(sitting_id: int):  # type: ignore[no-untyped-def]
    try:
        return sitting_service.invigilator_sitting(sitting_id, current_user)
    except sitting_service.SittingError:
        abort(404)


def _back(sitting_id: int):  # type: ignore[no-untyped-def]
    return redirect(url_for("invigilator.sitting", sitting_id=sitting_id))


def _act(sitting_id: int, action, success: str, form: FlaskForm | None = None):  # type: ignore[no-untyped-def]
    """Run one room action from a button (or a form already validated): CSRF-checked, one commit, a clear message either way."""
    if form is None and not EmptyForm().validate_on_submit():
        abort(400)
    try:
        action()
    except (sitting_service.SittingError, attempt_service.AttemptError) as refused:
        discard()
        flash(str(refused), "error")
    else:
        flash(success)
    return _back(sitting_id)


def checklist_form(remote: bool):  # type: ignore[no-untyped-def]
    class VenueForm(FlaskForm):
        pass

    for item in load_policy().checklist_for(remote):
        setattr(VenueForm, item.key, BooleanField(f"{item.label}: {item.text}"))
    return VenueForm()


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    return render_template("invigilator/home.html", sittings=sitting_service.sittings_for_invigilator(current_user))


def _incident_form(room) -> IncidentForm:  # type: ignore[no-untyped-def]
    form = IncidentForm()
    form.kind.choices = options([(c.key, c.name) for c in load_policy().incident_types])
    form.apprentices.choices = options([(b.apprentice_id, b.apprentice.candidate_number) for b in room.bookings])
    return form


def _message_form(room) -> MessageForm:  # type: ignore[no-untyped-def]
    form = MessageForm()
    form.recipient.choices = options(
        [
            ("room", "The whole room"),
            *((str(b.apprentice_id), f"{b.apprentice.candidate_number} {b.apprentice.full_name}") for b in room.bookings),
        ]
    )
    return form


def _board_page(room, *, status: int = 200, **forms):  # type: ignore[no-untyped-def]
    """The room page; a refused form is passed back in `forms` so its errors show beside its fields."""
    if status != 200:
        discard()  # nothing of a refused action stays
    data = invigilation.board(room, utcnow())
    me = next((link for link in room.invigilators if link.user_id == current_user.id), None)
    page = render_template(
        "invigilator/sitting.html",
        sitting=room,
        board=data,
        form=EmptyForm(),
        venue_form=checklist_form(room.remote),
        incident_form=forms.get("incident_form") or _incident_form(room),
        pause_form=forms.get("pause_form") or PauseRoomForm(formdata=None),
        close_form=forms.get("close_form") or CloseSittingForm(formdata=None),
        message_form=forms.get("message_form") or _blank_message_form(room),
        present=bool(me and me.present),
        policy=load_policy(),
    )
    return page, status


@bp.route("/sittings/<int:sitting_id>")
def sitting(sitting_id: int):  # type: ignore[no-untyped-def]
    return _board_page(_sitting(sitting_id))


@bp.route("/sittings/<int:sitting_id>/sign-in", methods=["POST"])
def sign_in(sitting_id: int):  # type: ignore[no-untyped-def]
    room = _sitting(sitting_id)
    return _act(sitting_id, lambda: sitting_service.sign_in(room, current_user, now=utcnow()), "You are signed in to the room.")


@bp.route("/sittings/<int:sitting_id>/sign-out", methods=["POST"])
def sign_out(sitting_id: int):  # type: ignore[no-untyped-def]
    room = sitting_service.lock_sitting(_sitting(sitting_id).id)
    return _act(
        sitting_id, lambda: sitting_service.sign_out(room, current_user, now=utcnow()), "You have signed out of the room."
    )


@bp.route("/sittings/<int:sitting_id>/venue", methods=["POST"])
def venue(sitting_id: int):  # type: ignore[no-untyped-def]
    room = _sitting(sitting_id)
    form = checklist_form(room.remote)
    if not form.validate_on_submit():
        abort(400)
    checks = {name: bool(field.data) for name, field in form._fields.items() if name != "csrf_token"}
    try:
        sitting_service.confirm_venue(room, checks, now=utcnow(), actor=current_user)
    except sitting_service.SittingError as refused:
        discard()
        flash(str(refused), "error")
    else:
        flash("Venue confirmed. Apprentices who are checked in can now start.")
    return _back(sitting_id)


@bp.route("/sittings/<int:sitting_id>/bookings/<int:booking_id>/check-in", methods=["GET", "POST"])
def check_in(sitting_id: int, booking_id: int):  # type: ignore[no-untyped-def]
    room = _sitting(sitting_id)
    try:
        booking = sitting_service.booking_in_sitting(room, booking_id)
    except sitting_service.SittingError:
        abort(404)
    form = CheckInForm()
    form.document_type.choices = options([(d.key, d.name) for d in load_policy().identity.documents])
    if form.validate_on_submit():
        now = utcnow()
        try:
            sitting_service.check_in(
                booking,
                document_type=form.document_type.data or "",
                last_digits=form.last_digits.data or "",
                photo_matched=bool(form.photo_matched.data),
                uln_confirmed=bool(form.uln_confirmed.data),
                seat=form.seat.data or "",
                now=now,
                actor=current_user,
            )
        except sitting_service.SittingError as refused:
            discard()
            form.last_digits.errors = [*form.last_digits.errors, str(refused)]
            return render_template("invigilator/check_in.html", sitting=room, booking=booking, form=form)
        try:
            with db.session.begin_nested():  # a failed draw undoes only itself: the check-in stands
                sitting_service.prepare_paper(booking, now=now, actor=current_user)
        except DomainError as shortfall:  # e.g. a bank shortfall: say so; the start will try again
            flash(
                f"{booking.apprentice.candidate_number} checked in, but no paper could be drawn yet: {shortfall} "
                "Starting will try again; tell the assessment organisation's bank administrator.",
                "error",
            )
            return _back(sitting_id)
        flash(f"{booking.apprentice.candidate_number} checked in.")
        return _back(sitting_id)
    return render_template("invigilator/check_in.html", sitting=room, booking=booking, form=form)


@bp.route("/sittings/<int:sitting_id>/bookings/<int:booking_id>/absent", methods=["POST"])
def absent(sitting_id: int, booking_id: int):  # type: ignore[no-untyped-def]
    room = _sitting(sitting_id)
    booking = sitting_service.booking_in_sitting(room, booking_id)
    return _act(sitting_id, lambda: sitting_service.mark_absent(booking, now=utcnow(), actor=current_user), "Marked absent.")


@bp.route("/sittings/<int:sitting_id>/bookings/<int:booking_id>/allow-device", methods=["POST"])
def allow_device(sitting_id: int, booking_id: int):  # type: ignore[no-untyped-def]
    room = _sitting(sitting_id)
    booking = sitting_service.booking_in_sitting(room, booking_id)
    return _act(
        sitting_id,
        lambda: invigilation.allow_device_change(booking, actor=current_user),
        "The apprentice may continue on another computer (once).",
    )


@bp.route("/sittings/<int:sitting_id>/attempts/<int:attempt_id>/<action>", methods=["POST"])
def attempt_action(sitting_id: int, attempt_id: int, action: str):  # type: ignore[no-untyped-def]
    room = _sitting(sitting_id)
    try:
        attempt = sitting_service.attempt_in_sitting(room, attempt_id)
    except sitting_service.SittingError:
        abort(404)
    now = utcnow()
    actions = {
        "pause": (lambda: attempt_service.begin_stoppage(attempt, "pause", now=now, actor=current_user), "Paused."),
        "rest-break": (
            lambda: attempt_service.begin_stoppage(attempt, "rest_break", now=now, actor=current_user),
            "Rest break started; the clock is stopped.",
        ),
        "resume": (
            lambda: attempt_service.end_stoppage(attempt, now=now, actor=current_user),
            "Resumed with the time that was left.",
        ),
    }
    if action not in actions:
        abort(404)
    run, message = actions[action]
    return _act(sitting_id, run, message)


@bp.route("/sittings/<int:sitting_id>/pause-room", methods=["POST"])
def pause_room(sitting_id: int):  # type: ignore[no-untyped-def]
    """Confirmed, with a reason: the reason becomes the notes of the incident the pause opens."""
    form = PauseRoomForm()
    if not form.validate_on_submit():
        return _board_page(_sitting(sitting_id), status=400, pause_form=form)
    room = sitting_service.lock_sitting(_sitting(sitting_id).id)
    reason = (form.reason.data or "").strip()
    return _act(
        sitting_id,
        lambda: invigilation.pause_room(room, now=utcnow(), actor=current_user, reason=reason),
        "The whole room is paused; every clock has stopped. An incident has been opened.",
        form=form,
    )


@bp.route("/sittings/<int:sitting_id>/resume-room", methods=["POST"])
def resume_room(sitting_id: int):  # type: ignore[no-untyped-def]
    room = sitting_service.lock_sitting(_sitting(sitting_id).id)
    return _act(
        sitting_id,
        lambda: invigilation.resume_room(room, now=utcnow(), actor=current_user),
        "The room has resumed; every apprentice has the time they had left.",
    )


@bp.route("/sittings/<int:sitting_id>/incidents", methods=["POST"])
def incident(sitting_id: int):  # type: ignore[no-untyped-def]
    room = _sitting(sitting_id)
    form = _incident_form(room)
    if not form.validate_on_submit():
        return _board_page(room, status=400, incident_form=form)
    try:
        sitting_service.log_incident(
            room,
            kind=form.kind.data or "",
            apprentice_ids=list(form.apprentices.data or []),
            now=utcnow(),
            actor=current_user,
            notes=form.notes.data or "",
        )
    except sitting_service.SittingError as refused:
        form.notes.errors = [*form.notes.errors, str(refused)]
        return _board_page(room, status=400, incident_form=form)
    flash("Incident recorded.")
    return _back(sitting_id)


def _blank_message_form(room) -> MessageForm:  # type: ignore[no-untyped-def]
    form = _message_form(room)
    form.process(formdata=None)
    return form


@bp.route("/sittings/<int:sitting_id>/messages", methods=["POST"])
def message(sitting_id: int):  # type: ignore[no-untyped-def]
    """Send a message to one apprentice or the room: it reaches their screens at their next clock poll, and the report keeps it."""
    room = _sitting(sitting_id)
    form = _message_form(room)
    if not form.validate_on_submit():
        return _board_page(room, status=400, message_form=form)
    recipient = None if form.recipient.data == "room" else int(form.recipient.data or 0)
    try:
        message_service.send(room, apprentice_id=recipient, body=form.body.data or "", now=utcnow(), actor=current_user)
    except message_service.MessageError as refused:
        getattr(form, refused.field).errors = [*getattr(form, refused.field).errors, str(refused)]
        return _board_page(room, status=400, message_form=form)
    flash(
        "Message sent: it appears on the screen within a few seconds."
        if recipient
        else "Message sent to the whole room: it appears on every screen within a few seconds."
    )
    return _back(sitting_id)


@bp.route("/sittings/<int:sitting_id>/close", methods=["POST"])
def close(sitting_id: int):  # type: ignore[no-untyped-def]
    room = _sitting(sitting_id)
    form = CloseSittingForm()
    if not form.validate_on_submit():
        return _board_page(room, status=400, close_form=form)
    try:
        sitting_service.close(room, now=utcnow(), actor=current_user, settings=attempt_settings())
    except sitting_service.SittingError as refused:
        discard()
        flash(str(refused), "error")
        return _back(sitting_id)
    flash("Sitting closed.")
    return redirect(url_for("invigilator.report", sitting_id=sitting_id))


@bp.route("/sittings/<int:sitting_id>/report")
def report(sitting_id: int):  # type: ignore[no-untyped-def]
    room = _sitting(sitting_id)
    data = invigilation.report(room)
    data["messages"] = message_service.for_report(room)  # what the invigilators told the room, kept with it
    fmt = request.args.get("format", "html")
    if fmt == "csv":
        from ..services.exports import safe_csv_row

        buffer = io.StringIO()
        writer = csv.writer(buffer)
        columns = [
            "candidate_number",
            "name",
            "seat",
            "attendance",
            "checked_in_at",
            "identity",
            "started_at",
            "finished_at",
            "finish",
            "stopped_minutes",
        ]
        writer.writerow(columns)
        for row in data["register"]:
            writer.writerow(safe_csv_row([row[c] for c in columns]))
        writer.writerow([])
        writer.writerow(["incident", "occurred_at", "ended_at", "apprentices", "notes"])
        for item in data["incidents"]:
            writer.writerow(
                safe_csv_row(
                    [
                        data["incident_names"].get(item.kind, item.kind),
                        item.occurred_at.isoformat(),
                        item.ended_at.isoformat() if item.ended_at else "",
                        " ".join(data["candidates"].get(a, str(a)) for a in item.apprentice_ids),
                        item.notes,
                    ]
                )
            )
        writer.writerow([])
        writer.writerow(["message", "sent_at", "to", "from"])
        for message in data["messages"]:
            writer.writerow(safe_csv_row([message["body"], message["sent_at"].isoformat(), message["to"], message["sent_by"]]))
        return Response(
            buffer.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename=invigilation-{room.id}.csv"},
        )
    if fmt == "pdf":
        zone = ZoneInfo(current_app.config["TESTENGINE"]["DISPLAY_TIMEZONE"])
        return Response(
            invigilation_pdf(data, zone),
            mimetype="application/pdf",
            headers={"Content-Disposition": f"attachment; filename=invigilation-{room.id}.pdf"},
        )
    return render_template("invigilator/report.html", report=data, sitting=room, messages=data["messages"])
