"""Results: each method's grade, the overall grade, and their workflow to release."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..domain.attempt_states import AttemptKind
from ..domain.result_states import ResultStatus
from ..extensions import db
from .types import UTCDateTime


class MethodResult(db.Model):  # type: ignore[name-defined,misc]
    """One method's grade for one apprentice. A re-sit or re-mark adds a row; `current` marks the one in force."""

    __tablename__ = "method_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    apprentice_id: Mapped[int] = mapped_column(ForeignKey("apprentices.id"), index=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"))
    method_key: Mapped[str] = mapped_column(String(40))
    grade: Mapped[str] = mapped_column(String(12))
    achieved_grade: Mapped[str] = mapped_column(String(12))  # before any re-sit cap
    marks: Mapped[int | None]
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"))
    assessed_on: Mapped[dt.date]
    assessor: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10), default=AttemptKind.FIRST.value)
    employer_agreed: Mapped[bool] = mapped_column(default=False)
    current: Mapped[bool] = mapped_column(default=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default=ResultStatus.PROVISIONAL.value)
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_off_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A change after release (appeal | remark) names its route and reason, and the row it replaced.
    change_route: Mapped[str | None] = mapped_column(String(10))
    change_reason: Mapped[str | None] = mapped_column(Text)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("method_results.id"))


class OverallResult(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "overall_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    apprentice_id: Mapped[int] = mapped_column(ForeignKey("apprentices.id"), index=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"))
    grade: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12), default=ResultStatus.PROVISIONAL.value)
    current: Mapped[bool] = mapped_column(default=True)
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_off_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    change_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The method results it was graded from: {method_key: {"result_id", "grade", "kind"}}.
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ResitAgreement(db.Model):  # type: ignore[name-defined,misc]
    """The employer's agreement to a re-sit or re-take of one failed result: who agreed, when, and
    (for a re-take) the further learning. Never edited: a later agreement is a new row."""

    __tablename__ = "resit_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    apprentice_id: Mapped[int] = mapped_column(ForeignKey("apprentices.id"), index=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"))
    method_key: Mapped[str] = mapped_column(String(40))
    after_result_id: Mapped[int] = mapped_column(ForeignKey("method_results.id"), index=True)
    employer_contact: Mapped[str] = mapped_column(String(120))
    agreed_on: Mapped[dt.date]
    further_learning: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
