"""Display settings: offered from the apprentice's adjustments, chosen at the start, kept on the attempt;
bad values refused naming the field; the accessibility statement open to anyone."""

from __future__ import annotations

from sqlalchemy import select

from testengine.domain import display
from testengine.extensions import db
from testengine.models import Adjustment, Attempt
from tests.conftest import csrf_token_from
from tests.factories import book_and_check_in, csrf_of


def _record(client, apprentice, **fields):  # type: ignore[no-untyped-def]
    page = client.get(f"/admin/apprentices/{apprentice.id}/adjustments")
    data = {
        "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        "reason": "Visual stress: assessment report seen",
        "approval_reference": "RA-9",
        "approved_by": "Head of Quality",
        **fields,
    }
    return client.post(f"/admin/apprentices/{apprentice.id}/adjustments", data=data)


def test_admin_records_display_settings_as_an_adjustment_and_bad_ones_are_refused_by_field(client, login_as, make_user):
    login_as("admin")
    apprentice = make_user("apprentice").apprentice
    assert _record(client, apprentice, kind="display", background="cream", font="dyslexic").status_code == 302
    [adjustment] = db.session.scalars(select(Adjustment).where(Adjustment.apprentice_id == apprentice.id)).all()
    assert (adjustment.kind, adjustment.display) == ("display", {"background": "cream", "font": "dyslexic"})
    assert "background: cream" in client.get(f"/admin/apprentices/{apprentice.id}/adjustments").get_data(as_text=True)

    refusals = {
        "purple": (dict(kind="display", background="purple"), "Not a valid choice"),
        "nothing chosen": (dict(kind="display"), "A display adjustment needs at least one setting other than standard."),
        "settings on extra time": (
            dict(kind="extra_time", extra_percent="25", text_size="200"),
            "Only a display adjustment carries display settings.",
        ),
    }
    for name, (fields, message) in refusals.items():
        response = _record(client, apprentice, **fields)
        assert response.status_code == 200, name
        assert message in response.get_data(as_text=True), name
    db.session.expire_all()
    assert len(db.session.scalars(select(Adjustment).where(Adjustment.apprentice_id == apprentice.id)).all()) == 1


def _ready(app, room, make_user, login, clock, *kinds, display_settings=None):  # type: ignore[no-untyped-def]
    from testengine.services.adjustments import add_adjustment

    user = make_user("apprentice")
    for kind in kinds:
        add_adjustment(
            user.apprentice,
            kind=kind,
            extra_percent=0,
            extra_minutes=0,
            reason="Assessed need",
            approval_reference="RA-1",
            approved_by="EPA manager",
            expires_on=None,
            now=clock.now(),
            actor=None,
            display=display_settings if kind == "display" else None,
        )
    booking = book_and_check_in(room, user, room.test_invigilator, clock.now())
    db.session.commit()
    browser = app.test_client()
    assert login(user, test_client=browser).status_code == 302
    return browser, booking


def _selected(html: str, name: str) -> str:
    import re

    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return (
        re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', select_html)
        .group(0)
        .split('value="')[1]
        .split('"')[0]
    )


def test_the_start_page_offers_the_adjustments_and_the_choice_is_kept_on_the_attempt(app, room, make_user, login, clock):
    browser, booking = _ready(
        app, room, make_user, login, clock, "large_text", "display", display_settings={"line_spacing": "wide"}
    )
    page = browser.get(f"/apprentice/bookings/{booking.id}/start").get_data(as_text=True)
    assert [_selected(page, name) for name in display.FIELDS] == ["standard", "150", "wide", "standard", "standard"]
    assert 'href="/accessibility"' in page

    response = browser.post(
        f"/apprentice/bookings/{booking.id}/start",
        data={
            "csrf_token": csrf_of(page),
            "background": "blue",
            "text_size": "200",
            "line_spacing": "wide",
            "letter_spacing": "wide",
            "font": "dyslexic",
        },
    )
    assert response.status_code == 302
    attempt = db.session.scalar(select(Attempt).where(Attempt.apprentice_id == booking.apprentice_id))
    assert attempt.display_settings == {
        "background": "blue",
        "text_size": "200",
        "line_spacing": "wide",
        "letter_spacing": "wide",
        "font": "dyslexic",
    }
    sitting_page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert '<body class="sitting bg-blue text-200 lines-wide letters-wide font-dyslexic">' in sitting_page

    # Pressing Start again (a second window) changes nothing that was kept.
    browser.post(f"/apprentice/bookings/{booking.id}/start", data={"csrf_token": csrf_of(page), "background": "pink"})
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).display_settings["background"] == "blue"


