"""The schema version: which alembic revision the database is at, and which this release's migrations end at."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def script_directory() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revisions() -> set[str]:
    return set(script_directory().get_heads())


def current_revision(connection: sa.Connection) -> str | None:
    return connection.scalar(sa.text("SELECT version_num FROM alembic_version"))
