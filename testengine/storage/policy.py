"""The transaction policy: which transactions take SQLite's write lock when they begin.

Reads begin deferred, so they never queue behind writers; a request that writes takes the lock up
front (BEGIN IMMEDIATE), so a read-then-write cannot fail with "database is locked" half way.
PostgreSQL takes row locks as it goes and ignores all of this.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from flask import current_app, g, has_request_context, request

F = TypeVar("F", bound=Callable[..., Any])

_force_immediate: contextvars.ContextVar[bool | None] = contextvars.ContextVar("testengine_force_immediate", default=None)
_WRITING = "testengine_writing"


def wants_write_lock() -> bool:
    """Whether the transaction beginning now should take the write lock.

    Outside a request (CLI commands, tests) writers say so with `write_transaction()`. In a request:
    a GET reads, unless it has called `writing_from_here()`; any other method writes, unless its view
    is marked `reads_then_writes`, in which case it takes the lock only from `writing_from_here()` on.
    """
    forced = _force_immediate.get()
    if forced is not None:
        return forced
    if has_request_context():
        if g.get(_WRITING):
            return True
        if request.method in {"GET", "HEAD", "OPTIONS"}:
            return False
        view = current_app.view_functions.get(request.endpoint or "")
        return not getattr(view, "reads_then_writes", False)
    return False


def reads_then_writes(view: F) -> F:
    """Mark a hot write view that reads without the lock and takes it only for its one short write.

    The view calls `storage.requests.writing_from_here()` before it writes, and each write must
    re-check in its own statement what the reads decided (state, deadline, ownership), because
    another writer may have committed in between. Used for autosave, where holding SQLite's single
    write lock across the user load and the checks made every other save wait in the busy handler.
    """
    view.reads_then_writes = True  # type: ignore[attr-defined]
    return view


def mark_writing() -> None:
    """From now on in this request, every transaction that begins takes the write lock."""
    setattr(g, _WRITING, True)


@contextlib.contextmanager
def write_transaction() -> Iterator[None]:
    """Begin the next transaction with the SQLite write lock even inside a GET or a CLI command."""
    token = _force_immediate.set(True)
    try:
        yield
    finally:
        _force_immediate.reset(token)


def write_lock(command: F) -> F:
    """For commands that write: every transaction they begin takes the SQLite write lock first."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with write_transaction():
            return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
