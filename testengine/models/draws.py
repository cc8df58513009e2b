"""Draw pools: the exact set of item versions a paper was drawn from, stored once per distinct bank state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime


class DrawPool(db.Model):  # type: ignore[name-defined,misc]
    """Content-addressed: the key is the SHA-256 of the pool, so many attempts share one row."""

    __tablename__ = "draw_pools"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    items: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ItemExposure(db.Model):  # type: ignore[name-defined,misc]
    """How often each question has been issued: the draw prefers the less exposed."""

    __tablename__ = "item_exposure"

    question_id: Mapped[int] = mapped_column(db.ForeignKey("questions.id"), primary_key=True)
    issued: Mapped[int] = mapped_column(default=0)
