"""Every route, pages and API alike: a rule's refusal that reaches the edge is a 4xx with its message (never a
500) and the request's writes are rolled back; an unavailable database is a 503 with Retry-After.

Each view is replaced by one that writes (so a rollback can be seen) and then raises, and every route is
called by a signed-in person with every role and a valid CSRF token, so the request gets past the access
rules and the form check to the view, as a real refusal would.
"""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from typing import Any

import psycopg
import pytest
from sqlalchemy import exc as sa_exc
from werkzeug.routing import AnyConverter, IntegerConverter

from testengine.access import PUBLIC_ENDPOINTS
from testengine.domain.errors import DomainError, IllegalTransition, OutOfRange
from testengine.extensions import db
from testengine.models import User
from testengine.services.attempts import AttemptError
from testengine.storage.group_commit import GroupCommitTimeout
from tests.factories import csrf_of

ROLES = ("apprentice", "invigilator", "marker", "reviewer", "admin", "assessor")
REFUSALS = [
    (DomainError("Refused: not possible in this state."), 409),
    (IllegalTransition("Refused: cannot go from submitted to paused."), 409),
    (OutOfRange("Refused: 500 is out of range."), 400),
    (AttemptError("Refused: no such question.", code="no_such_question", status=404), 404),
    (AttemptError("Refused: declared badly.", code="odd", status=500), 409),  # a 5xx is not a refusal's status
]


def _sample(converter: Any) -> Any:
    if isinstance(converter, IntegerConverter):
        return 1
    if isinstance(converter, AnyConverter):
        return min(converter.items)
    return "x"


def _routes(app: Any) -> list[tuple[str, str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {name: _sample(rule._converters[name]) for name in rule.arguments}
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, path))
    return found


@pytest.fixture
def everyone(app, make_user, login):
    user = make_user(*ROLES)
    client = app.test_client()
    assert login(user, test_client=client).status_code == 302
    token = csrf_of(client.get("/invigilate/").get_data(as_text=True))
    return user, client, token


def _raising(user_id: int, error: BaseException):  # type: ignore[no-untyped-def]
    def view(**_kwargs: Any) -> Any:
        db.session.get(User, user_id).display_name = "written before the refusal"
        db.session.flush()
        raise error

    return view


def _lane_capability(path: str) -> str:
    """The sitting's fast lane lets a request in by the attempt capability alone (checked before the view):
    one for the attempt in the path, so the walk reaches the view it replaced."""
    from testengine.fast_lane import capability

    attempt_id = int(path.split("/")[3])
    return capability.issue(
        attempt_id=attempt_id,
        user_id=0,
        session_version=1,
        browser_token="t",
        expires_at=dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
        seed=1,
        closed={},
    )


def _call(client: Any, method: str, path: str, token: str) -> Any:
    headers = {"X-CSRFToken": token}
    if path.startswith("/api/lane/"):
        headers["X-Attempt-Capability"] = _lane_capability(path)
    if path.startswith("/api/"):
        return client.open(path, method=method, json={"client_token": "t"}, headers=headers)
    return client.open(path, method=method, data={"csrf_token": token}, headers=headers)


def test_the_walk_covers_pages_and_api_and_every_method(app):
    routes = _routes(app)
    assert len(routes) > 60
    assert {method for _, method, _ in routes} >= {"GET", "POST", "PUT"}
    assert any(path.startswith("/api/") for _, _, path in routes) and any(not path.startswith("/api/") for _, _, path in routes)


