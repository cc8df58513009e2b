"""Live updates in Chromium: the server pushes a message, a pause and a resume to the screen within 2 s
(the page's clock poll is cut off, so only the stream can bring them), and a dropped network is survived:
questions already seen can be answered offline, every answer arrives in order after reconnecting, and
the invigilator's board shows who is offline."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, browser_login
from tests.browser.test_browser_sitting import answer_current, moved_to, sitting_ready, start_from_home, stored_answers
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def streaming_only(page):
    """Cut the page's clock poll (the fallback), so whatever reaches the screen came through the stream."""
    page.route("**/clock*", lambda route: route.abort())


def streams_opened(page):
    """The live streams the page opens (a list that fills as their responses begin)."""
    opened: list[int] = []
    page.on("response", lambda r: opened.append(r.status) if "/live?" in r.url else None)
    return opened


def seconds_until(page, check, limit=10.0):
    """How long (wall clock) until `check()` holds, looked at every 50 ms (the page's events flow meanwhile)."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > limit:
            raise AssertionError("never happened")
        page.wait_for_timeout(50)
    return time.monotonic() - started


def test_a_message_a_pause_and_a_resume_reach_the_screen_within_two_seconds(
    live_app, live_server, live_clock, new_page, prepared
):
    from testengine.models import Attempt, Sitting
    from testengine.services import attempts as attempt_service
    from testengine.services import messages

    [email] = sitting_ready(prepared, live_clock.now())
    page = new_page()
    streaming_only(page)
    opened = streams_opened(page)
    attempt_id = start_from_home(page, live_server.url, email)
    seconds_until(page, lambda: opened == [200])
    page.wait_for_timeout(500)  # the stream's first event is in

    # A message to the room, sent by the invigilator (through another request: only the database carries it).
    with prepared() as session:
        room = session.get(Attempt, attempt_id).sitting_id
        messages.send(
            session.get(Sitting, room), apprentice_id=None, body="Please check your name.", now=live_clock.now(), actor=None
        )
    waited = seconds_until(
        page, lambda: page.locator("#alerts").text_content() == "Message from the invigilator: Please check your name."
    )
    assert waited < 2.0, waited
    expect(page.locator("#messages-list li")).to_have_text(["Please check your name."])

    # The invigilator pauses the apprentice: the screen's clock stops within 2 s.
    with prepared() as session:
        attempt_service.begin_stoppage(session.get(Attempt, attempt_id), "pause", now=live_clock.now(), actor=None)
    waited = seconds_until(page, lambda: "(clock stopped)" in (page.locator("#timer").text_content() or ""))
    assert waited < 2.0, waited
    stopped_at = page.locator("#timer").text_content()
    page.wait_for_timeout(1500)
    assert page.locator("#timer").text_content() == stopped_at  # it does not count down meanwhile
    expect(page.locator("#question-body").locator("input, textarea").first).to_be_disabled()

    # Resumed after five minutes with ten more minutes of extra time: the same time left, and the new time, at once.
    live_clock.advance(dt.timedelta(minutes=5))
    with prepared() as session:
        attempt = session.get(Attempt, attempt_id)
        attempt_service.end_stoppage(attempt, now=live_clock.now(), actor=None)
        attempt_service.change_extra_time(
            attempt, percent=0, minutes=10, now=live_clock.now(), actor=None, reason="Assessed need"
        )
    waited = seconds_until(
        page, lambda: re.fullmatch(r"2:09:\d\d|2:10:00", page.locator("#timer").text_content() or "") is not None
    )
    assert waited < 2.0, waited
    expect(page.locator("#question-body").locator("input, textarea").first).to_be_enabled()

    # A reload keeps the message to read again, without reading it out a second time.
    page.unroute("**/clock*")
    page.reload()
    expect(page.locator("#question-heading")).to_have_text("Question 1 of 40")
    expect(page.locator("#messages-list li")).to_have_text(["Please check your name."])
    page.wait_for_timeout(1500)
    expect(page.locator("#alerts")).to_have_text("")
    assert axe_violations(page) == []


def test_offline_the_apprentice_keeps_answering_seen_questions_and_every_answer_arrives_in_order(
    live_app, live_server, live_clock, new_page, prepared
):
    [email] = sitting_ready(prepared, live_clock.now())
    page = new_page()
    attempt_id = start_from_home(page, live_server.url, email)
    board = new_page(viewport={"width": 1400, "height": 1000})
    browser_login(board, live_server.url, "invigilator@browser.test", PASSWORD)
    board.locator("main table a").first.click()
    row = board.locator("#board-rows tr").first
    expect(row.locator(".connection")).to_have_text("Online", timeout=12000)

    # Online: questions 1 to 4 are seen, and answered.
    answers: dict[int, str] = {}
    for position in range(1, 5):
        answer_current(page, position, answers)
        if position < 4:
            moved_to(page, position + 1, page.get_by_role("button", name="Next").click)
    expect(page.locator("#save-status")).to_have_text("Saved")
    saved_online = dict(answers)
    assert stored_answers(attempt_id)[0] == saved_online
    expect(row.locator(".last-saved")).to_have_text(f"{live_clock.now():%H:%M:%S}", timeout=12000)

    # The network goes. Back through the questions already seen, each answered again, from memory.
    page.context.set_offline(True)
    expect(page.locator("#offline")).to_have_text(re.compile("^You are offline."))
    given = []
    for position in (3, 2, 1, 4):
        navigator = page.get_by_role("navigation", name="Questions")
        navigator.get_by_role("button", name=re.compile(rf"^Question {position}, ")).click()
        expect(page.locator("#question-heading")).to_have_text(f"Question {position} of 40")
        radios = page.get_by_role("radio")
        if radios.count():
            choice = radios.nth((position + 1) % 4)
            choice.check()
            answers[position] = choice.get_attribute("value")
        else:
            answers[position] = f"Written offline for question {position}."
            page.get_by_role("textbox", name="Your answer").fill(answers[position])
        given.append(position)
    # Going to each again shows the answer given last (kept on this computer), not the one the server has.
    page.get_by_role("navigation", name="Questions").get_by_role("button", name=re.compile(r"^Question 3, ")).click()
    if page.get_by_role("radio").count():
        expect(page.locator(f"input[type=radio][value='{answers[3]}']")).to_be_checked()
    else:
        expect(page.get_by_role("textbox", name="Your answer")).to_have_value(answers[3])
    # A question never opened cannot be shown, and the page says why.
    page.get_by_role("navigation", name="Questions").get_by_role("button", name=re.compile(r"^Question 9, ")).click()
    expect(page.locator("#question-body")).to_contain_text("You are offline and this question has not been opened yet")
    assert axe_violations(page) == []
    assert stored_answers(attempt_id)[0] == saved_online  # nothing arrived meanwhile

    # The invigilator sees the apprentice offline once the heartbeats stop (two missed, and a margin).
    live_clock.advance(dt.timedelta(seconds=41))
    expect(row.locator(".connection")).to_have_text(re.compile(r"^Offline since \d\d:\d\d:\d\d UTC$"), timeout=12000)

    # The network is back: every answer arrives, in the order it was given, and question 9 appears.
    sent: list[int] = []
    page.on("response", lambda r: sent.append(int(r.url.rsplit("/", 1)[1])) if "/answers/" in r.url and r.ok else None)
    page.context.set_offline(False)
    expect(page.locator("#offline")).to_be_hidden()
    expect(page.locator("#save-status")).to_have_text("Saved", timeout=10000)
    expect(page.locator("#question-heading")).to_have_text("Question 9 of 40", timeout=10000)
    expect(page.get_by_role("radio").or_(page.get_by_role("textbox", name="Your answer")).first).to_be_visible()
    assert stored_answers(attempt_id)[0] == answers
    assert sent == given, sent
    expect(row.locator(".connection")).to_have_text("Online", timeout=12000)
