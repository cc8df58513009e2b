"""The audit log for administrators: read and filter it, newest first, a page at a time. Read-only:
there is no route that edits or deletes an entry (the log is append-only down to the database)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import render_template, request
from sqlalchemy import Select, and_, distinct, func, or_, select
from werkzeug.datastructures import MultiDict
from wtforms import DateField, Form, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from ..extensions import db
from ..form_choices import options
from ..models import AuditEntry, User
from .views import bp

PER_PAGE = 50
UTC = dt.UTC


class AuditFilterForm(Form):
    """Filters read from the query string (a GET form: it changes nothing, so it needs no CSRF token)."""

    action = SelectField("Action", choices=[], default="")
    actor = StringField("Who", validators=[Optional(), Length(max=120)])
    object_type = SelectField("Object type", choices=[], default="")
    object_id = StringField("Object id", validators=[Optional(), Length(max=60)])
    date_from = DateField("From (UTC)", validators=[Optional()])
    date_to = DateField("To (UTC)", validators=[Optional()])

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date must be on or after the start date.")


def _choices(column: Any, label: str) -> list[tuple[str, str]]:
    values = db.session.scalars(select(distinct(column)).order_by(column)).all()
    return [("", label), *((value, value) for value in values)]


def _filters(form: AuditFilterForm) -> dict[str, Any]:
    """The filters that are valid (an invalid one is reported on the form and not applied)."""
    form.validate()
    return {name: field.data for name, field in form._fields.items() if field.data and not field.errors}


def _apply(query: Select[Any], filters: dict[str, Any]) -> Select[Any]:
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


@bp.route("/audit")
def audit():  # type: ignore[no-untyped-def]
    form = AuditFilterForm(MultiDict(request.args))
    form.action.choices = options(_choices(AuditEntry.action, "Any action"))
    form.object_type.choices = options(_choices(AuditEntry.object_type, "Any type"))
    filters = _filters(form)

    def with_actor(query):  # type: ignore[no-untyped-def]
        return query.outerjoin(User, User.id == AuditEntry.actor_id)

    total = db.session.scalar(_apply(with_actor(select(func.count(AuditEntry.id))), filters)) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    rows = db.session.execute(
        _apply(with_actor(select(AuditEntry, User.email)), filters)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    args = {name: (value.isoformat() if isinstance(value, dt.date) else value) for name, value in filters.items()}
    return render_template(
        "admin/audit.html",
        form=form,
        entries=[(entry, _who(entry, email), changes(entry)) for entry, email in rows],
        total=total,
        page=page,
        pages=pages,
        first=(page - 1) * PER_PAGE + 1,
        last=(page - 1) * PER_PAGE + len(rows),
        args=args,
        filtered=bool(filters),
    )
