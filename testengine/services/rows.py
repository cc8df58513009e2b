"""Loading a row that another row points at (a foreign key): it is there, so say so once.

`db.session.get` answers None for a missing id, and every caller then narrowed it with an assert or
left the Optional to the type checker. A page that loads what its URL names uses `db.get_or_404`
instead: a missing row there is the visitor's mistake, not the database's.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..extensions import db

Row = TypeVar("Row")


class MissingRow(LookupError):
    """A row that a stored reference names is not there: the database is inconsistent."""


def existing(model: type[Row], ident: Any) -> Row:
    """The row of `model` with primary key `ident`, which a stored reference says exists."""
    row = db.session.get(model, ident)
    if row is None:
        raise MissingRow(f"no {model.__name__} with id {ident!r}")
    return row
