"""The apprentice's area: their sittings, the test itself, their results."""

from __future__ import annotations

import functools
import secrets

from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from ..auth.forms import EmptyForm
from ..clock import utcnow
from ..domain import display as display_rules
from ..domain.attempt_states import FINISHED_STATES, AttemptState
from ..extensions import db
from ..fast_lane import sitting as lane
from ..models import Booking, Sitting
from ..ops.metrics import STARTS
from ..service_settings import attempt_settings
from ..services import answers as answer_service
from ..services import attempts as attempt_service
from ..services import display as display_service
from ..services import invigilation, starts
from ..services import sittings as sitting_service
from ..storage import reads_then_writes
from ..storage.requests import commit_so_far, discard, write_apart, writing_from_here
from .blueprint import bp
from .forms import DisplayForm, StartForm

DEVICE_COOKIE = "te_device"
CLAIM = "claimed_attempt"  # in the signed session: the attempt this browser's start claimed, used once
DISPLAY = "display"  # in the signed session: the display settings chosen on the home page, for this browser


def _apprentice():  # type: ignore[no-untyped-def]
    apprentice = current_user.apprentice
    if apprentice is None:
        abort(403)
    return apprentice


def _page_settings(apprentice) -> display_rules.DisplaySettings:  # type: ignore[no-untyped-def]
    """How the apprentice's pages look before a test keeps its own settings: this browser's choice over their adjustments."""
    defaults = display_service.defaults_for(apprentice, utcnow().date())
    chosen = session.get(DISPLAY)
    if not isinstance(chosen, dict):
        return defaults
    try:
        return display_rules.merge(defaults, chosen)
    except display_rules.DisplayError:  # a choice from an older list: the defaults
        return defaults


@bp.app_context_processor
def _display_classes():  # type: ignore[no-untyped-def]
    """Every page an apprentice sees in their chosen display (the accessibility statement and their
    account's pages too); the test pages pass their attempt's own. Other people's pages: none."""
    apprentice = getattr(current_user, "apprentice", None) if current_user.is_authenticated else None
    return {"display_classes": display_rules.display_classes(_page_settings(apprentice)) if apprentice else []}


@bp.route("/display", methods=["POST"])
def display():  # type: ignore[no-untyped-def]
    """Keep the display settings chosen on the home page, for this browser: its pages and the start page's defaults."""
    apprentice = _apprentice()
    form = DisplayForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _home_page(apprentice, form, status=400)
    session[DISPLAY] = form.settings(_page_settings(apprentice)).as_dict()
    flash("Display settings saved. Your pages and the start of your test use them.")
    return redirect(url_for("apprentice.home"))


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    apprentice = _apprentice()
    now = utcnow()
    rows = []
    for booking in db.session.scalars(select(Booking).where(Booking.apprentice_id == apprentice.id).order_by(Booking.id.desc())):
        attempt = sitting_service.latest_attempt(booking)
        if attempt is not None and attempt_service.is_overdue(attempt, now, settings=attempt_settings()):
            write_apart(functools.partial(attempt_service.finalise_if_expired, attempt, now, settings=attempt_settings()))
        rows.append({"booking": booking, "sitting": booking.sitting, "attempt": attempt})
    return _home_page(apprentice, DisplayForm(data=_page_settings(apprentice).as_dict()), rows=rows)


def _home_page(apprentice, display_form: DisplayForm, *, rows=None, status: int = 200):  # type: ignore[no-untyped-def]
    if rows is None:
        rows = [
            {"booking": b, "sitting": b.sitting, "attempt": sitting_service.latest_attempt(b)}
            for b in db.session.scalars(select(Booking).where(Booking.apprentice_id == apprentice.id).order_by(Booking.id.desc()))
        ]
    page = render_template("apprentice/home.html", apprentice=apprentice, rows=rows, form=EmptyForm(), display_form=display_form)
    return page, status


