"""When the database cannot be reached or cannot write just now, say so: 503 and when to try again.

A database restarting, a full disk, a lock held past the busy timeout: none of these is a bug, and
none loses anything an apprentice saved (a save is acknowledged only once committed). The client
is told "not saved yet; try again in a moment" (503 with Retry-After) instead of a server error,
and the sitting page's autosave retries by itself. Errors that are bugs (a missing table, bad SQL)
stay server errors.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa_exc

from .group_commit import GroupCommitTimeout

RETRY_AFTER_SECONDS = 5
SAVE_RETRY_MESSAGE = "The server is busy for a moment. Your answer was not saved yet; it will be retried automatically."
PAGE_MESSAGE = "The server is busy for a moment. Nothing you saved is lost; please try again in a few seconds."

# SQLite's messages for a database that is busy, full or not writable now (not for a bug in a query).
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "database is busy",
    "disk i/o error",
    "database or disk is full",
    "readonly database",
    "unable to open database",
)


def _psycopg_unavailable(error: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is only needed for PostgreSQL
        return False
    # OperationalError: connection refused or lost, server shutting down, disk full, lock or statement
    # timeout; InterfaceError: the connection was closed under us.
    return isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError))


def _sqlite_unavailable(error: BaseException) -> bool:
    return isinstance(error, sqlite3.OperationalError) and any(text in str(error).lower() for text in _SQLITE_UNAVAILABLE)


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` (or what it wraps) means the storage cannot serve now, rather than a bug."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (GroupCommitTimeout, sa_exc.TimeoutError, sa_exc.DisconnectionError)):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if _sqlite_unavailable(current) or _psycopg_unavailable(current):
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False
