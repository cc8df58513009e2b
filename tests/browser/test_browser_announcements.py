"""What a screen reader hears: the time warnings through a polite live region, the time left on request,
the invigilator's messages, and the offline banner."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations
from tests.browser.test_browser_sitting import sitting_ready, start_from_home

pytestmark = pytest.mark.browser


def test_the_ten_minute_warning_is_announced_politely_and_the_time_left_on_request(
    live_app, live_server, live_clock, new_page, prepared
):
    [email] = sitting_ready(prepared, live_clock.now())
    page = new_page()
    start_from_home(page, live_server.url, email)
    announcer = page.locator("#announcer")
    expect(announcer).to_have_attribute("role", "status")
    expect(announcer).to_have_attribute("aria-live", "polite")

    # The time on request: the button reads it out in words (the clock has not moved yet).
    page.get_by_role("button", name="Time left").click()
    expect(announcer).to_have_text(re.compile(r"^You have (2 hours|1 hour 59 minutes) left\.$"))

    # The server's clock moves to 9 minutes 59 seconds left; the page's own re-sync hears of it
    # (nothing is typed), and the 10-minute warning is announced once, in the polite region.
    live_clock.advance(dt.timedelta(minutes=110, seconds=1))
    expect(announcer).to_have_text("10 minutes left.", timeout=8000)
    expect(page.locator("#alerts")).to_have_text("")  # not shouted over the apprentice's work
    expect(page.locator("#timer")).to_have_text(re.compile(r"^9:5\d$"))
    page.get_by_role("button", name="Time left").click()
    expect(announcer).to_have_text(re.compile(r"^You have 9 minutes left\.$"))
    assert axe_violations(page) == []


def test_a_message_from_the_board_reaches_the_apprentices_screen_and_is_read_out(
    live_app, live_server, live_clock, new_page, prepared
):
    from tests.browser.conftest import browser_login
    from tests.conftest import PASSWORD

    first, second = sitting_ready(prepared, live_clock.now(), apprentices=2)
    alex, sam = new_page(), new_page()
    start_from_home(alex, live_server.url, first)
    start_from_home(sam, live_server.url, second)

    board = new_page()
    browser_login(board, live_server.url, "invigilator@browser.test", PASSWORD)
    board.locator("main table a").first.click()
    expect(board.get_by_role("heading", name="Send a message")).to_be_visible()
    assert axe_violations(board) == []

    # To the whole room: both screens show it, in the alert region a screen reader reads out.
    board.get_by_label("Send to").select_option(label="The whole room")
    board.get_by_role("textbox", name="Message").fill("The fire alarm will be tested at 10:30. Stay seated.")
    board.get_by_role("button", name="Send message").click()
    expect(board.get_by_text("Message sent to the whole room")).to_be_visible()
    for page in (alex, sam):
        expect(page.get_by_role("alert")).to_have_text(
            "Message from the invigilator: The fire alarm will be tested at 10:30. Stay seated.", timeout=6000
        )
        expect(page.locator("#messages-list li")).to_have_text(["The fire alarm will be tested at 10:30. Stay seated."])

    # To one apprentice: only their screen.
    board.get_by_label("Send to").select_option(
        board.locator("#message-recipient option", has_text="Apprentice1").get_attribute("value")
    )
    board.get_by_role("textbox", name="Message").fill("Please raise your hand.")
    board.get_by_role("button", name="Send message").click()
    expect(sam.get_by_role("alert")).to_have_text("Message from the invigilator: Please raise your hand.", timeout=6000)
    expect(sam.locator("#messages-list li")).to_have_text(
        ["Please raise your hand.", "The fire alarm will be tested at 10:30. Stay seated."]
    )
    alex.wait_for_timeout(4500)  # at least one more poll
    expect(alex.locator("#messages-list li")).to_have_text(["The fire alarm will be tested at 10:30. Stay seated."])
    assert axe_violations(sam) == []


OFFLINE = "You are offline. Your answers are kept on this computer and will be sent when the connection is back. The clock keeps running."


def test_the_offline_banner_says_what_is_safe_and_the_answer_arrives_after_reconnecting(
    live_app, live_server, live_clock, new_page, prepared
):
    from tests.browser.test_browser_sitting import answer_current, stored_answers

    [email] = sitting_ready(prepared, live_clock.now())
    page = new_page()
    attempt_id = start_from_home(page, live_server.url, email)
    banner = page.locator("#offline")
    expect(banner).to_have_text("")
    expect(banner).to_be_hidden()

    page.context.set_offline(True)
    expect(banner).to_have_text(OFFLINE)
    expect(banner).to_have_attribute("role", "alert")
    answers: dict[int, str] = {}
    answer_current(page, 1, answers)  # the question already on screen can still be answered
    expect(page.locator("#save-status")).to_have_text(re.compile("Not saved|Saving"))
    assert axe_violations(page) == []
    assert stored_answers(attempt_id)[0] == {}

    page.context.set_offline(False)
    expect(banner).to_be_hidden()
    expect(page.locator("#save-status")).to_have_text("Saved", timeout=8000)
    assert stored_answers(attempt_id)[0] == answers
