"""The `testengine` command: one group whose commands live in the modules of this package.

Start-up is kept short: this package's modules import only click and Flask at the top, and the app (with
SQLAlchemy, the models, NumPy) is created only by a command that needs it (`with_appcontext`). So
`testengine --help`, `testengine grade ...` and `testengine bank validate PATH` answer in a fraction of a
second; a test checks that `grade` imports no database layer.

Commands that write commit through one wrapper, `command.writes`: once when the command returns, a
rollback when it refuses. Services only flush.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup


def _create_app() -> Flask:
    from .. import create_app

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


def all_commands() -> list[click.Command]:
    """Every top-level command; importing the modules attaches their subcommands to the groups."""
    # banks, papers and stats attach their subcommands to the groups of `command` when imported.
    from . import banks, demo, grade, ops, papers, stats, users  # noqa: F401
    from .command import bank_group, paper_group
    from .data import data_group
    from .questions import questions_group
    from .resit import resit_group

    return [
        ops.init_db,
        users.create_user,
        ops.serve,
        bank_group,
        paper_group,
        users.users_group,
        grade.grade,
        demo.demo,
        demo.sweep,
        data_group,
        resit_group,
        ops.backup,
        ops.restore,
        ops.db_group,
        questions_group,
    ]


def register_cli(app: Flask) -> None:
    """The same commands on `app.cli`, for `app.test_cli_runner()` and `flask --app testengine`."""
    for command in all_commands():
        app.cli.add_command(command)
