"""An apprentice views a released result in Chromium and downloads the letter; the pages pass axe."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations, browser_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_apprentice_views_a_released_result_and_downloads_the_letter(live_app, live_server, live_clock, new_page, prepared):
    from testengine.services import accounts, results
    from tests.factories import import_standard, second_admin

    now = live_clock.now()
    with prepared():
        standard = import_standard("ST1379", now)
        admin = accounts.create_user(
            allow_test_domains=True, email="admin@results.test", display_name="Results Admin", password=PASSWORD, roles=["admin"]
        )
        user = accounts.create_user(
            allow_test_domains=True,
            email="sam@results.test",
            display_name="Sam Apprentice",
            password=PASSWORD,
            roles=["apprentice"],
            uln="1234567890",
        )
        rows = [
            results.record_method_grade(
                user.apprentice,
                standard,
                method_key=key,
                grade=grade,
                assessed_on=now.date(),
                assessor="Jo Assessor",
                now=now,
                actor=admin,
            )
            for key, grade in (("observation", "distinction"), ("professional_discussion", "pass"))
        ]
        overall = results.current_overall(user.apprentice.id, standard.id)
        for row in (*rows, overall):
            results.sign_off(row, now=now, actor=admin)
        for row in (*rows, overall):
            results.release(row, now=now, actor=second_admin())

    page = new_page(accept_downloads=True)
    browser_login(page, live_server.url, user.email, PASSWORD)
    page.get_by_role("link", name="My results").click()
    page.wait_for_url(f"{live_server.url}/apprentice/results")
    assert page.get_by_role("heading", level=1).inner_text() == "My results"
    assert "Overall end-point assessment grade: Merit" in page.inner_text("main")
    table = page.get_by_role("table", name="Your ST1379 results by assessment method")
    assert "Distinction" in table.inner_text() and "Pass" in table.inner_text()
    assert axe_violations(page) == []

    with page.expect_download() as info:
        page.get_by_role("link", name="Download your result letter for ST1379 (PDF)").click()
    download = info.value
    assert download.suggested_filename.startswith("result-ST1379-")
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"

    page.get_by_role("link", name="Details of Observation with questioning").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Observation with questioning"
    assert axe_violations(page) == []


def test_admin_result_pages_pass_axe(live_app, live_server, live_clock, new_page, prepared):
    from testengine.services import accounts, results
    from tests.factories import import_standard, second_admin

    now = live_clock.now()
    with prepared():
        standard = import_standard("ST1379", now)
        admin = accounts.create_user(
            allow_test_domains=True, email="admin@results.test", display_name="Results Admin", password=PASSWORD, roles=["admin"]
        )
        user = accounts.create_user(
            allow_test_domains=True,
            email="sam@results.test",
            display_name="Sam Apprentice",
            password=PASSWORD,
            roles=["apprentice"],
            uln="1234567890",
        )
        row = results.record_method_grade(
            user.apprentice,
            standard,
            method_key="observation",
            grade="pass",
            assessed_on=now.date(),
            assessor="Jo Assessor",
            now=now,
            actor=admin,
        )
        results.sign_off(row, now=now, actor=admin)
        results.release(row, now=now, actor=second_admin())
        results.record_method_grade(
            user.apprentice,
            standard,
            method_key="professional_discussion",
            grade="fail",
            assessed_on=now.date(),
            assessor="Jo Assessor",
            now=now,
            actor=admin,
        )
    page = new_page()
    browser_login(page, live_server.url, admin.email, PASSWORD)
    page.get_by_role("link", name="Results").click()
    page.get_by_label("Candidate number, ULN or name").fill("Sam")
    page.get_by_role("button", name="Find").click()
    assert axe_violations(page) == []
    page.get_by_role("link", name=f"ST1379 results for {user.apprentice.candidate_number}", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("ST1379 Learning and Skills Mentor: results for")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Appeal or re-mark Observation with questioning").click()
    assert axe_violations(page) == []
