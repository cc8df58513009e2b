"""Extension objects, created unbound and initialised by create_app."""

from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

from flask import has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

# Named constraints, so migrations can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# expire_on_commit=False: after a commit, a view reads what it just wrote from memory instead of
# opening a new transaction (which on SQLite could hold the write lock while a page renders).
db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION), session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

_force_immediate: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "testengine_force_immediate", default=None
)


def _wants_write_lock() -> bool:
    """Reads (GET) begin deferred so they never queue behind writers; a request that writes takes the lock up front.

    Outside a request (CLI commands, tests) writers say so with `write_transaction()`.
    """
    forced = _force_immediate.get()
    if forced is not None:
        return forced
    if has_request_context():
        return request.method not in {"GET", "HEAD", "OPTIONS"}
    return False


@contextlib.contextmanager
def write_transaction() -> Iterator[None]:
    """Begin the next transaction with the SQLite write lock even inside a GET (e.g. the deadline sweep)."""
    token = _force_immediate.set(True)
    try:
        yield
    finally:
        _force_immediate.reset(token)


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Exam data settings: WAL, full fsync, foreign keys, a busy timeout, and BEGIN IMMEDIATE for writes.

    pysqlite's own transaction handling is switched off so that we issue BEGIN ourselves; otherwise a
    read-then-write transaction can fail with "database is locked" instead of waiting its turn.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write_lock() else "BEGIN")


def write_now(work):  # type: ignore[no-untyped-def]
    """From a GET (which reads without the lock), do a write in its own locked transaction and commit it.

    Ends the read transaction first: on SQLite a read transaction cannot safely become a writer.
    """
    db.session.commit()
    with write_transaction():
        result = work()
        db.session.commit()
    return result


def write_lock(command):  # type: ignore[no-untyped-def]
    """For CLI commands that write: every transaction they begin takes the SQLite write lock first."""
    import functools

    @functools.wraps(command)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        with write_transaction():
            return command(*args, **kwargs)

    return wrapper
