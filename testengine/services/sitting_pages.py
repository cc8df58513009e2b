"""What the admins' sitting and adjustment pages show, read in one place: the sittings, who can still be
booked into one or assigned to invigilate it, and an apprentice's adjustments and open attempts. Reads only."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from ..extensions import db
from ..models import Adjustment, Apprentice, Attempt, Role, Sitting, Standard, User, UserRole
from ..models.attempts import OPEN_STATES


def all_sittings() -> Sequence[Sitting]:
    """Newest window first."""
    return db.session.scalars(select(Sitting).order_by(Sitting.window_start.desc())).all()


def standards() -> Sequence[Standard]:
    return db.session.scalars(select(Standard).order_by(Standard.code)).all()


def bookable_apprentices(sitting: Sitting) -> list[Apprentice]:
    """Apprentices not yet booked into the sitting, by candidate number."""
    booked = {b.apprentice_id for b in sitting.bookings}
    return [a for a in db.session.scalars(select(Apprentice).order_by(Apprentice.candidate_number)) if a.id not in booked]


def unassigned_invigilators(sitting: Sitting) -> list[User]:
    """People with the invigilator role not yet assigned to the sitting, by name."""
    assigned = {link.user_id for link in sitting.invigilators}
    return [
        u
        for u in db.session.scalars(
            select(User).join(UserRole).where(UserRole.role == Role.INVIGILATOR.value).order_by(User.display_name)
        )
        if u.id not in assigned
    ]


def invigilators_of(sitting: Sitting) -> list[User]:
    return [user for link in sitting.invigilators if (user := db.session.get(User, link.user_id)) is not None]


def adjustments_of(apprentice: Apprentice) -> Sequence[Adjustment]:
    return db.session.scalars(select(Adjustment).where(Adjustment.apprentice_id == apprentice.id).order_by(Adjustment.id)).all()


def open_attempts_of(apprentice: Apprentice) -> Sequence[Attempt]:
    return db.session.scalars(select(Attempt).where(Attempt.apprentice_id == apprentice.id, Attempt.state.in_(OPEN_STATES))).all()
