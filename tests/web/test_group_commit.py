"""Group commit on SQLite: saves arriving together share a transaction, and one bad one sinks no other."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from testengine.storage import write_transaction
from testengine.storage.group_commit import GroupCommitter, committer_for
from testengine.storage.sqlite import WriterQueueConnection, configure_sqlite

INSERT = sa.text("INSERT INTO saved (who, n) VALUES (:who, :n) RETURNING n")
BROKEN = sa.text("INSERT INTO no_such_table VALUES (1)")


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'group.sqlite3'}", connect_args={"factory": WriterQueueConnection})
    configure_sqlite(engine, busy_timeout_ms=30_000)
    with write_transaction(), engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE saved (id INTEGER PRIMARY KEY, who INTEGER NOT NULL, n INTEGER NOT NULL)")
    yield engine
    engine.dispose()


def test_only_a_sqlite_file_gets_a_committer(engine: sa.Engine) -> None:
    assert isinstance(committer_for(engine), GroupCommitter)
    assert committer_for(engine) is committer_for(engine)
    assert committer_for(sa.create_engine("sqlite://")) is None


def test_many_threads_each_get_their_own_answer_and_everything_is_stored(engine: sa.Engine) -> None:
    committer = GroupCommitter(engine)
    answers: dict[tuple[int, int], object] = {}
    errors: list[BaseException] = []

    def saver(who: int) -> None:
        try:
            for n in range(25):
                answers[(who, n)] = committer.run([(INSERT, {"who": who, "n": n})], timeout=30)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=saver, args=(who,)) for who in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert answers == {(who, n): n for who in range(12) for n in range(25)}
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*), count(DISTINCT who || '-' || n) FROM saved").one() == (300, 300)


def test_a_failing_work_item_gets_its_error_and_the_others_still_commit(engine: sa.Engine) -> None:
    committer = GroupCommitter(engine)
    results: dict[str, object] = {}
    start = threading.Barrier(9)

    def good(who: int) -> None:
        start.wait()
        results[f"good{who}"] = committer.run([(INSERT, {"who": who, "n": who})], timeout=30)

    def bad() -> None:
        start.wait()
        try:
            committer.run([(INSERT, {"who": 99, "n": 99}), (BROKEN, {})], timeout=30)
        except sa.exc.OperationalError as error:
            results["bad"] = error

    threads = [threading.Thread(target=good, args=(who,)) for who in range(8)] + [threading.Thread(target=bad)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert isinstance(results.pop("bad"), sa.exc.OperationalError)
    assert results == {f"good{who}": who for who in range(8)}
    with engine.connect() as conn:
        stored = {row[0] for row in conn.exec_driver_sql("SELECT who FROM saved")}
    assert stored == set(range(8))  # the failing work's first statement was rolled back with it
