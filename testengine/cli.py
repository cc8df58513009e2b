"""The `testengine` command. Commands commit; services only flush."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from .extensions import db, write_lock


def _create_app() -> Flask:
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """testengine: online knowledge tests for apprenticeship end-point assessment.

    Settings come from TESTENGINE_* environment variables (see README).
    """


def fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema to the latest migration."""
    from flask_migrate import upgrade

    upgrade(directory=current_app.extensions["migrate"].directory)
    click.echo("Database is up to date.")


@click.command("create-user")
@click.option("--role", "roles", multiple=True, required=True, help="apprentice, invigilator, marker, reviewer or admin (repeatable)")
@click.option("--email", required=True)
@click.option("--name", "display_name", default="", help="Full name (defaults to the email)")
@click.option("--uln", default=None, help="10-digit ULN (apprentices)")
@click.option("--moderator", is_flag=True, help="Senior marker who moderates and clears markers")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting")
@click.option("--temporary", is_flag=True, help="The password is temporary: the person must choose their own at first sign-in")
@with_appcontext
@write_lock
def create_user(roles: tuple[str, ...], email: str, display_name: str, uln: str | None, moderator: bool, password_stdin: bool,
                temporary: bool) -> None:
    """Create a user with one or more roles.

    The email address follows the same rule as the admin web form (reserved test domains only when
    TESTENGINE_ALLOW_TEST_EMAIL_DOMAINS is true)."""
    from .services import accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(
            email=email, display_name=display_name or email, password=password,
            roles=list(roles), uln=uln, moderator=moderator, temporary_password=temporary,
        )
    except accounts.AccountError as refused:
        db.session.rollback()
        fail(str(refused))
    db.session.commit()
    click.echo(f"Created {user.email} ({', '.join(sorted(user.roles))}).")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int) -> None:
    """Run the development server (use gunicorn in production; see README)."""
    current_app.run(host=host, port=port, threaded=True, use_reloader=False)


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

    from .models import User

    for user in db.session.scalars(select(User).order_by(User.email)):
        click.echo(f"{user.email}\t{','.join(sorted(user.roles))}\t{'moderator' if user.is_moderator else ''}".rstrip("\t"))


def register_cli(app: Flask) -> None:
    for command in (init_db, create_user, serve, bank_group, paper_group, users_group):
        app.cli.add_command(command)
    from . import cli_banks, cli_demo, cli_grade, cli_papers  # noqa: F401  (they attach to the groups)
    from . import cli_stats  # noqa: F401  (bank stats)

    app.cli.add_command(cli_grade.grade)
    app.cli.add_command(cli_demo.demo)
    app.cli.add_command(cli_demo.sweep)
    from .cli_resit import resit_group

    app.cli.add_command(resit_group)
    from .cli_data import data_group

    app.cli.add_command(data_group)
    from .cli_questions import questions_group

    app.cli.add_command(questions_group)
