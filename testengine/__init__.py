"""testengine: online knowledge tests for UK apprenticeship end-point assessment."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from .clock import Clock
from .config import flask_config, load_settings
from .domain.errors import DomainError

# The extensions (SQLAlchemy, migrations, forms) are imported when an app is created, not with the package:
# the `testengine` command imports this package, and commands such as `grade` need none of them.

PROJECT_ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("testengine")


class RowIdConverter(IntegerConverter):
    """`<int:...>` in a URL is a row id or a position: beyond the database's integer range it matches
    nothing (404), instead of reaching a query that fails (a 500)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that a body nested too deeply to parse is malformed (a 400), not a crash."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The app factory: settings, extensions, areas (one blueprint per role), CLI, error pages."""
    from . import access, input_guard, labels, security
    from .ops import metrics
    from .storage.requests import App

    app = App(
        __name__,
        instance_path=os.environ.get("TESTENGINE_INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    settings = load_settings(Path(app.instance_path), os.environ, config)
    app.config.update(flask_config(settings))
    app.config["TESTENGINE"] = settings
    app.config["TESTING"] = bool((config or {}).get("TESTING", False))
    # Tests see the real exception instead of the friendly page (a test of that page turns it off).
    app.config["PROPAGATE_UNEXPECTED"] = bool((config or {}).get("PROPAGATE_UNEXPECTED", False))
    app.extensions["testengine.clock"] = Clock()

    _init_extensions(app, settings)
    if settings["TRUSTED_PROXIES"]:
        # Behind N proxies, believe the last N hops of X-Forwarded-For/-Proto: the sign-in limit and the
        # audit log then see the client's address. With none trusted the headers are ignored, so a forged one changes nothing.
        hops = int(settings["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.url_map.converters["int"] = RowIdConverter
    app.json = JSONProvider(app)
    _register_areas(app)
    _register_favicon(app)
    _register_errors(app)
    _register_states(app)
    _register_audit_address(app)
    labels.register(app)
    access.install(app)
    input_guard.install(app)  # after the access check: a refused person learns nothing about the input
    security.install(app)
    metrics.install(app)

    from .cli import register_cli

    register_cli(app)
    return app


def _register_audit_address(app: Flask) -> None:
    """Each request's address (after ProxyFix) for the audit entries it writes; the audit service reads no Flask."""
    from flask import request

    from .services.audit import REQUEST_ADDRESS

    @app.before_request
    def _remember_address() -> None:
        REQUEST_ADDRESS.set(request.remote_addr)

    @app.teardown_request
    def _forget_address(_error: BaseException | None) -> None:
        REQUEST_ADDRESS.set(None)


def _init_extensions(app: Flask, settings: Mapping[str, Any]) -> None:
    from .extensions import csrf, db, limiter, login_manager, migrate
    from .storage.engines import configure_engine

    db.init_app(app)
    migrations = str(Path(__file__).resolve().parent / "migrations")
    migrate.init_app(app, db, directory=migrations, render_as_batch=True)
    csrf.init_app(app)
    from . import rate_limit_store  # noqa: F401  (registers the database:// storage the limiter may be given)

    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "strong"

    from .services.accounts import configure_hasher, load_user_from_cookie

    configure_hasher(int(settings["ARGON2_TIME_COST"]), int(settings["ARGON2_MEMORY_KIB"]))

    login_manager.user_loader(load_user_from_cookie)
    with app.app_context():
        configure_engine(db.engine, settings)


def _register_areas(app: Flask) -> None:
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .apprentice import bp as apprentice_bp
    from .assessor.views import bp as assessor_bp
    from .auth.views import bp as auth_bp
    from .invigilator.views import bp as invigilator_bp
    from .marker import bp as marker_bp
    from .ops.views import bp as ops_bp
    from .practice.views import bp as practice_bp
    from .reviewer import bp as reviewer_bp

    for blueprint in (
        auth_bp,
        apprentice_bp,
        invigilator_bp,
        marker_bp,
        reviewer_bp,
        admin_bp,
        assessor_bp,
        practice_bp,
        api_bp,
        ops_bp,
    ):
        app.register_blueprint(blueprint)


def _register_states(app: Flask) -> None:
    """The domain's states, so templates compare with `AttemptState.SUBMITTED` and never spell one."""
    from .domain.attempt_states import FINISHED_STATES, AttemptKind, AttemptState
    from .domain.marking_states import MarkingState
    from .domain.result_states import ResultStatus
    from .domain.sitting_states import BookingStatus, DeviceRequest, SittingState

    app.jinja_env.globals.update(
        AttemptKind=AttemptKind,
        AttemptState=AttemptState,
        BookingStatus=BookingStatus,
        DeviceRequest=DeviceRequest,
        FINISHED_STATES=FINISHED_STATES,
        MarkingState=MarkingState,
        ResultStatus=ResultStatus,
        SittingState=SittingState,
    )


def _register_favicon(app: Flask) -> None:
    """Browsers ask for /favicon.ico on every page whatever the page links; answer it (public, cached)."""

    @app.get("/favicon.ico")
    def favicon():  # type: ignore[no-untyped-def]
        return app.send_static_file("favicon.ico")


def _register_errors(app: Flask) -> None:
    """No stack trace or internal detail ever reaches a browser; the detail goes to the log."""
    from flask_wtf.csrf import CSRFError

    from . import storage
    from .api.errors import refusal_status
    from .extensions import db

    def render_error(status: int, title: str, message: str):  # type: ignore[no-untyped-def]
        if request.path.startswith("/api/"):
            return jsonify(error=title.lower().replace(" ", "_"), message=message), status
        return render_template("error.html", status=status, title=title, message=message), status

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):  # type: ignore[no-untyped-def]
        return render_error(
            400,
            "CSRF failed",
            "This form was sent without a valid security token. Reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        titles = {
            400: ("Bad request", "The request could not be understood. Please go back and try again."),
            401: ("Sign in required", "Please sign in to continue."),
            403: ("Forbidden", "Your account does not have access to this page."),
            404: ("Not found", "There is nothing here."),
            405: ("Method not allowed", "That action is not available here."),
            409: ("Conflict", "That could not be done in the current state."),
            413: ("Too large", "What was sent is too large."),
            429: ("Too many requests", "Too many attempts. Please wait a moment and try again."),
        }
        title, message = titles.get(error.code or 500, (error.name, error.description or ""))
        response = make_response(render_error(error.code or 500, title, message))
        # What the exception says about itself stays (405's Allow, 429's Retry-After, 401's WWW-Authenticate).
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(DomainError)
    def refused(error: DomainError):  # type: ignore[no-untyped-def]
        """A rule's refusal that no view turned into a message: never a server error, always a 4xx
        (409 for a state conflict) with the refusal's message."""
        status = refusal_status(error)
        db.session.rollback()
        if request.path.startswith("/api/"):
            return jsonify(error=error.code, message=str(error)), status
        title = {400: "Bad request", 403: "Forbidden", 404: "Not found", 413: "Too large"}.get(status, "Not possible now")
        return render_template("error.html", status=status, title=title, message=str(error)), status

    def unavailable(error: Exception):  # type: ignore[no-untyped-def]
        """The database is down, full or locked: 503 and when to try again; nothing saved is lost."""
        log.warning("storage unavailable on %s %s: %s", request.method, request.path, error)
        with contextlib.suppress(Exception):  # the connection may be gone: the pool replaces it
            db.session.rollback()
        if request.path.startswith("/api/"):
            response = jsonify(
                error="storage_unavailable", message=storage.SAVE_RETRY_MESSAGE, retry_after=storage.RETRY_AFTER_SECONDS
            )
        else:
            response = make_response(render_template("error.html", status=503, title="Server busy", message=storage.PAGE_MESSAGE))
        response.status_code = 503
        response.headers["Retry-After"] = str(storage.RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception):  # type: ignore[no-untyped-def]
        if storage.is_unavailable(error):
            return unavailable(error)
        if app.config["PROPAGATE_UNEXPECTED"]:
            raise error
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return render_error(500, "Server error", "Something went wrong on our side. Nothing you saved is lost.")
