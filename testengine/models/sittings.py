"""Sittings: a standard's test at a venue and time, with bookings, invigilators and incidents.

Their states and moves are domain.sitting_states (re-exported here for the models' users).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.sitting_states import BookingStatus, SittingState
from ..extensions import db
from .types import UTCDateTime


class Sitting(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "sittings"

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    venue: Mapped[str] = mapped_column(String(200))
    remote: Mapped[bool] = mapped_column(default=False)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10), default=SittingState.PLANNED.value)
    venue_checklist: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    venue_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    venue_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    room_paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    bookings: Mapped[list[Booking]] = relationship(back_populates="sitting", order_by="Booking.id")
    invigilators: Mapped[list[SittingInvigilator]] = relationship(back_populates="sitting")


class SittingInvigilator(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "sitting_invigilators"

    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    present: Mapped[bool] = mapped_column(default=False)
    signed_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    signed_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    sitting: Mapped[Sitting] = relationship(back_populates="invigilators")


class Booking(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "bookings"
    __table_args__ = (UniqueConstraint("sitting_id", "apprentice_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id"), index=True)
    apprentice_id: Mapped[int] = mapped_column(ForeignKey("apprentices.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=BookingStatus.BOOKED.value)
    seat: Mapped[str | None] = mapped_column(String(20))
    id_document_type: Mapped[str | None] = mapped_column(String(40))
    id_last_digits: Mapped[str | None] = mapped_column(String(4))
    photo_matched: Mapped[bool] = mapped_column(default=False)
    uln_confirmed: Mapped[bool] = mapped_column(default=False)
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    late: Mapped[bool] = mapped_column(default=False)
    # The invigilator's permission to continue on another computer (one use).
    device_change_allowed: Mapped[bool] = mapped_column(default=False)

    sitting: Mapped[Sitting] = relationship(back_populates="bookings")
    apprentice: Mapped[Apprentice] = relationship()  # type: ignore[name-defined]  # noqa: F821


class Incident(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    apprentice_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")


class RoomEvent(db.Model):  # type: ignore[name-defined,misc]
    """The room's timeline for the report: invigilators in and out, ratio state, pauses."""

    __tablename__ = "room_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(30))
    in_progress: Mapped[int] = mapped_column(default=0)
    invigilators_present: Mapped[int] = mapped_column(default=0)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class InvigilatorMessage(db.Model):  # type: ignore[name-defined,misc]
    """A message from the invigilator to one apprentice (apprentice_id) or the whole room (None); kept for the report."""

    __tablename__ = "invigilator_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id"), index=True)
    apprentice_id: Mapped[int | None] = mapped_column(ForeignKey("apprentices.id"))
    body: Mapped[str] = mapped_column(String(500))
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


from .people import Apprentice  # noqa: E402  (resolve the relationship target)
