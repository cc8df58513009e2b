"""The request edge: each request's work is committed once, at its end, if the view succeeded.

Indico's pattern: views and services flush; the edge commits when the view returned, and rolls back
when it raised (a refusal that reaches an error handler, a 404, a bug) or when the view showed a
refusal itself (`discard`). A view that must manage its own transaction says so (`own_transaction`).
A commit that fails here (the database locked or gone) reaches the app's error handlers like any
other error, so the client gets the same 503 as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, g, request
from flask.typing import ResponseReturnValue

from ..extensions import db
from .policy import mark_writing, write_transaction

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
_REFUSED = "testengine_refused"


class App(Flask):
    """Flask, with the request edge around every view."""

    def dispatch_request(self) -> ResponseReturnValue:
        try:
            result = super().dispatch_request()
        except BaseException:
            with contextlib.suppress(Exception):  # the connection may be gone: the pool replaces it
                db.session.rollback()
            raise
        view = self.view_functions.get(request.endpoint or "")
        if getattr(view, "own_transaction", False):
            return result
        if g.get(_REFUSED):
            db.session.rollback()
        else:
            db.session.commit()
        return result


def own_transaction(view: F) -> F:
    """Mark a view that commits or rolls back itself; the edge leaves its transaction alone."""
    view.own_transaction = True  # type: ignore[attr-defined]
    return view


def discard() -> None:
    """A refusal the view shows itself (a form error, a flash): nothing the refused action flushed stays.

    Rolled back now, so the page shown next reads the database as it is; and the edge will commit
    nothing of this request afterwards.
    """
    db.session.rollback()
    setattr(g, _REFUSED, True)


def commit_so_far() -> None:
    """Commit what this request has written so far, for a read on another connection (the fast lane's)
    that must see it; the edge commits whatever follows."""
    db.session.commit()


def writing_from_here() -> None:
    """In a view that read without the write lock (a GET, or `reads_then_writes`): it writes from here on.

    On SQLite a read transaction cannot safely become a writer, so the reads' transaction ends here
    (it wrote nothing; committing it keeps what was read in memory) and the next one takes the lock.
    PostgreSQL needs neither: the reads and the write share the request's one transaction.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.commit()
    mark_writing()


def write_apart(work: Callable[[], T]) -> T:
    """A write that stands whatever the request does next, committed here in its own locked transaction.

    For a read that finds an attempt whose time ran out: the attempt is submitted and stays
    submitted even though the request then refuses what it was asked (a save after the deadline).
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.commit()  # ends the read transaction: on SQLite it cannot safely become a writer
    with write_transaction():
        result = work()
        db.session.commit()
    return result
