"""Group commit for SQLite: the saves that arrive together share one transaction and one fsync.

SQLite takes one writer at a time and, with synchronous=FULL, pays a disk flush at every commit.
When each autosave ran its own transaction, the writers queued for the lock and every hand-over
also waited for the interpreter lock of a busy worker, so throughput stalled far below what the
disk and the CPU allowed. Here each worker process has one writer thread: a request hands it its
statements and waits; the writer takes everything queued (up to MAX_BATCH), runs it in one
BEGIN IMMEDIATE ... COMMIT, and only then answers each request, so an acknowledged save is on
disk. If the batch fails, each request's work is retried alone, so one bad save cannot sink the
others. PostgreSQL groups concurrent commits by itself and does not use this.

Nothing here is state of the exam: the queue only ever holds work whose requests are still
waiting, and a worker that dies takes only unacknowledged work with it.
"""

from __future__ import annotations

import os
import queue
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from .policy import write_transaction

MAX_BATCH = 256
IDLE_SECONDS = 30.0  # an idle writer thread ends; the next save starts another


class GroupCommitTimeout(RuntimeError):
    """The writer did not answer in time; the work may still be committed later (saves are idempotent)."""


@dataclass
class _Work:
    steps: Sequence[tuple[Any, dict[str, Any]]]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class GroupCommitter:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[_Work] = queue.SimpleQueue()
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def run(self, steps: Sequence[tuple[Any, dict[str, Any]]], timeout: float) -> Any:
        """Run the statements in order in a shared transaction; return the first one's first column, once committed."""
        work = _Work(steps)
        self._queue.put(work)
        self._ensure_writer()
        if not work.done.wait(timeout):
            raise GroupCommitTimeout(f"the database did not take the write within {timeout:.0f} s")
        if work.error is not None:
            raise work.error
        return work.result

    def _ensure_writer(self) -> None:
        with self._guard:
            alive = self._thread is not None and self._thread.is_alive() and self._pid == os.getpid()
            if not alive:  # first use, after an idle exit, or in a forked worker
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._write_loop, name="testengine-group-commit", daemon=True)
                self._thread.start()

    def _write_loop(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._guard:
                    if self._queue.empty():  # nothing arrived since: end; a new save starts a new writer
                        self._thread = None
                        return
                continue
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    def _commit(self, batch: list[_Work]) -> None:
        try:
            results = self._execute(batch)
        except Exception:  # noqa: BLE001 - isolate the failing work: each alone, its own error
            for work in batch:
                try:
                    work.result = self._execute([work])[0]
                except Exception as error:  # noqa: BLE001 - handed to the waiting request
                    work.error = error
        else:
            for work, result in zip(batch, results):
                work.result = result
        for work in batch:
            work.done.set()

    def _execute(self, batch: list[_Work]) -> list[Any]:
        results = []
        with write_transaction(), self._engine.begin() as conn:
            for work in batch:
                first: Any = None
                for index, (statement, params) in enumerate(work.steps):
                    result = conn.execute(statement, params)
                    if index == 0 and result.returns_rows:
                        first = result.scalar()
                results.append(first)
        return results


_committers: weakref.WeakKeyDictionary[Engine, GroupCommitter] = weakref.WeakKeyDictionary()
_committers_guard = threading.Lock()


def committer_for(engine: Engine) -> GroupCommitter | None:
    """The engine's group committer on a SQLite file database; None where the database groups commits itself."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    with _committers_guard:
        committer = _committers.get(engine)
        if committer is None:
            committer = _committers[engine] = GroupCommitter(engine)
        return committer


def run_write(session: Any, steps: Sequence[tuple[Any, dict[str, Any]]], timeout: float) -> Any:
    """Run a write's statements in order; return the first one's first column.

    On a SQLite file, from a request with no transaction open, they go to the group commit and are
    committed (with the saves arriving alongside) before this returns. Otherwise they run in the
    session's transaction, which its owner commits (the request edge): a caller already holding the
    write lock would wait on itself in the group commit.
    """
    committer = committer_for(session.get_bind())
    if committer is not None and not session().in_transaction():
        return committer.run(steps, timeout=timeout)
    first: Any = None
    for index, (statement, params) in enumerate(steps):
        result = session.execute(statement, params)
        if index == 0:
            first = result.scalar()
    return first