def test_a_start_without_the_settings_keeps_the_adjustments_and_bad_input_starts_nothing(app, room, make_user, login, clock):
    browser, booking = _ready(app, room, make_user, login, clock, "high_contrast")
    page = browser.get(f"/apprentice/bookings/{booking.id}/start").get_data(as_text=True)

    # A value not on the list: the page again (400), naming the field; nothing started.
    refused = browser.post(f"/apprentice/bookings/{booking.id}/start", data={"csrf_token": csrf_of(page), "background": "purple"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "There is a problem" in html and "Background colour: Not a valid choice" in html
    # No CSRF token: refused, nothing started.
    assert browser.post(f"/apprentice/bookings/{booking.id}/start", data={"background": "cream"}).status_code == 400
    assert (
        db.session.scalar(select(Attempt).where(Attempt.apprentice_id == booking.apprentice_id, Attempt.started_at.is_not(None)))
        is None
    )

    assert browser.post(f"/apprentice/bookings/{booking.id}/start", data={"csrf_token": csrf_of(page)}).status_code == 302
    attempt = db.session.scalar(select(Attempt).where(Attempt.apprentice_id == booking.apprentice_id))
    assert attempt.display_settings == {
        "background": "dark",
        "text_size": "100",
        "line_spacing": "standard",
        "letter_spacing": "standard",
        "font": "standard",
    }
    assert attempt.started_at is not None


def test_the_accessibility_statement_is_open_to_anyone_and_linked_from_the_apprentice_pages(client, login_as):
    anonymous = client.get("/accessibility")
    assert anonymous.status_code == 200
    html = anonymous.get_data(as_text=True)
    assert "Asking for an adjustment" in html and "OpenDyslexic (dyslexia-friendly)" in html and "400%" in html
    login_as("apprentice")
    assert 'href="/accessibility"' in client.get("/apprentice/").get_data(as_text=True)
    assert client.get("/accessibility").status_code == 200


def test_settings_chosen_on_the_home_page_style_every_apprentice_page_and_are_offered_at_the_start(
    app, room, make_user, login, clock
):
    user = make_user("apprentice")
    book_and_check_in(room, user, room.test_invigilator, clock.now())
    browser = app.test_client()
    login(user, test_client=browser)
    home = browser.get("/apprentice/").get_data(as_text=True)
    assert '<body class="">' in home and "How your pages look" in home

    # A value not on its list: refused, naming the field, and nothing kept.
    refused = browser.post("/apprentice/display", data={"csrf_token": csrf_of(home), "background": "purple"})
    assert refused.status_code == 400 and "Not a valid choice" in refused.get_data(as_text=True)
    assert '<body class="">' in browser.get("/apprentice/").get_data(as_text=True)
    assert browser.post("/apprentice/display", data={"background": "blue"}).status_code == 400  # no CSRF token

    saved = browser.post(
        "/apprentice/display", data={"csrf_token": csrf_of(home), "background": "blue", "text_size": "150", "font": "dyslexic"}
    )
    assert saved.status_code == 302
    for url in ("/apprentice/", "/apprentice/results", f"/apprentice/bookings/{room.bookings[-1].id}/start"):
        page = browser.get(url).get_data(as_text=True)
        assert '<body class="bg-blue text-150 font-dyslexic">' in page, url
    start = browser.get(f"/apprentice/bookings/{room.bookings[-1].id}/start").get_data(as_text=True)
    assert '<option selected value="blue">' in start and '<option selected value="dyslexic">' in start
    # Started without changing them: the test keeps them.
    started = browser.post(f"/apprentice/bookings/{room.bookings[-1].id}/start", data={"csrf_token": csrf_of(start)})
    attempt_id = int(started.headers["Location"].rstrip("/").split("/")[-1])
    assert db.session.get(Attempt, attempt_id).display_settings == {
        **display.DisplaySettings().as_dict(),
        "background": "blue",
        "text_size": "150",
        "font": "dyslexic",
    }
    # Another browser of the same apprentice has its own choice (the standard display here).
    other = app.test_client()
    login(user, test_client=other)
    assert '<body class="">' in other.get("/apprentice/results").get_data(as_text=True)
