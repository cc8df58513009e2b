"""A bank's report: how many questions by status, type and KSB, how many papers can be drawn without a
repeat, what is due for review, and the question sets of the assessor-led methods.

Above both services.banks and services.question_sets, which it reads: it is the one module that needs
them both (it lived in banks, which made banks and question_sets import each other)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from ..domain.paper_spread import simulate_spread
from ..domain.papers import PaperShortfall, papers_without_repeat
from ..domain.question_types import get_type
from ..domain.standards import StandardSpec
from ..extensions import db
from ..models import Question, QuestionStatus, Standard
from . import paper_steering, question_sets
from .banks import eligible_rows, get_standard, spec_of, to_item
from .papers import _eligible_pool


def bank_report(code: str, today: dt.date, *, with_spread: bool = True) -> dict[str, Any]:
    """`with_spread`: simulate 1,000 papers with and without steering (seconds on a large bank; `bank report`
    shows it, the reviewer's bank page does not)."""
    standard = get_standard(code)
    spec = spec_of(standard)
    questions = db.session.scalars(select(Question).where(Question.standard_id == standard.id)).all()
    by_status: dict[str, int] = {}
    for row in questions:
        by_status[row.status] = by_status.get(row.status, 0) + 1
    eligible = eligible_rows(standard, today)
    approved_by_type: dict[str, int] = {}
    ksb_counts: dict[str, int] = {
        code_: 0 for code_ in (spec.knowledge_test.blueprint.required_ksbs if spec.knowledge_test else ())
    }
    # The paper figures count paper questions only; assessor questions are reported per method below.
    eligible = [(q, v) for q, v in eligible if get_type(v.type).on_papers]
    for _question, version in eligible:
        approved_by_type[version.type] = approved_by_type.get(version.type, 0) + 1
        for ksb in version.ksb:
            ksb_counts[ksb] = ksb_counts.get(ksb, 0) + 1
    approved_rows = [row for row in questions if row.status == QuestionStatus.APPROVED.value]
    overdue = sum(1 for row in approved_rows if row.next_due < today)
    due = {
        "overdue": overdue,
        "next_30_days": sum(1 for row in approved_rows if today <= row.next_due <= today + dt.timedelta(days=30)),
        "next_90_days": sum(1 for row in approved_rows if today <= row.next_due <= today + dt.timedelta(days=90)),
    }
    capacity = (
        papers_without_repeat([to_item(q, v) for q, v in eligible], spec.knowledge_test.blueprint) if spec.knowledge_test else 0
    )
    return {
        "standard": code,
        "title": standard.title,
        "practice": spec.practice,
        "questions": len(questions),
        "by_status": by_status,
        "approved": {
            key: approved_by_type.get(key, 0)
            for key in (spec.knowledge_test.blueprint.quotas if spec.knowledge_test else approved_by_type)
        },
        "ksb": ksb_counts,
        "papers_without_repeat": capacity,
        "due_for_review": due,
        "not_drawable_overdue": overdue,
        "question_sets": question_sets.capacity(standard, today),
        "parallel_papers": _spread_report(standard, spec, today) if with_spread else None,
    }


def _spread_report(standard: Standard, spec: StandardSpec, today: dt.date, draws: int = 1_000) -> dict[str, Any]:
    """For `bank report`: the spread of expected totals over `draws` simulated papers from the bank
    as it stands today, without steering and with it (both from the same seeds)."""
    test = spec.knowledge_test
    if test is None:
        return {"items_with_statistics": 0, "min_responses": spec.quality.steer_min_responses}
    snapshot = _eligible_pool(standard, today)
    target = paper_steering.steering_for(standard, spec, snapshot)
    out: dict[str, Any] = {
        "items_with_statistics": len(target.facility) if target is not None else 0,
        "drawable_items": len(snapshot.items),
        "min_responses": spec.quality.steer_min_responses,
    }
    if target is None:
        return out
    try:
        without = simulate_spread(snapshot.pool, test.blueprint, target, steer=False, draws=draws)
        steered = simulate_spread(snapshot.pool, test.blueprint, target, steer=True, draws=draws)
    except PaperShortfall as error:
        out["error"] = str(error)
        return out
    out["target_facility"] = round(target.mean_facility, 4)
    out["tolerance_marks"] = spec.quality.steer_tolerance_marks
    out["without_steering"] = without.as_dict()
    out["with_steering"] = steered.as_dict()
    return out
