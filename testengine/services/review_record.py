"""Bank health and the annual review record (who reviewed what, when, the decision, what changed).

The record is exportable as CSV for the EPAO's external quality assurance; cells go through
services.exports.safe_csv_row so a comment can never run as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import weakref
from types import SimpleNamespace
from typing import Any

from sqlalchemy import case, func, select

from ..extensions import db
from ..models import BankImport, Question, QuestionReview, QuestionStatus, QuestionVersion, Standard, User
from .bank_report import bank_report
from .banks import eligible_rows, spec_of
from .exports import safe_csv_row
from .review import review_date


def _bank_key(standard: Standard, today: dt.date) -> tuple[Any, ...]:
    """What a bank's health depends on, read in a few aggregates: its questions (count, statuses, versions
    in use, review dates), their versions (count, newest, approved, rejected), the review decisions and
    imports, the spec and the day. Every path that changes a question changes one of these."""
    in_bank = Question.standard_id == standard.id
    questions = db.session.execute(
        select(
            func.count(Question.id),
            func.sum(Question.current_version),
            func.max(Question.last_reviewed),
            func.min(Question.next_due),
            func.max(Question.next_due),
        ).where(in_bank)
    ).one()
    statuses = sorted(
        tuple(row) for row in db.session.execute(select(Question.status, func.count()).where(in_bank).group_by(Question.status))
    )
    versions = db.session.execute(
        select(
            func.count(QuestionVersion.id),
            func.max(QuestionVersion.id),
            func.sum(case((QuestionVersion.approved.is_(True), 1), else_=0)),
            func.count(QuestionVersion.rejected_by_id),
        )
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(in_bank)
    ).one()
    reviews = db.session.execute(
        select(func.count(QuestionReview.id), func.max(QuestionReview.id))
        .join(Question, Question.id == QuestionReview.question_id)
        .where(in_bank)
    ).one()
    imports = db.session.scalar(select(func.max(BankImport.id)).where(BankImport.standard_id == standard.id))
    spec = json.dumps(standard.spec, sort_keys=True, default=str)
    return (today, tuple(questions), tuple(statuses), tuple(versions), tuple(reviews), imports, spec)


# Per database (its engine) and bank, checked against `_bank_key` before each use: several processes agree.
_HEALTH: weakref.WeakKeyDictionary[Any, dict[int, tuple[tuple[Any, ...], dict[str, Any]]]] = weakref.WeakKeyDictionary()


def bank_health(standard: Standard, today: dt.date) -> dict[str, Any]:
    """services.bank_report.bank_report, plus coverage by KSB and type and the questions due soon.

    Kept per bank until a question, version, review, import or the day changes (a large bank takes
    seconds to summarise; the reviewer's bank page opens at once)."""
    cache = _HEALTH.setdefault(db.engine, {})
    key = _bank_key(standard, today)
    kept = cache.get(standard.id)
    if kept is not None and kept[0] == key:
        return kept[1]
    health = _bank_health(standard, today)
    cache[standard.id] = (key, health)
    return health


def _bank_health(standard: Standard, today: dt.date) -> dict[str, Any]:
    report = bank_report(standard.code, today, with_spread=False)  # the page shows no simulated papers
    spec = spec_of(standard)
    types = list(spec.knowledge_test.blueprint.quotas) if spec.knowledge_test else []
    coverage: dict[str, dict[str, int]] = {ksb: dict.fromkeys(types, 0) for ksb in report["ksb"]}
    for _question, version in eligible_rows(standard, today):
        for ksb in version.ksb:
            row = coverage.setdefault(ksb, dict.fromkeys(types, 0))
            row[version.type] = row.get(version.type, 0) + 1
    questions = db.session.scalars(
        select(Question)
        .where(Question.standard_id == standard.id, Question.status != QuestionStatus.RETIRED.value)
        .order_by(Question.next_due, Question.external_id)
    ).all()
    upcoming = [  # plain values, not rows: the result is kept beyond this request's session
        (SimpleNamespace(id=question.id, external_id=question.external_id, status=question.status), review_date(question))
        for question in questions
        if review_date(question) <= today + dt.timedelta(days=90)
    ]
    return {**report, "types": types, "coverage": coverage, "upcoming": upcoming}


HEADER = [
    "date", "standard", "question", "decision", "reviewer", "comments", "version_before",
    "version_after", "changed", "revision_state", "decided_by", "decided_on",
]  # fmt: skip


def _changed(before: QuestionVersion | None, after: QuestionVersion | None) -> str:
    """What a revision changed, by the names a bank file uses (stem, options, guide, ...)."""
    if before is None or after is None:
        return ""
    fields = [name for name in ("stem", "ksb", "marks", "enemies") if getattr(before, name) != getattr(after, name)]
    keys = sorted(set(before.content) | set(after.content))
    return ", ".join(fields + [key for key in keys if before.content.get(key) != after.content.get(key)])


def review_record(standard: Standard) -> list[dict[str, Any]]:
    """The annual review record: who reviewed what, when, the decision and what changed."""
    rows = db.session.execute(
        select(QuestionReview, Question.external_id, User.display_name)
        .join(Question, Question.id == QuestionReview.question_id)
        .join(User, User.id == QuestionReview.reviewer_id)
        .where(Question.standard_id == standard.id)
        .order_by(QuestionReview.at, QuestionReview.id)
    ).all()
    revised_ids = {review.question_id for review, _q, _r in rows if review.version_after}
    versions = {
        (version.question_id, version.version): version
        for version in db.session.scalars(select(QuestionVersion).where(QuestionVersion.question_id.in_(revised_ids)))
    }
    decider_ids = {v.approved_by_id or v.rejected_by_id for v in versions.values()} - {None}
    names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(decider_ids))).all())
    out: list[dict[str, Any]] = []
    for review, external_id, reviewer in rows:
        after = versions.get((review.question_id, review.version_after or 0))
        before = versions.get((review.question_id, review.version_before))
        decided_by = (after.approved_by_id or after.rejected_by_id) if after else None
        decided_at = after.decided_at if after else None
        out.append(
            {
                "date": review.at.date().isoformat(),
                "standard": standard.code,
                "question": external_id,
                "decision": review.decision,
                "reviewer": reviewer,
                "comments": review.comments,
                "version_before": review.version_before,
                "version_after": review.version_after,
                "changed": _changed(before, after) or _DECISION_CHANGE.get(review.decision, ""),
                "revision_state": after.revision_state if after else "",
                "decided_by": names.get(decided_by, "") if decided_by is not None else "",
                "decided_on": decided_at.date().isoformat() if decided_at else "",
            }
        )
    return out


_DECISION_CHANGE = {"keep": "review dates renewed", "retire": "retired: never drawn again"}


def review_record_csv(standard: Standard) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for row in review_record(standard):
        writer.writerow(safe_csv_row(row[key] for key in HEADER))
    return buffer.getvalue()


def lint_record(standard: Standard) -> dict[str, Any]:
    """The item linter's state of the bank, for the annual record: the bank-wide cueing figure,
    undeclared near-duplicates, and every finding by question (services.bank_lint)."""
    from .bank_lint import bank_lint

    report = bank_lint(standard)
    return {
        "mcq_count": report.mcq_count,
        "key_longest_count": report.key_longest_count,
        "key_longest_share": report.key_longest_share,
        "key_longest_p": report.key_longest_p,
        "near_duplicates": list(report.undeclared_near_duplicates),
        "errors": len(report.errors),
        "warnings": len(report.findings) - len(report.errors),
        "findings": sorted(report.findings, key=lambda f: (f.item, f.severity != "error", f.rule)),
    }
