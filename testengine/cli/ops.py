"""`testengine init-db`, `serve`, `backup`, `restore` and `db ...`: running the service (see docs/deploy.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import ScriptInfo, with_appcontext

from ..clock import utcnow
from .command import fail


def known_revisions() -> set[str]:
    """Every schema version this release's migrations know."""
    from alembic.script import ScriptDirectory

    from ..ops.schema import script_directory

    scripts: ScriptDirectory = script_directory()
    return {script.revision for script in scripts.walk_revisions()}


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema to the latest migration.

    Connects with TESTENGINE_MIGRATION_DATABASE_URL when set (the owner role, on PostgreSQL), so the
    app's own role never needs the right to alter or drop tables.
    """
    from flask_migrate import upgrade

    directory = current_app.extensions["migrate"].directory
    owner_url = current_app.config["TESTENGINE"]["MIGRATION_DATABASE_URL"]
    if owner_url:
        from .. import create_app
        from ..extensions import db

        owner_app = create_app({"DATABASE_URL": owner_url})
        with owner_app.app_context():
            upgrade(directory=directory)
            db.engine.dispose()
    else:
        upgrade(directory=directory)
    click.echo("Database is up to date.")


def login_url(host: str, port: int) -> str:
    """The address to open in a browser for a server listening on host:port (any address: this machine)."""
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else (f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}/login"


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every address)")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    """Run the development server (use gunicorn in production; see README).

    Werkzeug's server is run directly: Flask ignores `app.run()` inside its own command line.
    """
    from werkzeug.serving import run_simple

    from ..warm_up import warm_up

    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    warm_up(app)
    click.echo(f"Serving testengine on {login_url(host, port)}  (Ctrl+C to stop)")
    sys.stdout.flush()
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def backup(path: Path) -> None:
    """Write a consistent backup of the live database to the new directory PATH.

    Safe while apprentices are saving. PATH holds manifest.json (schema version, sha256) and the data.
    """
    from ..extensions import db
    from ..services.backup import BackupError, make_backup

    db.session.remove()  # hold no transaction of our own while the copy reads
    try:
        manifest = make_backup(current_app.config["TESTENGINE"]["DATABASE_URL"], path, utcnow())
    except BackupError as refused:
        fail(str(refused))
    click.echo(f"Backed up to {path} (schema {manifest.schema_revision}, sha256 {manifest.sha256[:12]}...).")


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite a database that already holds data")
@with_appcontext
def restore(path: Path, force: bool) -> None:
    """Replace the database with the backup at PATH (stop the service first).

    Refuses a backup with a bad checksum or from a newer release, and a database that is not empty
    unless --force. Afterwards run `testengine init-db` to bring an older backup up to this release.
    """
    from ..extensions import db
    from ..services.backup import BackupError, restore_backup

    db.session.remove()
    db.engine.dispose()  # our own pooled connections must not outlive the data they saw
    try:
        manifest = restore_backup(current_app.config["TESTENGINE"]["DATABASE_URL"], path, known_revisions(), force=force)
    except BackupError as refused:
        fail(str(refused))
    click.echo(f"Restored {path} (schema {manifest.schema_revision}, made {manifest.created_at}).")


@click.group("db")
def db_group() -> None:
    """The database itself: roles and privileges (PostgreSQL)."""


@db_group.command("grant-app-role")
@click.argument("role")
@with_appcontext
def grant_app_role(role: str) -> None:
    """Let ROLE read and write rows of every table (not TRUNCATE, drop or alter): the role the app runs as.

    Run with TESTENGINE_MIGRATION_DATABASE_URL (or DATABASE_URL) connecting as the owner role; again after a restore.
    """
    from ..ops.roles import RoleError
    from ..ops.roles import grant_app_role as grant

    settings = current_app.config["TESTENGINE"]
    url = settings["MIGRATION_DATABASE_URL"] or settings["DATABASE_URL"]
    try:
        grant(url, role)
    except RoleError as refused:
        fail(str(refused))
    click.echo(f"{role} may now read and write rows (no TRUNCATE, DROP or ALTER).")
