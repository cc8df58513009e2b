"""Signing in does not reveal which accounts exist: an unknown email is throttled like a real one,
with the same words and the same work (one password hash on every path)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from testengine.services import accounts
from tests.conftest import csrf_token_from


class CountingHasher:
    """The real hasher, counting the password checks each sign-in makes."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.verifies = 0

    def verify(self, *args: Any) -> Any:
        self.verifies += 1
        return self.real.verify(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def hasher(monkeypatch: Any) -> CountingHasher:
    counting = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", counting)
    return counting


def _sign_in(app: Any, identifier: str, password: str) -> tuple[int, str]:
    browser = app.test_client()
    token = csrf_token_from(browser.get("/login").get_data(as_text=True))
    response = browser.post("/login", data={"identifier": identifier, "password": password, "csrf_token": token})
    match = re.search(r'<div class="error-summary" role="alert"><p>(.*?)</p>', response.get_data(as_text=True), re.DOTALL)
    assert match, response.status_code
    return response.status_code, match.group(1)


def _message(app: Any, identifier: str, password: str) -> tuple[int, str]:
    status, text = _sign_in(app, identifier, password)
    return status, re.sub(r"\d+ seconds", "N seconds", text)


def test_an_unknown_email_is_throttled_with_the_same_words_as_a_real_account(app, make_user, hasher, clock):
    real = make_user("apprentice")
    seen: dict[str, list[tuple[int, str]]] = {"real": [], "unknown": []}
    for i in range(7):
        seen["real"].append(_message(app, real.email, f"wrong-{i}"))
        seen["unknown"].append(_message(app, "nobody@example.org", f"wrong-{i}"))
    assert seen["real"] == seen["unknown"]
    assert seen["real"][0] == (401, "Email or password not recognised.")
    assert seen["real"][4] == (401, "Email or password not recognised.")
    assert seen["real"][5][0] == 401 and "Too many failed sign-ins for this account. Try again in N seconds" in seen["real"][5][1]
    # The same wait, to the second.
    assert _sign_in(app, real.email, "x")[1] == _sign_in(app, "NOBODY@example.org ", "x")[1]
    # Every attempt cost exactly one password hash, real or not, throttled or not.
    assert hasher.verifies == 14 + 2


def test_the_throttle_on_an_unknown_email_lifts_as_a_real_one_does(app, make_user, clock):
    real = make_user("apprentice")
    for i in range(5):
        _sign_in(app, real.email, f"wrong-{i}")
        _sign_in(app, "ghost@example.org", f"wrong-{i}")
    clock.advance(dt.timedelta(minutes=4))
    assert "Too many" in _sign_in(app, real.email, "x")[1] and "Too many" in _sign_in(app, "ghost@example.org", "x")[1]
    clock.advance(dt.timedelta(minutes=2))
    assert _sign_in(app, real.email, "x") == _sign_in(app, "ghost@example.org", "x") == (401, "Email or password not recognised.")
    # Other identifiers were never affected.
    assert _sign_in(app, "someone-else@example.org", "x") == (401, "Email or password not recognised.")


def test_the_unknown_email_itself_is_not_kept(app, clock):
    from sqlalchemy import select

    from testengine.extensions import db
    from testengine.models import AuditEntry

    _sign_in(app, "private.person@example.org", "wrong")
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == accounts.UNKNOWN_FAILED)).all()
    assert len(entries) == 1
    assert "private" not in f"{entries[0].object_id} {entries[0].after} {entries[0].before}"
