"""Administrators create people, give roles and reset passwords; every change is audited."""

from __future__ import annotations

from sqlalchemy import select

from testengine.extensions import db
from testengine.models import AuditEntry, User
from tests.conftest import PASSWORD, csrf_token_from


def _token(client, path="/admin/users/new"):
    return csrf_token_from(client.get(path).get_data(as_text=True))


def test_create_an_apprentice_with_a_valid_uln(client, login_as):
    login_as("admin")
    response = client.post(
        "/admin/users/new",
        data={
            "csrf_token": _token(client),
            "email": "Ann@Example.org",
            "display_name": "Ann Other",
            "roles": ["apprentice"],
            "uln": "1234567890",
            "password": "a long enough password",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "ann@example.org"))
    assert (
        user.roles == {"apprentice"} and user.apprentice.uln == "1234567890" and user.apprentice.candidate_number.startswith("C")
    )
    assert (
        db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.create", AuditEntry.object_id == str(user.id)))
        is not None
    )


def test_bad_input_names_the_field_and_changes_nothing(client, login_as):
    login_as("admin")
    before = db.session.scalar(select(db.func.count(User.id)))
    cases = [
        ({"email": "not-an-email", "display_name": "X", "roles": ["marker"], "password": "a long enough password"}, "Email"),
        (
            {
                "email": "x@example.org",
                "display_name": "X",
                "roles": ["apprentice"],
                "uln": "12345",
                "password": "a long enough password",
            },
            "ULN must be exactly 10 digits",
        ),
        (
            {"email": "x@example.org", "display_name": "X", "roles": ["apprentice"], "password": "a long enough password"},
            "An apprentice needs a ULN",
        ),
        ({"email": "x@example.org", "display_name": "X", "password": "a long enough password"}, "Choose at least one role"),
        ({"email": "x@example.org", "display_name": "X", "roles": ["marker"], "password": "short"}, "Initial password"),
    ]
    for data, expected in cases:
        response = client.post("/admin/users/new", data={"csrf_token": _token(client), **data})
        assert response.status_code == 200
        assert expected in response.get_data(as_text=True), expected
    assert db.session.scalar(select(db.func.count(User.id))) == before


def test_duplicate_email_is_refused_on_the_email_field(client, login_as, make_user):
    login_as("admin")
    existing = make_user("marker")
    response = client.post(
        "/admin/users/new",
        data={
            "csrf_token": _token(client),
            "email": existing.email,
            "display_name": "Y",
            "roles": ["marker"],
            "password": "a long enough password",
        },
    )
    assert "already exists" in response.get_data(as_text=True)


def test_roles_change_and_password_reset_end_existing_sessions(app, client, login_as, make_user, login):
    login_as("admin")
    person = make_user("marker")
    their_browser = app.test_client()
    login(person, test_client=their_browser)
    assert their_browser.get("/mark/").status_code == 200
    page = f"/admin/users/{person.id}"
    response = client.post(
        f"/admin/users/{person.id}/roles", data={"csrf_token": _token(client, page), "roles-roles": ["marker", "reviewer"]}
    )
    assert response.status_code == 302
    db.session.refresh(person)
    assert person.roles == {"marker", "reviewer"}
    assert their_browser.get("/mark/").status_code == 302  # signed out by the change
    login(person, test_client=their_browser)
    assert their_browser.get("/review/").status_code == 200
    response = client.post(
        f"/admin/users/{person.id}/password", data={"csrf_token": _token(client, page), "pw-password": "a brand new password"}
    )
    assert response.status_code == 302
    assert their_browser.get("/review/").status_code == 302
    assert login(person, password=PASSWORD, test_client=app.test_client()).status_code == 401
    assert login(person, password="a brand new password", test_client=app.test_client()).status_code == 302


def test_cli_create_user_reads_the_password_from_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-user", "--role", "invigilator", "--email", "inv@example.org", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.email == "inv@example.org")).roles == {"invigilator"}
    again = runner.invoke(
        args=["create-user", "--role", "invigilator", "--email", "inv@example.org", "--password-stdin"],
        input="a long enough password\n",
    )
    assert again.exit_code == 2 and "already exists" in again.output
    bad = runner.invoke(
        args=["create-user", "--role", "wizard", "--email", "w@example.org", "--password-stdin"], input="a long enough password\n"
    )
    assert bad.exit_code == 2 and "Unknown role" in bad.output
