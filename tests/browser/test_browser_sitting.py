"""Sitting an ST0663 paper in Chromium: every answer kept across a reload, review, submit, time-up, accessibility."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import axe_violations, browser_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def sitting_ready(prepared, now, apprentices=1, display=()):
    """ST0663 imported, an open sitting with its invigilator, apprentices checked in; returns their emails.

    `display`: adjustments such as "high_contrast" and "large_text" for every apprentice.
    """
    from testengine.services import accounts
    from testengine.services.adjustments import add_adjustment
    from testengine.services.banks import get_standard, import_bank
    from tests.factories import REPO, book_and_check_in, loaded_bank, open_sitting

    with prepared():
        import_bank(REPO / "question_banks" / "ST0663", now=now, loaded=loaded_bank("ST0663"))
        invigilator = accounts.create_user(
            allow_test_domains=True,
            email="invigilator@browser.test",
            display_name="Ivy Invigilator",
            password=PASSWORD,
            roles=["invigilator"],
        )
        sitting = open_sitting(get_standard("ST0663"), [invigilator], now)
        emails = []
        for n in range(apprentices):
            user = accounts.create_user(
                allow_test_domains=True,
                email=f"apprentice{n}@browser.test",
                display_name=f"Alex Apprentice{n}",
                password=PASSWORD,
                roles=["apprentice"],
                uln=f"912345678{n}",
            )
            for kind in display:
                add_adjustment(
                    user.apprentice,
                    kind=kind,
                    extra_percent=0,
                    extra_minutes=0,
                    reason="Assessed need",
                    approval_reference="RA-7",
                    approved_by="EPA manager",
                    expires_on=None,
                    now=now,
                    actor=None,
                )
            book_and_check_in(sitting, user, invigilator, now)
            emails.append(user.email)
        return emails


def start_from_home(page, base_url, email):
    browser_login(page, base_url, email, PASSWORD)
    page.get_by_role("button", name="Start the test").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Are you ready to start?")
    page.get_by_role("button", name="Start now").click()
    page.wait_for_url(re.compile(r"/apprentice/attempts/\d+$"))
    expect(page.locator("#question-heading")).to_have_text("Question 1 of 40")
    return int(page.url.rsplit("/", 1)[1])


def moved_to(page, position, move):
    """Move to another question, and wait until the server has kept it as the apprentice's place."""
    with page.expect_response(
        lambda response: response.url.endswith("/position") and response.request.post_data_json["position"] == position
    ):
        move()
    expect(page.locator("#question-heading")).to_have_text(f"Question {position} of 40")


def stored_answers(attempt_id):
    """What the database holds for the attempt: {position: response}, and the attempt row."""
    from testengine.extensions import db
    from testengine.models import Answer, Attempt, AttemptQuestion

    db.session.close()
    rows = db.session.execute(
        select(AttemptQuestion.position, Answer.response)
        .join(Answer, Answer.attempt_question_id == AttemptQuestion.id)
        .where(AttemptQuestion.attempt_id == attempt_id)
    ).all()
    attempt = db.session.get(Attempt, attempt_id)
    facts = {
        "state": attempt.state,
        "finish_reason": attempt.finish_reason,
        "submitted_at": attempt.submitted_at,
        "deadline_at": attempt.deadline_at,
    }
    db.session.close()
    return {position: response for position, response in rows if response}, facts


def browser_events(attempt_id):
    from testengine.extensions import db
    from testengine.models import AttemptEvent

    db.session.close()
    kinds = list(db.session.scalars(select(AttemptEvent.kind).where(AttemptEvent.attempt_id == attempt_id)))
    db.session.close()
    return kinds


def answer_current(page, position, answers):
    """Answer the question on screen: one of the radio buttons (varied by position), or a typed short answer."""
    radios = page.get_by_role("radio")
    if radios.count():
        choice = radios.nth(position % 4)
        choice.check()
        answers[position] = choice.get_attribute("value")
    else:
        answers[position] = f"Answer {position}: agree actions with the participant and record them."
        page.get_by_role("textbox", name="Your answer").fill(answers[position])


