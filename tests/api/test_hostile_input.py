"""Hostile answers and bodies: stored exactly or refused with a 4xx JSON error that changes nothing, and
always shown inert: the API answers JSON, pages escape, scripts set text (never HTML), CSV cells never
start a formula."""

from __future__ import annotations

import csv
import io
import re

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from testengine.extensions import db
from testengine.models import Answer, AttemptEvent
from testengine.services.exports import FORMULA_STARTS, safe_csv_row
from tests.conftest import REPO

HOSTILE = {
    "html": '<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(1)">y</a>',
    "entities": "&lt;b&gt; &amp; &#60;script&#62; </textarea><textarea>",
    "whitespace-controls": "tab\t cr\r lf\n crlf\r\n end",  # the control characters free text may hold
    "right-to-left": "\u202eevil.exe\u202c مرحبا بالعالم שלום עולם \u200f\u2067isolate\u2069",
    "zero-width": "pass\u200bword\u200d\ufeff",
    "emoji-and-astral": "😀👩‍👩‍👧 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "formula": '=HYPERLINK("http://evil.example","click")',
    "sql": "'; DROP TABLE answers; --",
}


def _stored(attempt_id: int) -> list[tuple[int, str | None, int]]:
    rows = db.session.execute(
        select(Answer.attempt_question_id, Answer.response, Answer.revision)
        .where(Answer.attempt_id == attempt_id)
        .order_by(Answer.id)
    ).all()
    db.session.rollback()
    return [tuple(row) for row in rows]


def test_hostile_answers_are_stored_exactly_and_returned_as_json(start_sitter):
    sitter = start_sitter()
    for position, (name, text) in enumerate(sorted(HOSTILE.items()), start=15):
        saved = sitter.save(position, text)
        assert saved.status_code == 200 and saved.get_json()["stored"] is True, name
        shown = sitter.question(position)
        assert shown.mimetype == "application/json" and shown.headers["X-Content-Type-Options"] == "nosniff"
        assert shown.get_json()["response"] == text, name
    assert sorted(row[1] for row in _stored(sitter.attempt_id)) == sorted(HOSTILE.values())
    # The test page itself never carries answers (they come through the API into text fields).
    page = sitter.client.get(f"/apprentice/attempts/{sitter.attempt_id}").get_data(as_text=True)
    assert "<script>alert" not in page and HOSTILE["right-to-left"] not in page


REFUSED_ANSWERS = {
    "1MB": ({"response": "x" * 1_000_000, "revision": 1}, "response"),  # a 1 MB answer
    "5001-chars": ({"response": "x" * 5001, "revision": 1}, "response"),
    "nul": ({"response": "nul\x00byte", "revision": 1}, "response"),
    "bell": ({"response": "bell\x07", "revision": 1}, "response"),
    "escape": ({"response": "escape\x1b[31mred", "revision": 1}, "response"),
    "backspace": ({"response": "backspace\x08", "revision": 1}, "response"),
    "del": ({"response": "del\x7f", "revision": 1}, "response"),
    "nel": ({"response": "nel\x85", "revision": 1}, "response"),
    "surrogate": ({"response": "a\ud800b", "revision": 1}, "response"),  # a lone surrogate is not text
    "list": ({"response": ["a"], "revision": 1}, "response"),
    "revision-0": ({"response": "x", "revision": 0}, "revision"),
    "revision-2^31": ({"response": "x", "revision": 2**31}, "revision"),
    "unknown-field": ({"response": "x", "revision": 1, "extra": True}, "extra"),
}

MALFORMED_BODIES = {
    "deep": (b"[" * 100_000 + b"]" * 100_000, "application/json"),  # nested too deeply to parse
    "not-utf8": (b'{"response": "\xff\xfe", "revision": 2}', "application/json"),
    "nan": (b'{"response": "x", "revision": NaN}', "application/json"),
    "infinite": (b'{"response": "x", "revision": 1e400}', "application/json"),
    "form": (b"response=x&revision=2", "application/x-www-form-urlencoded"),
    "empty": (b"", "application/json"),
    "null": (b"null", "application/json"),
}


def test_oversized_malformed_and_invalid_answers_are_refused_and_change_nothing(start_sitter):
    sitter = start_sitter()
    sitter.save(16, "kept")
    before = _stored(sitter.attempt_id)
    for name, (body, field) in REFUSED_ANSWERS.items():
        response = sitter.client.put(
            f"{sitter.api}/answers/16", json={**body, "client_token": sitter.token}, headers=sitter.headers()
        )
        assert response.status_code == 400, name
        error = response.get_json()
        assert error["error"] == "invalid_body" and error["field"] == field and error["message"], (name, error)
        assert len(response.get_data()) < 2000, f"{name}: the refusal does not echo the body back"
    for name, (data, content_type) in MALFORMED_BODIES.items():
        response = sitter.client.put(f"{sitter.api}/answers/16", data=data, content_type=content_type, headers=sitter.headers())
        assert response.status_code == 400 and response.get_json()["error"] == "invalid_body", name
    assert _stored(sitter.attempt_id) == before


