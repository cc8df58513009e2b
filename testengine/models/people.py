"""People: accounts with roles, apprentices (ULN, candidate number), reasonable adjustments."""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime


class Role(str, enum.Enum):
    APPRENTICE = "apprentice"
    INVIGILATOR = "invigilator"
    MARKER = "marker"
    REVIEWER = "reviewer"
    ADMIN = "admin"
    ASSESSOR = "assessor"
    LEARNER = "learner"  # a training provider's learner: practice papers only


ULN_PATTERN = re.compile(r"^[0-9]{10}$")


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on logout and password change: every cookie carrying the old value stops working.
    session_version: Mapped[int] = mapped_column(default=1)
    failed_logins: Mapped[int] = mapped_column(default=0)
    first_failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    is_moderator: Mapped[bool] = mapped_column(default=False)
    # Set when an administrator gives a temporary password (new account or reset): every page but
    # change-password and sign-out sends the person there until they choose their own.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    role_rows: Mapped[list[UserRole]] = relationship(back_populates="user", cascade="all, delete-orphan", lazy="selectin")
    apprentice: Mapped[Apprentice | None] = relationship(back_populates="user", uselist=False)

    @property
    def roles(self) -> set[str]:
        return {row.role for row in self.role_rows}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:
        # The session version travels in the cookie so a replayed cookie after logout is refused.
        return f"{self.id}:{self.session_version}"


class UserRole(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class Apprentice(db.Model):  # type: ignore[name-defined,misc]
    """What the process needs to know about a candidate, and no more."""

    __tablename__ = "apprentices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    uln: Mapped[str | None] = mapped_column(String(10), unique=True)
    candidate_number: Mapped[str] = mapped_column(String(20), unique=True)
    given_name: Mapped[str] = mapped_column(String(80))
    family_name: Mapped[str] = mapped_column(String(80))
    epa_period_ends: Mapped[dt.date | None]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    pseudonymised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship(back_populates="apprentice")
    adjustments: Mapped[list[Adjustment]] = relationship(back_populates="apprentice", order_by="Adjustment.id")

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class AdjustmentKind(str, enum.Enum):
    EXTRA_TIME = "extra_time"
    REST_BREAKS = "rest_breaks"
    LARGE_TEXT = "large_text"
    HIGH_CONTRAST = "high_contrast"
    SCREEN_READER = "screen_reader"
    DISPLAY = "display"  # colours, text size, spacing, font: the settings themselves in `display`


class Adjustment(db.Model):  # type: ignore[name-defined,misc]
    """A reasonable adjustment as an evidence record; it changes the clock or display, never questions or marks."""

    __tablename__ = "adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    apprentice_id: Mapped[int] = mapped_column(ForeignKey("apprentices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    extra_percent: Mapped[int] = mapped_column(default=0)
    extra_minutes: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(String(500))
    approval_reference: Mapped[str] = mapped_column(String(100))
    approved_by: Mapped[str] = mapped_column(String(120))
    expires_on: Mapped[dt.date | None]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    display: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # a display adjustment's settings (domain.display)

    apprentice: Mapped[Apprentice] = relationship(back_populates="adjustments")

    def in_force(self, today: dt.date) -> bool:
        return self.revoked_at is None and (self.expires_on is None or self.expires_on >= today)
