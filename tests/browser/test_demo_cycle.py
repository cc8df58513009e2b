"""A whole exam cycle on the demo, in Chromium, with no command after `testengine demo`.

An apprentice sits and submits; the marker standardises and marks; one moderator draws the sample and
second-marks, disagreeing; the other moderator resolves it; one admin signs the grade off and another
releases it; the apprentice sees the grade and downloads the letter. Then a reviewer proposes a revision
and a second reviewer approves it, with the change highlighted.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, browser_login

pytestmark = pytest.mark.browser

ANSWER = "Stay calm and use a low, steady voice, and acknowledge how the person feels so they feel heard."


def _demo(live_app: Any) -> dict[str, str]:
    """Run `testengine demo` as a user would; its printed passwords, by email."""
    from testengine.extensions import db

    result = live_app.test_cli_runner().invoke(args=["demo"])
    db.session.close()
    assert result.exit_code == 0, result.output
    people = dict(re.findall(r"^\s+[a-z]+(?: \(moderator\))?\s+(\S+@demo\.test)\s+(\S+)$", result.output, re.M))
    assert {"admin2@demo.test", "moderator2@demo.test", "reviewer2@demo.test"} <= set(people)
    assert "What to try, by role" in result.output
    return people


class Shots:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []

    def __call__(self, page: Any, name: str) -> None:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)


def _sit_and_submit(page: Any, shot: Shots) -> None:
    page.get_by_role("button", name="Start the test").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Are you ready to start?")
    page.get_by_role("button", name="Start now").click()
    expect(page.locator("#question-heading")).to_have_text("Question 1 of 40")
    position = 1
    while page.get_by_role("radio").count():  # the first short-answer question
        position += 1
        page.get_by_role("button", name="Next").click()
        expect(page.locator("#question-heading")).to_have_text(f"Question {position} of 40")
    page.get_by_role("textbox", name="Your answer").fill(ANSWER)
    expect(page.locator("#save-status")).to_have_text("Saved")
    expect(page.locator("#answered-count")).to_have_text("1 of 40 answered")
    shot(page, "apprentice-answering")
    page.get_by_role("button", name="Review and submit").click()
    page.get_by_role("button", name="Submit the test").click()
    page.get_by_role("dialog", name="Submit the test?").get_by_role("button", name="Yes, submit my test").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your test has been submitted")


def _mark(page: Any, marks: str) -> None:
    page.get_by_label(marks, exact=True).check()
    page.get_by_role("button", name="Save mark").click()
    page.wait_for_load_state("networkidle")


def _results_row(page: Any, method: str) -> Any:
    table = page.get_by_role("table", name="The grade in force for each method")
    return table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=method))


def test_every_role_walks_a_whole_cycle_on_the_demo(live_app, live_server, new_page, tmp_path):
    from pypdf import PdfReader

    people = _demo(live_app)
    url = live_server.url
    shot = Shots(Path(os.environ.get("TESTENGINE_SCREENSHOT_DIR") or tmp_path))  # set it to keep the pictures

    def signed_in(email: str, **context: Any) -> Any:
        page = new_page(viewport={"width": 1280, "height": 900}, **context)
        browser_login(page, url, email, people[email])
        assert "/account/password" not in page.url, f"{email} was sent to change the password"
        return page

    # The apprentice sits the open demo sitting and submits early, with one short answer given.
    apprentice = signed_in("apprentice1@demo.test", accept_downloads=True)
    _sit_and_submit(apprentice, shot)

    # The marker standardises on that question (agreeing with the reference marks), then marks it.
    marker = signed_in("marker@demo.test")
    assert "A moderator must set standardisation up" not in marker.inner_text("main")
    marker.get_by_role("link", name=re.compile("^Standardisation for question")).click()
    marker.get_by_role("group", name="Your mark for answer 1").get_by_label("2 marks").check()
    marker.get_by_role("group", name="Your mark for answer 2").get_by_label("0 marks").check()
    marker.get_by_role("button", name="Submit my marks").click()
    assert "you can now mark this question" in marker.inner_text("main")
    marker.get_by_role("link", name="Back to the marking queue").click()
    marker.get_by_role("button", name="Mark the next script").click()
    expect(marker.get_by_role("heading", level=1)).to_have_text("Mark an answer")
    assert marker.locator(".answer-text").inner_text() == ANSWER
    shot(marker, "marker-marking")
    _mark(marker, "2 marks")
    assert "/mark/scripts/" in marker.url

    # The first moderator draws the sitting's sample (the other apprentices have not finished) and
    # second-marks the answer lower: a disagreement, which goes to the other moderator.
    moderator = signed_in("moderator@demo.test")
    moderator.get_by_role("link", name="Second-marking samples").click()
    moderator.get_by_role("button", name=re.compile("^Draw the sample now")).click()
    moderator.goto(f"{url}/mark/")
    moderator.get_by_role("button", name="Second-mark the next answer").click()
    assert moderator.locator(".answer-text").inner_text() == ANSWER
    _mark(moderator, "0 marks")
    moderator.goto(f"{url}/mark/")
    assert "No disagreements are waiting for you." in moderator.inner_text("main")
    expect(moderator.locator("#moderation-others")).to_contain_text("Lee Moderator")

    other = signed_in("moderator2@demo.test")
    other.get_by_role("button", name="Resolve the next disagreement").click()
    assert other.locator(".answer-text").inner_text() == ANSWER
    shot(other, "moderator-resolving")
    _mark(other, "1 mark")
    other.goto(f"{url}/mark/")
    assert "No disagreements are waiting for you." in other.inner_text("main")

    # One admin signs the knowledge-test grade off; it needs a different admin to release it.
    admin = signed_in("admin@demo.test")
    admin.goto(f"{url}/admin/results")
    admin.get_by_label("Candidate number, ULN or name").fill("Avery")
    admin.get_by_role("button", name="Find").click()
    admin.get_by_role("link", name=re.compile("^ST0663 results for")).click()
    row = _results_row(admin, "Knowledge test")
    assert "provisional" in row.inner_text()
    row.get_by_label(re.compile("^I confirm Knowledge test")).check()
    row.get_by_role("button", name=re.compile("^Sign off")).click()
    admin.wait_for_load_state("networkidle")
    row = _results_row(admin, "Knowledge test")
    assert "Signed off by Alex Admin" in row.inner_text() and "a different administrator must release it" in row.inner_text()
    assert row.get_by_role("button", name=re.compile("^Release")).count() == 0
    results_url = admin.url

    releaser = signed_in("admin2@demo.test")
    releaser.goto(results_url)
    row = _results_row(releaser, "Knowledge test")
    row.get_by_label(re.compile("^I confirm the release of Knowledge test")).check()
    row.get_by_role("button", name=re.compile("^Release")).click()
    releaser.wait_for_load_state("networkidle")
    assert "released" in _results_row(releaser, "Knowledge test").inner_text()
    shot(releaser, "admin-released")

    # The apprentice sees the grade (1 mark of 66: a fail) and downloads the letter.
    apprentice.goto(f"{url}/apprentice/")
    apprentice.get_by_role("link", name="My results").click()
    table = apprentice.get_by_role("table", name=re.compile("Your ST0663 results"))
    assert "Knowledge test" in table.inner_text() and "Fail (1 mark)" in table.inner_text()
    shot(apprentice, "apprentice-results")
    assert axe_violations(apprentice) == []
    with apprentice.expect_download() as info:
        apprentice.get_by_role("link", name="Download your result letter for ST0663 (PDF)").click()
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(Path(info.value.path()).read_bytes())).pages)
    text = " ".join(text.split())
    assert "Avery Apprentice" in text and "Knowledge test" in text and "Fail" in text, text

    # A reviewer proposes a revision of a question due for review; another approves it, seeing the change.
    reviewer = signed_in("reviewer@demo.test")
    queue = reviewer.get_by_role("table", name="Questions due for review, most urgent first")
    assert "overdue" in queue.inner_text() and "revision to approve" in queue.inner_text()
    first = queue.get_by_role("row").nth(1).get_by_role("link").first
    external_id = first.inner_text()
    first.click()
    reviewer.get_by_role("link", name=f"Propose a revision of {external_id}").click()
    stem = reviewer.get_by_label("Question wording (stem)")
    old = stem.input_value()
    stem.fill(old.replace("most appropriate", "best"))
    assert stem.input_value() != old
    reviewer.get_by_label("What you changed and why (for the review record)").fill("Plainer wording.")
    reviewer.get_by_role("button", name="Propose version").click()
    reviewer.wait_for_load_state("networkidle")
    assert f"{external_id}: version 2 proposed." in reviewer.locator(".flashes").inner_text()

    second = signed_in("reviewer2@demo.test")
    second.goto(f"{url}/review/approvals")
    second.get_by_role("link", name=re.compile(external_id)).click()
    changes = second.locator("#changes + dl, #changes ~ dl").first
    # Marked up as insertions and deletions, with words for screen readers.
    assert [" ".join(t.split()) for t in second.locator("ins.diff").all_text_contents()] == ["[added: best]"]
    assert [" ".join(t.split()) for t in second.locator("del.diff").all_text_contents()] == ["[removed: most appropriate]"]
    assert changes.is_visible()
    shot(second, "reviewer-approving")
    second.get_by_role("button", name="Approve version 2").click()
    second.wait_for_load_state("networkidle")
    assert f"{external_id} version 2 approved" in second.content()
    print("screenshots:", *shot.taken, sep="\n  ")
