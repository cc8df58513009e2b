"""Drawing the question set an assessor asks in an observation, presentation or professional discussion.

A set follows the same rules as a knowledge-test paper (domain.papers), and is drawn by the same
machinery: a random draw from the method's bank, seeded so it can be redrawn for an audit or an
appeal, never repeating a question the apprentice met before (first attempt, re-sits and re-takes
alike), never two enemies together, and covering every KSB the method's question_set names. None
of these is relaxed to get a set out: when the bank cannot make one, QuestionSetShortfall names
what ran out.

The first `pre_picked` questions of a set are fixed; the rest are random suggestions the
assessor may swap for another unseen question of the method's bank (swap_options).

Pure: values in, values out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from .errors import DomainError
from .papers import DrawnQuestion, Item, PaperShortfall, Shortfall, draw_paper, papers_without_repeat
from .question_types import AssessorQuestion
from .standards import Blueprint, QuestionSetRule, TypeQuota

#: The question type a set is made of; a set never holds a paper's questions.
SET_TYPE = AssessorQuestion.key


@dataclass(frozen=True)
class QuestionSet:
    """A drawn set: the seed that reproduces it, its questions in the order asked, how many are fixed."""

    method: str
    seed: int
    questions: tuple[DrawnQuestion, ...]
    pre_picked: int

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(q.item_id for q in self.questions)

    def covered(self) -> frozenset[str]:
        return frozenset(k for q in self.questions for k in q.ksb)


class QuestionSetShortfall(DomainError):
    """The method's bank cannot make a set that keeps every rule; `.shortfalls` says what ran out."""

    code = "bank_shortfall"

    def __init__(self, method: str, shortfalls: Sequence[Shortfall]) -> None:
        self.method = method
        self.shortfalls: tuple[Shortfall, ...] = tuple(shortfalls)
        listed = "; ".join(_describe(method, s) for s in self.shortfalls) or "no set fits the rule"
        super().__init__(f"Cannot draw a question set for {method} from this bank: {listed}.")


def _describe(method: str, shortfall: Shortfall) -> str:
    what = f"{method} questions" if shortfall.type is not None else f"KSB {shortfall.ksb}"
    short = max(shortfall.needed - shortfall.available, 0)
    if shortfall.available == 0:
        return f"{what}: no unseen question available ({short} short)"
    return f"{what}: {shortfall.needed} needed, {shortfall.available} unseen available ({short} short)"


def set_blueprint(rule: QuestionSetRule) -> Blueprint:
    """The rule as the paper machinery reads it: `questions` assessor questions covering `ksbs`."""
    return Blueprint(quotas={SET_TYPE: TypeQuota(count=rule.questions, marks=0)}, required_ksbs=rule.ksbs)


def draw_question_set(
    items: Sequence[Item],
    method: str,
    rule: QuestionSetRule,
    *,
    seed: int,
    seen: Collection[str] = (),
    exposure: Mapping[str, int] | None = None,
) -> QuestionSet:
    """Draw one set from the method's questions (`items`), or raise QuestionSetShortfall.

    `seen` holds every question id the apprentice met before; none is drawn again. The same
    items, rule, seed, seen and exposure always give the same set.
    """
    try:
        paper = draw_paper(list(items), set_blueprint(rule), seed=seed, seen=seen, exposure=exposure)
    except PaperShortfall as shortfall:
        raise QuestionSetShortfall(method, shortfall.shortfalls) from None
    return QuestionSet(method=method, seed=seed, questions=paper.questions, pre_picked=rule.pre_picked)


def sets_without_repeat(items: Sequence[Item], rule: QuestionSetRule) -> int:
    """How many complete sets in a row one apprentice can meet with no question repeated."""
    return papers_without_repeat(list(items), set_blueprint(rule))


def swap_options(
    items: Sequence[Item],
    rule: QuestionSetRule,
    question_set: QuestionSet,
    position: int,
    seen: Collection[str] = (),
) -> list[str]:
    """The questions the assessor may put in place of the set's question at `position` (0-based).

    Only an assessor's-choice slot (after the pre-picked ones) can be swapped. A replacement is an
    unseen question of the method's bank, not already in the set, not an enemy of one in it, and
    it keeps every KSB the rule requires covered (it covers any that only the swapped one did).
    """
    if not question_set.pre_picked <= position < len(question_set.questions):
        raise DomainError(
            f"Question {position + 1} is pre-picked and cannot be swapped"
            if 0 <= position < question_set.pre_picked
            else f"The set has no question {position + 1}.",
            code="not_swappable",
        )
    in_set = set(question_set.ids)
    leaving = question_set.questions[position]
    others = [q for q in question_set.questions if q.item_id != leaving.item_id]
    still_covered = {k for q in others for k in q.ksb}
    must_cover = (set(leaving.ksb) & set(rule.ksbs)) - still_covered
    enemies_of_others = {e for item in items if item.id in in_set and item.id != leaving.item_id for e in item.enemies}
    out = []
    for item in sorted(items, key=lambda i: i.id):
        if item.type != SET_TYPE or item.id in in_set or item.id in seen:
            continue
        if item.id in enemies_of_others or item.enemies & (in_set - {leaving.item_id}):
            continue
        if not must_cover <= set(item.ksb):
            continue
        out.append(item.id)
    return out


def replace_question(question_set: QuestionSet, position: int, item: Item) -> QuestionSet:
    """The set with the question at `position` replaced by `item` (checked by swap_options first)."""
    drawn = DrawnQuestion(item.id, item.version, item.type, item.marks, item.ksb, None)
    questions = list(question_set.questions)
    questions[position] = drawn
    return QuestionSet(question_set.method, question_set.seed, tuple(questions), question_set.pre_picked)
