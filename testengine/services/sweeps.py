"""Time-up for many attempts at once (the board, closing a room, `testengine sweep`): each on its own.

One attempt that cannot be submitted, whatever the reason, must never leave the rest of the room
unsubmitted: each runs in its own savepoint, and a failure is logged and recorded once for the
room's invigilator (an incident) and the administrators (the audit log).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from ..extensions import db
from ..models import Attempt, AuditEntry, Incident
from . import attempts as attempt_service
from . import audit

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """What a sweep did: each attempt is submitted (or fails) on its own."""

    submitted: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # attempt id -> what went wrong
    unreadable: list[str] = field(default_factory=list)  # stored responses marked 0 because they cannot be answers


def finalise_each(
    attempts: list[Attempt], now: dt.datetime, settings: attempt_service.AttemptSettings = attempt_service.DEFAULT_SETTINGS
) -> SweepReport:
    """Submit every attempt whose time ran out, each in its own savepoint.

    One attempt that cannot be submitted (whatever the reason) is rolled back alone, logged, and
    recorded once for the invigilator and the administrators (an incident in its room and an audit
    entry); the others are submitted all the same. The caller commits.
    """
    report = SweepReport()
    for attempt_id in [attempt.id for attempt in attempts]:
        try:
            with db.session.begin_nested():
                attempt = db.session.get(Attempt, attempt_id)
                notes = attempt_service.finalise_reporting(attempt, now, settings=settings) if attempt is not None else None
        except Exception as error:  # anything: one attempt must never stop the room
            log.exception("attempt %s could not be submitted at time-up", attempt_id)
            report.failed[attempt_id] = f"{type(error).__name__}: {error}"[:300]
            continue
        if notes is not None:
            report.submitted.append(attempt_id)
            report.unreadable.extend(f"attempt {attempt_id}: {note}" for note in notes)
    for attempt_id, message in report.failed.items():
        _record_failure(attempt_id, message, now)
    return report


def _record_failure(attempt_id: int, error: str, now: dt.datetime) -> None:
    """Tell the room and the administrators, once per attempt (the board's sweep retries every refresh)."""
    try:
        with db.session.begin_nested():
            seen = db.session.scalar(
                select(AuditEntry.id)
                .where(
                    AuditEntry.action == "attempt.submit_failed",
                    AuditEntry.object_type == "attempts",
                    AuditEntry.object_id == str(attempt_id),
                )
                .limit(1)
            )
            if seen is not None:
                return
            attempt = db.session.get(Attempt, attempt_id)
            audit.record(None, "attempt.submit_failed", object_type="attempts", object_id=attempt_id, after={"error": error})
            if attempt is not None and attempt.sitting_id is not None:
                db.session.add(
                    Incident(
                        sitting_id=attempt.sitting_id,
                        kind="technical_fault",
                        occurred_at=now,
                        reported_by_id=None,
                        apprentice_ids=[attempt.apprentice_id],
                        notes=f"Attempt {attempt_id} could not be submitted when its time ran out ({error[:200]}). "
                        "Its saved answers are kept; the administrator has been told.",
                    )
                )
                db.session.flush()
    except Exception:  # the log has it; recording must not stop the sweep either
        log.exception("could not record the failed submission of attempt %s", attempt_id)
