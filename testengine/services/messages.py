"""The invigilator's messages: to one apprentice or the whole room, shown on their screens, kept for the report."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import or_, select

from ..domain.errors import DomainError
from ..extensions import db
from ..models import Attempt, Booking, InvigilatorMessage, Sitting, User
from . import audit

MAX_MESSAGE = 500
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class MessageError(DomainError):
    code = "invalid_message"

    def __init__(self, message: str, *, field: str, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.field = field


def send(sitting: Sitting, *, apprentice_id: int | None, body: str, now: dt.datetime, actor: User | None) -> InvigilatorMessage:
    """Send a message to one booked apprentice (`apprentice_id`) or, with None, to everyone in the room."""
    text = CONTROL.sub("", body or "").strip()
    if not text:
        raise MessageError("Write the message.", field="body", code="message_required")
    if len(text) > MAX_MESSAGE:
        raise MessageError(f"Keep the message to {MAX_MESSAGE} characters.", field="body", code="message_too_long")
    if apprentice_id is not None:
        booked = db.session.scalar(
            select(Booking.id).where(Booking.sitting_id == sitting.id, Booking.apprentice_id == apprentice_id)
        )
        if booked is None:
            raise MessageError(
                "Choose an apprentice booked in this room, or the whole room.", field="recipient", code="not_in_room"
            )
    message = InvigilatorMessage(
        sitting_id=sitting.id, apprentice_id=apprentice_id, body=text, sent_at=now, sent_by_id=actor.id if actor else None
    )
    db.session.add(message)
    db.session.flush()
    audit.record(actor, "sitting.message", sitting, after={"message": message.id, "to": apprentice_id or "room", "body": text})
    return message


def for_attempt(attempt: Attempt, after_id: int = 0) -> list[InvigilatorMessage]:
    """The messages for this attempt's apprentice in its room (to them or to the room), newer than `after_id`."""
    if attempt.sitting_id is None:
        return []
    return list(
        db.session.scalars(
            select(InvigilatorMessage)
            .where(
                InvigilatorMessage.sitting_id == attempt.sitting_id,
                InvigilatorMessage.id > after_id,
                or_(InvigilatorMessage.apprentice_id.is_(None), InvigilatorMessage.apprentice_id == attempt.apprentice_id),
            )
            .order_by(InvigilatorMessage.id)
        )
    )


def for_report(sitting: Sitting) -> list[dict[str, object]]:
    """Every message sent in the room, oldest first, with who sent it and to whom (by candidate number)."""
    rows = db.session.execute(
        select(InvigilatorMessage, User.display_name)
        .outerjoin(User, User.id == InvigilatorMessage.sent_by_id)
        .where(InvigilatorMessage.sitting_id == sitting.id)
        .order_by(InvigilatorMessage.id)
    ).all()
    candidates = {b.apprentice_id: b.apprentice.candidate_number for b in sitting.bookings}
    return [
        {
            "sent_at": m.sent_at,
            "to": "Whole room" if m.apprentice_id is None else candidates.get(m.apprentice_id, str(m.apprentice_id)),
            "body": m.body,
            "sent_by": name or "",
        }
        for m, name in rows
    ]
