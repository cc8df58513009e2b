"""The engine for each database: pool options, and the set-up each kind of database needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from .sqlite import WriterQueueConnection, configure_sqlite


def engine_options(database_url: str) -> dict[str, Any]:
    """SQLAlchemy's engine options for this database.

    Enough connections for a worker's threads; each request holds one only while it runs. The ping
    (one statement per request) guards against a restarted database server; a file has none. On
    SQLite each connection queues its writers on a lock file (`sqlite.WriterQueueConnection`).
    """
    sqlite = database_url.startswith("sqlite")
    options: dict[str, Any] = {"pool_pre_ping": not sqlite, "pool_size": 20, "max_overflow": 40, "pool_timeout": 60}
    if sqlite:
        options["connect_args"] = {"factory": WriterQueueConnection}
    return options


def configure_engine(engine: Engine, settings: Any) -> None:
    """What a database needs on each connection: SQLite's pragmas and write lock; PostgreSQL needs nothing here."""
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine, int(settings["SQLITE_BUSY_TIMEOUT_MS"]))
