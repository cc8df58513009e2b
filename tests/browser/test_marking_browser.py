"""A marker in Chromium: passes standardisation, marks short answers with the guide in view, and the script total updates."""

from __future__ import annotations

import re

import pytest

from testengine.service_settings import attempt_settings, marking_settings
from tests.browser.conftest import axe_violations, browser_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _correct(version) -> int:  # type: ignore[no-untyped-def]
    return next(i for i, option in enumerate(version.content["options"]) if option.get("correct"))


def test_marker_standardises_then_marks_a_script_beside_the_guide(live_app, live_server, live_clock, new_page, prepared):
    from testengine.services import accounts, marking
    from testengine.services import answers as answer_service
    from testengine.services import attempts as attempt_service
    from testengine.services import marking_quality as quality
    from testengine.services.papers import issue_paper
    from tests.factories import import_standard

    now = live_clock.now()
    answers = ["Refer to the designated safeguarding lead\nand record it the same day.", "Agree a plan with small steps."]
    with prepared():
        standard = import_standard("ST0663", now)
        marker = accounts.create_user(
            allow_test_domains=True, email="marker@marking.test", display_name="Jo Marker", password=PASSWORD, roles=["marker"]
        )
        moderator = accounts.create_user(
            allow_test_domains=True,
            email="moderator@marking.test",
            display_name="Pat Moderator",
            password=PASSWORD,
            roles=["marker"],
            moderator=True,
        )
        apprentice = accounts.create_user(
            allow_test_domains=True,
            email="sam@marking.test",
            display_name="Sam Candidate",
            password=PASSWORD,
            roles=["apprentice"],
            uln="1234567890",
        )
        attempt = issue_paper(apprentice.apprentice, standard, now=now, actor=None)  # no sitting: a batch of its own
        attempt_service.start(attempt, now=now, actor=None)
        mcqs, short = 0, []
        for aq in attempt.questions:
            if aq.version.type == "mcq":
                if mcqs < 5:
                    answer_service.save_answer(
                        attempt,
                        aq.position,
                        response=str(_correct(aq.version)),
                        revision=1,
                        client_token=None,
                        now=now,
                        settings=attempt_settings(),
                    )
                mcqs += 1
            elif len(short) < 2:
                answer_service.save_answer(
                    attempt,
                    aq.position,
                    response=answers[len(short)],
                    revision=1,
                    client_token=None,
                    now=now,
                    settings=attempt_settings(),
                )
                short.append(aq.version.question_id)
        attempt_service.submit(attempt, now=now, actor=None, settings=attempt_settings())
        for question_id in short:
            for text, mark in (("Names the lead and a timescale.", 2), ("Does nothing.", 0)):
                quality.add_standardisation_item(
                    question_id, response=text, reference_mark=mark, rationale=None, moderator=moderator, now=now
                )
        attempt_id, candidate = attempt.id, apprentice.apprentice.candidate_number

    page = new_page(viewport={"width": 1280, "height": 900})
    browser_login(page, live_server.url, marker.email, PASSWORD)
    assert page.get_by_role("heading", level=1).inner_text() == "Marking"
    for _ in short:  # standardise on each question: agree with both reference marks
        page.get_by_role("link", name=re.compile("^Standardisation for question")).first.click()
        page.get_by_role("group", name="Your mark for answer 1").get_by_label("2 marks").check()
        page.get_by_role("group", name="Your mark for answer 2").get_by_label("0 marks").check()
        page.get_by_role("button", name="Submit my marks").click()
        assert "you can now mark this question" in page.inner_text("main")
        page.get_by_role("link", name="Back to the marking queue").click()

    page.goto(f"{live_server.url}/mark/scripts/{attempt_id}")
    assert page.locator("#script-total").inner_text() == "5 of 66"  # the five MCQs answered right

    page.goto(f"{live_server.url}/mark/")
    page.get_by_role("button", name="Mark the next script").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Mark an answer"
    assert f"Candidate {candidate}" in page.inner_text("main")
    guide = page.get_by_role("heading", name="Marking guide")
    answer = page.locator(".answer-text")
    assert guide.is_visible() and answer.is_visible() and page.get_by_text("Indicative content").is_visible()
    assert answer.inner_text() == answers[0]  # line break kept, as plain text
    question_box, answer_box = page.locator(".mark-question").bounding_box(), page.locator(".mark-answer").bounding_box()
    assert (
        answer_box["x"] > question_box["x"] + question_box["width"] - 1 and answer_box["y"] < question_box["y"] + 50
    )  # side by side
    assert axe_violations(page) == []
    page.get_by_label("2 marks").check()
    page.get_by_label("Comment (optional)").fill("Names the lead and when.")
    page.get_by_role("button", name="Save mark").click()

    assert page.locator(".answer-text").inner_text() == answers[1]  # the script's next answer
    page.get_by_label("1 mark", exact=True).check()
    page.get_by_role("button", name="Save mark").click()
    page.wait_for_url(f"{live_server.url}/mark/scripts/{attempt_id}")
    assert page.locator("#script-total").inner_text() == "8 of 66"  # 5 + 2 + 1
    assert "Second marking" in page.inner_text("main")  # a script alone is always in the sample
    assert axe_violations(page) == []

    with prepared():  # a second marker agrees with both marks: the total is final
        while (aq_id := marking.claim_next(moderator, "second", live_clock.now(), settings=marking_settings())) is not None:
            given = marking.marks_of([attempt_id])[aq_id].latest("first").mark
            marking.save_mark(
                aq_id, "second", moderator, mark=given, comment=None, now=live_clock.now(), settings=marking_settings()
            )
    page.reload()
    assert "Final total" in page.inner_text("main") and page.locator("#script-total").inner_text() == "8 of 66"
    assert "Marking complete" in page.inner_text("main")
