"""Building blocks for tests: a bank, an open sitting, a checked-in apprentice, a started attempt."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from testengine.extensions import db

REPO = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 23)


@lru_cache(maxsize=8)
def loaded_bank(code: str) -> Any:
    """Parse a shipped bank once per test process (the files do not change during a run)."""
    from testengine.banks import load_standard

    return load_standard(REPO / "question_banks" / code, today=TODAY)


def import_standard(code: str, now: dt.datetime) -> Any:
    from testengine.services.banks import get_standard, import_bank

    import_bank(REPO / "question_banks" / code, now=now, loaded=loaded_bank(code))
    db.session.commit()
    return get_standard(code)


def open_sitting(standard: Any, invigilators: list[Any], now: dt.datetime, *, confirm: bool = True, sign_in: bool = True) -> Any:
    from testengine.policy import load_policy
    from testengine.services import sittings

    sitting = sittings.create_sitting(
        standard=standard,
        title="Morning sitting",
        venue="Room 1",
        remote=False,
        window_start=now - dt.timedelta(minutes=5),
        window_end=now + dt.timedelta(hours=3),
        now=now,
        actor=None,
    )
    for invigilator in invigilators:
        sittings.assign_invigilator(sitting, invigilator, actor=None)
        if sign_in:
            sittings.sign_in(sitting, invigilator, now=now)
    if confirm:
        sittings.confirm_venue(sitting, {i.key: True for i in load_policy().venue_checklist}, now=now, actor=invigilators[0])
    db.session.commit()
    return sitting


def book_and_check_in(sitting: Any, apprentice_user: Any, invigilator: Any, now: dt.datetime, *, check_in: bool = True) -> Any:
    from testengine.services import sittings

    booking = sittings.book(sitting, apprentice_user.apprentice, now=now, actor=None)
    if check_in:
        sittings.check_in(
            booking,
            document_type="passport",
            last_digits="1234",
            photo_matched=True,
            uln_confirmed=True,
            seat="A1",
            now=now - dt.timedelta(minutes=10),
            actor=invigilator,
        )
    db.session.commit()
    return booking


def csrf_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match
    return match.group(1)


class Sitter:
    """An apprentice's browser, as the sitting page's script would talk to the API."""

    def __init__(self, client: Any, attempt_id: int) -> None:
        self.client = client
        self.attempt_id = attempt_id
        page = client.get(f"/apprentice/attempts/{attempt_id}")
        assert page.status_code == 200, page.status_code
        html = page.get_data(as_text=True)
        self.token = re.search(r'data-token="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        self.capability = re.search(r'data-capability="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        self.csrf = csrf_of(html)
        self.revisions: dict[int, int] = {}

    @property
    def api(self) -> str:
        return f"/api/attempts/{self.attempt_id}"

    def headers(self) -> dict[str, str]:
        return {"X-CSRFToken": self.csrf}

    def status(self) -> Any:
        return self.client.get(self.api)

    def question(self, position: int) -> Any:
        return self.client.get(f"{self.api}/questions/{position}")

    def save(self, position: int, response: str | None, revision: int | None = None) -> Any:
        if revision is None:
            revision = self.revisions.get(position, 0) + 1
        self.revisions[position] = max(self.revisions.get(position, 0), revision)
        return self.client.put(
            f"{self.api}/answers/{position}",
            json={"response": response, "revision": revision, "client_token": self.token},
            headers=self.headers(),
        )

    def flag(self, position: int, flagged: bool = True) -> Any:
        return self.client.put(
            f"{self.api}/flags/{position}", json={"flagged": flagged, "client_token": self.token}, headers=self.headers()
        )

    def event(self, kind: str) -> Any:
        return self.client.post(f"{self.api}/events", json={"kind": kind, "client_token": self.token}, headers=self.headers())

    # The fast lane: the same requests, let in by the page's attempt capability instead of the session's user.
    @property
    def lane(self) -> str:
        return f"/api/lane/{self.attempt_id}"

    def lane_headers(self, capability: str | None = None) -> dict[str, str]:
        return {"X-CSRFToken": self.csrf, "X-Attempt-Capability": capability or self.capability}

    def lane_save(self, position: int, response: str | None, revision: int | None = None, **kwargs: Any) -> Any:
        if revision is None:
            revision = self.revisions.get(position, 0) + 1
        self.revisions[position] = max(self.revisions.get(position, 0), revision)
        return self.client.put(
            f"{self.lane}/answers/{position}",
            json={"response": response, "revision": revision},
            headers=self.lane_headers(**kwargs),
        )

    def lane_get(self, path: str = "", **kwargs: Any) -> Any:
        return self.client.get(f"{self.lane}{path}", headers=self.lane_headers(**kwargs))

    def submit(self) -> Any:
        return self.client.post(f"{self.api}/submit", json={"confirm": True, "client_token": self.token}, headers=self.headers())


def second_admin() -> Any:
    """Another administrator, for releasing what the first signed off (separation of duties)."""
    from sqlalchemy import select

    from testengine.models import User
    from testengine.services import accounts

    user = db.session.scalar(select(User).where(User.email == "releaser@example.org"))
    if user is None:
        user = accounts.create_user(
            allow_test_domains=True,
            email="releaser@example.org",
            display_name="Riley Releaser",
            password="correct horse battery",
            roles=["admin"],
        )
    return user
