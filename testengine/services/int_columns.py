"""Integer columns from the database straight into NumPy, for statistics over a million rows.

At that size SQLAlchemy's Row objects, and even the driver's own Python ints, cost more than the
query; these helpers read through the DBAPI cursor of the session's connection (so in the same
transaction), in batches, packing several small integers into one in SQL where they fit.
"""

from __future__ import annotations

from itertools import chain
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import BigInteger, Select, and_, case, cast

from ..extensions import db

CHUNK = 500  # ids per IN (...) in the few follow-up queries
FETCH_ROWS = 65_536  # rows per fetchmany from the driver


class Field(NamedTuple):
    """An integer column (or SQL expression) read packed with others (`int_columns`)."""

    column: Any
    bits: int  # the width its values must fit
    checked: bool = True  # False for codes the SQL itself keeps in range (a CASE)


def int_rows(stmt: Select[Any]) -> np.ndarray:
    """An all-integer, never-NULL Core select as a (rows, columns) int64 array.

    Read from the DBAPI cursor of the session's connection (so in the same transaction), in
    batches: at a million rows SQLAlchemy's Row objects would cost as much again as the driver's
    own tuples.
    """
    conn = db.session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    width = len(stmt.selected_columns)
    parts = []
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        while rows := cursor.fetchmany(FETCH_ROWS):
            flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=len(rows) * width)
            parts.append(flat.reshape(len(rows), width))
    finally:
        cursor.close()
    return np.concatenate(parts) if parts else np.zeros((0, width), dtype=np.int64)


def packed(fields: list[Field]) -> Any:
    """Small non-negative integers as one BIGINT, the first field in the highest bits; -1 when
    one of them is negative or wider than its bits."""
    value: Any = None
    for one in fields:
        if value is None:
            value = cast(one.column, BigInteger)
        else:
            value = value * (1 << one.bits) + one.column
    fits = [f.column.between(0, (1 << f.bits) - 1) for f in fields if f.checked]
    return case((and_(*fits), value), else_=-1) if fits else value


def int_columns(stmt: Select[Any], *groups: list[Field]) -> list[np.ndarray]:
    """Integer columns of `stmt` (its FROM and WHERE; never NULL), one array per field.

    The driver makes a Python int of every value it hands over, which at a million rows costs more
    than the query: each group of fields (at most 63 bits together) comes back as one integer
    packed in SQL and is taken apart here. Should a value not fit its width, the whole select is
    read again one column per field, so the answer never depends on the packing.
    """
    rows = int_rows(stmt.with_only_columns(*(packed(group) for group in groups)))
    if (rows < 0).any():
        plain = int_rows(stmt.with_only_columns(*(f.column for group in groups for f in group)))
        return [np.ascontiguousarray(column) for column in plain.T]
    out: list[np.ndarray] = []
    for value, group in zip(rows.T, groups):
        parts = []
        for one in reversed(group):
            parts.append(value & ((1 << one.bits) - 1))
            value = value >> one.bits
        out += reversed(parts)
    return out


class Lookup:
    """Where ids sit in an array of unique ids, by binary search (no dict of a million entries)."""

    def __init__(self, keys: np.ndarray) -> None:
        self.sorter = np.argsort(keys, kind="stable")
        self.sorted = keys[self.sorter]

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        """Each id's index in the keys, -1 for an id that is not there."""
        if not self.sorted.size:
            return np.full(np.shape(ids), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.sorted, ids), self.sorted.size - 1)
        return np.where(self.sorted[at] == ids, self.sorter[at], -1)


def dense(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(ids, return_inverse=True) without sorting a million ids: database ids are dense
    enough to mark them in a table as long as the range they span."""
    if not ids.size or int(ids.max()) - int(ids.min()) > 8 * ids.size + 65_536:
        unique, inverse = np.unique(ids, return_inverse=True)
        return unique, inverse.reshape(-1).astype(np.int64, copy=False)
    low = int(ids.min())
    seen = np.zeros(int(ids.max()) - low + 1, dtype=bool)
    seen[ids - low] = True
    index = np.cumsum(seen, dtype=np.int64) - 1
    return np.flatnonzero(seen) + low, index[ids - low]


def chunks(ids: Any) -> Any:
    ids = sorted({int(i) for i in ids})
    return (ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK))
