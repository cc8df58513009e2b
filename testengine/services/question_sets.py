"""Question sets for assessor-led methods: draw one from the method's bank, record it, redraw it.

A set is recorded like a paper: its seed, the content-addressed pool it was drawn from, what the
apprentice had met before and how often each question had been asked, so `reproduce_set` gives the
same questions again for an audit or an appeal. A question met in any earlier set (any method, any
attempt, re-sits included) is never drawn again for that apprentice. The caller commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..domain.errors import DomainError
from ..domain.papers import Item, ItemPool
from ..domain.question_sets import (
    SET_TYPE,
    QuestionSet,
    draw_question_set,
    replace_question,
    sets_without_repeat,
    swap_options,
)
from ..domain.standards import QuestionSetRule, StandardSpec
from ..extensions import db
from ..models import Apprentice, QuestionSetDraw, Standard, User
from . import audit
from .banks import eligible_rows, spec_of, to_item
from .papers import (
    PoolSnapshot,
    _count_exposure,
    _exposure,
    _items_from_rows,
    _pack_exposure,
    _pool_key,
    _store_pool,
    _unpack_exposure,
    seen_questions,
)
from .rows import existing


class NoQuestionSet(DomainError):
    code = "no_question_set"


@dataclass(frozen=True)
class MethodBank:
    """The method's drawable questions now, with the content an assessor reads."""

    rule: QuestionSetRule
    snapshot: PoolSnapshot
    content: dict[str, dict[str, Any]]  # external id -> {"stem", "ksb", "pass_shows", ...}


def rule_of(spec: StandardSpec, method_key: str) -> QuestionSetRule:
    try:
        method = spec.method(method_key)
    except KeyError:
        known = ", ".join(m.key for m in spec.methods if m.question_set is not None) or "none"
        raise NoQuestionSet(
            f"{spec.code} has no method {method_key!r} (methods with question sets: {known}).",
            code="invalid_method",
        ) from None
    if method.question_set is None:
        known = ", ".join(m.key for m in spec.methods if m.question_set is not None) or "none"
        raise NoQuestionSet(f"{method.name} has no question set in {spec.code} (methods with question sets: {known}).")
    return method.question_set


def method_bank(standard: Standard, method_key: str, today: dt.date) -> MethodBank:
    """The approved, in-date questions of the method's bank (reads only)."""
    rule = rule_of(spec_of(standard), method_key)
    rows = [
        (q, v) for q, v in eligible_rows(standard, today) if v.type == SET_TYPE and (v.content or {}).get("method") == method_key
    ]
    items = [to_item(q, v) for q, v in rows]
    snapshot = PoolSnapshot(
        key=_pool_key(items),
        items=items,
        version_ids={q.external_id: v.id for q, v in rows},
        question_ids={q.external_id: q.id for q, _v in rows},
        pool=ItemPool(items),
    )
    content = {q.external_id: {"stem": v.stem, "ksb": list(v.ksb), **v.content} for q, v in rows}
    return MethodBank(rule, snapshot, content)


def met_questions(apprentice: Apprentice, standard: Standard) -> set[str]:
    """Every question this apprentice has met for this standard: in any set and on any paper."""
    met = set(seen_questions(apprentice, standard))
    for questions in db.session.scalars(
        select(QuestionSetDraw.questions).where(
            QuestionSetDraw.apprentice_id == apprentice.id, QuestionSetDraw.standard_id == standard.id
        )
    ):
        met.update(row[0] for row in questions)
    return met


def draw_set(
    apprentice: Apprentice,
    standard: Standard,
    method_key: str,
    *,
    now: dt.datetime,
    actor: User | None,
    seed: int | None = None,
) -> QuestionSetDraw:
    """Draw and record a set for this apprentice (QuestionSetShortfall names what ran out)."""
    from ..domain.papers import new_seed

    bank = method_bank(standard, method_key, now.date())
    seen = met_questions(apprentice, standard)
    exposure = _exposure(standard, bank.snapshot)
    seed = new_seed() if seed is None else int(seed)
    drawn = draw_question_set(bank.snapshot.items, method_key, bank.rule, seed=seed, seen=seen, exposure=exposure)
    _store_pool(bank.snapshot, now)
    rows = [[q.item_id, bank.snapshot.version_ids[q.item_id]] for q in drawn.questions]
    record = QuestionSetDraw(
        apprentice_id=apprentice.id,
        standard_id=standard.id,
        method_key=method_key,
        seed=seed,
        pool_key=bank.snapshot.key,
        draw_inputs={
            "seen": sorted(seen),
            "exposure": _pack_exposure(bank.snapshot.items, exposure),
            "rule": {"questions": bank.rule.questions, "pre_picked": bank.rule.pre_picked, "ksbs": list(bank.rule.ksbs)},
        },
        pre_picked=drawn.pre_picked,
        drawn=rows,
        questions=[list(r) for r in rows],
        swaps=[],
        drawn_by_id=actor.id if actor is not None else None,
        drawn_at=now,
    )
    db.session.add(record)
    db.session.flush()
    _count_exposure([bank.snapshot.question_ids[q.item_id] for q in drawn.questions])
    audit.record(
        actor,
        "question_set.draw",
        record,
        after={"apprentice": apprentice.candidate_number, "standard": standard.code, "method": method_key, "seed": seed},
    )
    return record


