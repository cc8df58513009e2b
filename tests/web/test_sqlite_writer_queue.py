"""SQLite writers queue on a lock file (woken at once) rather than sleeping in SQLite's busy handler."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from testengine.storage import write_transaction
from testengine.storage.sqlite import WriterQueueConnection, configure_sqlite


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'queue.sqlite3'}", connect_args={"factory": WriterQueueConnection})
    configure_sqlite(engine, busy_timeout_ms=30_000)
    with write_transaction(), engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (1, 0)")
    yield engine
    engine.dispose()


def queue_is_free(engine: sa.Engine) -> bool:
    """Whether another process could enter the writers' queue now."""
    fd = os.open(f"{engine.url.database}-writer", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def test_a_writer_holds_the_queue_until_its_commit_and_readers_never_take_it(engine: sa.Engine) -> None:
    with engine.begin() as conn:  # a read: deferred, no queue
        conn.exec_driver_sql("SELECT n FROM counter").scalar()
        assert queue_is_free(engine)
    with write_transaction(), engine.begin() as conn:
        conn.exec_driver_sql("UPDATE counter SET n = n + 1")
        assert not queue_is_free(engine)
    assert queue_is_free(engine)


def test_a_failed_write_leaves_the_queue_free(engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.OperationalError), write_transaction(), engine.begin() as conn:
        conn.exec_driver_sql("UPDATE no_such_table SET n = 1")
    assert queue_is_free(engine)
    with write_transaction(), engine.begin() as conn:  # and the next writer gets in
        conn.exec_driver_sql("UPDATE counter SET n = 7")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar() == 7


def test_many_threads_writing_at_once_lose_nothing(engine: sa.Engine) -> None:
    errors: list[BaseException] = []

    def bump(times: int) -> None:
        try:
            for _ in range(times):
                with write_transaction(), engine.begin() as conn:
                    n = conn.exec_driver_sql("SELECT n FROM counter").scalar()
                    conn.exec_driver_sql("UPDATE counter SET n = ?", (n + 1,))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=bump, args=(40,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar() == 320
    assert queue_is_free(engine)
