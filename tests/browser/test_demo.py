"""After `testengine demo`, each demo user signs in in Chromium and lands on their role's page."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import browser_login

pytestmark = pytest.mark.browser

LANDING = {
    "admin": "/admin/",
    "invigilator": "/invigilate/",
    "marker": "/mark/",
    "reviewer": "/review/",
    "apprentice": "/apprentice/",
    "assessor": "/assess/",
    "learner": "/practice/",
}


def test_demo_users_sign_in_to_their_areas(live_app, live_server, new_page):
    from testengine.extensions import db

    result = live_app.test_cli_runner().invoke(args=["demo"])
    db.session.close()
    assert result.exit_code == 0, result.output
    users = re.findall(r"^\s+([a-z]+)(?: \(moderator\))?\s+(\S+@demo\.test)\s+(\S+)$", result.output, re.M)
    assert {role for role, _email, _pw in users} == set(LANDING)
    for role, email, password in users:
        page = new_page()
        browser_login(page, live_server.url, email, password)
        assert page.url == live_server.url + LANDING[role], (email, page.url)
    # The demo sitting is ready: a checked-in apprentice sees a start button.
    apprentice = next((e, p) for r, e, p in users if e == "apprentice1@demo.test")
    page = new_page()
    browser_login(page, live_server.url, *apprentice)
    assert page.get_by_role("button", name="Start the test").is_visible()
    # The demo assessor has an appointment waiting for their declaration.
    page = new_page()
    browser_login(page, live_server.url, *next((e, p) for r, e, p in users if r == "assessor"))
    assert "Declaration needed" in page.inner_text("main")
    # Apprentice 2 has two practice papers and their progress by KSB.
    page = new_page()
    browser_login(page, live_server.url, *next((e, p) for r, e, p in users if e == "apprentice2@demo.test"))
    page.get_by_role("link", name="Practice papers").click()
    assert "Progress by KSB: ST1380" in page.inner_text("main")
    assert page.get_by_role("link", name="Feedback", exact=False).count() == 2
