"""Edges of the paper draw: the first question of a bank, the limit of papers without repeat, and the
difficulty steering at its tolerance and around enemies and KSBs.

Written against the public names of testengine.domain.papers only, so they hold whatever the module's
insides look like.
"""

from __future__ import annotations

from collections.abc import Collection

import pytest

from testengine.domain.papers import (
    DifficultyTarget,
    ExposureCounts,
    Item,
    ItemPool,
    Paper,
    PaperShortfall,
    Shortfall,
    draw_paper,
    papers_without_repeat,
)
from testengine.domain.standards import Blueprint, TypeQuota

ONE_MCQ = Blueprint({"mcq": TypeQuota(1, 1)}, ())


def mcq(item_id: str, *ksb: str) -> Item:
    return Item(item_id, 1, "mcq", tuple(ksb) or ("K1",), 1, 4)


def saq(item_id: str, *ksb: str, enemies: Collection[str] = ()) -> Item:
    return Item(item_id, 1, "short_answer", tuple(ksb) or ("K1",), 2, 0, frozenset(enemies))


def saqs(n: int, ksbs: Collection[str] = ("K1",)) -> Blueprint:
    return Blueprint({"short_answer": TypeQuota(n, 2)}, tuple(ksbs))


def ids(paper: Paper) -> set[str]:
    return {q.item_id for q in paper.questions}


def mean(paper: Paper, facility: dict[str, float]) -> float:
    return sum(facility[q.item_id] for q in paper.questions) / len(paper.questions)


FOUR = [mcq(c) for c in "ABCD"]


@pytest.mark.parametrize("exposure", [{"A": 30}, "counts"])
def test_the_exposure_of_the_first_question_by_id_counts_like_any_other(exposure: object) -> None:
    pool = ItemPool(FOUR)
    used = ExposureCounts(pool, {"A": 30}) if exposure == "counts" else exposure
    drawn = {q.item_id for seed in range(200) for q in draw_paper(pool, ONE_MCQ, seed=seed, exposure=used).questions}  # type: ignore[arg-type]
    assert drawn == {"B", "C", "D"}


def test_exposure_counts_read_back_the_first_question_by_id() -> None:
    counts = ExposureCounts(ItemPool(FOUR), {"A": 3, "D": 1, "retired": 9})
    assert dict(counts) == {"A": 3, "B": 0, "C": 0, "D": 1}


def test_the_facility_of_the_first_question_by_id_is_used_by_the_steering() -> None:
    aim = DifficultyTarget(mean_facility=1.0, facility={"A": 1.0, "B": 0.0, "C": 0.0, "D": 0.0}, tolerance=0.0)
    assert {draw_paper(FOUR, ONE_MCQ, seed=seed, difficulty_target=aim).questions[0].item_id for seed in range(30)} == {"A"}


def test_papers_without_repeat_counts_real_draws_below_the_simple_bound() -> None:
    # Four questions and two a paper bound it at 2, but A is an enemy of all the others: it can
    # never be drawn, so after one paper of two only one usable question is left.
    items = [saq("A", enemies={"B", "C", "D"}), saq("B"), saq("C"), saq("D")]
    assert papers_without_repeat(items, saqs(2)) == 1


# Facilities in eighths, so every mean and gap below is exact in binary floating point.
EIGHTHS = {f"S{i}": i / 8 for i in range(1, 8)}
EIGHTHS_BANK = [saq(item_id) for item_id in EIGHTHS]


def test_a_paper_exactly_at_the_tolerance_is_left_as_drawn() -> None:
    changed_when_strict = 0
    for seed in range(40):
        free = draw_paper(EIGHTHS_BANK, saqs(2), seed=seed)
        target = mean(free, EIGHTHS) + 1 / 8
        if target > 1:
            continue
        edge = DifficultyTarget(mean_facility=target, facility=EIGHTHS, tolerance=1 / 8)
        assert draw_paper(EIGHTHS_BANK, saqs(2), seed=seed, difficulty_target=edge) == free
        strict = DifficultyTarget(mean_facility=target, facility=EIGHTHS, tolerance=1 / 16)
        changed_when_strict += draw_paper(EIGHTHS_BANK, saqs(2), seed=seed, difficulty_target=strict) != free
    assert changed_when_strict > 0  # the edge is the only thing keeping those papers as drawn


