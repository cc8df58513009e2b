"""Steering a paper's difficulty: swap questions for other front-runners until its expected score
is near a target, never breaking a rule of the blueprint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from testengine.domain.paper_pool import FloatArray, IntArray, _Plan
from testengine.domain.paper_search import _Ordered


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
