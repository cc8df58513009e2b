"""No stack trace or internal detail ever reaches a browser: a friendly page, or a JSON {error, message}
under /api; the detail goes to the server log. Tested on an app that, like production, does not
propagate unexpected errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from testengine.extensions import db
from testengine.models import AuditEntry
from testengine.services import audit
from testengine.services.sittings import SittingError
from tests.conftest import csrf_token_from

SECRET = "password=hunter2 at /srv/testengine/secret_module.py line 42"


@pytest.fixture
def server_log() -> Iterator[logging.Logger]:
    """The app's logger, switched back on: running the migrations (alembic's fileConfig) disables the
    loggers that existed before, and the test session runs them."""
    logger = logging.getLogger("testengine")
    disabled = logger.disabled
    logger.disabled = False
    yield logger
    logger.disabled = disabled


@pytest.fixture
def production_like(app_config, tmp_path, server_log) -> Iterator[Any]:
    """A separate app with PROPAGATE_UNEXPECTED off, and routes that fail in the ways views can."""
    from testengine import create_app

    other = create_app({**app_config, "PROPAGATE_UNEXPECTED": False})
    other.instance_path = str(tmp_path / "production-like")

    def crash() -> str:
        audit.record(None, "test.half_written", object_type="things", object_id=1)  # flushed, never committed
        raise RuntimeError(SECRET)

    def refuse_elsewhere() -> str:
        raise SittingError("No such booking in this sitting.", code="not_found", status=404)

    def refuse_in_state() -> str:
        raise SittingError("The room is paused. Wait for the invigilator to resume.", code="room_paused")

    # Endpoints inside existing areas, so the access rules apply to them as to any page.
    other.add_url_rule("/crash", endpoint="auth.crash", view_func=crash, methods=["GET", "POST"])
    other.add_url_rule("/api/crash", endpoint="api.crash", view_func=crash, methods=["GET", "POST"])
    other.add_url_rule("/elsewhere", endpoint="auth.elsewhere", view_func=refuse_elsewhere)
    other.add_url_rule("/api/elsewhere", endpoint="api.elsewhere", view_func=refuse_elsewhere)
    other.add_url_rule("/paused", endpoint="auth.paused", view_func=refuse_in_state)
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def signed_in(production_like, make_user, login) -> Any:
    client = production_like.test_client()
    assert login(make_user("admin"), test_client=client).status_code == 302
    return client


def _no_detail(text: str) -> None:
    for leak in ("Traceback", "RuntimeError", "hunter2", "secret_module", 'File "', "sqlalchemy", "werkzeug"):
        assert leak not in text, f"{leak!r} reached the browser"


def test_a_page_that_crashes_shows_a_friendly_page_and_logs_the_detail(signed_in, caplog):
    with caplog.at_level(logging.ERROR, logger="testengine"):
        response = signed_in.get("/crash")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<h1>Server error</h1>" in html and "Something went wrong on our side" in html
    _no_detail(html)
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    # The log has it all: where, what, and the traceback.
    record = next(r for r in caplog.records if r.name == "testengine" and "GET /crash" in r.getMessage())
    assert record.exc_info and record.exc_info[0] is RuntimeError and SECRET in str(record.exc_info[1])
    # And the half-done work was rolled back, not committed.
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "test.half_written")) == 0


def test_an_api_call_that_crashes_gets_a_json_error(signed_in, caplog):
    token = csrf_token_from(signed_in.get("/admin/").get_data(as_text=True))
    with caplog.at_level(logging.ERROR, logger="testengine"):
        response = signed_in.post("/api/crash", json={"x": 1}, headers={"X-CSRFToken": token})
    assert response.status_code == 500
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "error": "server_error",
        "message": "Something went wrong on our side. Nothing you saved is lost.",
    }
    _no_detail(response.get_data(as_text=True))
    assert any("POST /api/crash" in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_refusal_no_view_handled_keeps_its_status(signed_in):
    page = signed_in.get("/elsewhere")
    assert page.status_code == 404 and "No such booking in this sitting." in page.get_data(as_text=True)
    api = signed_in.get("/api/elsewhere")
    assert api.status_code == 404 and api.get_json() == {"error": "not_found", "message": "No such booking in this sitting."}
    conflict = signed_in.get("/paused")
    assert conflict.status_code == 409 and "The room is paused." in conflict.get_data(as_text=True)


@pytest.mark.parametrize(
    ("request_args", "status", "code"),
    [
        ({"path": "/api/no-such-thing"}, 404, "not_found"),
        ({"path": "/api/me", "method": "DELETE"}, 405, "method_not_allowed"),
        # Who may write is checked before the form token (the CSRF refusal of a sitter: test_refusals_at_the_edge).
        ({"path": "/api/attempts/1/submit", "method": "POST", "json": {"confirm": True, "client_token": "x"}}, 403, "forbidden"),
        ({"path": "/api/attempts/99999999999999999999"}, 404, "not_found"),
        # Refused by role before the body is read (the 413 of a sitter's body: test_refusals_at_the_edge).
        (
            {
                "path": "/api/attempts/1/events",
                "method": "POST",
                "data": b"x" * (3 * 1024 * 1024),
                "content_type": "application/json",
                "csrf": True,
            },
            403,
            "forbidden",
        ),
    ],
    ids=["unknown", "wrong-method", "wrong-role-no-csrf", "huge-id", "wrong-role-over-2-mib"],
)
def test_api_errors_are_json(signed_in, request_args, status, code):
    args = dict(request_args)
    if args.pop("csrf", False):
        args["headers"] = {"X-CSRFToken": csrf_token_from(signed_in.get("/admin/").get_data(as_text=True))}
    response = signed_in.open(**args)
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == code and body["message"]
    _no_detail(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("request_args", "status", "heading"),
    [
        ({"path": "/no-such-page"}, 404, "Not found"),
        ({"path": "/admin/users/99999999999999999999"}, 404, "Not found"),
        ({"path": "/logout", "method": "GET"}, 405, "Method not allowed"),
        ({"path": "/admin/users/new", "method": "POST", "data": {"email": "x@example.org"}}, 400, "CSRF failed"),
    ],
    ids=["unknown", "huge-id", "wrong-method", "no-csrf"],
)
def test_page_errors_are_friendly_pages(signed_in, request_args, status, heading):
    response = signed_in.open(**request_args)
    assert response.status_code == status and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert f"<h1>{heading}</h1>" in html and 'href="/"' in html
    _no_detail(html)


def test_even_in_debug_mode_no_trace_reaches_the_browser(app_config, tmp_path, monkeypatch, server_log, make_user, login):
    from testengine import create_app

    monkeypatch.setenv("FLASK_DEBUG", "1")
    debug = create_app({**app_config, "PROPAGATE_UNEXPECTED": False, "TESTING": False})
    debug.instance_path = str(tmp_path / "debug")
    debug.add_url_rule("/api/crash", endpoint="api.crash", view_func=lambda: 1 / 0)
    debug.add_url_rule("/crash", endpoint="auth.crash", view_func=lambda: 1 / 0)
    assert debug.debug is True
    client = debug.test_client()
    assert login(make_user("admin"), test_client=client).status_code == 302
    for path in ("/crash", "/api/crash"):
        response = client.get(path)
        assert response.status_code == 500, path
        _no_detail(response.get_data(as_text=True))
        assert "ZeroDivisionError" not in response.get_data(as_text=True)
    with debug.app_context():
        db.session.remove()
        db.engine.dispose()
