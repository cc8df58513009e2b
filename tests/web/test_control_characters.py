"""Control characters in any input, on any route, as anyone: refused with the field named, never a server error.

PostgreSQL cannot store NUL (SQLite can), so a NUL that reached a query used to be a 500 there
and the incident, note or comment with it was lost. The app refuses them all at the edge; this
walks every route of the app (as the access matrix does, from the url_map) as every person, and
sends control characters in every query parameter, every form field of every page a person can
open, and every JSON string the API takes. Run it on PostgreSQL with TESTENGINE_TEST_DATABASE_URL.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy import func, select

from testengine.extensions import db
from testengine.models import AuditEntry, Incident
from tests.conftest import REPO, csrf_token_from
from tests.web import test_access_matrix as matrix
from tests.web.test_access_matrix import API_BODIES, Check, _order, plan_for

world = matrix.world  # the access matrix's fixture: two rooms, a person per role, each signed in

CONTROLS = ("\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85", "\x9f")


def _query_names() -> list[str]:
    """Every query parameter the code reads, and the audit filter's fields (read from the form class)."""
    names = {"q", "next", "page", "format", "via", "client_token"}
    for path in sorted(Path(REPO / "testengine").rglob("*.py")):
        names.update(re.findall(r"request\.args\.get(?:list)?\(\s*[\"'](\w+)[\"']", path.read_text(encoding="utf-8")))
    return sorted(names)