@bp.route("/bookings/<int:booking_id>/start", methods=["GET", "POST"])
@reads_then_writes
def start(booking_id: int):  # type: ignore[no-untyped-def]
    """GET: "are you ready?" (the clock starts on the next press). POST: start.

    The POST reads (and, with no paper prepared at check-in, draws) without the write lock; then one
    short write. That write also claims the attempt for this browser, as opening the test page would,
    so the page this browser opens next has nothing to write (see `_claimed_at_start`).
    """
    apprentice = _apprentice()
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.apprentice_id != apprentice.id:
        abort(404)
    if request.method == "GET":
        return _confirm_start(booking, _start_form(apprentice))
    form = StartForm()
    if not form.validate_on_submit():
        if not form.csrf_token.errors and form.errors:  # a display choice not on its list: say which
            return _confirm_start(booking, form, status=400)
        abort(400)
    settings = form.settings(_page_settings(apprentice))
    device = request.cookies.get(DEVICE_COOKIE) or secrets.token_urlsafe(24)
    try:
        ahead = starts.read_ahead(booking, now=utcnow())
        writing_from_here()
        attempt, token = _start_and_claim(booking, device, ahead, settings)
    except sitting_service.SittingError as refused:
        discard()
        flash(str(refused), "error")
        return redirect(url_for("apprentice.home"))
    if token is not None:  # this request started the attempt (a second click only reopens it)
        STARTS.inc()
        session[CLAIM] = {"attempt": attempt.id, "token": token}
    return _with_device(redirect(url_for("apprentice.sit", attempt_id=attempt.id)), device)


def _start_form(apprentice) -> StartForm:  # type: ignore[no-untyped-def]
    """The start form, its display settings filled from the apprentice's adjustments."""
    return StartForm(data=_page_settings(apprentice).as_dict())


def _confirm_start(booking: Booking, form: StartForm, status: int = 200):  # type: ignore[no-untyped-def]
    """The page between "Start the test" and the clock starting: what is about to happen, the display settings, and a way back."""
    attempt = sitting_service.latest_attempt(booking)
    if attempt is not None and attempt.state != AttemptState.NOT_STARTED:  # already started (or finished): go there
        return redirect(url_for("apprentice.sit", attempt_id=attempt.id))
    if attempt is not None:  # a paper drawn at check-in: its own numbers
        questions, minutes = len(attempt.questions), round(attempt_service.clock_status(attempt, utcnow()).allowed_minutes)
    else:
        questions, minutes = starts.start_preview(booking, utcnow().date())
    return render_template(
        "apprentice/start.html", booking=booking, sitting=booking.sitting, form=form, minutes=minutes, questions=questions
    ), status


def _start_and_claim(  # type: ignore[no-untyped-def]
    booking: Booking, device: str, ahead: starts.ReadAhead | None, settings: display_rules.DisplaySettings
):
    now = utcnow()  # the clock starts when the write is made (it may have waited for the lock)
    attempt = starts.start(booking, now=now, actor=current_user, ahead=ahead, device=device)
    if attempt.display_settings is None:  # the first press chooses; another (a second window) changes nothing
        display_service.keep(attempt, settings)
    claimed = attempt.started_at == now and attempt.device_id == device  # this request started it and opened it here
    return attempt, attempt.client_token if claimed else None


@bp.route("/attempts/<int:attempt_id>")
def sit(attempt_id: int):  # type: ignore[no-untyped-def]
    """The test page: one question at a time through the API; this page holds no question content.

    Opening it claims the attempt for this browser (a write, in a locked transaction), unless the
    start this browser just made claimed it already.
    """
    opened = _claimed_at_start(attempt_id)
    if opened is None:
        writing_from_here()
        opened = _open_sitting_page(attempt_id)
        if not isinstance(opened, tuple):
            return opened
    attempt, token, device = opened
    sitting = db.session.get(Sitting, attempt.sitting_id) if attempt.sitting_id else None
    settings = display_service.settings_for(attempt, attempt_service.apprentice_for(current_user), utcnow().date())
    capability = lane.issue_for(attempt, current_user, token, utcnow())
    commit_so_far()  # the first screen is read on the fast lane's own connection: it must see the claim
    initial = lane.first_screen(capability, attempt.id, utcnow())
    page = make_response(
        render_template(
            "apprentice/sit.html",
            attempt=attempt,
            client_token=token,
            capability=capability,
            initial=initial,
            sitting=sitting,
            display_classes=display_rules.display_classes(settings),
        )
    )
    return _with_device(page, device)


