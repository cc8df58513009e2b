"""The database goes away while an apprentice answers, in Chromium: the page says the server is busy, keeps the
answer, waits as the server's Retry-After says, and the answer reaches the database once it is back."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_browser_sitting import (
    answer_current,
    sitting_ready,
    start_from_home,
    stored_answers,
)
from tests.web.test_storage_unavailable import database_unavailable

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "SQLITE_BUSY_TIMEOUT_MS": 300}


def test_an_answer_given_while_the_database_is_down_arrives_once_it_is_back(
    live_app, live_server, live_clock, new_page, prepared
):
    [email] = sitting_ready(prepared, live_clock.now())
    page = new_page()
    attempt_id = start_from_home(page, live_server.url, email)
    status = page.locator("#save-status")
    answers: dict[int, str] = {}
    saves: list[tuple[float, int, str | None]] = []
    page.on(
        "response",
        lambda r: saves.append((time.monotonic(), r.status, r.headers.get("retry-after"))) if "/answers/" in r.url else None,
    )

    with database_unavailable(live_app):
        answer_current(page, 1, answers)
        expect(status).to_have_text("Server busy: your answer is kept and will be saved automatically")
        assert [(s, after) for _, s, after in saves] == [(503, "5")]
        assert page.evaluate(f"Object.keys(JSON.parse(localStorage.getItem('te-pending-{attempt_id}') || '{{}}'))") == ["1"]
    # No action of the apprentice's: the page's own retry brings the answer in once the database is back,
    # and not before the Retry-After it was given (its usual retry would come after 3 s).
    expect(status).to_have_text("Saved", timeout=15000)
    assert [s for _, s, _ in saves] == [503, 200]
    assert saves[1][0] - saves[0][0] >= 4.5
    assert stored_answers(attempt_id)[0] == answers
    assert page.evaluate(f"localStorage.getItem('te-pending-{attempt_id}')") in (None, "{}")


def test_the_room_board_says_the_server_is_busy_instead_of_going_quiet(live_app, live_server, live_clock, new_page, prepared):
    import datetime as dt

    from tests.browser.conftest import browser_login
    from tests.conftest import PASSWORD

    [email] = sitting_ready(prepared, live_clock.now())
    sitter = new_page()
    start_from_home(sitter, live_server.url, email)
    sitter.close()
    invigilator = new_page()
    browser_login(invigilator, live_server.url, "invigilator@browser.test", PASSWORD)
    invigilator.locator("main table a").first.click()
    expect(invigilator.locator("#board-rows")).to_be_visible()
    live_clock.advance(dt.timedelta(minutes=125))  # time is up: the board's next read submits the attempt (a write)
    with database_unavailable(live_app):
        expect(invigilator.locator("#board-notice")).to_have_text(
            "Server busy, answers are being retried. The board will refresh when the server is back.", timeout=12000
        )
    expect(invigilator.locator("#board-notice")).to_have_text("", timeout=12000)
