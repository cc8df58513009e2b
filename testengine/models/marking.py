"""Marks (append-only: every mark kept), claims on responses, standardisation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime


class Mark(db.Model):  # type: ignore[name-defined,misc]
    """One judgement on one response. Never updated: a change is a new row with its reason."""

    __tablename__ = "marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_question_id: Mapped[int] = mapped_column(ForeignKey("attempt_questions.id"), index=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    marker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(12))  # auto | first | second | moderator | remark
    mark: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    seconds_spent: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Why a marker changed their own mark: set on the new row, the old row stays as it was.
    reason: Mapped[str | None] = mapped_column(Text)


class MarkingClaim(db.Model):  # type: ignore[name-defined,misc]
    """A marker's hold on a response; the unique key means two markers can never hold one at once."""

    __tablename__ = "marking_claims"
    __table_args__ = (UniqueConstraint("attempt_question_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_question_id: Mapped[int] = mapped_column(ForeignKey("attempt_questions.id"))
    role: Mapped[str] = mapped_column(String(12))
    marker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class StandardisationItem(db.Model):  # type: ignore[name-defined,misc]
    """A response a moderator has marked, used to check a marker before live marking of its question."""

    __tablename__ = "standardisation_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    response: Mapped[str] = mapped_column(Text)
    reference_mark: Mapped[int]
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Why the moderator gave that mark: shown to markers after they standardise.
    rationale: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class StandardisationMark(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "standardisation_marks"
    __table_args__ = (UniqueConstraint("item_id", "marker_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("standardisation_items.id"))
    marker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    mark: Mapped[int]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class MarkerClearance(db.Model):  # type: ignore[name-defined,misc]
    """Whether a marker may mark a question live: passed standardisation, or cleared by a moderator."""

    __tablename__ = "marker_clearances"
    __table_args__ = (UniqueConstraint("marker_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    marker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    status: Mapped[str] = mapped_column(String(10))  # passed | failed | cleared
    agreement: Mapped[float | None]
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SecondMarkingDecision(db.Model):  # type: ignore[name-defined,misc]
    """Whether a script goes to a second marker, decided when its first marking is complete.

    Near a grade boundary: selected at once. Otherwise it waits for the rest of its sitting, and a
    seeded sample of the batch (domain.marking.second_marking_sample) decides; the seed is kept so
    the draw can be reproduced for an audit.
    """

    __tablename__ = "second_marking_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), unique=True)
    first_total: Mapped[int]  # automatic marks plus first marks, when first marking finished
    status: Mapped[str] = mapped_column(String(12), index=True)  # waiting | selected | not_selected
    reason: Mapped[str | None] = mapped_column(String(12))  # boundary | sample
    seed: Mapped[int | None] = mapped_column(db.BigInteger)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
