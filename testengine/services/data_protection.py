"""Data protection: pseudonymising apprentices after the retention period.

Retention: TESTENGINE_RETENTION_DAYS after an apprentice's last finished activity (the latest of
their attempts' finish, their results' release and their sittings' end), and only once nothing is
open (no attempt in progress, no result waiting for release), what identifies them is replaced:
names, ULN, email, the fragment of their identity document, the reasons for their adjustments, their
browser's device cookie, and their name where an incident note uses it. Their account is disabled.
The candidate number stays as the pseudonym, so marks, answers, grades and item statistics are kept
and still add up. Each pseudonymisation writes an audit entry (without the names it removed).

Subject access exports are in services.subject_access.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ..domain.result_states import ResultStatus
from ..extensions import db
from ..models import (
    Apprentice,
    Attempt,
    Booking,
    Incident,
    MethodResult,
    OverallResult,
    Sitting,
    User,
)
from ..models.attempts import OPEN_STATES
from . import audit

PSEUDONYM_GIVEN_NAME = "Candidate"
REMOVED_REASON = "[removed under the retention policy]"
RELEASED = ResultStatus.RELEASED.value

# --- retention ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionCandidate:
    """An apprentice whose personal data is due for pseudonymisation, and why."""

    apprentice_id: int
    candidate_number: str
    name: str
    last_activity: dt.datetime


def _by_apprentice(rows: Iterable[tuple[Any, Any]]) -> dict[int, Any]:
    return {apprentice_id: value for apprentice_id, value in rows if value is not None}


def due_for_pseudonymisation(now: dt.datetime, retention_days: int) -> list[RetentionCandidate]:
    """Apprentices with finished activity older than the retention period and nothing still open.

    An apprentice with an attempt not yet finished, or a current result not yet released, is never due:
    the record is still in use (and an appeal needs it).
    """
    if retention_days < 0:
        raise ValueError("retention_days must not be negative")
    cutoff = now - dt.timedelta(days=retention_days)
    last_attempt = _by_apprentice(
        db.session.execute(
            select(Attempt.apprentice_id, func.max(func.coalesce(Attempt.submitted_at, Attempt.issued_at))).group_by(
                Attempt.apprentice_id
            )
        )
    )
    open_attempts = set(db.session.scalars(select(Attempt.apprentice_id).where(Attempt.state.in_(OPEN_STATES))))
    last_release: dict[int, dt.datetime] = {}
    unreleased: set[int] = set()
    for model in (MethodResult, OverallResult):
        for apprentice_id, released in db.session.execute(
            select(model.apprentice_id, func.max(model.released_at)).group_by(model.apprentice_id)
        ):
            if released is not None:
                last_release[apprentice_id] = max(released, last_release.get(apprentice_id, released))
        unreleased.update(
            db.session.scalars(select(model.apprentice_id).where(model.current.is_(True), model.status != RELEASED))
        )
    last_sitting = _by_apprentice(
        db.session.execute(
            select(Booking.apprentice_id, func.max(Sitting.window_end))
            .join(Sitting, Sitting.id == Booking.sitting_id)
            .group_by(Booking.apprentice_id)
        )
    )

    due = []
    finished = set(last_attempt) | set(last_release)
    candidates: Iterable[Apprentice] = (
        db.session.scalars(
            select(Apprentice).where(Apprentice.pseudonymised_at.is_(None), Apprentice.id.in_(finished)).order_by(Apprentice.id)
        )
        if finished
        else []
    )
    for apprentice in candidates:
        if apprentice.id in open_attempts or apprentice.id in unreleased:
            continue
        moments = [last_attempt.get(apprentice.id), last_release.get(apprentice.id), last_sitting.get(apprentice.id)]
        last = max(moment for moment in moments if moment is not None)
        if last <= cutoff:
            due.append(RetentionCandidate(apprentice.id, apprentice.candidate_number, apprentice.full_name, last))
    return due


def _redactor(apprentice: Apprentice, user: User | None) -> tuple[re.Pattern[str] | None, str]:
    """A pattern for the ways an invigilator's note can name this apprentice, and what replaces them."""
    exact = [apprentice.full_name, apprentice.uln or "", user.email if user else "", user.display_name if user else ""]
    names = [apprentice.given_name, apprentice.family_name]
    pieces = [(text, re.escape(text)) for text in exact if len(text.strip()) >= 2]
    # Single names only as whole words with their capital, so "may" in a sentence survives "May".
    pieces += [(text, "(?-i:" + re.escape(text) + ")") for text in names if len(text.strip()) >= 2]
    if not pieces:
        return None, ""
    pieces.sort(key=lambda piece: len(piece[0]), reverse=True)  # "Ann Lee" before "Ann"
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(regex for _text, regex in pieces) + r")(?!\w)", re.IGNORECASE)
    return pattern, f"[candidate {apprentice.candidate_number}]"


