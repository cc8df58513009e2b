"""The audit log for administrators: read and filter it, newest first, a page at a time. Read-only:
there is no route that edits or deletes an entry (the log is append-only down to the database)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import render_template, request
from werkzeug.datastructures import MultiDict
from wtforms import DateField, Form, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from ..form_choices import options
from ..models import AuditEntry
from ..services import audit_log
from .blueprint import bp

PER_PAGE = 50


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


def _filters(form: AuditFilterForm) -> dict[str, Any]:
    """The filters that are valid (an invalid one is reported on the form and not applied)."""
    form.validate()
    return {name: field.data for name, field in form._fields.items() if field.data and not field.errors}


@bp.route("/audit")
def audit():  # type: ignore[no-untyped-def]
    form = AuditFilterForm(MultiDict(request.args))
    form.action.choices = options([("", "Any action"), *((v, v) for v in audit_log.values_of(AuditEntry.action))])
    form.object_type.choices = options([("", "Any type"), *((v, v) for v in audit_log.values_of(AuditEntry.object_type))])
    filters = _filters(form)
    total = audit_log.count(filters)
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    rows = audit_log.entries(filters, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
    args = {name: (value.isoformat() if isinstance(value, dt.date) else value) for name, value in filters.items()}
    return render_template(
        "admin/audit.html",
        form=form,
        entries=rows,
        total=total,
        page=page,
        pages=pages,
        first=(page - 1) * PER_PAGE + 1,
        last=(page - 1) * PER_PAGE + len(rows),
        args=args,
        filtered=bool(filters),
    )
