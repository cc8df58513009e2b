"""Each role signs in through the real page in Chromium and lands on its own area."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations, browser_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_every_role_signs_in_and_lands_on_its_page(live_app, live_server, new_page, prepared):
    from testengine.services import accounts

    expected = {
        "apprentice": ("/apprentice/", "My tests"),
        "invigilator": ("/invigilate/", "My sittings"),
        "marker": ("/mark/", "Marking"),
        "reviewer": ("/review/", "Bank review"),
        "admin": ("/admin/", "Administration"),
    }
    for role, (path, heading) in expected.items():
        with prepared():
            user = accounts.create_user(
                allow_test_domains=True,
                email=f"{role}@browser.test",
                display_name=f"{role.title()} Person",
                password=PASSWORD,
                roles=[role],
                uln="1234567890" if role == "apprentice" else None,
            )
        page = new_page()
        browser_login(page, live_server.url, user.email, PASSWORD)
        assert page.url == live_server.url + path, (role, page.url)
        assert page.get_by_role("heading", level=1).inner_text() == heading
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{live_server.url}/login")


def test_login_page_is_accessible(live_server, new_page):
    page = new_page()
    page.goto(f"{live_server.url}/login")
    assert axe_violations(page) == []
