"""Admin pages for sittings (create, book, assign) and reasonable adjustments."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ..clock import utcnow
from ..domain.errors import DomainError
from ..extensions import db
from ..form_choices import options
from ..models import Adjustment, Apprentice, Attempt, Sitting, Standard, User
from ..services import adjustments as adjustment_service
from ..services import attempts as attempt_service
from ..services import sitting_pages
from ..services import sittings as sitting_service
from ..storage.requests import discard
from .blueprint import bp
from .forms import AdjustmentForm, BookForm, ExtraTimeForm, RemoveAdjustmentForm, SittingForm

UTC = dt.UTC


@bp.route("/sittings")
def sittings():  # type: ignore[no-untyped-def]
    return render_template("admin/sittings.html", sittings=sitting_pages.all_sittings())


@bp.route("/sittings/new", methods=["GET", "POST"])
def create_sitting():  # type: ignore[no-untyped-def]
    form = SittingForm()
    form.standard.choices = options([(s.id, f"{s.code} {s.title}") for s in sitting_pages.standards()])
    if form.validate_on_submit():
        standard = db.session.get(Standard, form.standard.data) or abort(400)
        start = form.window_start.data.replace(tzinfo=UTC)
        end = start + dt.timedelta(minutes=form.window_minutes.data or 60)
        try:
            sitting = sitting_service.create_sitting(
                standard=standard,
                title=form.title.data or "",
                venue=form.venue.data or "",
                remote=bool(form.remote.data),
                window_start=start,
                window_end=end,
                now=utcnow(),
                actor=current_user,
            )
        except sitting_service.SittingError as refused:
            discard()
            form.window_start.errors = [*form.window_start.errors, str(refused)]
        else:
            flash("Sitting created. Now book apprentices and assign invigilators.")
            return redirect(url_for("admin.sitting", sitting_id=sitting.id))
    return render_template("admin/sitting_new.html", form=form)


def _book_form(sitting: Sitting) -> BookForm:
    form = BookForm()
    form.apprentices.choices = options(
        [(a.id, f"{a.candidate_number} {a.full_name}") for a in sitting_pages.bookable_apprentices(sitting)]
    )
    form.invigilators.choices = options([(u.id, u.display_name) for u in sitting_pages.unassigned_invigilators(sitting)])
    return form


@bp.route("/sittings/<int:sitting_id>", methods=["GET", "POST"])
def sitting(sitting_id: int):  # type: ignore[no-untyped-def]
    room = db.get_or_404(Sitting, sitting_id)
    form = _book_form(room)
    status = 200
    if form.validate_on_submit():
        try:
            _book_and_assign(room, form)
        except sitting_service.SittingError as refused:  # e.g. an apprentice who may not sit the test: nothing is booked
            discard()
            form.apprentices.errors = [*form.apprentices.errors, str(refused)]
            status = refused.status
        else:
            flash("Sitting updated.")
            return redirect(url_for("admin.sitting", sitting_id=sitting_id))
    invigilators = sitting_pages.invigilators_of(room)
    return render_template("admin/sitting.html", sitting=room, form=form, invigilators=invigilators), status


def _book_and_assign(room: Sitting, form: BookForm) -> None:
    now = utcnow()
    for apprentice_id in form.apprentices.data or []:
        apprentice = db.session.get(Apprentice, apprentice_id)
        if apprentice is not None:
            sitting_service.book(room, apprentice, now=now, actor=current_user)
    for user_id in form.invigilators.data or []:
        user = db.session.get(User, user_id)
        if user is not None:
            sitting_service.assign_invigilator(room, user, actor=current_user)


@bp.route("/apprentices/<int:apprentice_id>/adjustments", methods=["GET", "POST"])
def adjustments(apprentice_id: int):  # type: ignore[no-untyped-def]
    apprentice = db.get_or_404(Apprentice, apprentice_id)
    form = AdjustmentForm()
    if form.validate_on_submit():
        try:
            adjustment_service.add_adjustment(
                apprentice,
                kind=form.kind.data or "",
                extra_percent=form.extra_percent.data or 0,
                extra_minutes=form.extra_minutes.data or 0,
                reason=form.reason.data or "",
                approval_reference=form.approval_reference.data or "",
                approved_by=form.approved_by.data or "",
                expires_on=form.expires_on.data,
                now=utcnow(),
                actor=current_user,
                display=form.display_settings(),
            )
        except adjustment_service.AdjustmentError as refused:
            discard()
            form.kind.errors = [*form.kind.errors, str(refused)]
        else:
            flash("Adjustment recorded; it applies to every sitting this apprentice books.")
            return redirect(url_for("admin.adjustments", apprentice_id=apprentice_id))
    return _adjustments_page(apprentice, form)


def _adjustments_page(apprentice: Apprentice, form: AdjustmentForm, removal: tuple[int, RemoveAdjustmentForm] | None = None):  # type: ignore[no-untyped-def]
    rows = sitting_pages.adjustments_of(apprentice)
    open_attempts = sitting_pages.open_attempts_of(apprentice)
    extra_forms = {
        a.id: ExtraTimeForm(prefix=f"a{a.id}", extra_percent=a.extra_percent, extra_minutes=a.extra_minutes)
        for a in open_attempts
    }
    remove_forms = {a.id: RemoveAdjustmentForm(prefix=f"r{a.id}", formdata=None) for a in rows if a.revoked_at is None}
    if removal is not None:
        remove_forms[removal[0]] = removal[1]
    return render_template(
        "admin/adjustments.html",
        apprentice=apprentice,
        form=form,
        adjustments=rows,
        today=utcnow().date(),
        open_attempts=open_attempts,
        extra_forms=extra_forms,
        remove_forms=remove_forms,
    )


@bp.route("/adjustments/<int:adjustment_id>/remove", methods=["POST"])
def remove_adjustment(adjustment_id: int):  # type: ignore[no-untyped-def]
    """Remove an adjustment: confirmed, with a reason, audited; refused if it would end a running test in the past."""
    adjustment = db.get_or_404(Adjustment, adjustment_id)
    apprentice = adjustment.apprentice
    form = RemoveAdjustmentForm(prefix=f"r{adjustment.id}")
    if form.validate_on_submit():
        try:
            changed = adjustment_service.remove_adjustment(
                adjustment, reason=form.reason.data or "", now=utcnow(), actor=current_user
            )
        except DomainError as refused:
            discard()
            form.reason.errors = [*form.reason.errors, str(refused)]
        else:
            flash(
                "Adjustment removed"
                + (f"; the extra time of attempt {', '.join(str(a.id) for a in changed)} changed with it." if changed else ".")
            )
            return redirect(url_for("admin.adjustments", apprentice_id=apprentice.id))
    return _adjustments_page(apprentice, AdjustmentForm(formdata=None), (adjustment.id, form)), 400


@bp.route("/attempts/<int:attempt_id>/extra-time", methods=["POST"])
def change_extra_time(attempt_id: int):  # type: ignore[no-untyped-def]
    """Change the extra time of a test already issued or in progress: audited; never into the past."""
    attempt = db.get_or_404(Attempt, attempt_id)
    form = ExtraTimeForm(prefix=f"a{attempt.id}")
    if not form.validate_on_submit():
        flash("Give the new extra time and a reason. " + " ".join(e for errs in form.errors.values() for e in errs), "error")
    else:
        try:
            attempt_service.change_extra_time(
                attempt,
                percent=form.extra_percent.data or 0,
                minutes=form.extra_minutes.data or 0,
                now=utcnow(),
                actor=current_user,
                reason=form.reason.data or "",
            )
        except DomainError as refused:
            discard()
            flash(str(refused), "error")
        else:
            flash("Extra time changed; the apprentice's clock shows the new time left.")
    return redirect(url_for("admin.adjustments", apprentice_id=attempt.apprentice_id))
