"""The one place that reads the wall clock. Everything else is given `now`.

Tests (and the browser tests' live server) move time with `Clock.advance` instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import threading

UTC = dt.UTC


class Clock:
    """UTC wall clock with an adjustable offset for tests and rehearsals."""

    def __init__(self) -> None:
        self._offset = dt.timedelta(0)
        self._frozen: dt.datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return dt.datetime.now(UTC) + self._offset

    def advance(self, delta: dt.timedelta) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += delta
            else:
                self._offset += delta

    def freeze(self, at: dt.datetime | None = None) -> None:
        with self._lock:
            self._frozen = at or (dt.datetime.now(UTC) + self._offset)

    def unfreeze(self) -> None:
        with self._lock:
            self._frozen = None


def utcnow() -> dt.datetime:
    """Now, from the current app's clock (or the real one outside an app)."""
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.extensions["testengine.clock"].now()
    return dt.datetime.now(UTC)
