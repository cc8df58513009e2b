"""Finding the items of one paper: the front-runners of a random order, or an exact search.

Each type is filled from its best-priority items. When that does not cover every required KSB
(or enemies get in the way) a small exact search takes over: it picks, KSB by KSB, the best item
that covers it, then fills, backtracking only where enemies or type counts force it. So a
shortfall is raised only when no paper exists, not when a first guess failed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from testengine.domain.paper_pool import BoolArray, FloatArray, IntArray, PaperShortfall, Shortfall, _Plan

# The first candidates looked at when covering a KSB; more are sorted only if these run out.
_KSB_HEAD = 16
# Upper limit on the steps of the exact search; only a pathological bank gets near it.
_SEARCH_LIMIT = 200_000


class _Ordered:
    """Candidates in priority order, sorting only the head until more are asked for."""

    def __init__(self, idx: IntArray, key: FloatArray, head: int) -> None:
        self._idx = idx
        self._key = key[idx]
        finite = int(np.count_nonzero(np.isfinite(self._key)))
        take = min(head, finite)
        if take < len(self._key):
            part = np.argpartition(self._key, take - 1)[:take] if take > 0 else np.zeros(0, np.int64)
        else:
            part = np.arange(len(self._key))
        part = part[np.argsort(self._key[part], kind="stable")]
        self._head_pos = part
        self.head: list[int] = idx[part].tolist()
        self._all: list[int] | None = None if take < finite else self.head

    def full(self) -> list[int]:
        if self._all is None:
            rest = np.isfinite(self._key)
            rest[self._head_pos] = False
            pos = np.flatnonzero(rest)
            pos = pos[np.argsort(self._key[pos], kind="stable")]
            self._all = self.head + self._idx[pos].tolist()
        return self._all

    def at(self, k: int) -> int | None:
        if k < len(self.head):
            return self.head[k]
        every = self.full()
        return every[k] if k < len(every) else None

    def __iter__(self) -> Iterator[int]:
        yield from self.head
        yield from self.full()[len(self.head) :]


class _Search:
    """The exact fallback: cover KSBs by backtracking, then fill, branching only where it matters.

    Items that are interchangeable (same type, same newly covered KSBs, no enemies left in play)
    are tried once, so the search stays small; it gives up only after _SEARCH_LIMIT steps.
    """

    def __init__(
        self,
        plan: _Plan,
        key: FloatArray,
        avail: BoolArray,
        per_ksb: list[int],
        ranked: list[_Ordered],
    ) -> None:
        self.plan = plan
        self.key = key
        self.avail = avail
        self.per_ksb = per_ksb
        self.ranked = ranked
        self.counts = [0] * len(plan.types)
        self.chosen: list[int] = []
        self.chosen_set: set[int] = set()
        self.blocked: dict[int, int] = {}
        self.steps = 0
        self.dead_ksbs: set[int] = set()
        self.short_types: dict[int, int] = {}  # type -> most of it any dead end managed
        self._ksb_order: dict[int, _Ordered] = {}
        self._live: dict[int, bool] = {}

    def tick(self) -> None:
        self.steps += 1
        if self.steps > _SEARCH_LIMIT:
            raise _GaveUp

    def live_enemies(self, i: int) -> bool:
        live = self._live.get(i)
        if live is None:
            live = any(bool(self.avail[j]) for j in self.plan.enemies[i])
            self._live[i] = live
        return live

    def choose(self, i: int) -> None:
        self.chosen.append(i)
        self.chosen_set.add(i)
        self.counts[int(self.plan.type_of[i])] += 1
        for j in self.plan.enemies[i]:
            self.blocked[j] = self.blocked.get(j, 0) + 1

    def undo(self, i: int) -> None:
        self.chosen.pop()
        self.chosen_set.discard(i)
        self.counts[int(self.plan.type_of[i])] -= 1
        for j in self.plan.enemies[i]:
            self.blocked[j] -= 1

    def usable(self, i: int) -> bool:
        return i not in self.chosen_set and not self.blocked.get(i)

    def cover(self, uncovered: int) -> bool:
        if uncovered == 0:
            return self.fill(0, 0)
        open_ksbs = [r for r in range(len(self.plan.required)) if uncovered >> r & 1]
        r = min(open_ksbs, key=lambda k: (self.per_ksb[k], k))  # fewest candidates first
        order = self._ksb_order.get(r)
        if order is None:
            order = _Ordered(self.plan.cover[r], self.key, _KSB_HEAD)
            self._ksb_order[r] = order
        tried: set[tuple[int, int, int]] = set()
        for i in order:
            self.tick()
            if not self.usable(i):
                continue
            ti = int(self.plan.type_of[i])
            if self.counts[ti] >= self.plan.counts[ti]:
                continue
            sig = (ti, self.plan.bits[i] & uncovered, i if self.live_enemies(i) else -1)
            if sig in tried:
                continue
            tried.add(sig)
            self.choose(i)
            if self.cover(uncovered & ~self.plan.bits[i]):
                return True
            self.undo(i)
        if not tried:
            self.dead_ksbs.add(r)
        return False

    def fill(self, ti: int, pos: int) -> bool:
        while ti < len(self.plan.types) and self.counts[ti] >= self.plan.counts[ti]:
            ti, pos = ti + 1, 0
        if ti == len(self.plan.types):
            return True
        order = self.ranked[ti]
        while True:
            i = order.at(pos)
            if i is None:
                self.short_types[ti] = max(self.short_types.get(ti, 0), self.counts[ti])
                return False
            pos += 1
            self.tick()
            if not self.usable(i):
                continue
            self.choose(i)
            if self.fill(ti, pos):
                return True
            self.undo(i)
            if not self.live_enemies(i):
                # Any paper that skips i could take i in place of a later item of this type,
                # so if taking i failed, skipping it fails too.
                return False


class _GaveUp(Exception):
    pass


def _front_runners(plan: _Plan, ranked: list[_Ordered]) -> list[list[int]] | None:
    """The common case: each type's best items, skipping enemies; None if that breaks a rule."""
    chosen: list[list[int]] = []
    blocked: set[int] = set()
    covered = 0
    bits, enemies = plan.bits, plan.enemies
    for order, q in zip(ranked, plan.counts):
        got: list[int] = []
        for i in order.head:
            if i in blocked:
                continue
            got.append(i)
            covered |= bits[i]
            if enemies[i]:
                blocked.update(enemies[i])
            if len(got) == q:
                break
        if len(got) < q:
            return None
        chosen.append(got)
    return chosen if covered == plan.full else None


def _search(plan: _Plan, key: FloatArray, avail: BoolArray, per_ksb: list[int], ranked: list[_Ordered]) -> list[list[int]]:
    search = _Search(plan, key, avail, per_ksb, ranked)
    note = "Enemy pairs or the paper's type counts rule out the unseen items that are left."
    try:
        found = search.cover(plan.full)
    except _GaveUp:
        found = False
        note = "No paper was found within the search limit; " + note
    if not found:
        shortfalls = [Shortfall(plan.types[ti], None, plan.counts[ti], best) for ti, best in sorted(search.short_types.items())]
        shortfalls += [Shortfall(None, plan.required[r], 1, 0) for r in sorted(search.dead_ksbs)]
        raise PaperShortfall(shortfalls, note)
    chosen: list[list[int]] = [[] for _ in plan.types]
    for i in sorted(search.chosen, key=lambda j: key[j]):
        chosen[int(plan.type_of[i])].append(i)
    return chosen
