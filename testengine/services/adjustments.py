"""Reasonable adjustments: evidence records that change the clock or the display, never questions or marks."""

from __future__ import annotations

import datetime as dt

from ..domain.errors import DomainError
from ..extensions import db
from ..models import Adjustment, AdjustmentKind, Apprentice, User
from . import audit


class AdjustmentError(DomainError):
    code = "invalid_adjustment"


def add_adjustment(apprentice: Apprentice, *, kind: str, extra_percent: int, extra_minutes: int, reason: str, approval_reference: str, approved_by: str, expires_on: dt.date | None, now: dt.datetime, actor: User | None) -> Adjustment:
    if kind not in {k.value for k in AdjustmentKind}:
        raise AdjustmentError("Choose a known adjustment.")
    if kind == AdjustmentKind.EXTRA_TIME.value and not (extra_percent or extra_minutes):
        raise AdjustmentError("Extra time needs a percentage or a number of minutes.")
    if kind != AdjustmentKind.EXTRA_TIME.value and (extra_percent or extra_minutes):
        raise AdjustmentError("Only an extra-time adjustment carries extra time.")
    if expires_on is not None and expires_on < now.date():
        raise AdjustmentError("The expiry date is in the past.")
    adjustment = Adjustment(
        apprentice_id=apprentice.id, kind=kind, extra_percent=extra_percent, extra_minutes=extra_minutes, reason=reason.strip(),
        approval_reference=approval_reference.strip(), approved_by=approved_by.strip(), expires_on=expires_on, created_at=now,
    )
    db.session.add(adjustment)
    db.session.flush()
    audit.record(actor, "adjustment.add", adjustment, after={"candidate": apprentice.candidate_number, "kind": kind, "extra_percent": extra_percent, "extra_minutes": extra_minutes, "reference": approval_reference})
    return adjustment
