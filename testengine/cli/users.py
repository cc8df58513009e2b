"""`testengine create-user` and `testengine users list`: accounts from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from .command import fail, writes


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
@writes
def create_user(
    roles: tuple[str, ...], email: str, display_name: str, uln: str | None, moderator: bool, password_stdin: bool, temporary: bool
) -> None:
    """Create a user with one or more roles.

    The email address follows the same rule as the admin web form (reserved test domains only when
    TESTENGINE_ALLOW_TEST_EMAIL_DOMAINS is true)."""
    from ..service_settings import test_email_domains_allowed
    from ..services import accounts

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
            allow_test_domains=test_email_domains_allowed(),
        )
    except accounts.AccountError as refused:
        fail(str(refused))
    click.echo(f"Created {user.email} ({', '.join(sorted(user.roles))}).")


@click.group("users")
def users_group() -> None:
    """People: list accounts."""


@users_group.command("list")
@with_appcontext
def users_list() -> None:
    """List users: email, roles, and "moderator" for the senior markers who moderate and clear markers."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import User

    for user in db.session.scalars(select(User).order_by(User.email)):
        click.echo(f"{user.email}\t{','.join(sorted(user.roles))}\t{'moderator' if user.is_moderator else ''}".rstrip("\t"))