def _claimed_at_start(attempt_id: int):  # type: ignore[no-untyped-def]
    """The attempt, its browser token and device if this browser's start claimed it and nothing has happened since.

    The claim is in this browser's signed session and is used once; any doubt (another window
    opened it, another device, time up) and the page claims the attempt the usual way.
    """
    claim = session.get(CLAIM)
    if not isinstance(claim, dict) or claim.get("attempt") != attempt_id:
        return None
    session.pop(CLAIM)
    try:
        attempt = attempt_service.own_attempt(attempt_id, current_user)
    except attempt_service.AttemptError:
        return None
    device = request.cookies.get(DEVICE_COOKIE)
    if (
        attempt.state != AttemptState.IN_PROGRESS
        or attempt_service.is_overdue(attempt, utcnow(), settings=attempt_settings())
        or attempt.client_token is None
        or attempt.client_token != claim.get("token")
        or device is None
        or attempt.device_id != device
    ):
        return None
    return attempt, attempt.client_token, device


def _open_sitting_page(attempt_id: int):  # type: ignore[no-untyped-def]
    """Claim the attempt for this browser: (attempt, token, device), or the response that refuses it."""
    try:
        attempt = attempt_service.own_attempt(attempt_id, current_user)
    except attempt_service.AttemptError:
        abort(404)
    now = utcnow()
    attempt_service.finalise_if_expired(attempt, now, settings=attempt_settings())
    if attempt.state in FINISHED_STATES:
        return redirect(url_for("apprentice.finished", attempt_id=attempt.id))
    if attempt.state == AttemptState.NOT_STARTED:
        abort(409)
    device = request.cookies.get(DEVICE_COOKIE)
    if attempt.device_id is not None and device != attempt.device_id:
        # Another computer (or browser profile): only with the invigilator's permission, used once.
        booking = db.session.scalar(
            select(Booking).where(Booking.sitting_id == attempt.sitting_id, Booking.apprentice_id == attempt.apprentice_id)
        )
        if booking is None or not booking.device_change_allowed:
            if (
                booking is not None
            ):  # the request appears on the invigilator's room board, to approve (kept: a 403 is no error here)
                invigilation.request_device_change(attempt, now=now)
            return make_response(render_template("apprentice/ask_invigilator.html", attempt=attempt), 403)
        booking.device_change_allowed = False
        answer_service.record_browser_event(attempt, "device_change", None, now)
    device = device or secrets.token_urlsafe(24)
    attempt.device_id = device
    token = attempt_service.open_in_browser(attempt, now=now)
    return attempt, token, device


def _with_device(response, device: str):  # type: ignore[no-untyped-def]
    response.set_cookie(
        DEVICE_COOKIE,
        device,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
        path="/apprentice/",
    )
    return response


@bp.route("/attempts/<int:attempt_id>/finished")
def finished(attempt_id: int):  # type: ignore[no-untyped-def]
    try:
        attempt = attempt_service.own_attempt(attempt_id, current_user)
    except attempt_service.AttemptError:
        abort(404)
    if attempt.state not in FINISHED_STATES:
        return redirect(url_for("apprentice.sit", attempt_id=attempt.id))
    answered = answer_service.answered_count([attempt.id]).get(attempt.id, 0)
    settings = display_service.settings_for(
        attempt, attempt_service.apprentice_for(current_user), utcnow().date()
    )  # the test's display to its end
    return render_template(
        "apprentice/finished.html",
        attempt=attempt,
        answered=answered,
        total=len(attempt.questions),
        display_classes=display_rules.display_classes(settings),
    )
