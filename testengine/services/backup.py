"""Backups that restore: an online, consistent copy of the database plus a manifest that says what it is.

A backup is a directory holding `manifest.json` and one data file. On SQLite the data file is made
with SQLite's online backup API from a read transaction, so apprentices keep saving while it runs
and the copy is one consistent moment (a plain file copy of a live WAL database is not). On
PostgreSQL it is `pg_dump --format=custom`, restored with `pg_restore`. The manifest records the
schema version (the alembic revision) read from the copy itself and the data file's sha256, so a
restore can refuse a backup it cannot trust or cannot understand.

This module touches the database only through its own connections and never commits a session:
the CLI calls it with nothing open.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

MANIFEST = "manifest.json"
FORMAT = 1
DATA_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


class BackupError(RuntimeError):
    """A backup cannot be made or restored; the message says why and changes nothing."""


@dataclass(frozen=True)
class Manifest:
    engine: str
    schema_revision: str | None
    sha256: str
    data_file: str
    created_at: str

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **self.__dict__}, indent=2) + "\n"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _engine_name(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def _sqlite_path(url: str) -> Path:
    database = sa.make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("the database URL names no SQLite file")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for pg_dump/pg_restore, with the password in the environment, not argv."""
    parsed = sa.make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    parts = {"host": parsed.host, "port": parsed.port, "user": parsed.username, "dbname": parsed.database}
    conninfo = " ".join(f"{key}={value}" for key, value in parts.items() if value)
    return conninfo, env


def postgres_tool(name: str) -> str:
    """pg_dump / pg_restore: from PATH, else the newest installed under /usr/lib/postgresql (Debian)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/" + name), key=lambda p: int(p.parts[-3]))
    if versions:
        return str(versions[-1])
    raise BackupError(f"{name} not found: install the PostgreSQL client (apt-get install postgresql-client)")


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")


def _revision_in_sqlite(path: Path) -> str | None:
    connection = sqlite3.connect(path)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        connection.close()
    return row[0] if row else None


def _revision_in(url: str) -> str | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("alembic_version"):
                return None
            revision: str | None = connection.scalar(sa.text("SELECT version_num FROM alembic_version"))
            return revision
    finally:
        engine.dispose()


def make_backup(url: str, target: Path, now: dt.datetime) -> Manifest:
    """Write a backup directory at `target` (which must not exist); atomic: a half-made backup is never left there."""
    if target.exists():
        raise BackupError(f"{target} already exists: give a new path for each backup")
    engine = _engine_name(url)
    if engine == "sqlite" and not _sqlite_path(url).is_file():
        raise BackupError(f"{_sqlite_path(url)}: no such database file")  # sqlite3.connect would create an empty one
    target.parent.mkdir(parents=True, exist_ok=True)
    # Made beside the target and renamed into place, so a backup directory is only ever complete.
    partial = Path(tempfile.mkdtemp(prefix=target.name + ".partial-", dir=target.parent))
    try:
        os.chmod(partial, 0o700)  # personal data
        data = partial / DATA_FILES[engine]
        if engine == "sqlite":
            source = sqlite3.connect(_sqlite_path(url), timeout=30)
            copy = sqlite3.connect(data)
            try:
                # One step (pages=-1): the whole copy is read inside one read transaction, so it is a
                # single consistent moment; in WAL mode writers carry on meanwhile.
                source.backup(copy, pages=-1)
            finally:
                copy.close()
                source.close()
            revision = _revision_in_sqlite(data)
        else:
            conninfo, env = _libpq(url)
            # pg_dump runs in one repeatable-read snapshot: consistent while saves land.
            _run(
                [
                    postgres_tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--file={data}",
                    f"--dbname={conninfo}",
                ],
                env,
            )
            revision = _revision_in(url)  # migrations never run while a backup does
        os.chmod(data, 0o600)
        manifest = Manifest(engine, revision, sha256_of(data), data.name, now.isoformat())
        (partial / MANIFEST).write_text(manifest.to_json())
        os.replace(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def read_manifest(source: Path) -> Manifest:
    """The backup's manifest, checked against its data file; refuses anything missing, unknown or altered."""
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} is not a backup: no {MANIFEST}")
    try:
        raw: dict[str, Any] = json.loads(path.read_text())
        manifest = Manifest(
            engine=str(raw["engine"]),
            schema_revision=raw.get("schema_revision"),
            sha256=str(raw["sha256"]),
            data_file=str(raw["data_file"]),
            created_at=str(raw["created_at"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{path}: not a valid manifest ({error})") from None
    if raw.get("format") != FORMAT or manifest.engine not in DATA_FILES or manifest.data_file != DATA_FILES[manifest.engine]:
        raise BackupError(f"{path}: unknown backup format or engine")
    data = source / manifest.data_file
    if not data.is_file():
        raise BackupError(f"{source}: the data file {manifest.data_file} is missing")
    if sha256_of(data) != manifest.sha256:
        raise BackupError(f"{data}: checksum does not match the manifest: the backup is damaged or altered")
    return manifest


def _has_rows(url: str) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            for table in sa.inspect(connection).get_table_names():
                if table == "alembic_version":
                    continue
                if connection.scalar(sa.text(f'SELECT 1 FROM "{table}" LIMIT 1')) is not None:
                    return True
    finally:
        engine.dispose()
    return False


def restore_backup(url: str, source: Path, known_revisions: set[str], *, force: bool) -> Manifest:
    """Replace the database at `url` with the backup at `source`.

    Refuses (changing nothing): a damaged or altered backup, one for the other engine, one whose
    schema version this release does not know (made by a newer release), and a database that
    already holds rows unless `force`.
    """
    manifest = read_manifest(source)
    engine = _engine_name(url)
    if manifest.engine != engine:
        raise BackupError(f"the backup is of a {manifest.engine} database; this database is {engine}")
    if manifest.schema_revision is not None and manifest.schema_revision not in known_revisions:
        raise BackupError(
            f"the backup has schema version {manifest.schema_revision}, newer than this release knows: "
            "restore it with the release that made it (or a later one)"
        )
    if not force and _has_rows(url):
        raise BackupError("the database is not empty: restore with --force to overwrite it")
    data = source / manifest.data_file
    if engine == "sqlite":
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        backup = sqlite3.connect(data)
        live = sqlite3.connect(target, timeout=30)
        try:
            # Through SQLite, not over the file: any open WAL is accounted for and readers see old or new.
            backup.backup(live, pages=-1)
        finally:
            live.close()
            backup.close()
    else:
        conninfo, env = _libpq(url)
        _run(
            [
                postgres_tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={conninfo}",
                str(data),
            ],
            env,
        )
    return manifest
