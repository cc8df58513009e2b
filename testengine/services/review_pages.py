"""What the bank reviewers' pages show, read in one place: the standards, a question's review history and
the names of the people in it, and the revisions waiting for a second reviewer. Reads only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select

from ..extensions import db
from ..models import Question, QuestionReview, QuestionVersion, Standard, User


def standards() -> Sequence[Standard]:
    return db.session.scalars(select(Standard).order_by(Standard.code)).all()


def reviews_of(question: Question) -> Sequence[QuestionReview]:
    """The question's reviews, newest first."""
    return db.session.scalars(
        select(QuestionReview)
        .where(QuestionReview.question_id == question.id)
        .order_by(QuestionReview.at.desc(), QuestionReview.id.desc())
    ).all()


def names(user_ids: Iterable[int | None]) -> dict[int, str]:
    """Display names of these people (None, for nobody, is skipped)."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return {user.id: user.display_name for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


def revisions_waiting() -> Sequence[tuple[QuestionVersion, Question, str, str]]:
    """(version, question, standard code, proposer's name) of every revision neither approved nor
    rejected, oldest first."""
    return (
        db.session.execute(
            select(QuestionVersion, Question, Standard.code, User.display_name)
            .join(Question, Question.id == QuestionVersion.question_id)
            .join(Standard, Standard.id == Question.standard_id)
            .join(User, User.id == QuestionVersion.proposed_by_id)
            .where(QuestionVersion.approved.is_(False), QuestionVersion.rejected_by_id.is_(None))
            .order_by(QuestionVersion.created_at)
        )
        .tuples()
        .all()
    )
