"""The assessor's swaps in a question set, and what a refused set or swap says, on small made-up banks."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from testengine.domain.errors import DomainError
from testengine.domain.papers import DrawnQuestion, Item, Shortfall
from testengine.domain.question_sets import (
    SET_TYPE,
    QuestionSet,
    QuestionSetShortfall,
    draw_question_set,
    replace_question,
    swap_options,
)
from testengine.domain.standards import QuestionSetRule


def aq(item_id: str, *ksb: str, enemies: Collection[str] = (), version: int = 1) -> Item:
    return Item(item_id, version, SET_TYPE, tuple(ksb) or ("K1",), 0, 0, frozenset(enemies))


def a_set(*members: Item, pre_picked: int = 1) -> QuestionSet:
    questions = tuple(DrawnQuestion(i.id, i.version, i.type, i.marks, i.ksb, None) for i in members)
    return QuestionSet("observation", 11, questions, pre_picked)


RULE = QuestionSetRule(questions=3, pre_picked=1, ksbs=("K1", "K2"))


def test_a_shortfall_names_the_method_and_lists_every_gap() -> None:
    refused = QuestionSetShortfall(
        "observation",
        [Shortfall(SET_TYPE, None, 4, 2), Shortfall(None, "K7", 1, 0), Shortfall(SET_TYPE, None, 2, 3)],
    )
    assert refused.method == "observation" and refused.code == "bank_shortfall"
    assert str(refused) == (
        "Cannot draw a question set for observation from this bank: observation questions: 4 needed, 2 unseen "
        "available (2 short); KSB K7: no unseen question available (1 short); observation questions: 2 needed, "
        "3 unseen available (0 short)."
    )
    assert str(QuestionSetShortfall("observation", [])) == (
        "Cannot draw a question set for observation from this bank: no set fits the rule."
    )


def test_a_drawn_set_keeps_its_method_and_seed_and_avoids_well_used_questions() -> None:
    items = [aq("A", "K1", "K2"), aq("B", "K1", "K2"), aq("C", "K1", "K2"), aq("D", "K1", "K2")]
    rule = QuestionSetRule(questions=1, pre_picked=0, ksbs=("K1",))
    drawn = {draw_question_set(items, "observation", rule, seed=s, exposure={"A": 40, "B": 40}).ids for s in range(60)}
    assert drawn == {("C",), ("D",)}
    one = draw_question_set(items, "observation", rule, seed=5)
    assert (one.method, one.seed, one.pre_picked) == ("observation", 5, 0)


@pytest.mark.parametrize(
    ("pre_picked", "position", "message"),
    [
        (1, 0, "Question 1 is pre-picked and cannot be swapped"),
        (2, 1, "Question 2 is pre-picked and cannot be swapped"),
        (1, 3, "The set has no question 4."),
        (3, 3, "The set has no question 4."),  # every question pre-picked: still no fourth question
        (1, -1, "The set has no question 0."),
    ],
)
def test_only_an_existing_assessors_choice_can_be_swapped(pre_picked: int, position: int, message: str) -> None:
    chosen = a_set(aq("P", "K1"), aq("Q", "K2"), aq("R", "K1"), pre_picked=pre_picked)
    with pytest.raises(DomainError) as refused:
        swap_options([aq("P", "K1"), aq("Q", "K2"), aq("R", "K1"), aq("S", "K1", "K2")], RULE, chosen, position)
    assert str(refused.value) == message and refused.value.code == "not_swappable"


def test_the_first_assessors_choice_slot_can_be_swapped() -> None:
    items = [aq("P", "K1"), aq("Q", "K2"), aq("R", "K1"), aq("S", "K1")]
    assert swap_options(items, RULE, a_set(*items[:3]), 1) == []  # Q alone covers K2; S does not
    assert swap_options(items, RULE, a_set(*items[:3]), 2) == ["S"]


def test_a_replacement_is_never_an_enemy_of_a_question_staying_whichever_side_declares_it() -> None:
    staying, leaving = aq("P", "K1", "K2", enemies={"C"}), aq("L", "K1")
    members = [aq("F", "K1"), staying, leaving]
    candidates = [aq("A", "K1", enemies={"P"}), aq("B", "K1"), aq("C", "K1"), aq("D", "K1", enemies={"L"})]
    elsewhere = aq("Z", "K1", enemies={"B"})  # in the bank, not in the set: its enemies are no concern
    items = [*members, *candidates, elsewhere]
    chosen = a_set(*members, pre_picked=1)
    # A declares P, C is declared by P: both out. D's enemy L is the one leaving, so D may come in.
    assert swap_options(items, RULE, chosen, 2) == ["B", "D", "Z"]
    assert swap_options(items, RULE, chosen, 2, seen={"B"}) == ["D", "Z"]


def test_a_replacement_covers_exactly_the_ksbs_only_the_leaving_question_covered() -> None:
    members = [aq("F", "K1"), aq("G", "K1"), aq("L", "K2")]
    items = [*members, aq("A", "K1"), aq("B", "K2"), aq("C", "K2", "K1"), aq("N", "K3")]
    assert swap_options(items, RULE, a_set(*members), 2) == ["B", "C"]


def test_a_replaced_question_is_the_new_item_in_the_same_set() -> None:
    chosen = a_set(aq("P", "K1"), aq("Q", "K2"), aq("R", "K1"), pre_picked=1)
    new = aq("S", "K1", "K2", version=3)
    replaced = replace_question(chosen, 2, new)
    assert replaced == QuestionSet(
        "observation",
        11,
        (*chosen.questions[:2], DrawnQuestion("S", 3, SET_TYPE, 0, ("K1", "K2"), None)),
        1,
    )
