"""Drawing a knowledge-test paper to a standard's blueprint.

A paper is a random draw that must keep every rule of the blueprint at once: the exact number
of questions of each type at the type's marks, every required KSB sampled, no question the
apprentice has been issued before (first attempt, re-sits and re-takes alike), no question twice
and no two enemies together. None of these is ever relaxed to get a paper out: when the bank
cannot meet them, the draw raises PaperShortfall naming what ran out, so a reviewer can grow
the bank rather than an apprentice meeting a repeated or predictable paper.

How a draw works, and why:
- Every drawable item gets a random priority from one generator seeded by the paper's seed, so
  the same bank, blueprint, seed and history always give the same paper (an audit can redraw
  it). Items are sorted by id first, so the order a database returns them in changes nothing.
- With exposure counts, an item issued once more than another is e (about 2.7) times less likely
  to come first; over many papers every item is used about equally, which keeps any one paper
  hard to predict. Without exposure the draw is uniform. (So a question added to a well-used
  bank is favoured until its use catches up with the rest.)
- Each type is filled from its best-priority items. When that does not cover every required KSB
  (or enemies get in the way) a small exact search takes over: it picks, KSB by KSB, the best
  item that covers it, then fills, backtracking only where enemies or type counts force it. So a
  shortfall is raised only when no paper exists, not when a first guess failed.
- An optional DifficultyTarget then swaps questions for other front-runners of the same type
  to bring the paper's expected score near the target, never breaking a rule.

The work is NumPy over arrays built once per bank (ItemPool), so a draw from a 10,000-item bank
costs well under a millisecond; see docs/benchmarks.md.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import numpy.typing as npt

from testengine.domain.errors import DomainError
from testengine.domain.standards import Blueprint

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# Each further issue of an item divides its chance of coming first by e**_EXPOSURE_STRENGTH.
# 1.0 keeps the most-used item within a few uses of the mean while leaving every paper random.
_EXPOSURE_STRENGTH = 1.0
# A type is filled from its best 2*count + _SPARE items; the spares absorb enemies and give the
# difficulty steering something to swap in, without sorting the whole bank.
_SPARE = 8
# The first candidates looked at when covering a KSB; more are sorted only if these run out.
_KSB_HEAD = 16
# Upper limit on the steps of the exact search; only a pathological bank gets near it.
_SEARCH_LIMIT = 200_000
# Simulated apprentices behind papers_without_repeat; the answer is the fewest any of them sat.
_WITHOUT_REPEAT_RUNS = 5
_WITHOUT_REPEAT_ENTROPY = 20_663


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


@dataclass(frozen=True)
class DifficultyTarget:
    """Where a paper's difficulty should sit, from item statistics of past attempts.

    mean_facility is the wanted marks-weighted mean facility (0 to 1): the share of the paper's
    marks a typical candidate is expected to score, which is what grade boundaries are set
    against. facility maps item id to its facility; items without one (new items) are left out
    of the mean rather than guessed. Once the paper is within `tolerance`, it is left alone.
    """

    mean_facility: float
    facility: Mapping[str, float]
    tolerance: float = 0.02

    def __post_init__(self) -> None:
        if not 0.0 <= self.mean_facility <= 1.0:
            raise ValueError(f"mean_facility must be between 0 and 1, not {self.mean_facility}")
        if not 0.0 <= self.tolerance < 1.0:
            raise ValueError(f"tolerance must be between 0 and 1, not {self.tolerance}")


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


def new_seed(entropy: int | None = None) -> int:
    """A fresh seed for one paper, from OS entropy (or `entropy`, for tests).

    63 bits so it fits a signed 64-bit database column; the seed is stored with the paper so the
    draw can be repeated exactly when a paper is audited or re-rendered.
    """
    state = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))


def draw_paper(
    items: Sequence[Item] | ItemPool,
    blueprint: Blueprint,
    *,
    seed: int,
    seen: Collection[str] = (),
    exposure: Mapping[str, int] | None = None,
    difficulty_target: DifficultyTarget | None = None,
) -> Paper:
    """Draw one paper that keeps every blueprint rule, or raise PaperShortfall saying what ran out.

    `items` are the drawable versions (approved, reviewed in date), as a list or a prebuilt
    ItemPool (faster for big banks). `seen` holds every question id the apprentice was issued
    before, on any attempt; none of them is drawn again. `exposure` counts how often each id has
    been issued to anyone, and steers the draw toward the less used. The same inputs and seed
    always give the same paper, whatever order the items come in.
    """
    if seed < 0:
        raise ValueError(f"seed must not be negative, not {seed}")
    if isinstance(seen, str):
        raise TypeError("seen is a collection of question ids, not one id")
    pool = items if isinstance(items, ItemPool) else ItemPool(items)
    plan = pool._plan(blueprint)
    avail = plan.eligible.copy()
    if seen:
        avail[pool._positions(seen)] = False
    weights: FloatArray | None = None
    if isinstance(exposure, ExposureCounts) and exposure.pool is pool:
        weights = exposure._weights()
    elif exposure:
        weights = pool._values(exposure)
    facility: FloatArray | None = None
    if difficulty_target is not None:
        facility = pool._values(difficulty_target.facility, default=math.nan)
    rng = np.random.Generator(np.random.PCG64(seed))
    chosen = _select(plan, rng, avail, weights, difficulty_target, facility)
    return Paper(seed=seed, questions=_arrange(pool, plan, rng, chosen))


def papers_without_repeat(items: Sequence[Item] | ItemPool, blueprint: Blueprint) -> int:
    """How many complete papers in a row one apprentice can sit with no question repeated.

    Found by drawing them: several simulated apprentices each draw paper after paper (every
    question they were issued counting as seen) until a draw raises PaperShortfall, and the
    answer is the fewest papers any of them sat. Each count is a real run of the real draw, so it
    never claims papers the bank cannot give; it is exact whenever it reaches the simple bound
    (each type's items divided by its count, each KSB's items), which a healthy bank does.
    """
    pool = items if isinstance(items, ItemPool) else ItemPool(items)
    plan = pool._plan(blueprint)
    if not plan.types:
        raise ValueError("the blueprint asks for no questions")
    fewest = plan.upper_bound()
    states = np.random.SeedSequence(_WITHOUT_REPEAT_ENTROPY).generate_state(_WITHOUT_REPEAT_RUNS, dtype=np.uint64)
    for state in states:
        if fewest == 0:
            break
        rng = np.random.Generator(np.random.PCG64(int(state)))
        avail = plan.eligible.copy()
        sat = 0
        while sat < fewest:
            try:
                chosen = _select(plan, rng, avail, None, None, None)
            except PaperShortfall:
                break
            for picked in chosen:
                avail[picked] = False
            sat += 1
        fewest = min(fewest, sat)
    return fewest


def _select(
    plan: _Plan,
    rng: np.random.Generator,
    avail: BoolArray,
    weights: FloatArray | None,
    target: DifficultyTarget | None,
    facility: FloatArray | None,
) -> list[list[int]]:
    """Pick the items of one paper, per type in blueprint order (before shuffling)."""
    per_type, per_ksb = plan.counts_left(avail)
    shortfalls = [Shortfall(t, None, q, have) for t, q, have in zip(plan.types, plan.counts, per_type) if have < q]
    shortfalls += [Shortfall(None, k, 1, 0) for k, have in zip(plan.required, per_ksb) if have == 0]
    if shortfalls:
        raise PaperShortfall(shortfalls)

    # Priorities: smaller comes first. An exponential race is a uniform random order; adding the
    # exposure to its log weights each item by e**(-strength * uses).
    key = rng.standard_exponential(len(avail))
    if weights is not None:
        with np.errstate(divide="ignore"):  # a zero draw gives -inf: simply first in line
            key = np.log(key) + _EXPOSURE_STRENGTH * weights
    key[~avail] = np.inf
    ranked = [_Ordered(m, key, 2 * q + _SPARE) for m, q in zip(plan.members, plan.counts)]

    chosen = _front_runners(plan, ranked)
    if chosen is None:
        chosen = _search(plan, key, avail, per_ksb, ranked)
    if target is not None and facility is not None:
        _steer_difficulty(plan, chosen, ranked, target, facility)
    return chosen


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


def _steer_difficulty(
    plan: _Plan,
    chosen: list[list[int]],
    ranked: list[_Ordered],
    target: DifficultyTarget,
    facility: FloatArray,
) -> None:
    """Swap questions for same-type front-runners until the expected score is near the target.

    Only front-runners are swapped in, so the paper stays a random draw with even exposure. Each
    swap must bring the mean strictly nearer the target and keep coverage and enemies, so the
    loop ends; if the front-runners cannot reach the target, the paper gets as near as they allow.
    Marks weight the mean because a 2-mark question moves the expected score twice as much.
    """
    known = ~np.isnan(facility)
    in_paper = {i for group in chosen for i in group}
    sum_f = 0.0
    sum_m = 0.0
    for group, m in zip(chosen, plan.marks):
        for i in group:
            if known[i]:
                sum_f += m * float(facility[i])
                sum_m += m
    if sum_m == 0:
        return
    for _ in range(sum(plan.counts)):
        gap = target.mean_facility - sum_f / sum_m
        if abs(gap) <= target.tolerance:
            return
        gains: list[FloatArray] = []
        moves: list[IntArray] = []  # rows of (type, position in the paper's group, item in)
        for ti, (group, m) in enumerate(zip(chosen, plan.marks)):
            outs = np.array([p for p, i in enumerate(group) if known[i]], dtype=np.int64)
            ins = np.array([j for j in ranked[ti].head if j not in in_paper and known[j]], dtype=np.int64)
            if not len(outs) or not len(ins):
                continue
            f_out = facility[np.array(group, dtype=np.int64)[outs]]
            change = m * (facility[ins][None, :] - f_out[:, None]) / sum_m
            gains.append((abs(gap) - np.abs(gap - change)).ravel())
            out_pos, in_item = np.meshgrid(outs, ins, indexing="ij")
            moves.append(np.stack([np.full(out_pos.size, ti), out_pos.ravel(), in_item.ravel()], 1))
        if not gains:
            return
        gain = np.concatenate(gains)
        move = np.concatenate(moves)
        for k in np.argsort(-gain, kind="stable"):
            if gain[k] <= 1e-12:
                return
            ti, p, j = (int(v) for v in move[k])
            out = chosen[ti][p]
            if _swap_keeps_rules(plan, chosen, in_paper, out, j):
                chosen[ti][p] = j
                in_paper.discard(out)
                in_paper.add(j)
                sum_f += plan.marks[ti] * float(facility[j] - facility[out])
                break
        else:
            return


def _swap_keeps_rules(plan: _Plan, chosen: list[list[int]], in_paper: set[int], out: int, into: int) -> bool:
    """Whether replacing `out` by `into` keeps every required KSB covered and no enemies together."""
    if any(e in in_paper and e != out for e in plan.enemies[into]):
        return False
    covered = plan.bits[into]
    for group in chosen:
        for i in group:
            if i != out:
                covered |= plan.bits[i]
    return covered == plan.full


def _arrange(pool: ItemPool, plan: _Plan, rng: np.random.Generator, chosen: list[list[int]]) -> tuple[DrawnQuestion, ...]:
    """Paper order (types in blueprint order, shuffled within) and each question's option order.

    The shuffles come from the same generator after the selection, so the seed alone
    reproduces the whole paper, layout included.
    """
    order: list[int] = []
    for group in chosen:
        order.extend(group[k] for k in rng.permutation(len(group)).tolist())
    counts = [plan.option_counts[i] for i in order]
    draws = rng.random(sum(counts))
    questions: list[DrawnQuestion] = []
    start = 0
    for i, c in zip(order, counts):
        if c > 0:
            perm = tuple(np.argsort(draws[start : start + c], kind="stable").tolist())
            start += c
            questions.append(pool._drawn(i, perm))
        else:
            questions.append(pool._drawn(i, None))
    return tuple(questions)
