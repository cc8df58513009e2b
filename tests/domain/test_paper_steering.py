"""Parallel papers: steering each paper's expected score to the bank's target keeps every rule."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from testengine.domain.paper_spread import simulate_spread
from testengine.domain.papers import (
    DifficultyTarget,
    ExposureCounts,
    Item,
    ItemPool,
    bank_target,
    draw_paper,
    expected_score,
)
from testengine.domain.standards import Blueprint, TypeQuota
from tests.domain.test_papers import assert_valid

KSBS = ("K1", "K2", "K3", "K4")
BLUEPRINT = Blueprint({"mcq": TypeQuota(6, 1), "short_answer": TypeQuota(8, 2)}, KSBS)
PAPER_MARKS = 6 + 16


def small_bank() -> list[Item]:
    """60 items, a few enemy pairs, each KSB on many items: room to steer, rules to keep."""
    items = []
    for i in range(60):
        kind, marks, options = ("mcq", 1, 4) if i % 5 < 2 else ("short_answer", 2, 0)
        enemies = frozenset({f"Q{i + 1:02d}"}) if i % 10 == 3 else frozenset()
        items.append(Item(f"Q{i:02d}", 1, kind, (KSBS[i % 4],), marks, options, enemies))
    return items


ITEMS = small_bank()
POOL = ItemPool(ITEMS)
_rnd = random.Random(7)
FACILITY = {item.id: round(_rnd.uniform(0.25, 0.95), 4) for item in ITEMS}


def test_bank_target_is_the_blueprint_weighted_mean_facility():
    """6 MCQ at 1 mark and 8 short answers at 2: the types weigh 6 and 16."""
    items = [Item("M1", 1, "mcq", ("K1",), 1, 4), Item("M2", 1, "mcq", ("K2",), 1, 4)]
    items += [Item("S1", 1, "short_answer", ("K3",), 2, 0), Item("S2", 1, "short_answer", ("K4",), 2, 0)]
    facility = {"M1": 0.9, "M2": 0.7, "S1": 0.4, "S2": 0.6}
    assert bank_target(items, BLUEPRINT, facility) == pytest.approx((6 * 0.8 + 16 * 0.5) / 22)
    # A type with no facility yet is left out; no facility at all gives no target.
    assert bank_target(items, BLUEPRINT, {"M1": 0.9}) == pytest.approx(0.9)
    assert bank_target(items, BLUEPRINT, {}) is None


def test_steering_narrows_the_spread_of_expected_scores():
    target = DifficultyTarget(bank_target(POOL, BLUEPRINT, FACILITY) or 0.0, FACILITY, tolerance=0.5 / PAPER_MARKS)
    without = simulate_spread(POOL, BLUEPRINT, target, steer=False, draws=400)
    steered = simulate_spread(POOL, BLUEPRINT, target, steer=True, draws=400)
    assert without.sd > 0.8  # chance alone spreads these papers over several marks
    assert steered.sd < without.sd / 3
    assert steered.within_one_mark >= 0.95 > without.within_one_mark
    assert abs(steered.mean - target.mean_facility * PAPER_MARKS) < 0.5


def test_steered_papers_keep_the_blueprint_and_even_exposure():
    target = DifficultyTarget(bank_target(POOL, BLUEPRINT, FACILITY) or 0.0, FACILITY, tolerance=0.5 / PAPER_MARKS)
    uses = {}
    for steer in (False, True):
        counts = ExposureCounts(POOL)
        for seed in range(600):
            paper = draw_paper(POOL, BLUEPRINT, seed=seed, exposure=counts, difficulty_target=target if steer else None)
            assert_valid(paper, ITEMS, BLUEPRINT)
            counts.record(paper)
        uses[steer] = np.array([counts[item.id] for item in ITEMS])
    # Per type, every item is used within a few papers of the others, steered or not: steering
    # swaps only among the exposure order's front-runners, so no item is starved or overused.
    for kind in ("mcq", "short_answer"):
        of_kind = np.array([item.type == kind for item in ITEMS])
        steered, plain = uses[True][of_kind], uses[False][of_kind]
        assert steered.min() > 0.5 * steered.mean()
        assert steered.max() < 1.5 * steered.mean()
        assert steered.max() - steered.min() <= plain.max() - plain.min() + 4


def test_items_without_statistics_are_still_drawn():
    """Half the bank has no facility yet: those items keep coming up, about as often as unsteered."""
    half = {item_id: f for item_id, f in FACILITY.items() if int(item_id[1:]) % 2 == 0}
    target = DifficultyTarget(bank_target(POOL, BLUEPRINT, half) or 0.0, half, tolerance=0.5 / PAPER_MARKS)
    drawn: dict[bool, Counter[str]] = {}
    for steer in (False, True):
        counts = ExposureCounts(POOL)
        drawn[steer] = Counter()
        for seed in range(400):
            paper = draw_paper(POOL, BLUEPRINT, seed=seed, exposure=counts, difficulty_target=target if steer else None)
            counts.record(paper)
            drawn[steer].update(q.item_id for q in paper.questions)
    new_items = [item.id for item in ITEMS if item.id not in half]
    assert all(drawn[True][item_id] > 0 for item_id in new_items)
    share = {steer: sum(drawn[steer][i] for i in new_items) / sum(drawn[steer].values()) for steer in drawn}
    assert share[True] == pytest.approx(share[False], abs=0.05)


def test_a_steered_draw_is_reproduced_by_its_seed():
    target = DifficultyTarget(0.6, FACILITY, tolerance=0.01)
    first = draw_paper(ITEMS, BLUEPRINT, seed=11, difficulty_target=target)
    again = draw_paper(list(reversed(ITEMS)), BLUEPRINT, seed=11, difficulty_target=DifficultyTarget(0.6, dict(FACILITY), 0.01))
    assert first == again


def test_expected_score_counts_only_questions_with_a_facility():
    paper = draw_paper(POOL, BLUEPRINT, seed=3)
    some = {q.item_id: 0.5 for q in paper.questions[:3]}
    assert expected_score(paper, some) == pytest.approx(sum(0.5 * q.marks for q in paper.questions[:3]))
    assert expected_score(paper, {}) == 0.0


def test_a_spread_needs_at_least_one_draw():
    with pytest.raises(ValueError, match="draws"):
        simulate_spread(POOL, BLUEPRINT, DifficultyTarget(0.5, FACILITY), steer=True, draws=0)
