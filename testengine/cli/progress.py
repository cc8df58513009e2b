"""Progress on long commands (`bank import`, `bank stats`, `data retention`): to standard error, and only
when a person is watching it (a terminal). Under cron or in a pipe the commands print only their result."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

#: Called by a service as work is done: (steps done, steps in all).
Progress = Callable[[int, int], None]


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def _silent(done: int, total: int) -> None:
    return None


@contextlib.contextmanager
def progress(label: str, stream: TextIO | None = None) -> Iterator[Progress]:
    """A callback that redraws one line, "label: done/total (percent%)", ended by a newline at the end."""
    out = stream if stream is not None else sys.stderr
    if not _is_terminal(out):
        yield _silent
        return
    last: list[tuple[int, int]] = []

    def update(done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        if last and last[-1] == (percent, total) and done != total:
            return  # one redraw per percent is plenty
        last[:] = [(percent, total)]
        out.write(f"\r{label}: {done}/{total} ({percent}%)")
        out.flush()

    try:
        yield update
    finally:
        if last:
            out.write("\n")
            out.flush()
