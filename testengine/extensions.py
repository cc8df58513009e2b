"""Extension objects, created unbound and initialised by create_app."""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

from flask import current_app, has_request_context, request
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

_force_immediate: contextvars.ContextVar[bool | None] = contextvars.ContextVar("testengine_force_immediate", default=None)


def _wants_write_lock() -> bool:
    """Reads (GET) begin deferred so they never queue behind writers; a request that writes takes the lock up front.

    Outside a request (CLI commands, tests) writers say so with `write_transaction()`.
    """
    forced = _force_immediate.get()
    if forced is not None:
        return forced
    if has_request_context():
        if request.method in {"GET", "HEAD", "OPTIONS"}:
            return False
        view = current_app.view_functions.get(request.endpoint or "")
        return not getattr(view, "reads_then_writes", False)
    return False


def reads_then_writes(view):  # type: ignore[no-untyped-def]
    """Mark a hot write view that reads without the lock and takes it only for its one short write.

    The view must do its writes through `write_now(...)`, and each write must re-check in its own
    statement what the reads decided (state, deadline, ownership), because another writer may have
    committed in between. Used for autosave, where holding SQLite's single write lock across the
    user load and the checks made every other save wait in the busy handler.
    """
    view.reads_then_writes = True
    return view


@contextlib.contextmanager
def write_transaction() -> Iterator[None]:
    """Begin the next transaction with the SQLite write lock even inside a GET (e.g. the deadline sweep)."""
    token = _force_immediate.set(True)
    try:
        yield
    finally:
        _force_immediate.reset(token)


class _LockFile:
    """One thread's handle on the writers' lock file; closed when the thread (and so its handle) is gone."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.held = False

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


class WriterQueueConnection(sqlite3.Connection):
    """A SQLite connection whose writers queue on a lock file instead of in SQLite's busy handler.

    SQLite lets one writer in at a time and makes the others poll, sleeping up to 100 ms between
    tries; under a burst of saves most of their time went in those sleeps while the lock stood free.
    Writers of this file in every thread and worker process take an exclusive flock on
    `<database>-writer` before BEGIN IMMEDIATE and drop it once COMMIT or ROLLBACK has finished, so
    the next one is woken at once. Other programs that skip the queue still meet the busy timeout.
    """

    _local = threading.local()

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        name = os.fspath(database) if isinstance(database, (str, bytes, os.PathLike)) else ""
        name = name.decode() if isinstance(name, bytes) else name
        self._queue_path = None if name in ("", ":memory:") or name.startswith("file:") else name + "-writer"
        self._holding: _LockFile | None = None

    def enter_write_queue(self) -> None:
        if self._queue_path is None or self._holding is not None:
            return
        handles = self._local.__dict__.setdefault("handles", {})
        handle = handles.get(self._queue_path)
        if handle is None:
            handle = handles[self._queue_path] = _LockFile(self._queue_path)
        if handle.held:  # this thread already writes through another connection: SQLite arbitrates
            return
        fcntl.flock(handle.fd, fcntl.LOCK_EX)
        handle.held = True
        self._holding = handle

    def leave_write_queue(self) -> None:
        handle, self._holding = self._holding, None
        if handle is not None:
            handle.held = False
            fcntl.flock(handle.fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            if self.in_transaction is False:
                self.leave_write_queue()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_write_queue()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave_write_queue()


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
        if not _wants_write_lock():
            connection.exec_driver_sql("BEGIN")
            return
        dbapi_connection = connection.connection.dbapi_connection
        queued = isinstance(dbapi_connection, WriterQueueConnection)
        if queued:
            dbapi_connection.enter_write_queue()
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if queued:
                dbapi_connection.leave_write_queue()
            raise


def write_now(work):  # type: ignore[no-untyped-def]
    """From a GET (which reads without the lock), do a write in its own locked transaction and commit it.

    Ends the read transaction first: on SQLite a read transaction cannot safely become a writer.
    Elsewhere (PostgreSQL) the reads and the write share one transaction, saving a round trip.
    """
    if db.session.get_bind().dialect.name == "sqlite":
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
