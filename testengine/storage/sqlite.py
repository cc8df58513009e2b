"""SQLite: the writers' queue on a lock file, and the settings an exam's data needs on every connection."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .policy import wants_write_lock


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
        if not wants_write_lock():
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
