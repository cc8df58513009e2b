"""The drawable items of a bank, indexed once: what a paper is made of and how it is counted.

ItemPool sorts the items by id and builds the arrays every draw works on; _Plan is one pool seen
through one blueprint (which items may fill which slot and which KSB each covers). A draw
(domain.papers) reads these and never rebuilds them, which is what keeps a draw from a
10,000-item bank under a millisecond.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import numpy.typing as npt

from testengine.domain.errors import DomainError
from testengine.domain.standards import Blueprint

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Item:
    """One drawable question version, as the caller loaded it (already approved and in date)."""

    id: str
    version: int
    type: str
    ksb: tuple[str, ...]
    marks: int
    option_count: int = 0
    enemies: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DrawnQuestion:
    """One question on a paper: which version was issued and, with options, the order shown.

    option_order[p] is the original index of the option shown at position p, so marking and
    review can map a response back to the bank's option whatever order the apprentice saw.
    """

    item_id: str
    version: int
    type: str
    marks: int
    ksb: tuple[str, ...]
    option_order: tuple[int, ...] | None


@dataclass(frozen=True)
class Paper:
    """A drawn paper and the seed that reproduces it (types in blueprint order, shuffled within)."""

    seed: int
    questions: tuple[DrawnQuestion, ...]


@dataclass(frozen=True)
class Shortfall:
    """One thing the bank could not supply: a question type, or a KSB nothing unseen covers."""

    type: str | None
    ksb: str | None
    needed: int
    available: int

    def describe(self) -> str:
        """A reviewer-readable line: what, how many were needed, how many could be used."""
        what = self.type if self.type is not None else (self.ksb or "?")
        short = max(self.needed - self.available, 0)
        if self.available == 0:
            return f"{what}: no unseen item available ({short} short)"
        return f"{what}: {self.needed} needed, {self.available} unseen available ({short} short)"


class PaperShortfall(DomainError):
    """The bank cannot make a paper that keeps every rule; `.shortfalls` says what ran out."""

    code = "bank_shortfall"

    def __init__(self, shortfalls: Sequence[Shortfall], note: str = "") -> None:
        self.shortfalls: tuple[Shortfall, ...] = tuple(shortfalls)
        listed = "; ".join(s.describe() for s in self.shortfalls) or "no paper fits the blueprint"
        message = f"Cannot draw a paper from this bank: {listed}."
        if note:
            message = f"{message} {note}"
        super().__init__(message)


class ItemPool:
    """The drawable items, sorted by id and indexed once, so a draw is array work, not a loop.

    Build one whenever the set of drawable items changes and pass it to draw_paper in place of
    the item list. When the same id comes in more than one version, only the highest version is
    drawable (a paper never carries two versions of one question).
    """

    def __init__(self, items: Iterable[Item]) -> None:
        latest: dict[str, Item] = {}
        for item in items:
            held = latest.get(item.id)
            if held is None or item.version > held.version:
                latest[item.id] = item
            elif item.version == held.version and item != held:
                raise ValueError(f"two different items claim {item.id} version {item.version}")
        self.items: tuple[Item, ...] = tuple(sorted(latest.values(), key=lambda it: it.id))
        self._index: dict[str, int] = {item.id: i for i, item in enumerate(self.items)}
        neighbours: list[set[int]] = [set() for _ in self.items]
        for i, item in enumerate(self.items):
            for other in item.enemies:
                j = self._index.get(other)
                if j is not None and j != i:
                    neighbours[i].add(j)
                    neighbours[j].add(i)
        self._enemies: tuple[tuple[int, ...], ...] = tuple(tuple(sorted(s)) for s in neighbours)
        self._plans: dict[object, _Plan] = {}
        self._plain: list[DrawnQuestion | None] = [None] * len(self.items)
        self._facility: tuple[Mapping[str, float], FloatArray] | None = None

    def __len__(self) -> int:
        return len(self.items)

    def _positions(self, ids: Iterable[str]) -> IntArray:
        """Pool positions of the given ids; ids not in the pool (retired, other banks) are dropped."""
        found = np.fromiter(map(self._index.get, ids, repeat(-1)), dtype=np.int64)
        return found[found >= 0]

    def _values(self, by_id: Mapping[str, float], default: float = 0.0) -> FloatArray:
        """A per-position array from a per-id mapping (ids not in the pool are ignored)."""
        out = np.full(len(self.items), default, dtype=np.float64)
        if not by_id:
            return out
        where = np.fromiter(map(self._index.get, by_id.keys(), repeat(-1)), np.int64, len(by_id))
        vals = np.fromiter(by_id.values(), np.float64, len(by_id))  # same order as keys()
        known = where >= 0
        out[where[known]] = vals[known]
        return out

    def _facilities(self, by_id: Mapping[str, float]) -> FloatArray:
        """Facility per position, NaN where unknown; the last mapping's array is kept, since a
        service draws many papers in a row with one mapping (the bank's statistics)."""
        kept = self._facility
        if kept is not None and kept[0] is by_id:
            return kept[1]
        out = self._values(by_id, default=np.nan)
        out.setflags(write=False)
        self._facility = (by_id, out)
        return out

    def _plan(self, blueprint: Blueprint) -> _Plan:
        """The pool indexed for one blueprint, built on first use and kept."""
        key = (
            tuple((t, q.count, q.marks) for t, q in blueprint.quotas.items()),
            tuple(blueprint.required_ksbs),
        )
        plan = self._plans.get(key)
        if plan is None:
            plan = _Plan(self, blueprint)
            self._plans[key] = plan
        return plan

    def _drawn(self, i: int, option_order: tuple[int, ...] | None) -> DrawnQuestion:
        """The issued form of item i; questions without options are built once and shared."""
        item = self.items[i]
        if option_order is not None:
            return DrawnQuestion(item.id, item.version, item.type, item.marks, item.ksb, option_order)
        plain = self._plain[i]
        if plain is None:
            plain = DrawnQuestion(item.id, item.version, item.type, item.marks, item.ksb, None)
            self._plain[i] = plain
        return plain


class ExposureCounts(Mapping[str, int]):
    """How often each item of one pool has been issued, as an array aligned with the pool.

    Any Mapping works as draw_paper's `exposure`; this one skips turning every id into a pool
    position on each draw, which matters when many papers are drawn from one pool in a row.
    Ids outside the pool are not counted (they cannot be drawn from it).
    """

    def __init__(self, pool: ItemPool, counts: Mapping[str, int] | None = None) -> None:
        self.pool = pool
        self._counts: IntArray = pool._values(counts or {}).astype(np.int64)

    def __getitem__(self, item_id: str) -> int:
        return int(self._counts[self.pool._index[item_id]])

    def __iter__(self) -> Iterator[str]:
        return (item.id for item in self.pool.items)

    def __len__(self) -> int:
        return len(self.pool.items)

    def record(self, paper: Paper) -> None:
        """Count a drawn paper's questions as issued once more."""
        np.add.at(self._counts, self.pool._positions(q.item_id for q in paper.questions), 1)

    def _weights(self) -> FloatArray:
        return self._counts.astype(np.float64)


class _Plan:
    """One pool seen through one blueprint: which items are drawable for which slot and KSB."""

    def __init__(self, pool: ItemPool, blueprint: Blueprint) -> None:
        self.enemies = pool._enemies
        active = [(t, q) for t, q in blueprint.quotas.items() if q.count > 0]
        self.types: tuple[str, ...] = tuple(t for t, _ in active)
        self.counts: tuple[int, ...] = tuple(q.count for _, q in active)
        self.marks: tuple[int, ...] = tuple(q.marks for _, q in active)
        self.required: tuple[str, ...] = tuple(dict.fromkeys(blueprint.required_ksbs))
        self.full: int = (1 << len(self.required)) - 1
        slot = {t: (ti, q.marks) for ti, (t, q) in enumerate(active)}
        bit = {k: r for r, k in enumerate(self.required)}
        n = len(pool.items)
        type_of = np.full(n, -1, dtype=np.int64)
        self.bits: list[int] = [0] * n
        covering: list[list[int]] = [[] for _ in self.required]
        for i, item in enumerate(pool.items):
            found = slot.get(item.type)
            if found is None or found[1] != item.marks:
                continue  # not drawable for this blueprint: wrong type, or marks that break the shape
            type_of[i] = found[0]
            for r in sorted({bit[code] for code in item.ksb if code in bit}):
                self.bits[i] |= 1 << r
                covering[r].append(i)
        self.type_of: IntArray = type_of
        self.eligible: BoolArray = type_of >= 0
        self.members: tuple[IntArray, ...] = tuple(
            np.flatnonzero(type_of == ti).astype(np.int64) for ti in range(len(self.types))
        )
        self.cover: tuple[IntArray, ...] = tuple(np.array(c, dtype=np.int64) for c in covering)
        self.option_counts: list[int] = [item.option_count for item in pool.items]

    def counts_left(self, avail: BoolArray) -> tuple[list[int], list[int]]:
        """How many unseen drawable items each type and each required KSB still has."""
        per_type = [int(np.count_nonzero(avail[m])) for m in self.members]
        per_ksb = [int(np.count_nonzero(avail[c])) for c in self.cover]
        return per_type, per_ksb

    def upper_bound(self) -> int:
        """Papers a fresh apprentice could sit at most: each type and each KSB is used up by then."""
        limits = [len(m) // q for m, q in zip(self.members, self.counts)]
        limits += [len(c) for c in self.cover]
        return min(limits) if limits else 0
