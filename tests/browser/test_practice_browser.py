"""An apprentice's practice paper in Chromium: start, answer, submit, feedback by KSB, progress; pages pass axe."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations, browser_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_an_apprentice_takes_a_practice_paper_from_start_to_feedback(live_app, live_server, live_clock, new_page, prepared):
    from testengine.services import accounts
    from tests.factories import import_standard

    now = live_clock.now()
    with prepared():
        import_standard("ST1380", now)
        user = accounts.create_user(
            allow_test_domains=True,
            email="pat@practice.test",
            display_name="Pat Apprentice",
            password=PASSWORD,
            roles=["apprentice"],
            uln="1234567891",
        )

    page = new_page()
    browser_login(page, live_server.url, user.email, PASSWORD)
    page.wait_for_url(f"{live_server.url}/apprentice/")
    page.get_by_role("link", name="Practice papers").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Practice papers"
    assert "You have not taken a practice paper yet." in page.inner_text("main")
    assert axe_violations(page) == []

    page.get_by_label("Practice bank").select_option("ST1380")
    page.get_by_label("Untimed", exact=False).check()
    page.get_by_role("button", name="Start practice paper").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Practice paper"
    assert "Untimed" in page.inner_text("main")
    assert "The marking guide" not in page.inner_text("main")
    assert axe_violations(page) == []

    # Answer the first multiple-choice question and the first short answer; save, then submit.
    page.locator("input[type=radio][name=q1]").first.check()
    short = page.locator("textarea").first
    short.fill("Explain the purpose and give feedback that helps the learner improve.")
    page.get_by_role("button", name="Save answers").click()
    assert "Answers saved." in page.inner_text("main")
    assert page.locator("textarea").first.input_value().startswith("Explain the purpose")
    page.get_by_role("button", name="Submit for marking and feedback").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Practice feedback"
    main = page.inner_text("main")
    assert "Multiple choice:" in main and "of 14" in main
    assert "Feedback by KSB" in main and "The marking guide" in main and "The correct answer:" in main
    assert "Explain the purpose and give feedback" in main
    assert axe_violations(page) == []

    page.get_by_role("link", name="Practice papers and progress by KSB").click()
    assert "Progress by KSB: ST1380" in page.inner_text("main")
    assert page.locator("table.progress-by-ksb tbody tr").count() >= 1
    assert axe_violations(page) == []
