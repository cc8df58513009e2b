"""An invigilated room in Chromium: one invigilator and two apprentices, each in their own browser."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, browser_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def room_booked(prepared, now):
    """ST0663, a sitting whose window opens now, an invigilator assigned (not yet in the room), two apprentices booked."""
    from testengine.services import accounts, sittings
    from testengine.services.banks import get_standard, import_bank
    from tests.factories import REPO, loaded_bank

    with prepared():
        import_bank(REPO / "question_banks" / "ST0663", now=now, loaded=loaded_bank("ST0663"))
        invigilator = accounts.create_user(
            allow_test_domains=True,
            email="ivy@browser.test",
            display_name="Ivy Invigilator",
            password=PASSWORD,
            roles=["invigilator"],
        )
        sitting = sittings.create_sitting(
            standard=get_standard("ST0663"),
            title="Morning sitting",
            venue="Room 1",
            remote=False,
            window_start=now,
            window_end=now + dt.timedelta(hours=3),
            now=now,
            actor=None,
        )
        sittings.assign_invigilator(sitting, invigilator, actor=None)
        candidates = {}
        for n, name in enumerate(("Ada", "Ben")):
            user = accounts.create_user(
                allow_test_domains=True,
                email=f"{name.lower()}@browser.test",
                display_name=f"{name} Apprentice",
                password=PASSWORD,
                roles=["apprentice"],
                uln=f"812345678{n}",
            )
            sittings.book(sitting, user.apprentice, now=now, actor=None)
            candidates[user.email] = user.apprentice.candidate_number
        return invigilator.email, candidates


def board_row(page, candidate):
    return page.locator("#board-rows tr", has=page.get_by_role("cell", name=candidate, exact=True))


def show_again(page):
    """The page hears of the clock now rather than at its next re-sync, as when its tab is shown again."""
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")


def answer(page, position, move_on=True):
    expect(page.locator("#question-heading")).to_have_text(f"Question {position} of 40")
    if page.get_by_role("radio").count():
        page.get_by_role("radio").first.check()
    else:
        page.get_by_role("textbox", name="Your answer").fill(f"Answer {position}")
    if move_on:
        page.get_by_role("button", name="Next").click()


def test_an_invigilated_room_with_three_browsers(live_app, live_server, live_clock, new_page, prepared):
    invigilator_email, candidates = room_booked(prepared, live_clock.now())
    (ada, ada_number), (ben, ben_number) = candidates.items()
    url = live_server.url

    # The invigilator signs in to the room and confirms the venue checklist.
    inv = new_page(viewport={"width": 1400, "height": 1000})
    browser_login(inv, url, invigilator_email, PASSWORD)
    inv.get_by_role("link", name="Morning sitting").click()
    inv.get_by_role("button", name="Sign in to the room").click()
    expect(inv.get_by_text("You are signed in to the room.")).to_be_visible()
    checklist = inv.get_by_role("group", name="Confirm each point")
    for box in checklist.get_by_role("checkbox").all():
        box.check()
    inv.get_by_role("button", name="Confirm the venue").click()
    expect(inv.get_by_text("Venue confirmed. Apprentices who are checked in can now start.")).to_be_visible()
    assert axe_violations(inv) == []

    # Both apprentices arrive: identity checked, seat given.
    for seat, number in (("A1", ada_number), ("B2", ben_number)):
        inv.get_by_role("link", name=f"Check in {number}").click()
        if seat == "A1":
            assert axe_violations(inv) == []
        inv.get_by_label("Identity document").select_option(label="Passport (any country)")
        inv.get_by_label("Last 4 characters of the document number").fill("1234")
        inv.get_by_label("The photo matches the person").check()
        inv.get_by_label("The ULN matches the booking").check()
        inv.get_by_label("Seat").fill(seat)
        inv.get_by_role("button", name="Confirm identity and check in").click()
        expect(inv.get_by_text(f"{number} checked in.")).to_be_visible()
        expect(board_row(inv, number).locator(".status")).to_have_text("checked in")

    # Both start in their own browsers.
    pages = {}
    for email in (ada, ben):
        page = new_page()
        if email == ben:  # Ben's page has no live stream (as when the server holds no more): it polls the clock
            page.route("**/live*", lambda route: route.abort())
        browser_login(page, url, email, PASSWORD)
        page.get_by_role("button", name="Start the test").click()
        page.get_by_role("button", name="Start now").click()
        expect(page.locator("#question-heading")).to_have_text("Question 1 of 40")
        pages[email] = page
    ada_page, ben_page = pages[ada], pages[ben]

    # The board follows without a reload: statuses, answers counted up, a left-the-window warning.
    for number in (ada_number, ben_number):
        expect(board_row(inv, number).locator(".status")).to_have_text("in progress", timeout=12000)
    expect(inv.locator("#ratio")).to_contain_text("2 in progress, 1 invigilator(s) present, room for 20 (at most 20 each)")
    answer(ada_page, 1)
    answer(ada_page, 2)
    answer(ben_page, 1)
    ben_page.evaluate("window.dispatchEvent(new Event('blur'))")
    expect(board_row(inv, ada_number).locator(".answered")).to_have_text("2 / 40", timeout=12000)
    expect(board_row(inv, ben_number).locator(".answered")).to_have_text("1 / 40", timeout=12000)
    expect(board_row(inv, ben_number).locator(".warnings")).to_have_text("Left the test window", timeout=12000)
    expect(board_row(inv, ada_number).locator(".warnings")).to_have_text("")

    # Five minutes in, the fire alarm: the whole room is paused for seven minutes, then resumed.
    live_clock.advance(dt.timedelta(minutes=5))
    ben_page.route("**/clock*", lambda route: route.abort())  # Ben's page has not yet heard of the pause...
    # The pause asks for its reason and a confirmation; without them nothing stops.
    inv.get_by_role("button", name="Pause the whole room (evacuation)").click()
    expect(inv.get_by_role("alert")).to_contain_text("Give the reason (it is recorded in the incident log).")
    expect(inv.get_by_role("alert")).to_contain_text("Tick to confirm the whole room is paused.")
    assert axe_violations(inv) == []
    inv.get_by_label("Reason for pausing the room").fill("Fire alarm: evacuation")
    inv.get_by_label("Yes, stop every apprentice's clock now").check()
    inv.get_by_role("button", name="Pause the whole room (evacuation)").click()
    expect(inv.get_by_text("The whole room is paused; every clock has stopped.")).to_be_visible()
    expect(inv.locator("#ratio")).to_contain_text("ROOM PAUSED.")
    expect(board_row(inv, ben_number).locator(".status")).to_have_text("paused")
    # ...so he answers question 2: the server refuses it while the clock is stopped, and the page keeps it to send later.
    expect(ben_page.locator("#question-heading")).to_have_text("Question 2 of 40")
    answer(ben_page, 2, move_on=False)
    expect(ben_page.locator("#save-status")).to_have_text("Clock stopped: your answer will be saved when the test resumes.")
    ben_page.unroute("**/clock*")
    for page in (ada_page, ben_page):
        show_again(page)
    for page in (ada_page, ben_page):
        expect(page.locator("#timer")).to_have_text("1:55:00 (clock stopped)", timeout=15000)
        expect(page.locator("#alerts")).to_have_text(
            "The invigilator has stopped the clock. Your answers are kept. Wait for the invigilator to restart the test."
        )
        expect(page.locator("#flag")).to_be_disabled()
        expect(page.locator("#question-body").locator("input, textarea").first).to_be_disabled()
    live_clock.advance(dt.timedelta(minutes=7))
    inv.get_by_role("button", name="Resume the whole room").click()
    expect(inv.get_by_text("The room has resumed; every apprentice has the time they had left.")).to_be_visible()
    for number in (ada_number, ben_number):
        expect(board_row(inv, number).locator(".remaining")).to_have_text("115 min")
    for page in (ada_page, ben_page):
        show_again(page)
    for page in (ada_page, ben_page):
        expect(page.locator("#alerts")).to_have_text(
            "The clock has restarted. You have the time you had left: 1:55:00.", timeout=10000
        )
        expect(page.locator("#timer")).to_have_text(re.compile(r"^1:5[45]:\d\d$"))
        expect(page.locator("#question-body").locator("input, textarea").first).to_be_enabled()
    # Ben's answer from the pause reached the server once the clock restarted (the board shows it below).
    expect(ben_page.locator("#save-status")).to_have_text("Saved")

    # Both submit; the invigilator closes the sitting and gets the report.
    for page in (ada_page, ben_page):
        page.get_by_role("button", name="Review and submit").click()
        page.get_by_role("button", name="Submit the test").click()
        page.get_by_role("button", name="Yes, submit my test").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your test has been submitted")
    for number in (ada_number, ben_number):
        expect(board_row(inv, number).locator(".status")).to_have_text("submitted", timeout=12000)
        expect(board_row(inv, number).locator(".answered")).to_have_text("2 / 40")
        expect(board_row(inv, number).locator(".remaining")).to_have_text("Submitted")
    inv.get_by_role("button", name="Close the sitting").click()
    expect(inv.get_by_role("alert")).to_contain_text("Tick to confirm that you want to close the sitting.")
    inv.get_by_label("Yes, close the sitting: every apprentice has finished").check()
    inv.get_by_role("button", name="Close the sitting").click()
    expect(inv.get_by_role("heading", level=1)).to_have_text("Invigilation report: Morning sitting")
    expect(inv.locator("#ratio-held")).to_have_text("Held at every moment")
    register = inv.get_by_role("table", name="Register")
    for number, name, seat in ((ada_number, "Ada Apprentice", "A1"), (ben_number, "Ben Apprentice", "B2")):
        row = register.get_by_role("row").filter(has_text=number)
        expect(row.get_by_role("cell")).to_have_text(
            [
                number,
                name,
                seat,
                "Present",
                "Passport (any country)",
                re.compile(r"\d\d:\d\d:\d\d"),
                re.compile(r"\d\d:\d\d:\d\d"),
                re.compile(r"\d\d:\d\d:\d\d \(Submitted by the apprentice\)"),
                "7.0",
            ]
        )
    incidents = inv.locator("#incidents")
    expect(incidents).to_contain_text(f"Whole room paused (apprentices {ada_number}, {ben_number}) Fire alarm: evacuation")
    expect(incidents).to_contain_text("Resumed after 7.0 minutes.")
    assert axe_violations(inv) == []
