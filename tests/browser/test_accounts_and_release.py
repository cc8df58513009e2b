"""In Chromium: a person given a temporary password must choose their own before anything else, and a
result signed off by one administrator is released by another, each step confirmed."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations, browser_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_a_new_account_changes_its_temporary_password_at_first_sign_in(live_server, new_page, prepared):
    from testengine.services import accounts

    with prepared():
        accounts.create_user(
            allow_test_domains=True, email="boss@browser.test", display_name="Bo Boss", password=PASSWORD, roles=["admin"]
        )
    admin = new_page()
    browser_login(admin, live_server.url, "boss@browser.test", PASSWORD)
    admin.goto(f"{live_server.url}/admin/users/new")
    admin.get_by_label("Email").fill("new.marker@browser.test")
    admin.get_by_label("Full name").fill("Nia Newcomer")
    admin.get_by_label("Marker", exact=True).check()
    admin.get_by_label("Initial password").fill("temporary pass 123")
    admin.get_by_role("button", name="Create user").click()
    admin.wait_for_url(f"{live_server.url}/admin/users")
    assert "Created new.marker@browser.test." in admin.content()

    person = new_page()
    browser_login(person, live_server.url, "new.marker@browser.test", "temporary pass 123")
    assert person.url == f"{live_server.url}/account/password"
    assert "Choose your own before you continue" in person.locator("#forced").inner_text()
    assert axe_violations(person) == []
    person.goto(f"{live_server.url}/mark/")  # nothing else opens yet
    assert person.url == f"{live_server.url}/account/password"

    person.get_by_label("Current password").fill("temporary pass 123")
    person.get_by_label("New password", exact=True).fill("nia's own passphrase")
    person.get_by_label("New password again").fill("not the same one")
    person.get_by_role("button", name="Change password").click()
    assert "The two new passwords are not the same." in person.locator(".error-summary").inner_text()

    person.get_by_label("Current password").fill("temporary pass 123")
    person.get_by_label("New password", exact=True).fill("nia's own passphrase")
    person.get_by_label("New password again").fill("nia's own passphrase")
    person.get_by_role("button", name="Change password").click()
    person.wait_for_url(f"{live_server.url}/mark/")
    assert "Your password has been changed" in person.content()
    person.get_by_role("button", name="Sign out").click()
    person.wait_for_url(f"{live_server.url}/login")
    browser_login(person, live_server.url, "new.marker@browser.test", "nia's own passphrase")
    assert person.url == f"{live_server.url}/mark/"


def _current_row(page):
    """The method's row in the current-grades table (its name is the row's header cell)."""
    current = page.get_by_role("table", name="The grade in force for each method")
    return current.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Observation with questioning"))


def test_one_admin_signs_off_and_a_second_admin_releases(live_app, live_server, live_clock, new_page, prepared):
    from testengine.services import accounts, results
    from tests.factories import import_standard

    now = live_clock.now()
    with prepared():
        standard = import_standard("ST1379", now)
        first = accounts.create_user(
            allow_test_domains=True,
            email="first.admin@browser.test",
            display_name="Fran First",
            password=PASSWORD,
            roles=["admin"],
        )
        accounts.create_user(
            allow_test_domains=True,
            email="second.admin@browser.test",
            display_name="Sol Second",
            password=PASSWORD,
            roles=["admin"],
        )
        sam = accounts.create_user(
            allow_test_domains=True,
            email="sam@browser.test",
            display_name="Sam Apprentice",
            password=PASSWORD,
            roles=["apprentice"],
            uln="1234567890",
        )
        results.record_method_grade(
            sam.apprentice,
            standard,
            method_key="observation",
            grade="pass",
            assessed_on=now.date(),
            assessor="Jo Assessor",
            now=now,
            actor=first,
        )
        url = f"{live_server.url}/admin/results/apprentices/{sam.apprentice.id}/ST1379"

    signer = new_page()
    browser_login(signer, live_server.url, "first.admin@browser.test", PASSWORD)
    signer.goto(url)
    row = _current_row(signer)
    row.get_by_role("button", name="Sign off").click()  # the box is not ticked: the browser holds the form back
    assert "signed off" not in row.inner_text()
    row.get_by_label("I confirm Observation with questioning").check()
    row.get_by_role("button", name="Sign off").click()
    signer.wait_for_load_state("networkidle")
    row = _current_row(signer)
    assert "signed off" in row.inner_text() and "Signed off by Fran First" in row.inner_text()
    assert "a different administrator must release it" in row.inner_text()
    assert row.get_by_role("button", name="Release").count() == 0

    releaser = new_page()
    browser_login(releaser, live_server.url, "second.admin@browser.test", PASSWORD)
    releaser.goto(url)
    row = _current_row(releaser)
    row.get_by_label("I confirm the release of Observation with questioning").check()
    row.get_by_role("button", name="Release").click()
    releaser.wait_for_load_state("networkidle")
    assert "Pass released." in releaser.content()
    assert "released" in _current_row(releaser).inner_text()
    assert axe_violations(releaser) == []