@pytest.mark.parametrize(
    ("error", "status"), REFUSALS, ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v)
)
def test_no_domain_refusal_on_any_route_is_a_server_error(app, everyone, error, status):
    user, client, token = everyone
    name = user.display_name
    for endpoint, method, path in _routes(app):
        app.view_functions[endpoint] = functools.wraps(app.view_functions[endpoint])(_raising(user.id, error))
        response = _call(client, method, path, token)
        where = f"{method} {path}"
        if endpoint in PUBLIC_ENDPOINTS and response.status_code in (302, 303):
            continue  # a public page a signed-in person is sent on from (the login page)
        assert response.status_code == status, f"{where}: {response.status_code} {response.get_data(as_text=True)[:300]}"
        if path.startswith("/api/"):
            assert response.get_json() == {"error": error.code, "message": str(error)}, where
        else:
            assert response.mimetype == "text/html", where
            assert str(error).replace(":", "") in response.get_data(as_text=True).replace(":", ""), where
        db.session.expire_all()
        assert db.session.get(User, user.id).display_name == name, f"{where}: not rolled back"


UNAVAILABLE = [
    sa_exc.OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked")),
    sa_exc.OperationalError("COMMIT", {}, sqlite3.OperationalError("database or disk is full")),
    sa_exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("disk I/O error")),
    sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
    sa_exc.OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown("terminating connection due to administrator command")),
    sa_exc.OperationalError("INSERT ...", {}, psycopg.errors.DiskFull("could not extend file: No space left on device")),
    sa_exc.OperationalError("UPDATE ...", {}, psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")),
    sa_exc.OperationalError(
        "connect", {}, psycopg.OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")
    ),
    GroupCommitTimeout("the database did not take the write within 35 s"),
]


@pytest.mark.parametrize("error", UNAVAILABLE, ids=lambda e: str(getattr(e, "orig", e))[:30])
def test_an_unavailable_database_on_any_route_is_a_503_with_retry_after(app, everyone, error):
    user, client, token = everyone
    for endpoint, method, path in _routes(app):
        app.view_functions[endpoint] = functools.wraps(app.view_functions[endpoint])(_raising(user.id, error))
        response = _call(client, method, path, token)
        if endpoint in PUBLIC_ENDPOINTS and response.status_code in (302, 303):
            continue
        where = f"{method} {path}"
        assert response.status_code == 503, f"{where}: {response.status_code}"
        assert response.headers["Retry-After"] == "5", where
        if path.startswith("/api/"):
            body = response.get_json()
            assert body["error"] == "storage_unavailable" and "will be retried automatically" in body["message"], where
        else:
            assert "Nothing you saved is lost" in response.get_data(as_text=True), where


def test_a_bug_in_a_query_is_still_a_server_error_not_a_503(app):
    from testengine.storage import is_unavailable

    assert not is_unavailable(sa_exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")))
    assert not is_unavailable(ValueError("database is locked"))


def test_a_method_a_route_does_not_have_is_405_with_allow(app, everyone):
    _, client, _ = everyone
    for path in ("/api/me", "/login", "/invigilate/"):
        response = client.delete(path)
        assert response.status_code == 405, path
        assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD", "OPTIONS"}, path


def test_an_anonymous_api_write_is_401_before_any_csrf_check(client):
    for method, path in (
        ("PUT", "/api/attempts/1/answers/1"),
        ("POST", "/api/attempts/1/submit"),
        ("POST", "/api/attempts/1/events"),
    ):
        response = client.open(path, method=method, json={})
        assert response.status_code == 401, (method, path, response.get_data(as_text=True))
        assert response.get_json()["error"] == "login_required"


def test_a_signed_in_sitters_write_without_the_token_is_refused_as_csrf(start_sitter):
    sitter = start_sitter()
    response = sitter.client.put(
        f"/api/attempts/{sitter.attempt_id}/answers/1", json={"response": "a", "revision": 1, "client_token": sitter.token}
    )
    assert response.status_code == 400 and response.get_json()["error"] == "csrf_failed"


def test_a_sitters_body_over_2_mib_is_413_json(start_sitter):
    sitter = start_sitter()
    response = sitter.client.post(
        f"/api/attempts/{sitter.attempt_id}/events",
        data=b"x" * (3 * 1024 * 1024),
        content_type="application/json",
        headers={"X-CSRFToken": sitter.csrf},
    )
    assert response.status_code == 413 and response.get_json()["error"] == "too_large"
