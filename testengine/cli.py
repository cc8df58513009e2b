"""The `testengine` command. Commands commit; services only flush.

Start-up is kept short: this module and the cli_* modules import only click and Flask at the top, and the
app (with SQLAlchemy, the models, NumPy) is created only by a command that needs it (`with_appcontext`).
So `testengine --help`, `testengine grade ...` and `testengine bank validate PATH` answer in a fraction of
a second; a test checks that `grade` imports no database layer.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext


def _create_app() -> Flask:
    from . import create_app

    return create_app()


class CommandGroup(FlaskGroup):
    """Flask's command group, except that it finds and lists its commands without creating the app.

    Every command is attached to this group itself (Flask's own group would create the app just to list
    `app.cli`'s commands for `--help`); the modules that define them are imported on first use.
    """

    _attached = False

    def _attach(self) -> None:
        if not self._attached:
            self._attached = True
            for command in all_commands():
                self.add_command(command)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._attach()
        return click.Group.get_command(self, ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._attach()
        return click.Group.list_commands(self, ctx)


@click.group(cls=CommandGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """testengine: online knowledge tests for apprenticeship end-point assessment.

    Settings come from TESTENGINE_* environment variables (see README).
    """


def fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def write_lock(command: Callable[..., Any]) -> Callable[..., Any]:
    """For CLI commands that write: every transaction they begin takes the SQLite write lock first.

    The same as `extensions.write_lock`, but importing the database layer only when the command runs.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .extensions import write_transaction

        with write_transaction():
            return command(*args, **kwargs)

    return wrapper


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
        from . import create_app
        from .extensions import db

        owner_app = create_app({"DATABASE_URL": owner_url})
        with owner_app.app_context():
            upgrade(directory=directory)
            db.engine.dispose()
    else:
        upgrade(directory=directory)
    click.echo("Database is up to date.")


@click.command("create-user")
@click.option(
    "--role", "roles", multiple=True, required=True, help="apprentice, invigilator, marker, reviewer or admin (repeatable)"
)
@click.option("--email", required=True)
@click.option("--name", "display_name", default="", help="Full name (defaults to the email)")
@click.option("--uln", default=None, help="10-digit ULN (apprentices)")
@click.option("--moderator", is_flag=True, help="Senior marker who moderates and clears markers")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting")
@click.option("--temporary", is_flag=True, help="The password is temporary: the person must choose their own at first sign-in")
@with_appcontext
@write_lock
def create_user(
    roles: tuple[str, ...], email: str, display_name: str, uln: str | None, moderator: bool, password_stdin: bool, temporary: bool
) -> None:
    """Create a user with one or more roles.

    The email address follows the same rule as the admin web form (reserved test domains only when
    TESTENGINE_ALLOW_TEST_EMAIL_DOMAINS is true)."""
    from .extensions import db
    from .services import accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(
            email=email,
            display_name=display_name or email,
            password=password,
            roles=list(roles),
            uln=uln,
            moderator=moderator,
            temporary_password=temporary,
        )
    except accounts.AccountError as refused:
        db.session.rollback()
        fail(str(refused))
    db.session.commit()
    click.echo(f"Created {user.email} ({', '.join(sorted(user.roles))}).")


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

    from .warm_up import warm_up

    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    warm_up(app)
    click.echo(f"Serving testengine on {login_url(host, port)}  (Ctrl+C to stop)")
    sys.stdout.flush()
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


@click.group("bank")
def bank_group() -> None:
    """Question banks: validate, import, export, report, statistics."""


@click.group("paper")
def paper_group() -> None:
    """Papers: draw and show the paper issued to an apprentice."""


@click.group("users")
def users_group() -> None:
    """People: list accounts."""


@users_group.command("list")
@with_appcontext
def users_list() -> None:
    """List users: email, roles, and "moderator" for the senior markers who moderate and clear markers."""
    from sqlalchemy import select

    from .extensions import db
    from .models import User

    for user in db.session.scalars(select(User).order_by(User.email)):
        click.echo(f"{user.email}\t{','.join(sorted(user.roles))}\t{'moderator' if user.is_moderator else ''}".rstrip("\t"))


def all_commands() -> list[click.Command]:
    """Every top-level command; importing the modules attaches their subcommands to the groups."""
    # cli_banks, cli_papers and cli_stats attach their subcommands to the groups above when imported.
    from . import cli_banks, cli_demo, cli_grade, cli_ops, cli_papers, cli_stats  # noqa: F401
    from .cli_data import data_group
    from .cli_questions import questions_group
    from .cli_resit import resit_group

    return [
        init_db,
        create_user,
        serve,
        bank_group,
        paper_group,
        users_group,
        cli_grade.grade,
        cli_demo.demo,
        cli_demo.sweep,
        data_group,
        resit_group,
        cli_ops.backup,
        cli_ops.restore,
        cli_ops.db_group,
        questions_group,
    ]


def register_cli(app: Flask) -> None:
    """The same commands on `app.cli`, for `app.test_cli_runner()` and `flask --app testengine`."""
    for command in all_commands():
        app.cli.add_command(command)
