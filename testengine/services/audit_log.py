"""The audit log as the admins read it: filtered, newest first, a page at a time, each entry with who
acted (their account as it reads now) and its changes field by field. Reads only; services.audit writes."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, TypeVar

from sqlalchemy import Select, and_, distinct, func, or_, select

from ..extensions import db
from ..models import AuditEntry, User

UTC = dt.UTC
Query = TypeVar("Query", bound=Select[*tuple[Any, ...]])


def values_of(column: Any) -> list[str]:
    """Every value the column holds, once each, in order (for a filter's choices)."""
    return list(db.session.scalars(select(distinct(column)).order_by(column)).all())


def count(filters: dict[str, Any]) -> int:
    return db.session.scalar(_filtered(select(func.count(AuditEntry.id)), filters)) or 0


def entries(filters: dict[str, Any], *, offset: int, limit: int) -> list[tuple[AuditEntry, str, list[tuple[str, str, str]]]]:
    """(entry, who, changes) for one page of the filtered log, newest first."""
    rows = db.session.execute(
        _filtered(select(AuditEntry, User.email), filters)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return [(entry, _who(entry, email), changes(entry)) for entry, email in rows]


def _filtered(query: Query, filters: dict[str, Any]) -> Query:
    """The query with the filters applied (each key optional: action, actor, object_type, object_id,
    date_from, date_to)."""
    query = query.outerjoin(User, User.id == AuditEntry.actor_id)
    if "action" in filters:
        query = query.where(AuditEntry.action == filters["action"])
    if "actor" in filters:
        # Who acted is the person's account as it is now (entries hold only their id), or "system".
        wanted = filters["actor"].strip().lower()
        query = query.where(
            or_(
                func.lower(User.email).contains(wanted, autoescape=True),
                and_(AuditEntry.actor_id.is_(None), func.lower(AuditEntry.actor_label).contains(wanted, autoescape=True)),
            )
        )
    if "object_type" in filters:
        query = query.where(AuditEntry.object_type == filters["object_type"])
    if "object_id" in filters:
        query = query.where(AuditEntry.object_id == filters["object_id"].strip())
    if "date_from" in filters:
        query = query.where(AuditEntry.at >= dt.datetime.combine(filters["date_from"], dt.time(), UTC))
    if "date_to" in filters:
        query = query.where(AuditEntry.at < dt.datetime.combine(filters["date_to"] + dt.timedelta(days=1), dt.time(), UTC))
    return query


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def changes(entry: AuditEntry) -> list[tuple[str, str, str]]:
    """Before and after, field by field, as plain text (the template escapes it)."""
    before, after = entry.before, entry.after
    if not isinstance(before, dict) or not isinstance(after, dict):
        if before is None and isinstance(after, dict):
            before = {}
        elif after is None and isinstance(before, dict):
            after = {}
        else:
            return [("", _text(before), _text(after))] if before is not None or after is not None else []
    keys = sorted(set(before) | set(after))
    return [(key, _text(before.get(key)), _text(after.get(key))) for key in keys]


def _who(entry: AuditEntry, email: str | None) -> str:
    """The actor as their account reads now (a pseudonym after retention), joined at read time."""
    if entry.actor_id is None:
        return "system"
    return email or f"user {entry.actor_id}"
