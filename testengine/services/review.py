"""The annual bank review: the queue, decisions (keep, revise, retire), and second-reviewer approval.

ST0663 banks must be "reviewed regularly (at least once a year)" with a process that keeps every
question fit for purpose. Here:
- a question is DUE when its review date has passed (then it is never drawn) or falls within 30
  days, or when its statistics flag it and new responses have arrived since its last review;
- KEEP renews the review dates (last reviewed today, next due in 12 months);
- RETIRE takes it out of every future draw (services.banks.eligible_rows only takes approved
  questions) and rejects any revision still waiting;
- REVISE proposes a new version, checked by exactly the rules a bank file is checked by
  (banks.questions.read_question). It is not drawn until a SECOND reviewer approves it: nobody
  approves their own change. On approval it becomes the current version and the dates renew.
Every decision is a QuestionReview row (the annual review record) plus an audit entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from ..banks import BankQuestion
from ..banks.questions import read_question
from ..banks.schema import REVIEW_MONTHS
from ..domain.errors import DomainError, IllegalTransition
from ..domain.grading import add_months
from ..domain.revision_diff import FieldChange, revision_changes
from ..extensions import db
from ..models import Question, QuestionReview, QuestionStatus, QuestionVersion, Standard, User
from . import audit
from .banks import as_bank_question, spec_of
from .statistics import BankStatistics

DUE_SOON_DAYS = 30
COMMENT_MAX = 2000
REJECT_REASON_MAX = 450  # kept whole in the audit log (500 characters)
# A proposed revision is decided once; the only moves are out of "pending".
REVISION_MOVES = {"pending": frozenset({"approved", "rejected"})}


class ReviewError(DomainError):
    code = "review_refused"


class SelfApproval(ReviewError):
    code = "self_approval"


@dataclass(frozen=True)
class RevisionProblem:
    """One reason a proposed revision was refused, at `path` inside the question (as in a bank file)."""

    path: tuple[str | int, ...]
    message: str


class RevisionInvalid(ReviewError):
    code = "revision_invalid"

    def __init__(self, problems: list[RevisionProblem]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p.path)) or 'question'}: {p.message}" for p in problems))
        self.problems = problems


# --- dates and the queue ---------------------------------------------------------------------


def review_date(question: Question) -> dt.date:
    """When the question must next be reviewed. next_due is never more than 12 months after
    last_reviewed (the bank loader refuses it, and a review sets both), so it alone decides,
    exactly as it decides what may be drawn (services.banks.eligible_rows)."""
    return question.next_due


@dataclass
class QueueEntry:
    question: Question
    standard: str
    version: QuestionVersion
    due_on: dt.date
    reasons: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    pending: QuestionVersion | None = None

    @property
    def overdue(self) -> bool:
        return "overdue" in self.reasons


def _current_versions(question_ids: list[int]) -> dict[int, QuestionVersion]:
    if not question_ids:
        return {}
    rows = db.session.scalars(
        select(QuestionVersion)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(QuestionVersion.version == Question.current_version, Question.id.in_(question_ids))
    )
    return {version.question_id: version for version in rows}


def pending_revisions(question_ids: list[int] | None = None) -> dict[int, QuestionVersion]:
    """Revisions waiting for a second reviewer, by question id."""
    query = select(QuestionVersion).where(QuestionVersion.approved.is_(False), QuestionVersion.rejected_by_id.is_(None))
    if question_ids is not None:
        query = query.where(QuestionVersion.question_id.in_(question_ids))
    return {version.question_id: version for version in db.session.scalars(query)}


def _last_reviewed_at(question_ids: list[int]) -> dict[int, dt.datetime]:
    if not question_ids:
        return {}
    return dict(
        db.session.execute(
            select(QuestionReview.question_id, func.max(QuestionReview.at))
            .where(QuestionReview.question_id.in_(question_ids))
            .group_by(QuestionReview.question_id)
        ).all()
    )


def queue(today: dt.date, statistics: dict[int, BankStatistics] | None = None) -> list[QueueEntry]:
    """Every question that needs a reviewer now: due, due soon, flagged, or with a revision to approve.

    `statistics` (standard id -> its BankStatistics) supplies the flags. A flag on the CURRENT
    version puts the question in the queue until a review is recorded after the latest
    submission that contributed to it: the same evidence does not send a reviewer back twice.
    """
    rows = db.session.execute(
        select(Question, Standard.code)
        .join(Standard, Standard.id == Question.standard_id)
        .where(Question.status != QuestionStatus.RETIRED.value)
        .order_by(Standard.code, Question.external_id)
    ).all()
    ids = [question.id for question, _code in rows]
    versions = _current_versions(ids)
    pending = pending_revisions(ids)
    reviewed_at = _last_reviewed_at(ids)
    by_version = {version_id: item for stats in (statistics or {}).values() for version_id, item in stats.by_version().items()}
    soon = today + dt.timedelta(days=DUE_SOON_DAYS)
    out: list[QueueEntry] = []
    for question, code in rows:
        version = versions[question.id]
        entry = QueueEntry(question=question, standard=code, version=version, due_on=review_date(question))
        if entry.due_on < today:
            entry.reasons.append("overdue")
        elif entry.due_on <= soon:
            entry.reasons.append("due soon")
        item = by_version.get(version.id)
        if item is not None and item.flags:
            last = reviewed_at.get(question.id)
            if last is None or item.last_response_at is None or last < item.last_response_at:
                entry.flags = list(item.flags)
                entry.reasons.append("flagged")
        if question.id in pending:
            entry.pending = pending[question.id]
            entry.reasons.append("revision to approve")
        if entry.reasons:
            out.append(entry)
    out.sort(
        key=lambda e: (
            not e.overdue,
            e.pending is None,
            not e.flags,
            e.due_on,
            e.standard,
            e.question.external_id,
        )
    )
    return out


# --- decisions -------------------------------------------------------------------------------


def _comments(text: str) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise ReviewError(
            "Say why: a review decision needs a comment for the review record.",
            code="comment_required",
        )
    if len(cleaned) > COMMENT_MAX:
        raise ReviewError(f"Comments are limited to {COMMENT_MAX} characters.", code="comment_too_long")
    return cleaned


def _open(question: Question) -> None:
    if question.status == QuestionStatus.RETIRED.value:
        raise IllegalTransition(f"{question.external_id} is retired; it can no longer be reviewed or changed.")


def _renew(question: Question, reviewer: User, today: dt.date) -> dict[str, Any]:
    before = {
        "last_reviewed": question.last_reviewed.isoformat(),
        "next_due": question.next_due.isoformat(),
        "reviewer": question.reviewer,
    }
    question.last_reviewed = today
    question.next_due = add_months(today, REVIEW_MONTHS)
    question.reviewer = reviewer.display_name[:120]
    return before


def keep(question: Question, comments: str, *, actor: User, now: dt.datetime) -> QuestionReview:
    """Fit for purpose as it stands: the review dates renew for another 12 months."""
    _open(question)
    text = _comments(comments)
    before = _renew(question, actor, now.date())
    review = _record(question, "keep", text, actor, now, version_after=None)
    audit.record(
        actor,
        "question.review.keep",
        question,
        before=before,
        after={
            "last_reviewed": question.last_reviewed.isoformat(),
            "next_due": question.next_due.isoformat(),
        },
        reason=text,
    )
    return review


def retire(question: Question, comments: str, *, actor: User, now: dt.datetime) -> QuestionReview:
    """No longer fit for purpose: never drawn again. A revision still waiting is rejected with it."""
    _open(question)
    text = _comments(comments)
    before = question.status
    question.status = QuestionStatus.RETIRED.value
    for version in pending_revisions([question.id]).values():
        _decide(version, "rejected", actor, now)
    review = _record(question, "retire", text, actor, now, version_after=None)
    audit.record(
        actor,
        "question.review.retire",
        question,
        before={"status": before},
        after={"status": question.status},
        reason=text,
    )
    return review


def _record(
    question: Question,
    decision: str,
    comments: str,
    actor: User,
    now: dt.datetime,
    *,
    version_after: int | None,
) -> QuestionReview:
    review = QuestionReview(
        question_id=question.id,
        reviewer_id=actor.id,
        decision=decision,
        comments=comments,
        version_before=question.current_version,
        version_after=version_after,
        at=now,
    )
    db.session.add(review)
    db.session.flush()
    return review


def check_revision(question: Question, stem: str, content_fields: dict[str, Any], *, today: dt.date) -> BankQuestion:
    """The edited question, checked by the rules a bank file is checked by, or RevisionInvalid.

    `content_fields` are the type's own fields in bank-file form (an MCQ's `options`, a short
    answer's `guide`); everything else is the question as it stands.
    """
    current = _current_versions([question.id])[question.id]
    raw = as_bank_question(question, current).to_file_dict()
    raw["stem"] = stem
    raw.update(content_fields)
    spec = spec_of(question.standard)
    checked, issues = read_question(raw, (), ksbs=frozenset(spec.ksbs), today=today, source="review")
    if issues or checked is None:
        raise RevisionInvalid([RevisionProblem(tuple(issue.path), issue.message) for issue in issues])
    if checked.fingerprint() == current.fingerprint:
        raise RevisionInvalid([RevisionProblem((), "nothing has changed: edit the wording, or record a keep decision instead")])
    return checked


def propose_revision(
    question: Question,
    *,
    stem: str,
    content_fields: dict[str, Any],
    comments: str,
    actor: User,
    now: dt.datetime,
) -> QuestionVersion:
    """A new version, not drawn and not current until a second reviewer approves it."""
    _open(question)
    text = _comments(comments)
    if pending_revisions([question.id]):
        raise ReviewError(
            f"{question.external_id} already has a revision waiting for approval; approve or reject it first.",
            code="revision_pending",
        )
    checked = check_revision(question, stem, content_fields, today=now.date())
    number = (
        db.session.scalar(select(func.max(QuestionVersion.version)).where(QuestionVersion.question_id == question.id)) or 0
    ) + 1
    version = QuestionVersion(
        question=question,  # through the relationship, so `question.versions` in this session includes it
        version=number,
        type=checked.type,
        ksb=list(checked.ksb),
        marks=checked.marks,
        stem=checked.stem,
        content=checked.content,
        enemies=list(checked.enemies),
        fingerprint=checked.fingerprint(),
        approved=False,
        proposed_by_id=actor.id,
        created_at=now,
    )
    db.session.add(version)
    db.session.flush()
    _record(question, "revise", text, actor, now, version_after=number)
    audit.record(
        actor,
        "question.review.revise",
        question,
        before={"version": question.current_version},
        after={"proposed_version": number},
        reason=text,
    )
    return version


def _decide(version: QuestionVersion, to: str, actor: User, now: dt.datetime) -> None:
    state = version.revision_state
    if to not in REVISION_MOVES.get(state, frozenset()):
        raise IllegalTransition(f"This revision is already {state}.")
    if to == "approved":
        version.approved = True
        version.approved_by_id = actor.id
    else:
        version.rejected_by_id = actor.id
    version.decided_at = now
    db.session.flush()


def approve_revision(version: QuestionVersion, *, actor: User, now: dt.datetime) -> Question:
    """A second reviewer accepts a revision: it becomes the current version and the dates renew."""
    if version.proposed_by_id == actor.id:
        raise SelfApproval("You proposed this revision; another reviewer must approve it.")
    question = version.question
    _open(question)
    _decide(version, "approved", actor, now)
    before_version = question.current_version
    question.current_version = version.version
    # The approver is the one who judged the question fit for purpose as it now stands.
    before = _renew(question, actor, now.date())
    db.session.flush()
    audit.record(
        actor,
        "question.revision.approve",
        question,
        before={"version": before_version, **before},
        after={"version": version.version, "next_due": question.next_due.isoformat()},
    )
    return question


def reject_revision(version: QuestionVersion, *, reason: str, actor: User, now: dt.datetime) -> None:
    """Turn a revision down (the proposer may withdraw their own), saying why; the current version stands."""
    text = (reason or "").strip()
    if not text:
        raise ReviewError(
            "Say why the revision is rejected: the proposer and the review record need the reason.",
            code="reason_required",
        )
    if len(text) > REJECT_REASON_MAX:
        raise ReviewError(f"The reason is limited to {REJECT_REASON_MAX} characters.", code="reason_too_long")
    _decide(version, "rejected", actor, now)
    audit.record(
        actor,
        "question.revision.reject",
        version.question,
        after={"rejected_version": version.version},
        reason=text,
    )


def changes_in(version: QuestionVersion) -> list[FieldChange]:
    """What a waiting revision changes against the current version, word by word."""
    question = version.question
    current = _current_versions([question.id])[question.id]
    return revision_changes(current.stem, current.content, version.stem, version.content)
