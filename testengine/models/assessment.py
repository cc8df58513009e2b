"""Assessor-led methods: the question sets drawn for them and the assessor's appointments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime


class QuestionSetDraw(db.Model):  # type: ignore[name-defined,misc]
    """One question set drawn for one apprentice and method: reproducible from its seed and inputs.

    `drawn` holds the questions as drawn (external id, question version id), so a redraw can be
    compared with it; `questions` holds the set as it stands after any swaps by the assessor in
    the assessor's-choice slots (`swaps` records each), and is what the apprentice meets.
    """

    __tablename__ = "question_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    apprentice_id: Mapped[int] = mapped_column(ForeignKey("apprentices.id"), index=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"))
    method_key: Mapped[str] = mapped_column(String(40))
    seed: Mapped[int] = mapped_column(BigInteger)
    pool_key: Mapped[str] = mapped_column(ForeignKey("draw_pools.key"))
    draw_inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    pre_picked: Mapped[int]
    drawn: Mapped[list[Any]] = mapped_column(JSON)
    questions: Mapped[list[Any]] = mapped_column(JSON)
    swaps: Mapped[list[Any]] = mapped_column(JSON, default=list)
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drawn_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    @property
    def question_ids(self) -> list[str]:
        return [row[0] for row in self.questions]


class Appointment(db.Model):  # type: ignore[name-defined,misc]
    """An assessor's appointment with an apprentice for one assessor-led method.

    `conflict` is None until the assessor declares: False is a declaration of no conflict of
    interest (not the apprentice's trainer or line manager), True a declared conflict, which
    blocks the set and the grade. `evidence` maps each KSB to what the assessor recorded.
    """

    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    apprentice_id: Mapped[int] = mapped_column(ForeignKey("apprentices.id"), index=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"))
    method_key: Mapped[str] = mapped_column(String(40))
    assessor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    scheduled_for: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    conflict: Mapped[bool | None]
    conflict_note: Mapped[str | None] = mapped_column(Text)
    declared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    question_set_id: Mapped[int | None] = mapped_column(ForeignKey("question_sets.id"))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    grade: Mapped[str | None] = mapped_column(String(12))
    method_result_id: Mapped[int | None] = mapped_column(ForeignKey("method_results.id"))
    graded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
