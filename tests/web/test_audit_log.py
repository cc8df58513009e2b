"""The audit log: administrators read and filter it; nobody can change or delete an entry, not even the
application (the ORM refuses, and so does the database, by trigger, on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from sqlalchemy import delete, func, select, update

from testengine.extensions import db
from testengine.models import AuditEntry, AuditLogIsAppendOnly
from testengine.services import audit


def _entries(make_user, clock):
    """Seven entries over three days, by two people and the system."""
    alice = make_user("admin", email="alice@example.org")
    bob = make_user("invigilator", email="bob@example.org")
    rows = [
        (alice, "sitting.create", "sittings", 1, None, {"title": "Morning"}, None),
        (bob, "attempt.pause.begin", "attempts", 7, None, {"at": "10:00"}, None),
        (None, "attempt.submit", "attempts", 7, None, {"reason": "time_up"}, None),
        (alice, "adjustment.add", "adjustments", 3, None, {"kind": "extra_time", "extra_percent": 25}, "Report RA-1"),
        (bob, "incident.log", "incidents", 2, None, {"kind": "fire_alarm"}, None),
        (alice, "attempt.extra_time", "attempts", 8, {"extra_percent": 0}, {"extra_percent": 25}, "Late evidence"),
        (None, "attempt.submit", "attempts", 8, None, {"reason": "candidate"}, None),
    ]
    start = clock.now()
    for i, (actor, action, object_type, object_id, before, after, reason) in enumerate(rows):
        clock.freeze(start + dt.timedelta(hours=12 * i))
        audit.record(actor, action, object_type=object_type, object_id=object_id, before=before, after=after, reason=reason)
    db.session.commit()
    return start


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)


def _actions(html: str) -> list[str]:
    return [re.findall(r"<td>(.*?)</td>", row, re.DOTALL)[2] for row in _rows(html)]


def test_admin_reads_the_log_newest_first_with_who_when_and_what(client, login_as, make_user, clock):
    login_as("admin")
    _entries(make_user, clock)
    page = client.get("/admin/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    actions = _actions(html)
    # Newest first (creating the people wrote the oldest entries).
    assert actions[:7] == [
        "attempt.submit",
        "attempt.extra_time",
        "incident.log",
        "adjustment.add",
        "attempt.submit",
        "attempt.pause.begin",
        "sitting.create",
    ]
    first = _rows(html)[1]
    assert "alice@example.org" in first and "attempts 8" in first and "Late evidence" in first
    assert re.search(r"<dt>extra_percent</dt>\s*<dd>0 .*changed to</span> 25</dd>", first)
    assert "system" in _rows(html)[0]
    assert "There is a problem" not in html and "matching the filters" not in html
    assert "Audit log" in client.get("/admin/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "attempt.submit"}, ["attempt.submit", "attempt.submit"]),
        ({"actor": "BOB@"}, ["incident.log", "attempt.pause.begin"]),
        ({"actor": "system"}, ["attempt.submit", "attempt.submit", "user.create", "user.create", "user.create"]),
        ({"object_type": "attempts", "object_id": "7"}, ["attempt.submit", "attempt.pause.begin"]),
        ({"object_type": "attempts", "actor": "alice"}, ["attempt.extra_time"]),
    ],
)
def test_filters(client, login_as, make_user, clock, query, expected):
    login_as("admin")  # creating people is audited too, as the system
    _entries(make_user, clock)
    html = client.get("/admin/audit", query_string=query).get_data(as_text=True)
    assert _actions(html) == expected
    assert "matching the filters" in html


def test_date_range_is_inclusive_and_checked(client, login_as, make_user, clock):
    login_as("admin")
    start = _entries(make_user, clock)
    day_two = (start + dt.timedelta(days=1)).date().isoformat()
    html = client.get(
        "/admin/audit", query_string={"date_from": day_two, "date_to": day_two, "object_type": "attempts"}
    ).get_data(as_text=True)
    in_day_two = [
        e
        for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "attempts").order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        )
        if e.at.date().isoformat() == day_two
    ]
    assert _actions(html) == [e.action for e in in_day_two] and in_day_two
    db.session.rollback()

    backwards = client.get("/admin/audit", query_string={"date_from": day_two, "date_to": start.date().isoformat()}).get_data(
        as_text=True
    )
    assert "The end date must be on or after the start date." in backwards
    nonsense = client.get("/admin/audit", query_string={"date_from": "yesterday", "action": "no.such.action"})
    assert nonsense.status_code == 200
    text = nonsense.get_data(as_text=True)
    assert "Not a valid date value" in text and "Not a valid choice" in text


def test_pages_of_fifty(client, login_as, make_user, clock):
    login_as("admin")
    for i in range(120):
        clock.advance(dt.timedelta(seconds=1))
        audit.record(None, "test.entry", object_type="things", object_id=i)
    db.session.commit()
    query = {"action": "test.entry"}
    first = client.get("/admin/audit", query_string=query).get_data(as_text=True)
    assert len(_rows(first)) == 50 and "Entries 1 to 50 of 120" in first and "Page 1 of 3" in first
    assert "things 119" in _rows(first)[0]
    assert 'rel="next" href="/admin/audit?page=2&amp;action=test.entry"' in first
    last = client.get("/admin/audit", query_string={**query, "page": 3}).get_data(as_text=True)
    assert len(_rows(last)) == 20 and "Entries 101 to 120 of 120" in last and "things 0" in _rows(last)[-1]
    beyond = client.get("/admin/audit", query_string={**query, "page": 99}).get_data(as_text=True)
    assert "Page 3 of 3" in beyond
    for junk in ("0", "-4", "abc"):
        assert "Page 1 of 3" in client.get("/admin/audit", query_string={**query, "page": junk}).get_data(as_text=True)


def test_what_was_written_is_shown_inert(client, login_as, clock):
    login_as("admin")
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    audit.record(
        None,
        "test.hostile",
        object_type="things",
        object_id=hostile[:60],
        after={"notes": hostile, "name": "مرحبا \u202eevil"},
        reason=hostile,
    )
    db.session.commit()
    html = client.get("/admin/audit", query_string={"action": "test.hostile"}).get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "مرحبا \u202eevil" in html


def test_the_page_is_read_only(app, client, login_as):
    login_as("admin")
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint == "admin.audit" or "audit" in rule.rule]
    assert rules and all(rule.methods <= {"GET", "HEAD", "OPTIONS"} for rule in rules)
    from tests.conftest import csrf_token_from

    token = csrf_token_from(client.get("/admin/audit").get_data(as_text=True))
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert client.open("/admin/audit", method=method, data={"csrf_token": token}).status_code == 405


def _one_entry() -> AuditEntry:
    entry = audit.record(None, "test.kept", object_type="things", object_id=1, after={"v": 1})
    db.session.commit()
    return entry


def test_the_orm_refuses_to_change_or_delete_an_entry(app):
    entry = _one_entry()
    entry.action = "test.rewritten"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    entry = db.session.get(AuditEntry, entry.id)
    db.session.delete(entry)
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEntry, entry.id).action == "test.kept"


@pytest.mark.parametrize(
    "statement",
    [
        lambda entry_id: update(AuditEntry).where(AuditEntry.id == entry_id).values(action="test.rewritten"),
        lambda entry_id: delete(AuditEntry).where(AuditEntry.id == entry_id),
        lambda entry_id: sa.text(f"UPDATE audit_log SET reason = 'covered up' WHERE id = {int(entry_id)}"),
        lambda entry_id: sa.text("DELETE FROM audit_log"),
    ],
    ids=["orm-bulk-update", "orm-bulk-delete", "sql-update", "sql-delete-all"],
)
def test_the_database_refuses_to_change_or_delete_an_entry(app, statement):
    """Bulk statements and raw SQL skip the ORM's listeners; the database's triggers still refuse them."""
    entry_id = _one_entry().id
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.execute(statement(entry_id))
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.id == entry_id)) == "test.kept"
    assert db.session.scalar(select(func.count(AuditEntry.id))) >= 1
    # Appending still works.
    audit.record(None, "test.appended", object_type="things", object_id=2)
    db.session.commit()
