"""Least privilege: the app's role reads and writes rows but cannot TRUNCATE, DROP or ALTER; migrations
run as the owner through TESTENGINE_MIGRATION_DATABASE_URL.

On PostgreSQL with a real role made for the test (and dropped after); on SQLite, which has no roles,
the command says so and `init-db` still migrates the database the migration URL names.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import BASE_CONFIG, PG_URL, REPO


def run_cli(env_settings: dict[str, str], *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TESTENGINE_")}
    env.update(TESTENGINE_SECRET_KEY=BASE_CONFIG["SECRET_KEY"], TESTENGINE_INSTANCE_PATH=str(tmp_path / "cli-instance"))
    env.update({"TESTENGINE_" + key: value for key, value in env_settings.items()})
    return subprocess.run(["testengine", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
def app_role(database_url):
    """A login role of the test's own on PostgreSQL; nothing on SQLite."""
    if not PG_URL:
        yield None
        return
    name = f"te_app_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}".lower()
    owner = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(sa.text(f'DROP ROLE IF EXISTS "{name}"'))
        conn.execute(sa.text(f"CREATE ROLE \"{name}\" LOGIN PASSWORD 'app-secret'"))
    yield name
    with owner.connect() as conn:
        conn.execute(sa.text(f'GRANT "{name}" TO CURRENT_USER'))  # PostgreSQL 15: a member may drop its grants
        conn.execute(sa.text(f'DROP OWNED BY "{name}"'))
        conn.execute(sa.text(f'DROP ROLE "{name}"'))
    owner.dispose()


def test_the_app_role_writes_rows_but_cannot_truncate_drop_or_alter(database_url, app_role, tmp_path):
    done = run_cli({"DATABASE_URL": database_url}, "db", "grant-app-role", app_role or "testengine_app", tmp_path=tmp_path)
    if not PG_URL:
        assert done.returncode == 2 and "PostgreSQL" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    as_app = sa.make_url(database_url).set(username=app_role, password="app-secret")
    engine = sa.create_engine(as_app)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO audit_log (at, actor_label, action, object_type, object_id) "
                    "VALUES (now(), 'system', 'privilege.test', '-', '-')"
                )
            )
            assert conn.scalar(sa.text("SELECT count(*) FROM audit_log WHERE action = 'privilege.test'")) == 1
        for statement in (
            "TRUNCATE audit_log",
            "DROP TABLE audit_log",
            "ALTER TABLE users ADD COLUMN x int",
            "CREATE TABLE sneaky (id int)",
        ):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied|must be owner"), engine.begin() as conn:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_bad_role_names_are_refused(database_url, tmp_path):
    done = run_cli({"DATABASE_URL": database_url}, "db", "grant-app-role", 'x"; drop table users; --', tmp_path=tmp_path)
    assert done.returncode == 2
    assert "role" in done.stderr


def test_init_db_migrates_through_the_migration_url(database_url, app_role, tmp_path):
    """The app's URL is left alone; the owner's URL is the one migrated."""
    if PG_URL:
        owner = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
        fresh = f"{sa.make_url(database_url).database}_owner"
        with owner.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{fresh}"'))
        owner.dispose()
        migration_url = sa.make_url(database_url).set(database=fresh).render_as_string(hide_password=False)
        app_url = sa.make_url(database_url).set(username=app_role, password="app-secret").render_as_string(hide_password=False)
    else:
        migration_url = f"sqlite:///{tmp_path / 'owner.sqlite3'}"
        app_url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    try:
        done = run_cli({"DATABASE_URL": app_url, "MIGRATION_DATABASE_URL": migration_url}, "init-db", tmp_path=tmp_path)
        assert done.returncode == 0, done.stderr
        engine = sa.create_engine(migration_url)
        with engine.connect() as conn:
            assert "audit_log" in sa.inspect(conn).get_table_names()
        engine.dispose()
    finally:
        if PG_URL:
            owner = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
            with owner.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
            owner.dispose()
