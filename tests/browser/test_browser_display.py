"""Display settings in Chromium: chosen at the start, applied to the sitting page, kept after a reload,
readable at 400% zoom with no sideways scrolling, and with no accessibility violations in any of them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, browser_login
from tests.browser.test_browser_sitting import moved_to, sitting_ready
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def start_with(page, base_url, email, **choices):
    browser_login(page, base_url, email, PASSWORD)
    page.get_by_role("button", name="Start the test").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Are you ready to start?")
    for label, option in choices.items():
        page.get_by_label(label).select_option(label=option)
    page.get_by_role("button", name="Start now").click()
    page.wait_for_url(re.compile(r"/apprentice/attempts/\d+$"))
    expect(page.locator("#question-heading")).to_have_text("Question 1 of 40")
    return int(page.url.rsplit("/", 1)[1])


def kept_settings(attempt_id):
    from testengine.extensions import db
    from testengine.models import Attempt

    db.session.close()
    settings = db.session.get(Attempt, attempt_id).display_settings
    db.session.close()
    return settings


def looks(page):
    """What the page actually shows: the body's computed colours, size, spacing and font."""
    return page.evaluate("""() => {
        const s = getComputedStyle(document.body), stem = getComputedStyle(document.querySelector('#question-heading'));
        return {bg: s.backgroundColor, color: s.color, size: parseFloat(s.fontSize), line: parseFloat(s.lineHeight) / parseFloat(s.fontSize),
                letters: parseFloat(s.letterSpacing) / parseFloat(s.fontSize), font: s.fontFamily,
                dyslexicLoaded: document.fonts.check('16px OpenDyslexic') && [...document.fonts].some(f => f.family.includes('OpenDyslexic') && f.status === 'loaded')};
    }""")