def _rule_of_record(record: QuestionSetDraw) -> QuestionSetRule:
    r = record.draw_inputs["rule"]
    return QuestionSetRule(questions=r["questions"], pre_picked=r["pre_picked"], ksbs=tuple(r["ksbs"]))


def _pool_items(record: QuestionSetDraw) -> tuple[list[Item], dict[str, int]]:
    from ..models import DrawPool

    pool = db.session.get(DrawPool, record.pool_key)
    if pool is None:
        raise DomainError("The draw pool for this question set is missing.", code="pool_missing")
    return _items_from_rows(pool.items), {row[0]: row[7] for row in pool.items}


def reproduce_set(record: QuestionSetDraw) -> tuple[QuestionSet, bool]:
    """Redraw a recorded set from its seed and inputs; say whether it matches what was drawn."""
    items, version_ids = _pool_items(record)
    redrawn = draw_question_set(
        items,
        record.method_key,
        _rule_of_record(record),
        seed=record.seed,
        seen=set(record.draw_inputs["seen"]),
        exposure=_unpack_exposure(items, record.draw_inputs["exposure"]),
    )
    same = [[q.item_id, version_ids[q.item_id]] for q in redrawn.questions] == [list(r) for r in record.drawn]
    return redrawn, same


def _as_set(record: QuestionSetDraw, items: list[Item]) -> QuestionSet:
    by_id = {i.id: i for i in items}
    from ..domain.papers import DrawnQuestion

    questions = tuple(
        DrawnQuestion(i.id, i.version, i.type, i.marks, i.ksb, None) for i in (by_id[row[0]] for row in record.questions)
    )
    return QuestionSet(record.method_key, record.seed, questions, record.pre_picked)


def swap_choices(record: QuestionSetDraw, position: int) -> list[str]:
    """Which questions the assessor may put in the set at `position` (0-based) instead."""
    items, _ids = _pool_items(record)
    apprentice = existing(Apprentice, record.apprentice_id)
    standard = existing(Standard, record.standard_id)
    seen = met_questions(apprentice, standard) - set(record.question_ids)
    return swap_options(items, _rule_of_record(record), _as_set(record, items), position, seen)


def swap_question(record: QuestionSetDraw, position: int, replacement: str, *, now: dt.datetime, actor: User | None) -> None:
    """Put `replacement` at `position` (an assessor's-choice slot), recorded with who and when."""
    if replacement not in swap_choices(record, position):
        raise DomainError(f"{replacement} cannot replace question {position + 1} of this set.", code="not_swappable")
    items, version_ids = _pool_items(record)
    updated = replace_question(_as_set(record, items), position, next(i for i in items if i.id == replacement))
    before = record.questions[position][0]
    record.questions = [[q.item_id, version_ids[q.item_id]] for q in updated.questions]
    record.swaps = [*record.swaps, {"position": position, "from": before, "to": replacement, "at": now.isoformat()}]
    db.session.flush()
    audit.record(actor, "question_set.swap", record, before={"question": before}, after={"question": replacement})


def swap_menu(record: QuestionSetDraw) -> dict[int, list[tuple[str, str]]]:
    """Per assessor's-choice slot (1-based position): (id, wording) of each question that may go there."""
    from ..models import QuestionVersion

    _items, version_ids = _pool_items(record)
    menu = {}
    for position in range(record.pre_picked, len(record.questions)):
        menu[position + 1] = [
            (qid, db.session.get_one(QuestionVersion, version_ids[qid]).stem) for qid in swap_choices(record, position)
        ]
    return menu


def set_view(record: QuestionSetDraw) -> list[dict[str, Any]]:
    """The set as the assessor reads it: each question's wording, KSBs and pass/distinction indicators."""
    from ..models import QuestionVersion

    out = []
    for position, (external_id, version_id) in enumerate(record.questions):
        version = existing(QuestionVersion, version_id)
        out.append(
            {
                "position": position + 1,
                "id": external_id,
                "pre_picked": position < record.pre_picked,
                "stem": version.stem,
                "ksb": list(version.ksb),
                "pass_shows": list(version.content.get("pass_shows", [])),
                "distinction_shows": list(version.content.get("distinction_shows", [])),
                "follow_ups": list(version.content.get("follow_ups", [])),
            }
        )
    return out


def capacity(standard: Standard, today: dt.date) -> dict[str, dict[str, Any]]:
    """Per method with a question set: the rule, the bank size and the sets one apprentice can meet without repeat."""
    spec = spec_of(standard)
    out: dict[str, dict[str, Any]] = {}
    for method in spec.methods:
        if method.question_set is None:
            continue
        bank = method_bank(standard, method.key, today)
        out[method.key] = {
            "questions_per_set": method.question_set.questions,
            "pre_picked": method.question_set.pre_picked,
            "required_ksbs": list(method.question_set.ksbs),
            "approved": len(bank.snapshot.items),
            "sets_without_repeat": sets_without_repeat(bank.snapshot.items, method.question_set) if bank.snapshot.items else 0,
        }
    return out
