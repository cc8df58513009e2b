"""Drawing assessor question sets from the shipped banks: size, KSB cover, no repeat, named shortfalls."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from testengine.banks import load_standard
from testengine.domain.errors import DomainError
from testengine.domain.papers import Item
from testengine.domain.question_sets import (
    QuestionSetShortfall,
    draw_question_set,
    replace_question,
    sets_without_repeat,
    swap_options,
)

REPO = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 23)


def _bank(code: str, method: str):  # type: ignore[no-untyped-def]
    loaded = load_standard(REPO / "question_banks" / code, today=TODAY)
    rule = loaded.spec.method(method).question_set
    items = [
        Item(id=q.id, version=1, type=q.type, ksb=q.ksb, marks=q.marks, enemies=frozenset(q.enemies))
        for q in loaded.questions
        if q.content.get("method") == method
    ]
    return loaded.spec.method(method), rule, items


@pytest.mark.parametrize(
    ("code", "method", "check"),
    [
        ("ST1379", "observation", lambda n: n >= 5),
        ("ST1379", "professional_discussion", lambda n: n >= 8),
        ("ST0663", "presentation", lambda n: n <= 6),
    ],
)
def test_three_sets_without_repeat_each_covering_the_methods_ksbs(code, method, check) -> None:  # type: ignore[no-untyped-def]
    spec_method, rule, items = _bank(code, method)
    assert rule is not None and items
    seen: set[str] = set()
    for n in range(3):
        drawn = draw_question_set(items, method, rule, seed=1000 + n, seen=seen)
        assert check(len(drawn.questions))
        if spec_method.min_questions is not None:
            assert len(drawn.questions) >= spec_method.min_questions
        if spec_method.max_questions is not None:
            assert len(drawn.questions) <= spec_method.max_questions
        assert set(rule.ksbs) <= drawn.covered()
        assert len(set(drawn.ids)) == len(drawn.ids)
        assert not seen & set(drawn.ids)
        seen |= set(drawn.ids)
    assert sets_without_repeat(items, rule) >= 3


def test_a_set_is_reproducible_from_its_seed() -> None:
    _m, rule, items = _bank("ST1379", "observation")
    first = draw_question_set(items, "observation", rule, seed=42, seen={"ST1379-OBS-001"})
    again = draw_question_set(list(reversed(items)), "observation", rule, seed=42, seen={"ST1379-OBS-001"})
    assert first == again
    other = draw_question_set(items, "observation", rule, seed=43, seen={"ST1379-OBS-001"})
    assert other.ids != first.ids
    assert "ST1379-OBS-001" not in first.ids


def test_a_refused_draw_names_what_ran_out() -> None:
    _m, rule, items = _bank("ST1379", "observation")
    nothing_on_k9 = [i for i in items if "K9" not in i.ksb]
    with pytest.raises(QuestionSetShortfall) as refused:
        draw_question_set(nothing_on_k9, "observation", rule, seed=1)
    assert str(refused.value).startswith("Cannot draw a question set for observation from this bank: ")
    assert "KSB K9: no unseen question available" in str(refused.value)
    assert [s.ksb for s in refused.value.shortfalls] == ["K9"]
    with pytest.raises(QuestionSetShortfall) as too_few:
        draw_question_set(items[:3], "observation", rule, seed=1)
    assert "observation questions: 5 needed, 3 unseen available (2 short)" in str(too_few.value)


def test_paper_questions_are_never_in_a_set_and_set_questions_never_on_a_paper() -> None:
    loaded = load_standard(REPO / "question_banks" / "ST0663", today=TODAY)
    items = [Item(id=q.id, version=1, type=q.type, ksb=q.ksb, marks=q.marks) for q in loaded.questions]
    _m, rule, _own = _bank("ST0663", "presentation")
    drawn = draw_question_set(items, "presentation", rule, seed=5)
    assert {q.type for q in drawn.questions} == {"assessor_question"}
    from testengine.domain.papers import draw_paper

    assert loaded.spec.knowledge_test is not None
    paper = draw_paper(items, loaded.spec.knowledge_test.blueprint, seed=5)
    assert "assessor_question" not in {q.type for q in paper.questions}


def test_only_an_assessors_choice_slot_can_be_swapped_and_the_cover_holds() -> None:
    _m, rule, items = _bank("ST1379", "observation")
    drawn = draw_question_set(items, "observation", rule, seed=7)
    assert drawn.pre_picked == 3
    with pytest.raises(DomainError, match="pre-picked"):
        swap_options(items, rule, drawn, 0)
    by_id = {i.id: i for i in items}
    for position in (3, 4):
        options = swap_options(items, rule, drawn, position, seen={"ST1379-OBS-020"})
        assert options and not set(options) & set(drawn.ids) and "ST1379-OBS-020" not in options
        for option in options:
            swapped = replace_question(drawn, position, by_id[option])
            assert set(rule.ksbs) <= swapped.covered()
            assert swapped.ids[:3] == drawn.ids[:3]