def test_a_whole_st0663_paper_in_chromium(live_app, live_server, live_clock, new_page, prepared):
    [email] = sitting_ready(prepared, live_clock.now())
    page = new_page()
    attempt_id = start_from_home(page, live_server.url, email)
    status = page.locator("#save-status")
    answers: dict[int, str] = {}

    for position in range(1, 21):
        expect(page.locator("#question-heading")).to_have_text(f"Question {position} of 40")
        answer_current(page, position, answers)
        if position == 7:
            page.get_by_role("button", name="Flag for review").click()
            expect(page.get_by_role("button", name="Remove flag")).to_have_attribute("aria-pressed", "true")
        moved_to(page, position + 1, lambda: page.get_by_role("button", name="Next").click())
    expect(status).to_have_text("Saved")

    # Reload mid-way: every answer comes back from the server (nothing is left waiting in the browser),
    # and the page opens at the question the apprentice was on.
    assert page.evaluate(f"localStorage.getItem('te-pending-{attempt_id}')") in (None, "{}")
    page.reload()
    expect(page.locator("#question-heading")).to_have_text("Question 21 of 40")
    navigator = page.get_by_role("navigation", name="Questions")
    for position in range(1, 21):
        label = f"Question {position}, answered" + (", flagged" if position == 7 else "")
        moved_to(page, position, navigator.get_by_role("button", name=label, exact=True).click)
        if page.get_by_role("radio").count():
            expect(page.locator(f"input[type=radio][value='{answers[position]}']")).to_be_checked()
        else:
            expect(page.get_by_role("textbox", name="Your answer")).to_have_value(answers[position])

    # A second window on the same attempt wins; this one is told why it stopped, and a reload takes it back.
    second = page.context.new_page()
    second.goto(page.url)
    expect(second.locator("#question-heading")).to_have_text("Question 20 of 40")
    # The first window hears of it at its next re-sync (every few seconds), or at its next action.
    expect(page.locator("#alerts")).to_have_text(
        re.compile(r"^This test was opened in another window, so this window has stopped\.")
    )
    expect(page.locator("#flag")).to_be_disabled()
    expect(page.get_by_role("radio").or_(page.get_by_role("textbox", name="Your answer")).first).to_be_disabled()
    second.close()
    page.reload()
    expect(page.locator("#question-heading")).to_have_text("Question 20 of 40")

    # The rest, leaving question 33 for the review screen to find.
    navigator.get_by_role("button", name="Question 21, not answered").click()
    for position in range(21, 41):
        expect(page.locator("#question-heading")).to_have_text(f"Question {position} of 40")
        if position != 33:
            answer_current(page, position, answers)
        if position < 40:
            page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Review and submit").click()
    review = page.get_by_role("region", name="Review your answers")
    expect(review.locator("#review-summary")).to_have_text("You have answered 39 of 40 questions.")
    expect(review.locator("#review-unanswered")).to_have_text("Question 33")
    expect(review.locator("#review-flagged")).to_have_text("Question 7")

    review.locator("#review-unanswered").get_by_role("button", name="Question 33").click()
    expect(page.locator("#question-heading")).to_have_text("Question 33 of 40")
    answer_current(page, 33, answers)
    page.get_by_role("button", name="Review and submit").click()
    expect(review.locator("#review-unanswered")).to_have_text("None: every question has an answer.")
    page.get_by_role("button", name="Submit the test").click()
    dialog = page.get_by_role("dialog", name="Submit the test?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Yes, submit my test").click()

    page.wait_for_url(f"{live_server.url}/apprentice/attempts/{attempt_id}/finished")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your test has been submitted")
    expect(page.get_by_text("You answered 40 of 40 questions.")).to_be_visible()
    stored, facts = stored_answers(attempt_id)
    assert stored == answers and len(stored) == 40
    assert facts["state"] == "submitted" and facts["finish_reason"] == "candidate"


