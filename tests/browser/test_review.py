"""A reviewer in Chromium: opens the queue, reads an item's statistics and chart, retires it, and the
next paper drawn does not contain it. Every page passes axe (WCAG 2.2 AA)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.conftest import axe_violations, browser_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_reviewer_retires_a_question_from_the_queue_and_it_is_never_drawn_again(
    live_app, live_server, live_clock, new_page, prepared
):
    from testengine.services import accounts
    from testengine.services.papers import issue_paper
    from tests.factories import import_standard
    from tests.review.conftest import Scripts, key_of, question_of, version_of, wrong_of

    now = live_clock.now()
    people = iter(range(1000))

    def make_user(*roles, name=None):
        n = next(people)
        return accounts.create_user(
            allow_test_domains=True,
            email=f"{roles[0]}{n}@review.test",
            display_name=name or f"Person {n}",
            password=PASSWORD,
            roles=list(roles),
            uln=f"{7000000000 + n}" if "apprentice" in roles else None,
        )

    with prepared():
        standard = import_standard("ST0663", now)
        reviewer = make_user("reviewer", name="Rowan Reviewer")
        before = issue_paper(make_user("apprentice").apprentice, standard, now=now, actor=None, seed=42)
        target = next(aq.version for aq in before.questions if aq.version.type == "mcq")
        external_id = target.question.external_id
        # Due for review in ten days: in the queue, and still drawable until someone decides.
        question_of(standard, external_id).next_due = now.date() + dt.timedelta(days=10)
        version = version_of(standard, external_id)
        scripts = Scripts(standard, make_user, now)
        for response, mark in (
            (str(key_of(version)), 1),
            (str(key_of(version)), 1),
            (str(wrong_of(version)), 0),
            (None, 0),
        ):
            scripts.add([(version, response, {"auto": mark})])

    page = new_page()
    browser_login(page, live_server.url, reviewer.email, PASSWORD)
    assert page.url == f"{live_server.url}/review/"
    queue = page.get_by_role("table", name="Questions due for review, most urgent first")
    assert external_id in queue.inner_text() and "due soon" in queue.inner_text()
    assert axe_violations(page) == []

    queue.get_by_role("link", name=external_id).click()
    assert page.get_by_role("heading", level=1).inner_text() == external_id
    stats = page.locator("#item-stats").inner_text()
    assert "Responses\n4" in stats and "Facility\n0.50" in stats
    chart = page.get_by_role("img", name=f"Options chosen for {external_id}")
    assert chart.is_visible()
    options = page.get_by_role("table", name="Share choosing each option")
    assert "50%" in options.inner_text() and "(key)" in options.inner_text()
    assert axe_violations(page) == []

    page.get_by_role("link", name=f"Propose a revision of {external_id}").click()
    assert page.get_by_label("Question wording (stem)").input_value() == version.stem
    assert page.get_by_role("group", name="Correct option").is_visible()
    assert axe_violations(page) == []
    page.go_back()

    page.get_by_label("Retire: never drawn again").check()
    page.get_by_label("Comments for the review record").fill("Out of date: the benefit rules it describes have changed.")
    page.get_by_role("button", name="Record decision").click()
    page.wait_for_url(f"{live_server.url}/review/")
    assert f"{external_id}: retired" in page.locator(".flashes").inner_text()
    assert "No questions are due for review." in page.locator("main").inner_text()  # it has left the queue

    page.get_by_role("link", name="ST0663 Employability Practitioner").click()
    assert page.get_by_role("img", name="Facility against discrimination").is_visible()
    assert axe_violations(page) == []

    with prepared():
        after = issue_paper(make_user("apprentice").apprentice, standard, now=now, actor=None, seed=42)
        drawn = [aq.version.question.external_id for aq in after.questions]
    assert len(drawn) == 40 and external_id not in drawn
