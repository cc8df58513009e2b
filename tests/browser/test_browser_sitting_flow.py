"""The sitting page in Chromium: the "ready?" step, the answered count, the reopened question, the navigator
as one Tab stop, and an invigilator's pause reaching the screen without any help from the test."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, browser_login
from tests.browser.test_browser_sitting import answer_current, focused, moved_to, sitting_ready
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def started_attempts():
    from sqlalchemy import select

    from testengine.extensions import db
    from testengine.models import Attempt

    db.session.close()
    states = list(db.session.scalars(select(Attempt.state)))
    db.session.close()
    return states


def test_start_is_confirmed_the_count_follows_the_answers_and_a_reload_returns_to_the_question(
    live_app, live_server, live_clock, new_page, prepared
):
    [email] = sitting_ready(prepared, live_clock.now())
    page = new_page()
    browser_login(page, live_server.url, email, PASSWORD)

    # "Start the test" asks first; going back starts nothing.
    page.get_by_role("button", name="Start the test").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Are you ready to start?")
    expect(page.get_by_text("You have 120 minutes.")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Not yet, go back").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My tests")
    assert set(started_attempts()) <= {"not_started"}
    page.get_by_role("button", name="Start the test").click()
    page.get_by_role("button", name="Start now").click()
    expect(page.locator("#question-heading")).to_have_text("Question 1 of 40")
    assert started_attempts() == ["in_progress"]

    # The count of answered questions follows each answer as it is given (and a cleared one).
    count = page.locator("#answered-count")
    expect(count).to_have_text("0 of 40 answered")
    answers: dict[int, str] = {}
    for position in range(1, 4):
        expect(page.locator("#question-heading")).to_have_text(f"Question {position} of 40")
        answer_current(page, position, answers)
        expect(count).to_have_text(f"{position} of 40 answered")
        page.get_by_role("button", name="Next").click()
    short = 4
    expect(page.locator("#question-heading")).to_have_text(f"Question {short} of 40")
    while page.get_by_role("radio").count():
        short += 1
        moved_to(page, short, page.get_by_role("button", name="Next").click)
    box = page.get_by_role("textbox", name="Your answer")
    box.fill("Agree the next steps")
    expect(count).to_have_text("4 of 40 answered")
    box.fill("")
    expect(count).to_have_text("3 of 40 answered")
    box.fill("Agree the next steps with the participant")
    expect(page.locator("#save-status")).to_have_text("Saved")

    # A reload opens the same question with its answer, and the same count.
    page.reload()
    expect(page.locator("#question-heading")).to_have_text(f"Question {short} of 40")
    expect(page.get_by_role("textbox", name="Your answer")).to_have_value("Agree the next steps with the participant")
    expect(count).to_have_text("4 of 40 answered")
    # Chosen from the navigator, then reloaded: the same again.
    moved_to(page, 2, page.get_by_role("navigation", name="Questions").get_by_role("button", name="Question 2, answered").click)
    page.reload()
    expect(page.locator("#question-heading")).to_have_text("Question 2 of 40")
    assert axe_violations(page) == []


def test_the_navigator_is_one_tab_stop_moved_through_with_arrow_keys(live_app, live_server, live_clock, new_page, prepared):
    [email] = sitting_ready(prepared, live_clock.now())
    page = new_page()
    browser_login(page, live_server.url, email, PASSWORD)
    page.get_by_role("button", name="Start the test").click()
    page.get_by_role("button", name="Start now").click()
    heading = page.locator("#question-heading")
    expect(heading).to_have_text("Question 1 of 40")
    answers: dict[int, str] = {}
    answer_current(page, 1, answers)
    page.get_by_role("button", name="Flag for review").click()
    toolbar = page.get_by_role("toolbar", name="Question numbers")
    expect(toolbar.get_by_role("button")).to_have_count(40)
    expect(toolbar.get_by_role("button", name="Question 1, answered, flagged", exact=True)).to_have_attribute(
        "aria-current", "step"
    )

    # A full round of Tab from the question heading: the 40 numbers are met exactly once.
    heading.focus()
    stops = []
    for _ in range(60):
        page.keyboard.press("Tab")
        now = focused(page)
        stops.append(now)
        if now["id"] == "question-heading" or now["tag"] == "body":
            break
    numbers = [f for f in stops if re.fullmatch(r"\d+", f["text"])]
    assert [f["text"] for f in numbers] == ["1"], stops

    # Arrow keys move between the numbers (focus only); Home, End; Enter opens the one focused.
    toolbar.get_by_role("button", name="Question 1, answered, flagged").focus()
    page.keyboard.press("ArrowRight")
    assert focused(page)["text"] == "2"
    page.keyboard.press("ArrowDown")
    assert focused(page)["text"] == "3"
    page.keyboard.press("ArrowLeft")
    assert focused(page)["text"] == "2"
    page.keyboard.press("End")
    assert focused(page)["text"] == "40"
    page.keyboard.press("ArrowRight")  # no further than the last
    assert focused(page)["text"] == "40"
    page.keyboard.press("Home")
    assert focused(page)["text"] == "1"
    page.keyboard.press("ArrowUp")  # no further than the first
    assert focused(page)["text"] == "1"
    expect(heading).to_have_text("Question 1 of 40")  # moving focus opened nothing
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(heading).to_have_text("Question 5 of 40")
    expect(heading).to_be_focused()
    current = toolbar.get_by_role("button", name="Question 5, not answered", exact=True)
    expect(current).to_have_attribute("aria-current", "step")
    # The one Tab stop is now the current question; Shift+Tab back out of the page's end reaches it once.
    assert [b.get_attribute("tabindex") for b in toolbar.get_by_role("button").all()].count("0") == 1
    expect(current).to_have_attribute("tabindex", "0")
    assert axe_violations(page) == []


def test_an_invigilators_pause_stops_the_clock_on_screen_with_a_message(live_app, live_server, live_clock, new_page, prepared):
    from testengine.models import Sitting, User
    from testengine.services import invigilation

    [email] = sitting_ready(prepared, live_clock.now())
    page = new_page()
    browser_login(page, live_server.url, email, PASSWORD)
    page.get_by_role("button", name="Start the test").click()
    page.get_by_role("button", name="Start now").click()
    expect(page.locator("#question-heading")).to_have_text("Question 1 of 40")
    timer, alerts = page.locator("#timer"), page.locator("#alerts")
    expect(timer).to_have_text(re.compile(r"^(2:00:00|1:59:\d\d)$"))

    with prepared() as session:
        room = session.query(Sitting).one()
        invigilator = session.query(User).filter_by(email="invigilator@browser.test").one()
        invigilation.pause_room(room, now=live_clock.now(), actor=invigilator, reason="Fire alarm")

    # Nothing in the page is poked: its own re-sync hears of the pause within a few seconds.
    expect(timer).to_have_text("2:00:00 (clock stopped)", timeout=6000)
    expect(alerts).to_have_text(
        "The invigilator has stopped the clock. Your answers are kept. Wait for the invigilator to restart the test."
    )
    expect(page.get_by_role("radio").or_(page.get_by_role("textbox", name="Your answer")).first).to_be_disabled()
    page.wait_for_timeout(2500)  # the clock stays frozen (the server's clock has not moved, nor does the page's)
    expect(timer).to_have_text("2:00:00 (clock stopped)")
    assert axe_violations(page) == []

    with prepared() as session:
        room = session.query(Sitting).one()
        invigilator = session.query(User).filter_by(email="invigilator@browser.test").one()
        invigilation.resume_room(room, now=live_clock.now(), actor=invigilator)
    expect(alerts).to_have_text("The clock has restarted. You have the time you had left: 2:00:00.", timeout=6000)
    expect(page.get_by_role("radio").or_(page.get_by_role("textbox", name="Your answer")).first).to_be_enabled()


def test_a_request_from_a_new_computer_reaches_the_board_and_is_approved_in_one_click(
    live_app, live_server, live_clock, new_page, prepared
):
    [email] = sitting_ready(prepared, live_clock.now())
    first = new_page()
    browser_login(first, live_server.url, email, PASSWORD)
    first.get_by_role("button", name="Start the test").click()
    first.get_by_role("button", name="Start now").click()
    expect(first.locator("#question-heading")).to_have_text("Question 1 of 40")
    test_url = first.url

    inv = new_page(viewport={"width": 1400, "height": 1000})
    browser_login(inv, live_server.url, "invigilator@browser.test", PASSWORD)
    inv.get_by_role("link", name="Morning sitting").click()
    inv.get_by_label("Notes").focus()  # busy typing an incident: the board does not reload under them

    # The first computer fails; on another the apprentice is told to ask, and the board shows the request.
    second = new_page()
    browser_login(second, live_server.url, email, PASSWORD)
    second.goto(test_url)
    expect(second.get_by_role("heading", level=1)).to_have_text("Ask the invigilator")
    approve = inv.get_by_role("button", name=re.compile(r"^Approve the new computer for "))
    expect(approve).to_be_visible(timeout=8000)
    expect(inv.locator("#board-rows .warnings")).to_have_text("Asks to continue on another computer")
    expect(inv.get_by_label("Notes")).to_be_focused()
    approve.click()
    expect(inv.get_by_text("The apprentice may continue on another computer (once).")).to_be_visible()
    assert axe_violations(inv) == []

    second.get_by_role("link", name="Try again").click()
    expect(second.locator("#question-heading")).to_have_text("Question 1 of 40")