def incidents_naming(apprentice: Apprentice) -> list[Incident]:
    """Incidents that list this apprentice (incidents belong to sittings they were booked on or sat)."""
    sitting_ids = set(db.session.scalars(select(Booking.sitting_id).where(Booking.apprentice_id == apprentice.id)))
    sitting_ids |= {
        sid for sid in db.session.scalars(select(Attempt.sitting_id).where(Attempt.apprentice_id == apprentice.id)) if sid
    }
    if not sitting_ids:
        return []
    rows = db.session.scalars(
        select(Incident).where(Incident.sitting_id.in_(sitting_ids)).order_by(Incident.occurred_at, Incident.id)
    )
    return [incident for incident in rows if apprentice.id in (incident.apprentice_ids or [])]


def pseudonymise(
    apprentice: Apprentice, *, now: dt.datetime, actor: User | None, last_activity: dt.datetime | None = None
) -> None:
    """Replace what identifies this apprentice; keep what the assessment record needs. The caller commits."""
    if apprentice.pseudonymised_at is not None:
        return
    user = apprentice.user
    pattern, replacement = _redactor(apprentice, user)
    incidents = 0
    for incident in incidents_naming(apprentice):
        if pattern is not None and incident.notes and pattern.search(incident.notes):
            incident.notes = pattern.sub(replacement, incident.notes)
            incidents += 1
    adjustments = 0
    for adjustment in apprentice.adjustments:
        if adjustment.reason != REMOVED_REASON:
            adjustment.reason = REMOVED_REASON
            adjustments += 1
    for booking in db.session.scalars(select(Booking).where(Booking.apprentice_id == apprentice.id)):
        booking.id_last_digits = None
    for attempt in db.session.scalars(select(Attempt).where(Attempt.apprentice_id == apprentice.id)):
        attempt.device_id = None
        attempt.client_token = None

    apprentice.given_name = PSEUDONYM_GIVEN_NAME
    apprentice.family_name = apprentice.candidate_number
    apprentice.uln = None
    apprentice.pseudonymised_at = now
    # An apprentice who is also a member of staff keeps their account; only the apprentice record changes.
    account_kept = user is not None and bool(user.roles - {"apprentice"})
    if user is not None and not account_kept:
        user.email = f"pseudonymised-{user.id}@removed.invalid"
        user.display_name = f"{PSEUDONYM_GIVEN_NAME} {apprentice.candidate_number}"
        # Not a valid hash: no password can ever match it again.
        user.password_hash = "pseudonymised:" + secrets.token_hex(16)
        user.active = False
        user.session_version += 1  # any cookie still held stops working
        user.failed_logins = 0
        user.first_failed_at = None
        user.locked_until = None
    db.session.flush()
    audit.record(
        actor,
        "apprentice.pseudonymise",
        apprentice,
        after={
            "candidate_number": apprentice.candidate_number,
            "user_id": user.id if user else None,
            "last_activity": last_activity.isoformat() if last_activity else None,
            "incident_notes_redacted": incidents,
            "adjustment_reasons_removed": adjustments,
            "account": "kept (staff roles)" if account_kept else ("disabled" if user is not None else None),
        },
        reason="retention period ended",
    )


def apply_retention(
    now: dt.datetime,
    retention_days: int,
    *,
    actor: User | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[RetentionCandidate]:
    """Pseudonymise every apprentice who is due; returns who was. The caller commits (all or nothing).

    `progress(done, total)` hears of each apprentice done (the command shows it on a terminal)."""
    due = due_for_pseudonymisation(now, retention_days)
    for done, candidate in enumerate(due, start=1):
        if progress is not None:
            progress(done, len(due))
        apprentice = db.session.get(Apprentice, candidate.apprentice_id)
        assert apprentice is not None
        pseudonymise(apprentice, now=now, actor=actor, last_activity=candidate.last_activity)
    return due
