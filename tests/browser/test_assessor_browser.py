"""An assessor's appointment in Chromium: declaration, the set, evidence per KSB and the grade; pages pass axe."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations, browser_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_an_assessor_takes_an_appointment_from_set_to_grade(live_app, live_server, live_clock, new_page, prepared):
    from testengine.services import accounts, appointments, results
    from tests.factories import import_standard

    now = live_clock.now()
    with prepared():
        standard = import_standard("ST1379", now)
        assessor = accounts.create_user(
            allow_test_domains=True, email="jo@assess.test", display_name="Jo Assessor", password=PASSWORD, roles=["assessor"]
        )
        user = accounts.create_user(
            allow_test_domains=True,
            email="sam@assess.test",
            display_name="Sam Apprentice",
            password=PASSWORD,
            roles=["apprentice"],
            uln="1234567890",
        )
        results.record_method_grade(
            user.apprentice,
            standard,
            method_key="observation",
            grade="pass",
            assessed_on=now.date(),
            assessor="Another Assessor",
            now=now,
            actor=None,
        )
        appointments.create(
            apprentice=user.apprentice,
            standard=standard,
            method_key="professional_discussion",
            assessor=assessor,
            scheduled_for=now,
            now=now,
            actor=None,
        )
        apprentice_id, standard_id = user.apprentice.id, standard.id

    page = new_page()
    browser_login(page, live_server.url, assessor.email, PASSWORD)
    page.wait_for_url(f"{live_server.url}/assess/")
    assert page.get_by_role("heading", level=1).inner_text() == "My appointments"
    assert "Declaration needed" in page.inner_text("main")
    assert axe_violations(page) == []
    page.get_by_role("table").get_by_role("link").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Professional discussion underpinned by a portfolio of evidence"
    assert "Question set" not in page.inner_text("main")
    assert axe_violations(page) == []

    page.get_by_label("I have no conflict of interest", exact=False).check()
    page.get_by_label("My declaration is true").check()
    page.get_by_role("button", name="Record declaration").click()
    page.get_by_role("button", name="Open the question set").click()
    questions = page.locator("ol.question-set > li")
    assert questions.count() >= 8
    assert "A distinction answer shows:" in page.inner_text("main")
    assert axe_violations(page) == []

    # The last question is the assessor's choice: swap it for another unseen question of the bank.
    last = questions.count()
    before = questions.nth(last - 1).locator("strong").first.inner_text()
    page.get_by_label(f"Ask another question instead of question {last}").select_option(index=1)
    page.get_by_role("button", name=f"Swap question {last}").click()
    assert f"Question {last} is now ST1379-PD-" in page.inner_text("main")
    assert page.locator("ol.question-set > li").nth(last - 1).locator("strong").first.inner_text() != before

    # Leaving one KSB's evidence out is refused, naming it; then everything is recorded.
    evidence = page.locator("textarea[name^='ksb_']")
    for i in range(1, evidence.count()):
        evidence.nth(i).fill(f"Portfolio item {i} and the answer to question {i}")
    page.get_by_label("Grade for the method").select_option("distinction")
    page.get_by_role("button", name="Record grade").click()
    assert "There is a problem" in page.inner_text("main")
    assert "Record the evidence for" in page.inner_text("main")
    assert axe_violations(page) == []
    page.locator("textarea[name^='ksb_']").first.fill("Explained the mentor's role and its boundaries")
    page.get_by_label("Grade for the method").select_option("distinction")
    page.get_by_role("button", name="Record grade").click()
    assert "Grade recorded: distinction." in page.inner_text("main")
    assert page.locator(".method-grade").inner_text() == "distinction"

    with live_app.app_context():
        overall = results.current_overall(apprentice_id, standard_id)
        assert overall is not None and overall.grade == "merit"
