"""Reasonable adjustments: evidence records that change the clock or the display, never questions or marks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..domain import display as display_rules
from ..domain.errors import DomainError
from ..extensions import db
from ..models import Adjustment, AdjustmentKind, Apprentice, Attempt, User
from ..models.attempts import OPEN_STATES
from . import attempts, audit
from .sittings import extra_time_for


class AdjustmentError(DomainError):
    code = "invalid_adjustment"


def add_adjustment(
    apprentice: Apprentice,
    *,
    kind: str,
    extra_percent: int,
    extra_minutes: int,
    reason: str,
    approval_reference: str,
    approved_by: str,
    expires_on: dt.date | None,
    now: dt.datetime,
    actor: User | None,
    display: dict[str, str] | None = None,
) -> Adjustment:
    """Record an adjustment. A display adjustment carries its settings (`display`, domain.display): the start page offers them first."""
    if kind not in {k.value for k in AdjustmentKind}:
        raise AdjustmentError("Choose a known adjustment.")
    if kind == AdjustmentKind.EXTRA_TIME.value and not (extra_percent or extra_minutes):
        raise AdjustmentError("Extra time needs a percentage or a number of minutes.")
    if kind != AdjustmentKind.EXTRA_TIME.value and (extra_percent or extra_minutes):
        raise AdjustmentError("Only an extra-time adjustment carries extra time.")
    chosen = {k: v for k, v in (display or {}).items() if v}
    if kind == AdjustmentKind.DISPLAY.value:
        try:
            settings = display_rules.parse(chosen)
        except display_rules.DisplayError as refused:
            raise AdjustmentError(str(refused), code="invalid_display") from refused
        if not display_rules.display_classes(settings):
            raise AdjustmentError("A display adjustment needs at least one setting other than standard.", code="display_required")
        chosen = {k: v for k, v in settings.as_dict().items() if k in chosen}
    elif chosen:
        raise AdjustmentError("Only a display adjustment carries display settings.", code="display_not_allowed")
    if expires_on is not None and expires_on < now.date():
        raise AdjustmentError("The expiry date is in the past.")
    adjustment = Adjustment(
        apprentice_id=apprentice.id,
        kind=kind,
        extra_percent=extra_percent,
        extra_minutes=extra_minutes,
        reason=reason.strip(),
        approval_reference=approval_reference.strip(),
        approved_by=approved_by.strip(),
        expires_on=expires_on,
        created_at=now,
        display=chosen or None,
    )
    db.session.add(adjustment)
    db.session.flush()
    audit.record(
        actor,
        "adjustment.add",
        adjustment,
        after={
            "candidate": apprentice.candidate_number,
            "kind": kind,
            "extra_percent": extra_percent,
            "extra_minutes": extra_minutes,
            "reference": approval_reference,
            **({"display": chosen} if chosen else {}),
        },
    )
    return adjustment


MAX_REMOVAL_REASON = 450  # the audit log keeps 500


def remove_adjustment(adjustment: Adjustment, *, reason: str, now: dt.datetime, actor: User | None) -> list[Attempt]:
    """Take an adjustment off the record (kept, marked revoked), with the reason in the audit log.

    An extra-time adjustment also stops applying to a test already issued or in progress: each such
    attempt drops to the extra time the remaining adjustments give (never more than it has). That goes
    through the same rule as a mid-test change, so a removal that would put a running test's deadline
    in the past is refused and nothing changes. Returns the attempts whose time changed.
    """
    cleaned = (reason or "").strip()
    if not cleaned:
        raise AdjustmentError("Give the reason for removing this adjustment.", code="reason_required")
    if len(cleaned) > MAX_REMOVAL_REASON:
        raise AdjustmentError(f"Keep the reason to {MAX_REMOVAL_REASON} characters.", code="reason_too_long")
    if adjustment.revoked_at is not None:
        raise AdjustmentError("This adjustment has already been removed.", code="already_removed")
    apprentice = adjustment.apprentice
    adjustment.revoked_at = now
    changed: list[Attempt] = []
    if adjustment.kind == AdjustmentKind.EXTRA_TIME.value:
        percent, minutes = extra_time_for(apprentice, now.date())  # the remaining adjustments only
        open_attempts = db.session.scalars(
            select(Attempt).where(Attempt.apprentice_id == apprentice.id, Attempt.state.in_(OPEN_STATES)).order_by(Attempt.id)
        ).all()
        for attempt in open_attempts:
            new = (min(attempt.extra_percent, percent), min(attempt.extra_minutes, minutes))
            if new != (attempt.extra_percent, attempt.extra_minutes):
                attempts.change_extra_time(
                    attempt,
                    percent=new[0],
                    minutes=new[1],
                    now=now,
                    actor=actor,
                    reason=f"adjustment {adjustment.approval_reference} removed: {cleaned}",
                )
                changed.append(attempt)
    db.session.flush()
    audit.record(
        actor,
        "adjustment.remove",
        adjustment,
        before={
            "candidate": apprentice.candidate_number,
            "kind": adjustment.kind,
            "extra_percent": adjustment.extra_percent,
            "extra_minutes": adjustment.extra_minutes,
            "reference": adjustment.approval_reference,
        },
        after={"revoked_at": now.isoformat(), "attempts_changed": [a.id for a in changed]},
        reason=cleaned,
    )
    return changed