class _Forms(HTMLParser):
    """The forms of a page: method, action and the names of their fields with their values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"method": (a.get("method") or "get").upper(), "action": a.get("action") or "", "fields": {}})
        elif tag in ("input", "textarea", "select") and self.forms and a.get("name"):
            kind = (a.get("type") or "").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and a.get("value") is None:
                value = "y"
            else:
                value = a.get("value") or ""
            self.forms[-1]["fields"].setdefault(a["name"], value or "text")


def _forms_of(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def _refused_naming(response: Any, field: str, is_api: bool) -> str | None:
    """None if the response is a 400 naming `field`; otherwise what it was."""
    if response.status_code >= 500:
        return f"server error {response.status_code}"
    if response.status_code != 400:
        return f"{response.status_code}, not 400"
    if is_api:
        body = response.get_json(silent=True) or {}
        return None if body.get("field") == field and "control character" in body.get("message", "") else f"JSON {body}"
    text = response.get_data(as_text=True)
    return None if f"‘{field}’ contains a control character" in text else "page does not name the field"


def _url(app: Any, check: Check, query: dict[str, str] | None = None) -> str:
    url = app.url_map.bind("localhost").build(check.endpoint, check.values, method=check.method)
    return url + ("?" + urlencode(query) if query else "")


def _send(
    client: Any,
    method: str,
    url: str,
    csrf: str,
    *,
    data: dict[str, str] | None = None,
    json: Any = None,
    capability: str | None = None,
) -> Any:
    headers = {"X-CSRFToken": csrf}
    if capability is not None:  # the sitting's fast lane lets in by the test page's capability
        headers["X-Attempt-Capability"] = capability
    if method == "GET":
        return client.get(url, headers=headers)
    if json is not None:
        return client.open(url, method=method, json=json, headers=headers)
    return client.open(url, method=method, data={"csrf_token": csrf, **(data or {})}, headers=headers)


def _nothing_recorded() -> tuple[int, int]:
    db.session.rollback()
    return db.session.scalar(select(func.count(Incident.id))), db.session.scalar(select(func.count(AuditEntry.id)))


def test_every_route_refuses_control_characters_in_every_query_parameter(app, world):
    w, clients, csrf = world
    plan = plan_for(app, w)
    names = _query_names()
    before = _nothing_recorded()
    failures: list[str] = []
    for n, check in enumerate(sorted(plan.checks, key=_order)):
        if check.endpoint == "auth.logout":
            continue  # signing out is covered by the form walk; here it would end the person's session
        name = names[n % len(names)]
        control = CONTROLS[n % len(CONTROLS)]
        url = _url(app, check, {name: f"a{control}b"})
        response = _send(
            clients[check.persona],
            check.method,
            url,
            csrf[check.persona],
            json=API_BODIES.get(check.endpoint, {}) if check.is_api and check.method != "GET" else None,
            capability=w.capability if check.persona == "apprentice" and check.endpoint.startswith("api.lane.") else None,
        )
        if check.expect in ("open", "allowed"):
            problem = _refused_naming(response, name, check.is_api)
        else:  # refused by the access rules first (sent to sign in, 401, 403 or 404): never a server error
            problem = f"server error {response.status_code}" if response.status_code >= 500 else None
        if problem:
            failures.append(f"{check.method} {url} as {check.persona}: {problem}")
    assert not failures, f"{len(failures)} refusals went wrong:\n  " + "\n  ".join(failures)
    assert _nothing_recorded() == before


def test_every_form_on_every_page_refuses_control_characters_in_each_field(app, world):
    """Every page each person can open, every form on it, each field in turn (the anonymous sign-in
    form, incident notes, review comments and the audit filter among them)."""
    w, clients, csrf = world
    plan = plan_for(app, w)
    before = _nothing_recorded()
    seen_forms: set[tuple[str, str, str]] = set()
    fields_tried: set[str] = set()
    failures: list[str] = []
    n = 0
    for check in sorted(plan.checks, key=_order):
        if check.method != "GET" or check.is_api or check.expect not in ("open", "allowed"):
            continue
        client = clients[check.persona]
        page = client.get(_url(app, check))
        if page.status_code != 200 or page.mimetype != "text/html":
            continue
        token = csrf_token_from(page.get_data(as_text=True)) if "csrf" in page.get_data(as_text=True) else csrf[check.persona]
        for form in _forms_of(page.get_data(as_text=True)):
            action = form["action"] or urlsplit(_url(app, check)).path
            key = (check.persona, form["method"], action)
            if key in seen_forms or "/logout" in action:
                continue
            seen_forms.add(key)
            for field, value in form["fields"].items():
                if field == "csrf_token":
                    continue
                n += 1
                control = CONTROLS[n % len(CONTROLS)]
                data = {**form["fields"], "csrf_token": token, field: f"{value}{control}{value}"}
                if form["method"] == "GET":
                    response = client.get(f"{action}?{urlencode(data)}")
                else:
                    response = client.post(action, data=data, headers={"X-CSRFToken": token})
                problem = _refused_naming(response, field, False)
                fields_tried.add(f"{action.split('?')[0]}:{field}")
                if problem:
                    failures.append(f"{form['method']} {action} field {field!r} as {check.persona}: {problem}")
    assert not failures, f"{len(failures)} form refusals went wrong:\n  " + "\n  ".join(failures)
    assert _nothing_recorded() == before
    tried = "\n".join(sorted(fields_tried))
    for expected in ("/login:identifier", "/login:password", "/incidents:notes", "/admin/audit:actor", ":comments"):
        assert expected in tried, f"no form field {expected} was tried; tried:\n{tried}"


def test_every_json_string_the_api_takes_is_checked(app, world):
    w, clients, csrf = world
    plan = plan_for(app, w)
    failures = []
    for check in plan.checks:
        body = API_BODIES.get(check.endpoint)
        if body is None or check.expect != "allowed":
            continue
        for field, value in body.items():
            if not isinstance(value, str):
                continue
            for control in ("\x00", "\x1b", "\x85"):
                response = _send(
                    clients[check.persona],
                    check.method,
                    _url(app, check),
                    csrf[check.persona],
                    json={**body, field: value + control},
                    capability=w.capability if check.endpoint.startswith("api.lane.") else None,
                )
                problem = _refused_naming(response, field, True)
                if problem:
                    failures.append(f"{check.method} {check.endpoint} {field} {control!r}: {problem}")
        # A key with a control character is named too.
        response = _send(
            clients[check.persona],
            check.method,
            _url(app, check),
            csrf[check.persona],
            json={**body, "bad\x00key": 1},
            capability=w.capability if check.endpoint.startswith("api.lane.") else None,
        )
        if _refused_naming(response, "bad\\u0000key", True):
            failures.append(f"{check.endpoint}: a key with NUL: {response.status_code} {response.get_json()}")
    assert not failures, "\n".join(failures)


def test_free_text_keeps_tab_and_newlines(app, room, make_user, login, clock):
    """Tab, CR and LF are text, not control: an incident note with them is recorded exactly."""
    staff = app.test_client()
    login(room.test_invigilator, test_client=staff)
    page = f"/invigilate/sittings/{room.id}"
    token = csrf_token_from(staff.get(page).get_data(as_text=True))
    notes = "Fire alarm test.\r\nColumns:\tA\tB\nEnd."
    response = staff.post(f"{page}/incidents", data={"csrf_token": token, "kind": "other", "notes": notes})
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(Incident.notes).where(Incident.sitting_id == room.id, Incident.kind == "other")) == notes
