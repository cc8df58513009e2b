"""The audit log page in Chromium: filtering by keyboard-reachable form controls, accessible (WCAG 2.2 AA)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.conftest import axe_violations, browser_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_admin_filters_the_audit_log_and_the_page_is_accessible(live_server, new_page, prepared, live_clock):
    from testengine.services import accounts, audit

    with prepared():
        admin = accounts.create_user(
            allow_test_domains=True, email="admin@audit.test", display_name="Audit Admin", password=PASSWORD, roles=["admin"]
        )
        for i in range(60):
            live_clock.advance(dt.timedelta(minutes=1))
            audit.record(
                admin,
                "attempt.pause.begin" if i % 2 else "incident.log",
                object_type="attempts",
                object_id=i,
                after={"note": '<b onmouseover="alert(1)">bold</b>'},
                reason="Fire alarm" if i == 59 else None,
            )
    page = new_page()
    browser_login(page, live_server.url, admin.email, PASSWORD)
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Audit log").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Audit log"
    assert axe_violations(page) == []

    page.get_by_label("Action").select_option("incident.log")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state("networkidle")
    caption = page.locator("table caption").inner_text()
    assert caption == "Entries 1 to 30 of 30 matching the filters, newest first", caption
    assert page.locator("tbody tr").count() == 30
    assert page.locator("tbody b").count() == 0  # what was written is shown as text
    assert axe_violations(page) == []
