"""How far apart the papers of one bank are in difficulty, with and without steering: simulated draws.

A bank report and the benchmark draw many papers in a row (each counted as issued, as live draws
are, so exposure steers the order as it would) and measure each paper's expected score against
the target. Without steering the spread is what chance gives; with it, most papers sit within
the tolerance, and this is how a reviewer sees whether the bank has the items to get there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from testengine.domain.paper_pool import ExposureCounts, Item, ItemPool
from testengine.domain.paper_steering import DifficultyTarget
from testengine.domain.papers import draw_paper
from testengine.domain.standards import Blueprint


@dataclass(frozen=True)
class Spread:
    """Expected scores of simulated papers, in marks. `gap` is each paper's distance from the
    target (the target facility times the marks of the paper's questions that have a facility)."""

    draws: int
    target: float  # the target, in expected marks, for a paper whose every question has a facility
    mean: float
    sd: float
    lowest: float
    highest: float
    within_one_mark: float  # share of papers whose expected score is within 1 mark of the target
    largest_gap: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "draws": self.draws,
            "target": round(self.target, 3),
            "mean": round(self.mean, 3),
            "sd": round(self.sd, 3),
            "lowest": round(self.lowest, 3),
            "highest": round(self.highest, 3),
            "within_one_mark": round(self.within_one_mark, 4),
            "largest_gap": round(self.largest_gap, 3),
        }


def simulate_spread(
    items: Sequence[Item] | ItemPool,
    blueprint: Blueprint,
    target: DifficultyTarget,
    *,
    steer: bool,
    draws: int = 1_000,
    first_seed: int = 0,
) -> Spread:
    """Draw `draws` papers in a row from a fresh exposure count (seeds first_seed, first_seed + 1,
    ...), steered to `target` or not, and measure each paper's expected score."""
    if draws < 1:
        raise ValueError(f"draws must be at least 1, not {draws}")
    pool = items if isinstance(items, ItemPool) else ItemPool(items)
    exposure = ExposureCounts(pool)
    facility = target.facility
    scores = np.zeros(draws)
    gaps = np.zeros(draws)
    for k in range(draws):
        paper = draw_paper(pool, blueprint, seed=first_seed + k, exposure=exposure, difficulty_target=target if steer else None)
        exposure.record(paper)
        known = [(q.marks, facility[q.item_id]) for q in paper.questions if q.item_id in facility]
        score = sum(m * f for m, f in known)
        scores[k] = score
        gaps[k] = abs(score - target.mean_facility * sum(m for m, _ in known))
    paper_marks = sum(q.count * q.marks for q in blueprint.quotas.values())
    return Spread(
        draws=draws,
        target=target.mean_facility * paper_marks,
        mean=float(scores.mean()),
        sd=float(scores.std(ddof=1)) if draws > 1 else 0.0,
        lowest=float(scores.min()),
        highest=float(scores.max()),
        within_one_mark=float(np.mean(gaps <= 1.0)),
        largest_gap=float(gaps.max()),
    )
