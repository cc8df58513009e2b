"""Steering a paper's difficulty: swap questions for other front-runners until its expected score
is near a target, never breaking a rule of the blueprint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

from testengine.domain.paper_pool import BoolArray, FloatArray, IntArray, Item, ItemPool, Paper, _Plan
from testengine.domain.paper_search import _Ordered
from testengine.domain.standards import Blueprint


@dataclass(frozen=True)
class DifficultyTarget:
    """Where a paper's difficulty should sit, from item statistics of past attempts.

    mean_facility is the wanted marks-weighted mean facility (0 to 1): the share of the paper's
    marks a typical candidate is expected to score, which is what grade boundaries are set
    against. facility maps item id to its facility; items without one (new items) are left out
    of the mean rather than guessed. Once the paper is within `tolerance`, it is left alone.
    The mapping is read as it stands when first drawn with (a pool keeps its array), so give a
    new mapping, not a changed one, when the statistics change.
    """

    mean_facility: float
    facility: Mapping[str, float]
    tolerance: float = 0.02

    def __post_init__(self) -> None:
        if not 0.0 <= self.mean_facility <= 1.0:
            raise ValueError(f"mean_facility must be between 0 and 1, not {self.mean_facility}")
        if not 0.0 <= self.tolerance < 1.0:
            raise ValueError(f"tolerance must be between 0 and 1, not {self.tolerance}")


def bank_target(items: Sequence[Item] | ItemPool, blueprint: Blueprint, facility: Mapping[str, float]) -> float | None:
    """The mean facility of a paper drawn at random: the bank's own level, which every paper is
    steered to so that no apprentice meets a harder paper than another.

    Per question type, the mean facility of the type's drawable items that have one, weighted by
    the marks the blueprint gives the type (a 2-mark type counts twice per question). Types with
    no facility yet are left out; None when no drawable item has one (nothing to steer by).
    """
    pool = items if isinstance(items, ItemPool) else ItemPool(items)
    plan = pool._plan(blueprint)
    values = pool._facilities(facility)
    weighted = 0.0
    weight = 0.0
    for members, count, marks in zip(plan.members, plan.counts, plan.marks):
        known = values[members]
        known = known[~np.isnan(known)]
        if len(known):
            weighted += count * marks * float(known.mean())
            weight += count * marks
    return weighted / weight if weight else None


def expected_score(paper: Paper, facility: Mapping[str, float]) -> float:
    """The marks a typical candidate is expected to score on the paper's questions that have a
    facility (marks x facility, summed); questions without one add nothing."""
    return sum(q.marks * facility[q.item_id] for q in paper.questions if q.item_id in facility)


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
    Each round takes the swap of largest gain that keeps the rules (the first such, in type,
    paper and front-runner order, on a tie); items without a facility are never swapped.
    """
    known = ~np.isnan(facility)
    groups = [np.array(group, dtype=np.int64) for group in chosen]
    sum_f = 0.0
    sum_m = 0.0
    for group, m in zip(groups, plan.marks):
        mine = group[known[group]]
        sum_f += m * float(facility[mine].sum())
        sum_m += m * len(mine)
    if sum_m == 0:
        return
    in_paper = np.zeros(len(known), dtype=bool)
    for group in groups:
        in_paper[group] = True
    heads = [np.array(order.head, dtype=np.int64) for order in ranked]
    heads = [head[known[head]] for head in heads]
    for _ in range(sum(plan.counts)):
        gap = target.mean_facility - sum_f / sum_m
        if abs(gap) <= target.tolerance:
            return
        gains: list[FloatArray] = []
        shapes: list[tuple[int, IntArray, IntArray]] = []  # (type, paper positions out, items in)
        for ti, (group, m) in enumerate(zip(groups, plan.marks)):
            outs = np.flatnonzero(known[group])
            ins = heads[ti][~in_paper[heads[ti]]]
            if not len(outs) or not len(ins):
                continue
            change = m * (facility[ins][None, :] - facility[group[outs]][:, None]) / sum_m
            gains.append((abs(gap) - np.abs(gap - change)).ravel())
            shapes.append((ti, outs, ins))
        if not gains:
            return
        gain = np.concatenate(gains)
        starts = np.cumsum([0] + [len(g) for g in gains])
        while True:
            k = int(np.argmax(gain))
            if gain[k] <= 1e-12:
                return
            part = int(np.searchsorted(starts, k, side="right")) - 1
            ti, outs, ins = shapes[part]
            row, col = divmod(k - int(starts[part]), len(ins))
            p, j = int(outs[row]), int(ins[col])
            out = int(groups[ti][p])
            if _swap_keeps_rules(plan, chosen, in_paper, out, j):
                groups[ti][p] = j
                chosen[ti][p] = j
                in_paper[out] = False
                in_paper[j] = True
                sum_f += plan.marks[ti] * float(facility[j] - facility[out])
                break
            gain[k] = -np.inf


def _swap_keeps_rules(plan: _Plan, chosen: list[list[int]], in_paper: BoolArray | AbstractSet[int], out: int, into: int) -> bool:
    """Whether replacing `out` by `into` keeps every required KSB covered and no enemies together.

    `in_paper` says which pool positions are on the paper: a mask over the pool, or a set of them.
    """
    on = in_paper.__contains__ if isinstance(in_paper, AbstractSet) else lambda e: bool(in_paper[e])
    if any(on(e) and e != out for e in plan.enemies[into]):
        return False
    covered = plan.bits[into]
    for group in chosen:
        for i in group:
            if i != out:
                covered |= plan.bits[i]
    return covered == plan.full