def test_steering_takes_the_closest_question_in_one_step_and_stops_there() -> None:
    # The only paper of two at 13/16 is S6 with S7; from whatever was drawn, the steering gets
    # there and stays, rather than stopping short or swapping on past it.
    for seed in range(40):
        free = draw_paper(EIGHTHS_BANK, saqs(2), seed=seed)
        aim = DifficultyTarget(mean_facility=13 / 16, facility=EIGHTHS, tolerance=0.0)
        steered = draw_paper(EIGHTHS_BANK, saqs(2), seed=seed, difficulty_target=aim)
        assert ids(steered) == {"S6", "S7"}, (ids(free), ids(steered))


def test_steering_swaps_out_a_question_for_its_own_enemy() -> None:
    # H is an enemy of L only. Swapping L out for H keeps the paper legal, so a paper that drew
    # L is steered to H; the other questions never block it.
    facility = {"L": 0.0, "H": 1.0, **{f"F{i}": 0.5 for i in range(5)}}
    items = [saq("L"), saq("H", enemies={"L"}), *(saq(f"F{i}") for i in range(5))]
    aim = DifficultyTarget(mean_facility=0.75, facility=facility, tolerance=0.0)
    steered_with_l = 0
    for seed in range(60):
        free = draw_paper(items, saqs(2), seed=seed)
        if "L" not in ids(free):
            continue
        steered_with_l += 1
        steered = draw_paper(items, saqs(2), seed=seed, difficulty_target=aim)
        assert "H" in ids(steered) and "L" not in ids(steered)
        assert mean(steered, facility) == 0.75
    assert steered_with_l > 0


def test_steering_never_swaps_out_the_only_question_on_a_required_ksb() -> None:
    facility = {"R": 0.0, **{f"S{i}": 1.0 for i in range(8)}}
    items = [saq("R", "K2"), *(saq(f"S{i}", "K1") for i in range(8))]
    aim = DifficultyTarget(mean_facility=1.0, facility=facility, tolerance=0.0)
    for seed in range(20):
        paper = draw_paper(items, saqs(3, ("K1", "K2")), seed=seed, difficulty_target=aim)
        assert "R" in ids(paper) and len(ids(paper)) == 3


def test_a_shortfall_found_by_the_search_says_enemies_or_type_counts_are_to_blame() -> None:
    items = [saq("A", enemies={"B", "C"}), saq("B", enemies={"C"}), saq("C")]
    with pytest.raises(PaperShortfall) as caught:
        draw_paper(items, saqs(2), seed=1)
    assert str(caught.value) == (
        "Cannot draw a paper from this bank: short_answer: 2 needed, 1 unseen available (1 short). "
        "Enemy pairs or the paper's type counts rule out the unseen items that are left."
    )


def test_a_shortfall_naming_neither_a_type_nor_a_ksb_still_reads() -> None:
    assert Shortfall(None, None, 1, 0).describe() == "?: no unseen item available (1 short)"


def test_one_id_and_version_may_come_twice_only_as_the_same_item() -> None:
    assert len(ItemPool([saq("A"), saq("A"), saq("B")])) == 2
    with pytest.raises(ValueError) as refused:
        ItemPool([saq("A"), saq("A", "K2")])
    assert str(refused.value) == "two different items claim A version 1"


def test_steering_still_swaps_one_type_when_another_has_nothing_to_swap() -> None:
    # The MCQs have no facility yet (new questions), so only the short answers can move the mean.
    items = [mcq(f"M{i}") for i in range(4)] + [saq(f"S{i}") for i in range(1, 8)]
    bp = Blueprint({"mcq": TypeQuota(1, 1), "short_answer": TypeQuota(2, 2)}, ("K1",))
    aim = DifficultyTarget(mean_facility=13 / 16, facility=EIGHTHS, tolerance=0.0)
    for seed in range(20):
        steered = draw_paper(items, bp, seed=seed, difficulty_target=aim)
        assert {q.item_id for q in steered.questions if q.type == "short_answer"} == {"S6", "S7"}
