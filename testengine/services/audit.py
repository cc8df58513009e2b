"""Writing the audit log, in the same transaction as the change it records."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from ..clock import utcnow
from ..extensions import db
from ..models import AuditEntry, User

# The address of the request being served, set by the web layer at the start of each request (None for
# the CLI and the sweep): every entry written while it is set records where the action came from.
REQUEST_ADDRESS: ContextVar[str | None] = ContextVar("testengine_request_address", default=None)


def actor_reference(actor: User | None) -> str:
    """What the entry itself says about who acted: a pseudonymous reference, or "system"."""
    return f"user {actor.id}" if actor is not None else "system"


def record(
    actor: User | None,
    action: str,
    obj: Any | None = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Append one entry; `actor` None means the system (a sweep, the CLI).

    People are referenced by id, never by email or name: the entry cannot be changed afterwards (the
    log is append-only), so anything personal written into it would outlive the retention period.
    Readers show who it was by joining users at read time, and so show the pseudonym once retention
    has replaced the person's details. Callers likewise put ids, not emails, in `before`/`after`.
    """
    if obj is not None:
        object_type = object_type or type(obj).__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    entry = AuditEntry(
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_label=actor_reference(actor),
        action=action,
        object_type=object_type or "-",
        object_id=str(object_id) if object_id is not None else "-",
        before=before,
        after=after,
        reason=reason,
        address=REQUEST_ADDRESS.get(),
    )
    db.session.add(entry)
    db.session.flush()
    return entry