def no_sideways_scrolling(page):
    """True when nothing on the page is wider than the window; otherwise the elements that stick out, to name them."""
    wider = page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth <= width) { return []; }
        return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > width + 1)
            .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 8);
    }""")
    return wider == [] or wider


def test_each_display_setting_is_applied_and_kept_after_a_reload(live_app, live_server, live_clock, new_page, prepared):
    [email] = sitting_ready(prepared, live_clock.now())
    page = new_page()
    standard = None
    page_for_standard = new_page()
    # The standard look first, for comparison (a second apprentice would need a second booking: read it from the start page).
    browser_login(page_for_standard, live_server.url, email, PASSWORD)
    page_for_standard.get_by_role("button", name="Start the test").click()
    standard = page_for_standard.evaluate(
        "() => { const s = getComputedStyle(document.body); return {size: parseFloat(s.fontSize), bg: s.backgroundColor}; }"
    )
    assert standard["bg"] == "rgb(255, 255, 255)"
    assert axe_violations(page_for_standard) == []  # the start page with its settings form

    attempt_id = start_with(
        page,
        live_server.url,
        email,
        **{
            "Background colour": "Yellow",
            "Text size": "Largest (200%)",
            "Line spacing": "Widest (2.2 times the text size)",
            "Letter spacing": "Wider (0.12 times the text size)",
            "Font": "OpenDyslexic (dyslexia-friendly)",
        },
    )
    expected = {
        "background": "yellow",
        "text_size": "200",
        "line_spacing": "widest",
        "letter_spacing": "wide",
        "font": "dyslexic",
    }
    assert kept_settings(attempt_id) == expected
    for _ in range(2):  # as started, then after a reload: the same
        expect(page.locator("body")).to_have_class("sitting bg-yellow text-200 lines-widest letters-wide font-dyslexic")
        page.wait_for_function("() => document.fonts.status === 'loaded'")
        shown = looks(page)
        assert shown["bg"] == "rgb(255, 248, 184)"
        assert shown["size"] == pytest.approx(standard["size"] * 2)
        assert shown["line"] == pytest.approx(2.2, abs=0.01)
        assert shown["letters"] == pytest.approx(0.12, abs=0.01)
        assert shown["font"].replace('"', "").startswith("OpenDyslexic,") and shown["dyslexicLoaded"]
        assert axe_violations(page) == []
        page.reload()
        expect(page.locator("#question-heading")).to_have_text("Question 1 of 40")
    assert kept_settings(attempt_id) == expected


def test_every_background_and_size_has_no_accessibility_violations_and_reflows_at_400_percent(
    live_app, live_server, live_clock, new_page, prepared
):
    from testengine.models import Attempt

    [email] = sitting_ready(prepared, live_clock.now())
    # 400% zoom of a 1280 px wide window is a 320 CSS px wide viewport (WCAG 1.4.10).
    page = new_page(viewport={"width": 320, "height": 256})
    attempt_id = start_with(page, live_server.url, email)
    assert no_sideways_scrolling(page) is True, no_sideways_scrolling(page)
    position = 1
    backgrounds = ("standard", "cream", "yellow", "blue", "green", "pink", "dark")
    for n, background in enumerate(backgrounds):
        size = ("100", "125", "150", "175", "200")[n % 5]
        with prepared() as session:
            session.get(Attempt, attempt_id).display_settings = {
                "background": background,
                "text_size": size,
                "line_spacing": ("standard", "wide", "widest")[n % 3],
                "letter_spacing": ("standard", "wide")[n % 2],
                "font": ("standard", "dyslexic")[n % 2],
            }
        page.reload()
        expect(page.locator("#question-heading")).to_have_text(f"Question {position} of 40")
        page.wait_for_function("() => document.fonts.status === 'loaded'")
        body_class = page.locator("body").get_attribute("class")
        assert (f"bg-{background}" in body_class) == (background != "standard"), body_class
        assert no_sideways_scrolling(page) is True, (background, size, no_sideways_scrolling(page))
        assert axe_violations(page) == [], (background, size)
        # The short-answer question and the review page too, in the same setting.
        if n == 0:
            while page.get_by_role("radio").count():
                moved_to(page, position + 1, page.get_by_role("button", name="Next").click)
                position += 1
            expect(page.get_by_role("textbox", name="Your answer")).to_be_visible()
        assert no_sideways_scrolling(page) is True, (background, size, no_sideways_scrolling(page))
        assert axe_violations(page) == [], (background, size)
    page.get_by_role("button", name="Review and submit").click()
    expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()
    assert no_sideways_scrolling(page) is True, no_sideways_scrolling(page)
    assert axe_violations(page) == []
    # The finished page keeps the test's display (the last setting above: dark, 125%).
    page.get_by_role("button", name="Submit the test").click()
    page.get_by_role("button", name="Yes, submit my test").click()
    page.wait_for_url(f"{live_server.url}/apprentice/attempts/{attempt_id}/finished")
    assert "bg-dark" in page.locator("body").get_attribute("class")
    assert no_sideways_scrolling(page) is True, no_sideways_scrolling(page)
    assert axe_violations(page) == []


def test_every_apprentice_page_in_every_display_setting_chosen_on_the_home_page_has_no_accessibility_violations(
    live_app, live_server, live_clock, new_page, prepared
):
    [email] = sitting_ready(prepared, live_clock.now())
    url = live_server.url
    page = new_page()
    browser_login(page, url, email, PASSWORD)
    start_url = page.get_by_role("button", name="Start the test").locator("xpath=ancestor::form").get_attribute("action")
    pages = {
        "home": "/apprentice/",
        "results": "/apprentice/results",
        "start": start_url,
        "statement": "/accessibility",
        "practice": "/practice/",
    }
    backgrounds = ("Cream", "Yellow", "Blue", "Green", "Pink", "Dark (light text on black)", "Standard (white)")
    sizes = ("Larger (125%)", "Large (150%)", "Larger still (175%)", "Largest (200%)", "Standard (100%)")
    for n, background in enumerate(backgrounds):
        page.goto(f"{url}/apprentice/")
        choices = {
            "Background colour": background,
            "Text size": sizes[n % 5],
            "Line spacing": ("Standard", "Wider (1.8 times the text size)", "Widest (2.2 times the text size)")[n % 3],
            "Letter spacing": ("Standard", "Wider (0.12 times the text size)")[n % 2],
            "Font": ("Standard", "OpenDyslexic (dyslexia-friendly)")[n % 2],
        }
        for label, option in choices.items():
            page.get_by_label(label).select_option(label=option)
        page.get_by_role("button", name="Save display settings").click()
        expect(page.get_by_text("Display settings saved.")).to_be_visible()
        for name, path in pages.items():
            page.goto(f"{url}{path}")
            page.wait_for_function("() => document.fonts.status === 'loaded'")
            body_class = page.locator("body").get_attribute("class") or ""
            assert (background == "Standard (white)") == ("bg-" not in body_class), (name, body_class)
            assert axe_violations(page) == [], (name, background)
            if name == "start":  # the start page offers what was chosen
                expect(page.get_by_label("Background colour").locator("option:checked")).to_have_text(background)

    # Started in the last setting (standard colours); another browser of the same apprentice is asked to
    # see the invigilator, in its own dark display.
    page.goto(f"{url}{start_url}")
    page.get_by_role("button", name="Start now").click()
    page.wait_for_url(re.compile(r"/apprentice/attempts/\d+$"))
    other = new_page()
    browser_login(other, url, email, PASSWORD)
    other.get_by_label("Background colour").select_option(label="Dark (light text on black)")
    other.get_by_role("button", name="Save display settings").click()
    other.goto(page.url)
    expect(other.get_by_role("heading", level=1)).to_have_text("Ask the invigilator")
    assert "bg-dark" in (other.locator("body").get_attribute("class") or "")
    assert axe_violations(other) == []