def test_a_body_over_2_mib_is_refused_before_it_is_read(start_sitter):
    sitter = start_sitter()
    response = sitter.client.put(
        f"{sitter.api}/answers/18",
        data=b'{"response": "' + b"x" * (3 * 1024 * 1024) + b'"}',
        content_type="application/json",
        headers=sitter.headers(),
    )
    assert response.status_code == 413 and response.get_json()["error"] == "too_large"
    assert _stored(sitter.attempt_id) == []


def test_browser_event_details_are_stored_inert_or_refused(start_sitter):
    sitter = start_sitter()
    ok = sitter.client.post(
        f"{sitter.api}/events",
        json={"kind": "paste", "detail": HOSTILE["html"], "client_token": sitter.token},
        headers=sitter.headers(),
    )
    assert ok.status_code == 201
    refused = sitter.client.post(
        f"{sitter.api}/events",
        json={"kind": "paste", "detail": "nul\x00", "client_token": sitter.token},
        headers=sitter.headers(),
    )
    assert refused.status_code == 400 and refused.get_json()["field"] == "detail"
    unknown = sitter.client.post(
        f"{sitter.api}/events", json={"kind": "<script>", "client_token": sitter.token}, headers=sitter.headers()
    )
    assert unknown.status_code == 400 and unknown.get_json()["error"] == "invalid_event"
    details = db.session.scalars(
        select(AttemptEvent.detail).where(AttemptEvent.attempt_id == sitter.attempt_id, AttemptEvent.kind == "paste")
    ).all()
    assert details == [HOSTILE["html"]]


def test_an_answer_shown_on_a_page_is_escaped(app, start_sitter, login_as, client):
    """The appeal pack shows answers to administrators: as text, never as markup."""
    sitter = start_sitter()
    sitter.save(19, HOSTILE["html"])
    sitter.save(20, HOSTILE["entities"])
    assert sitter.submit().status_code == 200
    login_as("admin")
    page = client.get(f"/admin/attempts/{sitter.attempt_id}/appeal-pack")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "&amp;lt;b&amp;gt;" in html and "</textarea><textarea>" not in html


def test_templates_and_scripts_never_turn_text_into_markup():
    """Jinja escapes everything unless told not to; our scripts set text, never HTML."""
    unsafe_templates = [
        f"{path.relative_to(REPO)}:{number}"
        for path in sorted((REPO / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\|\s*safe\b|autoescape\s+false|Markup\(", line)
    ]
    assert not unsafe_templates, f"text marked safe in templates: {unsafe_templates}"
    unsafe_scripts = [
        f"{path.relative_to(REPO)}:{number}"
        for path in sorted((REPO / "static" / "js").rglob("*.js"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(", line)
    ]
    assert not unsafe_scripts, f"scripts that write HTML: {unsafe_scripts}"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(), st.integers(), st.floats(allow_nan=False), st.none()), max_size=6))
def test_no_csv_cell_starts_a_formula(values):
    buffer = io.StringIO()
    csv.writer(buffer).writerow(safe_csv_row(values))
    (cells,) = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    for value, cell in zip(values, cells):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert cell == str(value)  # numbers stay numbers
        else:
            assert not cell.startswith(FORMULA_STARTS)
            text = "" if value is None else value
            assert cell in (text, "'" + text)  # nothing but the guard is added


def test_the_invigilation_csv_keeps_formulas_inert(app, room, start_sitter, login, clock):
    from testengine.services import sittings as sitting_service

    sitter = start_sitter()
    sitting_service.log_incident(
        room,
        kind="other",
        apprentice_ids=[sitter.user.apprentice.id],
        now=clock.now(),
        actor=room.test_invigilator,
        notes=HOSTILE["formula"],
    )
    db.session.commit()
    browser = app.test_client()
    assert login(room.test_invigilator, test_client=browser).status_code == 302
    exported = browser.get(f"/invigilate/sittings/{room.id}/report", query_string={"format": "csv"})
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    cells = [cell for row in csv.reader(io.StringIO(exported.get_data(as_text=True))) for cell in row]
    assert "'" + HOSTILE["formula"] in cells
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