def test_time_runs_out_and_the_last_seconds_are_kept(live_app, live_server, live_clock, new_page, prepared):
    # This apprentice has high-contrast, large-text display as reasonable adjustments; they must stay accessible.
    [email] = sitting_ready(prepared, live_clock.now(), display=("high_contrast", "large_text"))
    page = new_page()
    attempt_id = start_from_home(page, live_server.url, email)
    expect(page.locator("body")).to_have_class("sitting bg-dark text-150")  # the presets, as display settings
    assert axe_violations(page) == []
    alerts = page.locator("#alerts")
    timer = page.locator("#timer")
    expect(timer).to_have_text(re.compile(r"^(2:00:00|1:59:\d\d)$"))

    # Find a short-answer question to type into.
    position = 1
    while page.get_by_role("radio").count():
        page.get_by_role("button", name="Next").click()
        position += 1
        expect(page.locator("#question-heading")).to_have_text(f"Question {position} of 40")
    box = page.get_by_role("textbox", name="Your answer")

    # The 30, 10 and 5 minute warnings, each as the server's clock reaches it (a save more than 3 s after
    # the page last synced re-syncs it with the server's clock).
    elapsed = dt.timedelta(0)
    for minutes in (30, 10, 5):
        target = dt.timedelta(minutes=120 - minutes, seconds=1)
        live_clock.advance(target - elapsed)
        elapsed = target
        page.wait_for_timeout(3100)
        box.type(".")
        expect(page.get_by_role("status").filter(has_text="minutes left")).to_have_text(f"{minutes} minutes left.")
        expect(timer).to_have_text(re.compile(rf"^{minutes - 1}:5\d$"))

    # A reload shows the server's time left, not a fresh 120 minutes.
    page.reload()
    expect(timer).to_have_text(re.compile(r"^4:5\d$"))
    # The reload opens at the question the apprentice was on (no navigator click: a second load of the
    # same question would replace the answer box while the next step types into it).
    expect(page.locator("#question-heading")).to_have_text(f"Question {position} of 40")
    expect(
        page.get_by_role("navigation", name="Questions").get_by_role("button", name=f"Question {position}, answered")
    ).to_be_visible()
    expect(box).to_have_value(re.compile(r"^\.+$"))

    # The last seconds: typing reaches the server two seconds before the deadline.
    live_clock.advance(dt.timedelta(minutes=120) - dt.timedelta(seconds=2) - elapsed)
    events_before = browser_events(attempt_id)
    box.fill("Typed in the last seconds: review the action plan at the next meeting.")
    expect(page.locator("#save-status")).to_have_text("Saved")
    # The deadline passes: the page's countdown reaches zero, input stops and the apprentice is told.
    live_clock.advance(dt.timedelta(seconds=12))
    expect(alerts).to_have_text("Time is up. Your answers are saved and your test is being submitted.", timeout=10000)
    expect(box).to_be_disabled()
    expect(page.get_by_role("button", name="Flag for review")).to_be_disabled()
    # During the server's grace the page waits where it is (no bouncing between pages, no "second browser").
    page.wait_for_timeout(4000)
    assert page.url == f"{live_server.url}/apprentice/attempts/{attempt_id}"
    assert browser_events(attempt_id) == events_before

    # The grace passes: the attempt is submitted for them, at the deadline, and the page follows.
    live_clock.advance(dt.timedelta(seconds=55))
    page.wait_for_url(f"{live_server.url}/apprentice/attempts/{attempt_id}/finished", timeout=15000)
    expect(page.get_by_text("Time ran out, and your test was submitted with every answer you had saved.")).to_be_visible()
    stored, facts = stored_answers(attempt_id)
    assert stored == {position: "Typed in the last seconds: review the action plan at the next meeting."}
    assert facts["state"] == "submitted" and facts["finish_reason"] == "time_up"
    assert facts["submitted_at"] == facts["deadline_at"]


def focused(page):
    """The focused element, as the keyboard user meets it: its id, tag, type, value and accessible text."""
    return page.evaluate(
        "() => { const e = document.activeElement; return {id: e.id, tag: e.tagName.toLowerCase(), type: e.type || '', value: e.value || '', text: (e.innerText || '').trim()}; }"
    )


