"""Signing in and out, and the home page that sends each person to their area."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from .. import access
from ..clock import utcnow
from ..extensions import limiter
from ..services import accounts
from ..storage.requests import discard
from .forms import ChangePasswordForm, EmptyForm, LoginForm

bp = Blueprint("auth", __name__)
access.restrict(bp, roles=())  # any signed-in user; login is public below

AREA_ORDER = [
    ("apprentice", "apprentice.home", "Sit a test"),
    ("invigilator", "invigilator.home", "Invigilate"),
    ("marker", "marker.home", "Mark"),
    ("reviewer", "reviewer.home", "Review banks"),
    ("admin", "admin.home", "Administer"),
    ("assessor", "assessor.home", "Assess"),
    ("learner", "practice.home", "Practice papers"),
]


def _address_limit() -> str:
    return str(current_app.config["TESTENGINE"]["RATELIMIT_PER_ADDRESS"])


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        settings = current_app.config["TESTENGINE"]
        try:
            user = accounts.authenticate(
                form.identifier.data or "",
                form.password.data or "",
                now=utcnow(),
                secret=str(current_app.config["SECRET_KEY"]).encode(),
                allowed_failures=int(settings["LOGIN_FAILURES_ALLOWED"]),
                lock_seconds=int(settings["LOGIN_LOCK_SECONDS"]),
            )
        except accounts.AccountError as refused:
            error = str(refused)
        else:
            session.clear()  # a fresh session: nothing from before sign-in carries over
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("auth.home"))
    status = 200 if error is None else 401
    return render_template("auth/login.html", form=form, error=error), status


access.public("auth.login")


@bp.route("/logout", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    if EmptyForm().validate_on_submit():
        accounts.end_all_sessions(current_user._get_current_object())
        logout_user()
        session.clear()
        flash("You have signed out.")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():  # type: ignore[no-untyped-def]
    """Every signed-in person chooses their own password here; one given a temporary password is
    sent here before anything else. Other sessions end; this one continues with the new version."""
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            accounts.change_password(user, form.current.data or "", form.new.data or "")
        except accounts.PasswordChangeError as refused:
            discard()
            field = form[refused.field]
            field.errors = [*field.errors, str(refused)]
        else:
            login_user(user)  # the cookie carries the new session version; older cookies stop working
            flash("Your password has been changed. Any other sessions you had have ended.")
            return redirect(url_for("auth.home"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/change_password.html", form=form, forced=user.must_change_password), status


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    areas = [(endpoint, label) for role, endpoint, label in AREA_ORDER if current_user.has_role(role)]
    if len(areas) == 1:
        return redirect(url_for(areas[0][0]))
    return render_template("auth/home.html", areas=areas)


@bp.route("/accessibility")
def accessibility():  # type: ignore[no-untyped-def]
    """The accessibility statement for the test: what is supported, and how to ask for an adjustment. Open to anyone."""
    from ..domain import display

    return render_template(
        "auth/accessibility.html",
        fields=[(display.FIELD_LABELS[name], list(choices.values())) for name, choices in display.FIELDS.items()],
    )


access.public("auth.accessibility")
