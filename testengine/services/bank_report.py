"""A bank's report: how many questions by status, type and KSB, how many papers can be drawn without a
repeat, what is due for review, and the question sets of the assessor-led methods.

Above both services.banks and services.question_sets, which it reads: it is the one module that needs
them both (it lived in banks, which made banks and question_sets import each other)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from ..domain.papers import papers_without_repeat
from ..domain.question_types import get_type
from ..extensions import db
from ..models import Question, QuestionStatus
from . import question_sets
from .banks import eligible_rows, get_standard, spec_of, to_item


def bank_report(code: str, today: dt.date) -> dict[str, Any]:
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
    }
