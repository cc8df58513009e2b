"""Backups that restore: taken while an apprentice is saving, restored into a fresh database, every
acknowledged save there; and the refusals (altered data, a newer schema, a database that holds data).

Runs on whichever engine the suite runs on: SQLite (the online backup API) or PostgreSQL (pg_dump and
pg_restore), through the real `testengine` command in its own process, as cron would run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from testengine.ops.schema import head_revisions
from tests.conftest import BASE_CONFIG, PG_URL, REPO

ANSWERS = sa.text(
    "SELECT q.position, a.revision, a.response FROM answers a "
    "JOIN attempt_questions q ON q.id = a.attempt_question_id WHERE a.attempt_id = :attempt"
)


def run_cli(url: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TESTENGINE_")}
    env.update(
        TESTENGINE_DATABASE_URL=url,
        TESTENGINE_SECRET_KEY=BASE_CONFIG["SECRET_KEY"],
        TESTENGINE_INSTANCE_PATH=str(tmp_path / "cli-instance"),
    )
    return subprocess.run(["testengine", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
def restore_target(tmp_path: Path) -> Any:
    """A fresh, empty database to restore into: a new SQLite file, or a new PostgreSQL database."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    base = sa.make_url(PG_URL)
    name = f"{base.database}_restore_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def answers_in(url: str, attempt_id: int) -> dict[int, tuple[int, str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                position: (revision, response) for position, revision, response in conn.execute(ANSWERS, {"attempt": attempt_id})
            }
    finally:
        engine.dispose()


class Saver(threading.Thread):
    """An apprentice saving as fast as the server answers; remembers each save the server acknowledged."""

    def __init__(self, sitter: Any) -> None:
        super().__init__(daemon=True)
        self.sitter = sitter
        self.acknowledged: list[tuple[int, int, str]] = []
        self.stop = threading.Event()
        self.count_changed = threading.Condition()
        self.errors: list[str] = []

    def run(self) -> None:
        revision = 0
        while not self.stop.is_set():
            revision += 1
            position = revision % 26 + 15  # the short answers (15-40) take free text
            text = f"answer {revision}"
            response = self.sitter.save(position, text, revision=revision)
            if response.status_code != 200 or not response.get_json()["stored"]:
                self.errors.append(f"{response.status_code} {response.get_data(as_text=True)[:200]}")
                return
            with self.count_changed:
                self.acknowledged.append((position, revision, text))
                self.count_changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self.count_changed:
            assert self.count_changed.wait_for(lambda: len(self.acknowledged) >= count or self.errors, timeout=120)
        assert not self.errors, self.errors


@pytest.mark.slow
def test_backup_while_saving_restores_every_acknowledged_save(start_sitter, database_url, restore_target, tmp_path):
    sitter = start_sitter()
    saver = Saver(sitter)
    saver.start()
    try:
        saver.wait_for(30)
        before_backup = list(saver.acknowledged)
        backup = run_cli(database_url, "backup", str(tmp_path / "backup"), tmp_path=tmp_path)
        after_backup = len(saver.acknowledged)
        saver.wait_for(after_backup + 5)  # the apprentice was never held up for long
    finally:
        saver.stop.set()
        saver.join(timeout=60)
    assert backup.returncode == 0, backup.stderr
    assert after_backup > len(before_backup), "no save landed while the backup ran"

    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["engine"] == ("postgresql" if PG_URL else "sqlite")
    assert manifest["schema_revision"] in head_revisions()
    assert len(manifest["sha256"]) == 64

    restored = run_cli(restore_target, "restore", str(tmp_path / "backup"), tmp_path=tmp_path)
    assert restored.returncode == 0, restored.stderr
    answers = answers_in(restore_target, sitter.attempt_id)
    for position, revision, _text in before_backup:
        # Later saves to the same question may be in the copy too; an acknowledged one is never missing.
        assert answers[position][0] >= revision, (position, revision, answers.get(position))
    for revision, response in answers.values():
        assert response == f"answer {revision}"  # each row whole: the text and revision of one save

    health = run_cli(restore_target, "init-db", tmp_path=tmp_path)
    assert health.returncode == 0, health.stderr


def _backup(database_url: str, tmp_path: Path, name: str = "backup") -> Path:
    done = run_cli(database_url, "backup", str(tmp_path / name), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path / name


def test_an_altered_backup_is_refused_and_changes_nothing(make_user, database_url, restore_target, tmp_path):
    make_user("admin")
    backup = _backup(database_url, tmp_path)
    manifest = json.loads((backup / "manifest.json").read_text())
    data = backup / manifest["data_file"]
    content = bytearray(data.read_bytes())
    content[len(content) // 2] ^= 0xFF
    data.write_bytes(bytes(content))

    refused = run_cli(restore_target, "restore", str(backup), tmp_path=tmp_path)
    assert refused.returncode == 2
    assert "checksum does not match" in refused.stderr
    engine = sa.create_engine(restore_target)
    with engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []  # nothing restored, not even in part
    engine.dispose()


def test_a_backup_from_a_newer_schema_is_refused(make_user, database_url, restore_target, tmp_path):
    make_user("admin")
    backup = _backup(database_url, tmp_path)
    manifest = json.loads((backup / "manifest.json").read_text())
    manifest["schema_revision"] = "0099_from_a_later_release"
    (backup / "manifest.json").write_text(json.dumps(manifest))

    refused = run_cli(restore_target, "restore", str(backup), tmp_path=tmp_path)
    assert refused.returncode == 2
    assert "newer than this release knows" in refused.stderr


def test_restore_over_a_database_with_data_needs_force(make_user, database_url, tmp_path):
    from testengine.extensions import db

    make_user("admin", email="kept@example.org")
    backup = _backup(database_url, tmp_path)
    make_user("admin", email="added-after@example.org")
    db.session.remove()

    refused = run_cli(database_url, "restore", str(backup), tmp_path=tmp_path)
    assert refused.returncode == 2
    assert "not empty" in refused.stderr and "--force" in refused.stderr
    assert emails(database_url) == {"kept@example.org", "added-after@example.org"}

    forced = run_cli(database_url, "restore", "--force", str(backup), tmp_path=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert emails(database_url) == {"kept@example.org"}


def emails(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.scalars(sa.text("SELECT email FROM users")))
    finally:
        engine.dispose()


def test_backup_refuses_an_existing_path(make_user, database_url, tmp_path):
    (tmp_path / "taken").mkdir()
    refused = run_cli(database_url, "backup", str(tmp_path / "taken"), tmp_path=tmp_path)
    assert refused.returncode == 2 and "already exists" in refused.stderr


def test_backup_of_a_missing_sqlite_file_is_refused_not_created(tmp_path):
    missing = tmp_path / "nowhere.sqlite3"
    refused = run_cli(f"sqlite:///{missing}", "backup", str(tmp_path / "backup"), tmp_path=tmp_path)
    assert refused.returncode == 2 and "no such database file" in refused.stderr
    assert not missing.exists() and not (tmp_path / "backup").exists()
