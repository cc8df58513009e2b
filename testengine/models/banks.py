"""Standards and their question banks. A question keeps every version it ever had."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime


class QuestionStatus(str, enum.Enum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    RETIRED = "retired"


class Standard(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "standards"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # the spec file as loaded; read through banks.spec_from_row
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    questions: Mapped[list[Question]] = relationship(back_populates="standard")


class Question(db.Model):  # type: ignore[name-defined,misc]
    """A question's identity and review record; its wording lives in versions."""

    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("standard_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), index=True)
    author: Mapped[str] = mapped_column(String(120))
    last_reviewed: Mapped[dt.date]
    reviewer: Mapped[str] = mapped_column(String(120))
    next_due: Mapped[dt.date] = mapped_column(index=True)
    current_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    standard: Mapped[Standard] = relationship(back_populates="questions")
    versions: Mapped[list[QuestionVersion]] = relationship(back_populates="question", order_by="QuestionVersion.version")


class QuestionVersion(db.Model):  # type: ignore[name-defined,misc]
    """Immutable once issued: an attempt always shows the version it was drawn with."""

    __tablename__ = "question_versions"
    __table_args__ = (UniqueConstraint("question_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    version: Mapped[int]
    type: Mapped[str] = mapped_column(String(20))
    ksb: Mapped[list[str]] = mapped_column(JSON)
    marks: Mapped[int]
    stem: Mapped[str] = mapped_column(Text)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    enemies: Mapped[list[str]] = mapped_column(JSON, default=list)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # A revision proposed by a reviewer waits for a second reviewer before it can be drawn.
    approved: Mapped[bool] = mapped_column(default=True)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A proposed revision is decided once: approved (it becomes current) or rejected (it never does).
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    question: Mapped[Question] = relationship(back_populates="versions")

    @property
    def revision_state(self) -> str:
        """pending | approved | rejected: what a second reviewer has (or has not yet) decided."""
        if self.approved:
            return "approved"
        return "rejected" if self.rejected_by_id is not None else "pending"


class BankImport(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "bank_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(500))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)


class QuestionReview(db.Model):  # type: ignore[name-defined,misc]
    """The annual review record: who reviewed what, when, the decision and what changed."""

    __tablename__ = "question_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(10))
    comments: Mapped[str] = mapped_column(Text)
    version_before: Mapped[int]
    version_after: Mapped[int | None]
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
