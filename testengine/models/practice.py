"""Practice papers: formative attempts on practice-only banks, kept apart from every live record.

Their own table, so nothing that counts (results, exposure counts, item statistics, marking)
ever reads them. They belong to an account (an apprentice or a training provider's learner),
not to an apprentice record: a learner has no ULN.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime


class PracticeAttempt(db.Model):  # type: ignore[name-defined,misc]
    """One practice paper: its questions (with the option order shown), answers and marks.

    `questions` rows are {"id", "version_id", "type", "marks", "ksb", "order"}; `responses` maps a
    position (as text, from 1) to the answer; `awarded` holds each question's marks once submitted
    (None for a short answer, which the apprentice checks against the guide).
    """

    __tablename__ = "practice_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"))
    seed: Mapped[int] = mapped_column(BigInteger)
    timed: Mapped[bool]
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    questions: Mapped[list[Any]] = mapped_column(JSON)
    responses: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    awarded: Mapped[list[Any] | None] = mapped_column(JSON)
