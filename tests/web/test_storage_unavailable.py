"""The database unavailable during a sitting: a save answers 503 with Retry-After (never a 500, never a lost
answer), and the same save succeeds once the database is back.

On SQLite the database file is held by another writer past the busy timeout (as a backup tool or a stuck
process would); on PostgreSQL the server stops accepting connections and ends the open ones (as a restart
does). The test runs on whichever database the suite runs on.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from testengine.extensions import db
from testengine.models import Answer, AttemptQuestion
from testengine.storage import RETRY_AFTER_SECONDS
from tests.conftest import PG_URL


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "SQLITE_BUSY_TIMEOUT_MS": 300}


@contextlib.contextmanager
def sqlite_locked(url: str) -> Iterator[None]:
    """Another program holds the write lock of the database file until the block ends."""
    holder = sqlite3.connect(sa.make_url(url).database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@contextlib.contextmanager
def postgresql_refusing(url: str) -> Iterator[None]:
    """The server refuses new connections to the database and ends the open ones until the block ends."""
    name = sa.make_url(url).database
    admin = sa.create_engine(sa.make_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
        conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
            {"n": name},
        )
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()


def database_unavailable(app: Any) -> contextlib.AbstractContextManager[None]:
    url = app.config["TESTENGINE"]["DATABASE_URL"]
    db.session.remove()  # the test's own session lets go of the database first, as a finished request does
    return sqlite_locked(url) if url.startswith("sqlite") else postgresql_refusing(url)


def stored(attempt_id: int, position: int) -> str | None:
    db.session.remove()
    return db.session.scalar(
        select(Answer.response)
        .join(AttemptQuestion, AttemptQuestion.id == Answer.attempt_question_id)
        .where(AttemptQuestion.attempt_id == attempt_id, AttemptQuestion.position == position)
    )


def test_a_save_while_the_database_is_unavailable_is_503_and_lands_once_it_is_back(app, start_sitter):
    sitter = start_sitter()
    save = {"response": "kept through the outage", "revision": 1, "client_token": sitter.token}
    url = f"/api/attempts/{sitter.attempt_id}/answers/20"
    headers = {"X-CSRFToken": sitter.csrf}
    with database_unavailable(app):
        for _ in range(2):  # the first meets the ended connections, the next a refused or locked database
            refused = sitter.client.put(url, json=save, headers=headers)
            assert refused.status_code == 503, refused.get_data(as_text=True)
            assert refused.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
            assert refused.get_json() == {
                "error": "storage_unavailable",
                "message": "The server is busy for a moment. Your answer was not saved yet; it will be retried automatically.",
                "retry_after": RETRY_AFTER_SECONDS,
            }
    assert stored(sitter.attempt_id, 20) is None
    again = sitter.client.put(url, json=save, headers=headers)  # what the page's retry sends
    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.get_json()["status"] == "saved"
    assert stored(sitter.attempt_id, 20) == "kept through the outage"


def test_the_room_board_answers_503_while_the_database_is_unavailable_and_catches_up_after(app, room, start_sitter, login, clock):
    import datetime as dt

    from testengine.models import Attempt

    sitter = start_sitter()
    staff = app.test_client()
    login(room.test_invigilator, test_client=staff)
    clock.advance(dt.timedelta(minutes=125))  # the attempt's time ran out: the board's read submits it (a write)
    with database_unavailable(app):
        board = staff.get(f"/api/sittings/{room.id}/board")
        assert board.status_code == 503, board.get_data(as_text=True)
        assert board.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert board.get_json()["error"] == "storage_unavailable"
    assert staff.get(f"/api/sittings/{room.id}/board").status_code == 200
    db.session.remove()
    assert db.session.get(Attempt, sitter.attempt_id).state == "submitted"
