"""Signing in and out: fresh sessions, real logout, CSRF, throttling."""

from __future__ import annotations

import datetime as dt

from tests.conftest import PASSWORD, csrf_token_from


def test_login_page_renders(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert "Sign in" in page.get_data(as_text=True)


def test_each_role_lands_on_its_area(client, make_user, login):
    for role, path in [
        ("apprentice", "/apprentice/"),
        ("invigilator", "/invigilate/"),
        ("marker", "/mark/"),
        ("reviewer", "/review/"),
        ("admin", "/admin/"),
    ]:
        user = make_user(role)
        response = login(user)
        assert response.status_code == 302
        home = client.get(response.headers["Location"])
        assert home.status_code == 302 and home.headers["Location"] == path
        assert client.get(path).status_code == 200
        client.post("/logout", data={"csrf_token": csrf_token_from(client.get(path).get_data(as_text=True))})


def test_wrong_password_is_refused_with_a_clear_message(client, make_user, login):
    user = make_user("marker")
    response = login(user, password="not the password")
    assert response.status_code == 401
    assert "not recognised" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client, make_user):
    user = make_user("admin")
    response = client.post("/login", data={"identifier": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_csrf_token_issued_150_minutes_ago_still_works(app, client, make_user, login, clock):
    import time
    from unittest import mock

    user = make_user("admin")
    login(user)
    page = client.get("/admin/users/new")
    token = csrf_token_from(page.get_data(as_text=True))
    # Flask-WTF reads time.time() to age its tokens: move it 150 minutes on.
    later = time.time() + 150 * 60
    with mock.patch("itsdangerous.timed.time.time", return_value=later):
        response = client.post(
            "/admin/users/new",
            data={
                "csrf_token": token,
                "email": "new@example.org",
                "display_name": "New Person",
                "roles": ["marker"],
                "password": "a long password",
            },
        )
    assert response.status_code == 302, response.get_data(as_text=True)[:400]


def test_replayed_cookie_after_logout_is_refused(app, client, make_user, login):
    user = make_user("admin")
    login(user)
    assert client.get("/admin/").status_code == 200
    cookie = client.get_cookie("session")
    assert cookie is not None
    saved = cookie.value
    token = csrf_token_from(client.get("/admin/").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/admin/").status_code == 302
    other = app.test_client()
    other.set_cookie("session", saved)
    response = other.get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_forty_logins_from_one_address_in_a_minute_succeed(app, make_user, login):
    users = [make_user("apprentice") for _ in range(40)]
    for user in users:
        c = app.test_client()
        assert login(user, test_client=c).status_code == 302


def test_ten_wrong_passwords_throttle_the_account(app, client, make_user, login):
    user = make_user("apprentice")
    statuses = [login(user, password=f"wrong-{i}").status_code for i in range(10)]
    assert statuses.count(401) == 10
    # Even the right password is refused while the account is throttled.
    response = login(user)
    assert response.status_code == 401
    assert "Too many failed sign-ins" in response.get_data(as_text=True)


def test_throttle_lifts_after_the_lock(app, client, make_user, login, clock):
    user = make_user("apprentice")
    for i in range(5):
        login(user, password=f"wrong-{i}")
    assert login(user).status_code == 401
    clock.advance(dt.timedelta(minutes=6))
    assert login(user).status_code == 302


def test_security_headers(client):
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_nested_api_areas_have_their_own_rules(app):
    from testengine.access import AREA_RULES

    assert AREA_RULES["api.attempts"] == frozenset({"apprentice"})
    assert AREA_RULES["api.sittings"] == frozenset({"invigilator"})
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert any(e.startswith("api.attempts.") for e in endpoints) and any(e.startswith("api.sittings.") for e in endpoints)


def test_wrong_role_on_the_api_gets_a_403_json(client, login_as):
    login_as("marker")
    response = client.get("/api/sittings/1/board")
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"
    response = client.get("/api/attempts/1")
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"
    anonymous = client.application.test_client()
    response = anonymous.get("/api/attempts/1")
    assert response.status_code == 401 and response.get_json()["error"] == "login_required"
