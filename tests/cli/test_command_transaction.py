"""The command line commits in one place: `cli.command.writes` keeps what a command did when it returns,
and keeps nothing of a command that refuses (`fail`, SystemExit, any error)."""

from __future__ import annotations

import click
import pytest
from flask.cli import with_appcontext
from sqlalchemy import select

from testengine.cli.command import fail, writes
from testengine.extensions import db
from testengine.models import User


def _command(ending: str, email: str = "kept@provider.co.uk") -> click.Command:
    @click.command("try-writing")
    @with_appcontext
    @writes
    def try_writing() -> None:
        from testengine.services import accounts

        accounts.create_user(
            allow_test_domains=True, email=email, display_name="Kept", password="a long enough password", roles=["marker"]
        )
        if ending == "fail":
            fail("refused after writing")
        if ending == "error":
            raise RuntimeError("broke after writing")
        click.echo("written")

    return try_writing


def _users() -> list[str]:
    db.session.rollback()  # read what another transaction sees: what was committed
    return list(db.session.scalars(select(User.email).where(User.email.like("%@provider.co.uk")).order_by(User.email)))


def test_a_command_that_returns_is_committed(app):
    result = app.test_cli_runner().invoke(_command("return"))
    assert result.exit_code == 0, result.output
    assert _users() == ["kept@provider.co.uk"]


@pytest.mark.parametrize(("ending", "exit_code"), [("fail", 2), ("error", 1)])
def test_a_command_that_refuses_or_breaks_keeps_nothing(app, ending, exit_code):
    runner = app.test_cli_runner()
    result = runner.invoke(_command(ending))
    assert result.exit_code == exit_code
    assert _users() == []
    # Nothing of it is left in the session either, for the next command's commit to carry.
    runner.invoke(_command(ending, email="first@provider.co.uk"))
    assert runner.invoke(_command("return", email="next@provider.co.uk")).exit_code == 0
    assert _users() == ["next@provider.co.uk"]
