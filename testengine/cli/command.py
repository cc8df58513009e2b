"""What the commands share: how they refuse (`fail`), the one place they commit (`writes`), and the groups
that several modules add subcommands to.

Imports only click at the top, so that a command without a database starts fast (tests/cli/test_startup.py).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> NoReturn:
    """Refuse: the message on standard error, exit `code`. Under `writes` nothing the command did is kept."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def writes(command: F) -> F:
    """The CLI's transaction: the command's changes are committed once, when it returns; a command that
    refuses (`fail`, SystemExit, any error) is rolled back, so it leaves nothing half done.

    Every transaction it begins takes the SQLite write lock first (`extensions.write_transaction`), as a web
    POST does. Services only flush; this is the only commit in the CLI. The database
    layer is imported only when the command runs.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..extensions import db, write_transaction

        with write_transaction():
            try:
                result = command(*args, **kwargs)
            except BaseException:
                db.session.rollback()
                raise
            db.session.commit()
        return result

    return wrapper  # type: ignore[return-value]


def end_read() -> None:
    """End a read-only transaction (nothing to keep), so that a command holds no snapshot while it does
    slow work such as writing a file, and its next transaction starts afresh."""
    from ..extensions import db

    db.session.rollback()


@click.group("bank")
def bank_group() -> None:
    """Question banks: validate, import, export, report, statistics."""


@click.group("paper")
def paper_group() -> None:
    """Papers: draw and show the paper issued to an apprentice."""
