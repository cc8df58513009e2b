"""The marker's pages over HTTP: who may use them, the marking page, the gate, second marking blind, moderation."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from testengine.extensions import db
from testengine.marker.views import MODERATOR_ENDPOINTS
from testengine.models import Mark
from testengine.services import marking
from tests.conftest import csrf_token_from
from tests.marking.conftest import short_answer_questions

ANY_VALUES = {"attempt_id": 1, "position": 1, "question_id": 1, "user_id": 1, "sitting_id": 1, "role": "first"}


def marker_rules(app, endpoints=None):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("marker.") and (endpoints is None or rule.endpoint in endpoints):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def build(app, rule, values):  # type: ignore[no-untyped-def]
    return app.url_map.bind("localhost").build(rule.endpoint, {k: values[k] for k in rule.arguments}, method=None)


def token(client) -> str:  # type: ignore[no-untyped-def]
    return csrf_token_from(client.get("/mark/").get_data(as_text=True)) if client else ""


@pytest.mark.parametrize("role", ["apprentice", "invigilator", "reviewer"])
def test_apprentices_invigilators_and_reviewers_get_403_on_every_marking_page(app, client, login_as, role):
    login_as(role)
    csrf = csrf_token_from(client.get("/no-such-page").get_data(as_text=True))
    refused = []
    for rule, method in marker_rules(app):
        url = build(app, rule, ANY_VALUES)
        response = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": csrf})
        if response.status_code != 403:
            refused.append(f"{method} {url}: {response.status_code}")
    assert not refused


def test_anonymous_visitors_are_sent_to_sign_in(app, client):
    response = client.get("/mark/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_markers_who_are_not_moderators_get_403_on_moderators_pages(app, client, login_as):
    assert {
        "marker.standardisation_sets",
        "marker.clearances",
        "marker.statistics",
        "marker.statistics_csv",
        "marker.samples",
        "marker.start_moderation",
        "marker.clear",
        "marker.draw_sample",
    } <= MODERATOR_ENDPOINTS
    login_as("marker")
    csrf = token(client)
    for rule, method in marker_rules(app, MODERATOR_ENDPOINTS):
        url = build(app, rule, ANY_VALUES)
        response = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": csrf})
        assert response.status_code == 403, (method, url)
    moderating = build(app, next(r for r, _m in marker_rules(app, {"marker.respond"})), {**ANY_VALUES, "role": "moderator"})
    assert client.get(moderating).status_code == 403


def test_the_marking_page_shows_question_guide_and_escaped_answer_and_saves_a_mark(
    app, client, login, sit_script, make_user, clear_for
):
    script = sit_script(["<script>alert('x')</script>\nSecond line: tell the DSL"])
    marker = make_user("marker")
    clear_for(marker)
    login(marker)
    question_id = short_answer_questions(script)[0]
    home = client.get("/mark/").get_data(as_text=True)
    assert "Ready to mark" in home
    started = client.post(f"/mark/questions/{question_id}/next", data={"csrf_token": csrf_token_from(home)})
    assert started.status_code == 302 and "/responses/" in started.headers["Location"]
    page = client.get(started.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\nSecond line" in html and "<script>alert" not in html
    assert 'class="answer-text"' in html and "Marking guide" in html and "Indicative content" in html and "2 marks" in html
    assert re.search(r"Candidate C\d{6}", html)
    saved = client.post(
        started.headers["Location"],
        data={"csrf_token": csrf_token_from(html), "mark": "2", "comment": "clear", "via": "question"},
    )
    assert saved.status_code == 302
    mark = db.session.scalar(select(Mark).where(Mark.role == "first"))
    assert (mark.marker_id, mark.mark, mark.comment) == (marker.id, 2, "clear")
    # Saving again without the claim is refused, not a second silent mark.
    again = client.post(started.headers["Location"], data={"csrf_token": csrf_token_from(html), "mark": "0"})
    assert again.status_code == 200 and "Change your mark" in again.get_data(as_text=True)
    assert db.session.query(Mark).filter(Mark.role == "first").count() == 1


def test_a_blocked_question_sends_the_marker_to_standardisation_with_the_reason(
    app, client, login, sit_script, make_user, add_items
):
    script = sit_script(["an answer"])
    marker, moderator = make_user("marker"), make_user("marker", moderator=True)
    question_id = short_answer_questions(script)[0]
    login(marker)
    home = client.get("/mark/").get_data(as_text=True)
    assert "A moderator must set standardisation up for this question first." in home
    blocked = client.post(
        f"/mark/questions/{question_id}/next", data={"csrf_token": csrf_token_from(home)}, follow_redirects=True
    )
    assert "A moderator must set standardisation up before it can be marked." in blocked.get_data(as_text=True)

    items = add_items(question_id, moderator, [2, 0])
    page = client.get(f"/mark/standardisation/{question_id}").get_data(as_text=True)
    assert "Standardisation answer 1" in page and "Reference mark" not in page  # reference marks hidden until you submit
    fields = {f"item_{item.id}": str(item.reference_mark) for item in items}
    done = client.post(
        f"/mark/standardisation/{question_id}", data={"csrf_token": csrf_token_from(page), **fields}, follow_redirects=True
    )
    text = done.get_data(as_text=True)
    assert "you can now mark this question" in text and "100%" in text
    assert (
        "/responses/"
        in client.post(f"/mark/questions/{question_id}/next", data={"csrf_token": csrf_token_from(text)}).headers["Location"]
    )


def test_two_markers_starting_at_once_get_different_answers(app, login, sit_script, make_user, clear_for):
    sit_script(["one", "two", "three"])
    locations = []
    for _ in range(2):
        marker = make_user("marker")
        clear_for(marker)
        browser = app.test_client()
        login(marker, test_client=browser)
        response = browser.post("/mark/scripts/next", data={"csrf_token": token(browser)})
        locations.append(response.headers["Location"])
    assert all("/responses/" in loc for loc in locations) and locations[0] != locations[1]


def test_the_second_marker_does_not_see_the_first_mark(app, client, login, sit_script, make_user, clear_for, first_mark):
    script = sit_script(["first answer", "second answer"], sitting=None)  # a batch of one: always second-marked
    first, second = make_user("marker"), make_user("marker")
    clear_for(first)
    clear_for(second)
    first_mark(first, script.id, 2)
    db.session.commit()
    aq_ids = [aq.id for aq in script.questions if aq.version.type == "short_answer"][:2]
    db.session.execute(Mark.__table__.update().where(Mark.attempt_question_id.in_(aq_ids)).values(comment="FIRST-MARKER-COMMENT"))
    db.session.commit()
    login(second)
    response = client.post("/mark/second/next", data={"csrf_token": token(client)})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Second mark an answer" in page and "the first mark is hidden" in page
    assert "FIRST-MARKER-COMMENT" not in page and "Your mark" not in page
    script_page = client.get(f"/mark/scripts/{script.id}").get_data(as_text=True)
    assert "FIRST-MARKER-COMMENT" not in script_page and "Marked by another marker" in script_page
    assert 'id="script-total"' not in script_page  # no total built from someone else's marks


def test_the_script_page_total_follows_the_first_markers_marks(app, client, login, sit_script, make_user, clear_for, clock):
    script = sit_script(["a", "b"], mcq_correct=5)
    marker = make_user("marker")
    clear_for(marker)
    login(marker)
    location = client.post("/mark/scripts/next", data={"csrf_token": token(client)}).headers["Location"]
    assert "via=script" in location
    total = re.compile(r'id="script-total">(\d+) of 66')
    assert total.search(client.get(f"/mark/scripts/{script.id}").get_data(as_text=True)).group(1) == "5"
    for mark in ("2", "1"):
        html = client.get(location).get_data(as_text=True)
        location = client.post(location, data={"csrf_token": csrf_token_from(html), "mark": mark, "via": "script"}).headers[
            "Location"
        ]
    assert location.endswith(f"/mark/scripts/{script.id}")  # the script is done: back to it
    assert total.search(client.get(location).get_data(as_text=True)).group(1) == "8"
    assert marking.available(marker, "first", clock.now()) == []
