"""The command line run as a user runs it: the `testengine` script in a subprocess, on its own database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_URL, REPO

SCRIPT = str(Path(sys.executable).with_name("testengine"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def command_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for a subprocess: a fresh instance folder and database (SQLite, or PostgreSQL when the
    tests run on it), cheap password hashing, this checkout's code first on the path."""
    database = ""
    if PG_URL:
        database = f"{sa.make_url(PG_URL).database}_cli_{os.getpid()}_{tmp_path.name[-12:]}".lower().replace("-", "_")
        admin = sa.create_engine(sa.make_url(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
        admin.dispose()
        url = sa.make_url(PG_URL).set(database=database).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path / 'testengine.sqlite3'}"
    env = {
        **os.environ,
        "TESTENGINE_INSTANCE_PATH": str(tmp_path / "instance"),
        "TESTENGINE_DATABASE_URL": url,
        "TESTENGINE_SECRET_KEY": "cli-test-secret-0123456789abcdef",
        "TESTENGINE_BANKS_DIR": str(REPO / "question_banks"),
        "TESTENGINE_ARGON2_TIME_COST": "1",
        "TESTENGINE_ARGON2_MEMORY_KIB": "64",
        "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    yield env
    if database:
        admin = sa.create_engine(sa.make_url(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def run(args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, timeout=300, **kwargs)
