"""Rate-limit counters kept in the database, so every app host counts the same sign-in attempts."""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class RateLimitCounter(db.Model):  # type: ignore[name-defined,misc]
    """One fixed window of one limit for one key (say, sign-in POSTs from one address)."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int]
    expires_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch, as the limiter counts time
