"""Account rules: one email rule for the web form and the CLI, and a password the person chooses themselves
(forced at first sign-in after an administrator gave a temporary one; a change ends their other sessions)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from testengine.config import ConfigError, load_settings
from testengine.extensions import db
from testengine.models import AuditEntry, User
from tests.conftest import PASSWORD, csrf_token_from

NEW = "my own long password"


def _token(client, path):
    return csrf_token_from(client.get(path).get_data(as_text=True))


def _create_on_web(client, email, **extra):
    data = {
        "csrf_token": _token(client, "/admin/users/new"),
        "email": email,
        "display_name": "Dee Person",
        "roles": ["marker"],
        "password": "a temporary password",
        **extra,
    }
    return client.post("/admin/users/new", data=data)


def _create_on_cli(app, email):
    return app.test_cli_runner().invoke(
        args=["create-user", "--role", "marker", "--email", email, "--password-stdin"], input="a long enough password\n"
    )


def _admin_browser(application):
    from testengine.services import accounts

    accounts.create_user(
        allow_test_domains=True, email="boss@testengine.co.uk", display_name="Boss", password=PASSWORD, roles=["admin"]
    )
    db.session.commit()
    browser = application.test_client()
    page = browser.get("/login")
    browser.post(
        "/login",
        data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            "identifier": "boss@testengine.co.uk",
            "password": PASSWORD,
        },
    )
    return browser


class TestTheProductionDefault:
    """TESTENGINE_ALLOW_TEST_EMAIL_DOMAINS left false: reserved test domains refused."""

    @pytest.fixture
    def app_config(self, database_url):
        from tests.conftest import BASE_CONFIG

        return {**BASE_CONFIG, "DATABASE_URL": database_url, "ALLOW_TEST_EMAIL_DOMAINS": False}

    @pytest.mark.parametrize("email", ["apprentice4@demo.test", "someone@example.com", "x@sub.example.org", "a@b.example"])
    def test_reserved_test_domains_are_refused_on_the_web_and_the_cli_alike(self, app, email):
        browser = _admin_browser(app)
        response = _create_on_web(browser, email)
        body = response.get_data(as_text=True)
        assert response.status_code == 200 and "reserved test domain" in body
        assert 'id="email-error"' in body  # beside the email field, and named in the summary
        assert "Email: " in body
        result = _create_on_cli(app, email)
        assert result.exit_code == 2 and "reserved test domain" in result.output
        assert db.session.scalar(select(User).where(User.email == email)) is None

    @pytest.mark.parametrize("email", ["not-an-email", "a@b", "two@@at.co.uk", "no space@at.co.uk"])
    def test_malformed_addresses_are_refused_by_both_with_the_same_rule(self, app, email):
        browser = _admin_browser(app)
        body = _create_on_web(browser, email).get_data(as_text=True)
        assert 'id="email-error"' in body and "valid email address" in body
        result = _create_on_cli(app, email)
        assert result.exit_code == 2 and "valid email address" in result.output

    def test_a_real_domain_is_accepted_by_both(self, app):
        browser = _admin_browser(app)
        assert _create_on_web(browser, "Dee.Person@Provider.co.uk").status_code == 302
        assert _create_on_cli(app, "sam@provider.co.uk").exit_code == 0
        stored = set(db.session.scalars(select(User.email)))
        assert {"dee.person@provider.co.uk", "sam@provider.co.uk"} <= stored


def test_the_setting_allows_test_domains_on_the_web_and_the_cli(app, client, login_as):
    assert app.config["TESTENGINE"]["ALLOW_TEST_EMAIL_DOMAINS"] is True
    login_as("admin")
    assert _create_on_web(client, "apprentice4@demo.test").status_code == 302
    assert _create_on_cli(app, "apprentice5@demo.test").exit_code == 0


def test_the_email_setting_is_validated_at_start_up(tmp_path):
    with pytest.raises(ConfigError, match="TESTENGINE_ALLOW_TEST_EMAIL_DOMAINS"):
        load_settings(tmp_path, {"TESTENGINE_ALLOW_TEST_EMAIL_DOMAINS": "sometimes"}, None)
    with pytest.raises(ConfigError, match="TESTENGINE_RELEASE_NEEDS_SECOND_ADMIN"):
        load_settings(tmp_path, {"TESTENGINE_RELEASE_NEEDS_SECOND_ADMIN": "maybe"}, None)
    defaults = load_settings(tmp_path, {}, None)
    assert defaults["ALLOW_TEST_EMAIL_DOMAINS"] is False and defaults["RELEASE_NEEDS_SECOND_ADMIN"] is True


# --- the change-password page -------------------------------------------------------------------


def _sign_in(app, email, password):
    browser = app.test_client()
    page = browser.get("/login")
    response = browser.post(
        "/login", data={"csrf_token": csrf_token_from(page.get_data(as_text=True)), "identifier": email, "password": password}
    )
    return browser, response


def _change(browser, current, new, confirm=None):
    token = _token(browser, "/account/password")
    return browser.post(
        "/account/password",
        data={"csrf_token": token, "current": current, "new": new, "confirm": new if confirm is None else confirm},
    )


def test_an_account_created_by_an_admin_must_choose_a_password_before_anything_else(app, client, login_as):
    login_as("admin")
    assert _create_on_web(client, "newbie@example.org").status_code == 302
    newbie = db.session.scalar(select(User).where(User.email == "newbie@example.org"))
    assert newbie.must_change_password
    browser, response = _sign_in(app, "newbie@example.org", "a temporary password")
    assert response.status_code == 302
    for path in ("/", "/mark/", "/review/"):
        sent = browser.get(path)
        assert sent.status_code == 302 and sent.headers["Location"].endswith("/account/password"), path
    api = browser.get("/api/sittings/1/board")
    assert api.status_code == 403 and api.get_json()["error"] == "password_change_required"
    page = browser.get("/account/password").get_data(as_text=True)
    assert 'id="forced"' in page and "temporary password" in page

    wrong = _change(browser, "not my password", NEW)
    assert wrong.status_code == 400 and 'id="current-error"' in wrong.get_data(as_text=True)
    mismatch = _change(browser, "a temporary password", NEW, confirm="something else entirely")
    assert mismatch.status_code == 400 and "not the same" in mismatch.get_data(as_text=True)
    short = _change(browser, "a temporary password", "short")
    assert short.status_code == 400 and 'id="new-error"' in short.get_data(as_text=True)
    same = _change(browser, "a temporary password", "a temporary password")
    assert same.status_code == 400 and "different from the current one" in same.get_data(as_text=True)
    db.session.refresh(newbie)
    assert newbie.must_change_password  # nothing changed by the refusals

    done = _change(browser, "a temporary password", NEW)
    assert done.status_code == 302
    assert browser.get("/mark/").status_code == 200
    db.session.refresh(newbie)
    assert not newbie.must_change_password
    assert (
        db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "user.password_change", AuditEntry.object_id == str(newbie.id))
        )
        is not None
    )
    assert _sign_in(app, "newbie@example.org", "a temporary password")[1].status_code == 401
    assert _sign_in(app, "newbie@example.org", NEW)[1].status_code == 302


def test_the_forced_person_can_still_sign_out(app, client, login_as):
    login_as("admin")
    _create_on_web(client, "leaver@example.org")
    browser, _ = _sign_in(app, "leaver@example.org", "a temporary password")
    token = _token(browser, "/account/password")
    assert browser.post("/logout", data={"csrf_token": token}).headers["Location"].endswith("/login")
    assert browser.get("/mark/").headers["Location"].startswith("/login")


def test_an_admin_reset_forces_a_change_at_the_next_sign_in(app, client, login_as, make_user):
    login_as("admin")
    person = make_user("reviewer")
    page = f"/admin/users/{person.id}"
    client.post(
        f"/admin/users/{person.id}/password", data={"csrf_token": _token(client, page), "pw-password": "temporary password 2"}
    )
    browser, _ = _sign_in(app, person.email, "temporary password 2")
    assert browser.get("/review/").headers["Location"].endswith("/account/password")


def test_changing_a_password_ends_every_other_session_but_this_one(app, make_user):
    person = make_user("marker")
    here, _ = _sign_in(app, person.email, PASSWORD)
    elsewhere, _ = _sign_in(app, person.email, PASSWORD)
    assert elsewhere.get("/mark/").status_code == 200
    assert _change(here, PASSWORD, NEW).status_code == 302
    assert here.get("/mark/").status_code == 200
    assert elsewhere.get("/mark/").status_code == 302  # its cookie carries the old session version


def test_the_change_password_page_is_for_signed_in_people_only(client):
    response = client.get("/account/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_cli_can_give_a_temporary_password_too(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", "--role", "marker", "--email", "temp@example.org", "--password-stdin", "--temporary"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.email == "temp@example.org")).must_change_password
    _create_on_cli(app, "kept@example.org")
    assert not db.session.scalar(select(User).where(User.email == "kept@example.org")).must_change_password