def tab_to(page, wanted, *, backwards=False, limit=80):
    """Press Tab (or Shift+Tab) until the focused element matches `wanted` (a function of `focused`)."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if wanted(focused(page)):
            return focused(page)
    raise AssertionError(f"never reached by keyboard; last focus {focused(page)}")


def test_sitting_by_keyboard_alone_with_no_accessibility_violations(live_app, live_server, live_clock, new_page, prepared):
    [email] = sitting_ready(prepared, live_clock.now())
    page = new_page()
    page.goto(f"{live_server.url}/login")
    tab_to(page, lambda f: f["type"] == "text" or f["type"] == "email")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/apprentice/")
    assert axe_violations(page) == []

    tab_to(page, lambda f: f["text"] == "Start the test")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Are you ready to start?")
    assert axe_violations(page) == []
    tab_to(page, lambda f: f["text"] == "Start now")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/apprentice/attempts/\d+$"))
    attempt_id = int(page.url.rsplit("/", 1)[1])
    heading = page.locator("#question-heading")
    expect(heading).to_have_text("Question 1 of 40")
    expect(heading).to_be_focused()

    answers: dict[int, str] = {}
    seen: set[str] = set()
    position = 1
    while position <= 3 or len(seen) < 2:
        expect(heading).to_have_text(f"Question {position} of 40")
        expect(heading).to_be_focused()
        kind = "mcq" if page.get_by_role("radio").count() else "short_answer"
        if kind not in seen:
            assert axe_violations(page) == [], kind
            seen.add(kind)
        control = tab_to(page, lambda f: f["tag"] in ("input", "textarea"))
        if kind == "mcq":
            page.keyboard.press("Space")  # choose the first option...
            page.keyboard.press("ArrowDown")  # ...then change to the second
            answers[position] = focused(page)["value"]
            expect(page.locator(f"input[type=radio][value='{answers[position]}']")).to_be_checked()
        else:
            assert control["tag"] == "textarea"
            answers[position] = f"Keyboard answer {position}"
            page.keyboard.type(answers[position])
        if position == 2:
            tab_to(page, lambda f: f["id"] == "flag")
            page.keyboard.press("Space")
            expect(page.locator("#flag")).to_have_attribute("aria-pressed", "true")
        tab_to(page, lambda f: f["id"] == "next")
        page.keyboard.press("Enter")
        position += 1
    expect(page.locator("#save-status")).to_have_text("Saved")

    # Back one question with Shift+Tab to "Previous": the answer is there.
    expect(heading).to_have_text(f"Question {position} of 40")
    tab_to(page, lambda f: f["id"] == "prev")
    page.keyboard.press("Enter")
    expect(heading).to_have_text(f"Question {position - 1} of 40")

    # The review screen, then the submit and its confirmation, by keyboard.
    tab_to(page, lambda f: f["id"] == "to-review")
    page.keyboard.press("Enter")
    expect(page.locator("#review-heading")).to_be_focused()
    expect(page.locator("#review-flagged")).to_have_text("Question 2")
    expect(page.locator("#review-summary")).to_have_text(f"You have answered {len(answers)} of 40 questions.")
    assert axe_violations(page) == []
    tab_to(page, lambda f: f["id"] == "submit")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Submit the test?")
    expect(dialog).to_be_visible()
    expect(page.locator("#confirm-no")).to_be_focused()
    assert axe_violations(page) == []
    page.keyboard.press("Enter")  # "No, go back": the dialog closes and focus returns to the submit button
    expect(dialog).to_be_hidden()
    expect(page.locator("#submit")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    tab_to(page, lambda f: f["id"] == "confirm-yes", backwards=True, limit=3)
    page.keyboard.press("Enter")

    page.wait_for_url(f"{live_server.url}/apprentice/attempts/{attempt_id}/finished")
    expect(page.get_by_text(f"You answered {len(answers)} of 40 questions.")).to_be_visible()
    assert axe_violations(page) == []
    stored, facts = stored_answers(attempt_id)
    assert stored == answers and facts["finish_reason"] == "candidate"
