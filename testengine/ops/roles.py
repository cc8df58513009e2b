"""Least privilege on PostgreSQL: the app's role reads and writes rows; only the owner role migrates.

The owner (which `init-db` connects as, through TESTENGINE_MIGRATION_DATABASE_URL) owns every table,
so nobody else can ALTER or DROP them; the app's role is granted row access and sequence use, and not
TRUNCATE (which would bypass the audit log's row triggers). The same statements are in
deploy/postgres-roles.sql for a database administrator to read and run by hand.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RoleError(RuntimeError):
    """The role cannot be granted; nothing changed."""


def grant_statements(role: str) -> list[str]:
    if not ROLE_NAME.match(role):
        raise RoleError(f"role {role!r}: use lower-case letters, digits and underscores")
    return [
        f'GRANT CONNECT ON DATABASE "{{database}}" TO "{role}"',
        f'GRANT USAGE ON SCHEMA public TO "{role}"',
        f'REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM "{role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
        # Tables a later migration creates (as the same owner) get the same grants.
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{role}"',
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO "{role}"',
    ]


def grant_app_role(url: str, role: str) -> None:
    """Grant `role` row access to the database at `url` (connected as the owner), in one transaction."""
    if not url.startswith("postgresql"):
        raise RoleError("roles are a PostgreSQL matter: SQLite has none")
    statements = grant_statements(role)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            if connection.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}) is None:
                raise RoleError(f"role {role!r} does not exist: create it first (see deploy/postgres-roles.sql)")
            database = connection.scalar(sa.text("SELECT current_database()"))
            for statement in statements:
                connection.execute(sa.text(statement.replace("{database}", str(database))))
    finally:
        engine.dispose()
