"""The demo's assessor: an account and an appointment for an ST1379 professional discussion."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..extensions import db

ASSESSOR = ("assessor@demo.test", "Drew Assessor")
APPRENTICE_EMAIL = "apprentice1@demo.test"


def seed_assessor(now: dt.datetime, passwords: list[tuple[str, str, str]]) -> None:
    """Create (or reset the password of) the demo assessor and book them, once, with apprentice 1."""
    from ..models import Appointment, User
    from ..services import accounts, appointments
    from ..services.banks import get_standard

    email, name = ASSESSOR
    password = accounts.generate_password()
    assessor = db.session.scalar(select(User).where(User.email == email))
    if assessor is None:
        assessor = accounts.create_user(
            email=email, display_name=name, password=password, roles=["assessor"], allow_test_domains=True
        )
    else:
        accounts.reset_password(assessor, password, None, temporary=False)
    passwords.append(("assessor", email, password))
    if db.session.scalar(select(Appointment.id).where(Appointment.assessor_id == assessor.id)) is None:
        apprentice = db.session.scalars(select(User).where(User.email == APPRENTICE_EMAIL)).one().apprentice
        assert apprentice is not None  # the demo made apprentice 1 with the apprentice role
        appointments.create(
            apprentice=apprentice,
            standard=get_standard("ST1379"),
            method_key="professional_discussion",
            assessor=assessor,
            scheduled_for=now + dt.timedelta(hours=1),
            now=now,
            actor=None,
        )
