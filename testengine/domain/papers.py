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

from collections.abc import Collection, Mapping, Sequence

import numpy as np

from testengine.domain.paper_pool import (
    BoolArray,
    DrawnQuestion,
    ExposureCounts,
    FloatArray,
    IntArray,
    Item,
    ItemPool,
    Paper,
    PaperShortfall,
    Shortfall,
    _Plan,
)
from testengine.domain.paper_search import _KSB_HEAD, _SEARCH_LIMIT, _front_runners, _GaveUp, _Ordered, _Search, _search
from testengine.domain.paper_steering import DifficultyTarget, _steer_difficulty, _swap_keeps_rules, bank_target, expected_score
from testengine.domain.standards import Blueprint

__all__ = [
    "BoolArray",
    "DifficultyTarget",
    "DrawnQuestion",
    "ExposureCounts",
    "FloatArray",
    "IntArray",
    "Item",
    "ItemPool",
    "Paper",
    "PaperShortfall",
    "Shortfall",
    "bank_target",
    "draw_paper",
    "expected_score",
    "new_seed",
    "papers_without_repeat",
]
# The private names of the parts stay importable from here, as they were before the split.
_PARTS = (_KSB_HEAD, _SEARCH_LIMIT, _GaveUp, _Search, _front_runners, _search, _swap_keeps_rules)

# Each further issue of an item divides its chance of coming first by e**_EXPOSURE_STRENGTH.
# 1.0 keeps the most-used item within a few uses of the mean while leaving every paper random.
_EXPOSURE_STRENGTH = 1.0
# A type is filled from its best 2*count + _SPARE items; the spares absorb enemies and give the
# difficulty steering something to swap in, without sorting the whole bank.
_SPARE = 8
# Simulated apprentices behind papers_without_repeat; the answer is the fewest any of them sat.
_WITHOUT_REPEAT_RUNS = 5
_WITHOUT_REPEAT_ENTROPY = 20_663


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
        facility = pool._facilities(difficulty_target.facility)
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
    with_options = [c for c in counts if c > 0]
    perms: list[tuple[int, ...]]
    if with_options and min(with_options) == max(with_options):
        # Every question with options has as many (four MCQ options): one sort of a row each, the
        # same orders as sorting each question's slice of the draws in turn, at a fraction of the cost.
        perms = [tuple(row) for row in np.argsort(draws.reshape(-1, with_options[0]), axis=1, kind="stable").tolist()]
    else:
        perms = []
        start = 0
        for c in with_options:
            perms.append(tuple(np.argsort(draws[start : start + c], kind="stable").tolist()))
            start += c
    questions: list[DrawnQuestion] = []
    next_perm = iter(perms)
    for i, c in zip(order, counts):
        questions.append(pool._drawn(i, next(next_perm) if c > 0 else None))
    return tuple(questions)
