"""What a screen reader hears: the time warnings through a polite live region, the time left on request,
and the invigilator's messages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations
from tests.browser.test_browser_sitting import sitting_ready, start_from_home

pytestmark = pytest.mark.browser


def test_the_ten_minute_warning_is_announced_politely_and_the_time_left_on_request(live_app, live_server, live_clock, new_page, prepared):
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
