"""Attempts: a paper issued to an apprentice, its clock, its answers and what happened."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.attempt_states import OPEN_STATES as domain_open_states
from ..domain.attempt_states import AttemptKind, AttemptState
from ..domain.marking_states import MarkingState
from ..extensions import db
from .types import UTCDateTime

OPEN_STATES = tuple(state.value for state in domain_open_states)
_OPEN_SQL = "state IN ({})".format(", ".join(f"'{state}'" for state in OPEN_STATES))


class Attempt(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "attempts"
    __table_args__ = (
        # One open attempt per apprentice per sitting, enforced by the database itself.
        Index(
            "uq_attempts_open_per_sitting",
            "apprentice_id",
            "sitting_id",
            unique=True,
            sqlite_where=text(_OPEN_SQL),
            postgresql_where=text(_OPEN_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    apprentice_id: Mapped[int] = mapped_column(ForeignKey("apprentices.id"), index=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"), index=True)
    sitting_id: Mapped[int | None] = mapped_column(ForeignKey("sittings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default=AttemptKind.FIRST.value)
    state: Mapped[str] = mapped_column(String(12), default=AttemptState.NOT_STARTED.value, index=True)
    seed: Mapped[int] = mapped_column(db.BigInteger)
    # What the draw saw, so the paper can be redrawn exactly for an appeal.
    draw_inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    base_minutes: Mapped[int]
    extra_percent: Mapped[int] = mapped_column(default=0)
    extra_minutes: Mapped[int] = mapped_column(default=0)
    # Kept current on every clock change so the sweep and the board can query it.
    deadline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finish_reason: Mapped[str | None] = mapped_column(String(20))
    client_token: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(64))
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The question on screen in the apprentice's browser, so a reload opens there (None: question 1).
    current_position: Mapped[int | None]
    # The display settings chosen at the start (domain.display): kept for the whole attempt.
    display_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The page's heartbeat (every few seconds while it can reach the server): the board's online/offline.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    marking_state: Mapped[str] = mapped_column(String(16), default=MarkingState.UNMARKED.value, index=True)
    total_marks: Mapped[int | None]

    questions: Mapped[list[AttemptQuestion]] = relationship(back_populates="attempt", order_by="AttemptQuestion.position")
    stoppages: Mapped[list[Stoppage]] = relationship(order_by="Stoppage.id")


class AttemptQuestion(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "attempt_questions"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    position: Mapped[int]
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_versions.id"), index=True)
    option_order: Mapped[list[int] | None] = mapped_column(JSON)
    marks: Mapped[int]

    attempt: Mapped[Attempt] = relationship(back_populates="questions")
    version: Mapped[QuestionVersion] = relationship()  # type: ignore[name-defined]  # noqa: F821


class Answer(db.Model):  # type: ignore[name-defined,misc]
    """The latest saved answer; a save with an older revision never overwrites a newer one."""

    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_question_id: Mapped[int] = mapped_column(ForeignKey("attempt_questions.id"), unique=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    response: Mapped[str | None] = mapped_column(Text)
    flagged: Mapped[bool] = mapped_column(default=False)
    revision: Mapped[int] = mapped_column(default=0)
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Stoppage(db.Model):  # type: ignore[name-defined,misc]
    """A pause or supervised rest break: the clock stops between start and end."""

    __tablename__ = "stoppages"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # pause | rest_break | room_pause
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))


class AttemptEvent(db.Model):  # type: ignore[name-defined,misc]
    """What the browser reported (left the window, pasted, second browser) for the invigilator."""

    __tablename__ = "attempt_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)


from .banks import QuestionVersion  # noqa: E402,F401
