"""Sittings: scheduling and booking, the invigilators in the room and the ratio, the venue check, check-in, incidents."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from ..domain import invigilation as rules
from ..domain.attempt_states import ACTIVE_STATES as domain_active_states
from ..domain.attempt_states import AttemptState
from ..domain.eligibility import Ineligible
from ..domain.errors import DomainError
from ..domain.sitting_states import (
    BookingEvent,
    SittingEvent,
    next_booking_status,
    next_sitting_state,
)
from ..extensions import db
from ..models import (
    Adjustment,
    Apprentice,
    Attempt,
    Booking,
    BookingStatus,
    Incident,
    RoomEvent,
    Sitting,
    SittingInvigilator,
    SittingState,
    Standard,
    User,
)
from ..models.attempts import OPEN_STATES
from ..policy import load_policy
from . import attempts as attempt_service
from . import audit, eligibility, sweeps
from .banks import spec_of
from .papers import DrawnPaper, issue_paper

ACTIVE_STATES = tuple(state.value for state in domain_active_states)


class SittingError(DomainError):
    def __init__(self, message: str, *, code: str = "sitting_error", status: int = 409) -> None:
        super().__init__(message, code=code)
        self.status = status


def ratio_for(sitting: Sitting) -> int:
    standard = db.session.get(Standard, sitting.standard_id)
    assert standard is not None
    return _ratio_of(standard)


def _ratio_of(standard: Standard) -> int:
    """Apprentices per invigilator: the standard's limit or the policy's, whichever is stricter."""
    return min(spec_of(standard).invigilation_ratio, load_policy().ratio.apprentices_per_invigilator)


def create_sitting(
    *,
    standard: Standard,
    title: str,
    venue: str,
    remote: bool,
    window_start: dt.datetime,
    window_end: dt.datetime,
    now: dt.datetime,
    actor: User | None,
) -> Sitting:
    if window_end <= window_start:
        raise SittingError("The start window must end after it begins.", code="invalid_window", status=400)
    if spec_of(standard).knowledge_test is None:
        raise SittingError(f"{standard.code} has no knowledge test to sit.", code="no_knowledge_test", status=400)
    sitting = Sitting(
        standard_id=standard.id,
        title=title,
        venue=venue,
        remote=remote,
        window_start=window_start,
        window_end=window_end,
        created_at=now,
    )
    db.session.add(sitting)
    db.session.flush()
    audit.record(actor, "sitting.create", sitting, after={"title": title, "standard": standard.code, "venue": venue})
    return sitting


def eligible_kind(apprentice: Apprentice, standard: Standard, *, today: dt.date, ignore_attempt_id: int | None = None) -> str:
    """The kind of attempt (first, resit, retake) the apprentice may sit now, from their history;
    a SittingError naming the rule (its code, 409) when they may not sit the test at all."""
    try:
        return eligibility.check(apprentice, standard, today=today, ignore_attempt_id=ignore_attempt_id).kind.value
    except Ineligible as refused:
        raise SittingError(f"{apprentice.candidate_number}: {refused}", code=refused.code, status=409) from None


def book(sitting: Sitting, apprentice: Apprentice, *, now: dt.datetime, actor: User | None) -> Booking:
    """Book an apprentice into a sitting, if they may sit the test (services.eligibility)."""
    existing: Booking | None = db.session.scalar(
        select(Booking).where(Booking.sitting_id == sitting.id, Booking.apprentice_id == apprentice.id)
    )
    if existing is not None:
        return existing
    standard = db.session.get(Standard, sitting.standard_id)
    assert standard is not None
    kind = eligible_kind(apprentice, standard, today=now.date())
    booking = Booking(sitting_id=sitting.id, apprentice_id=apprentice.id)
    db.session.add(booking)
    db.session.flush()
    audit.record(
        actor, "sitting.book", booking, after={"sitting": sitting.id, "candidate": apprentice.candidate_number, "kind": kind}
    )
    return booking


def assign_invigilator(sitting: Sitting, user: User, *, actor: User | None) -> None:
    if not user.has_role("invigilator"):
        raise SittingError(f"{user.email} is not an invigilator.", code="not_invigilator", status=400)
    if db.session.get(SittingInvigilator, (sitting.id, user.id)) is None:
        db.session.add(SittingInvigilator(sitting_id=sitting.id, user_id=user.id))
        db.session.flush()
        audit.record(actor, "sitting.assign_invigilator", sitting, after={"invigilator_id": user.id})


def invigilator_sitting(sitting_id: int, user: User) -> Sitting:
    """A sitting this invigilator is assigned to, or 404: others' sittings do not exist for them."""
    sitting: Sitting | None = db.session.scalar(
        select(Sitting)
        .join(SittingInvigilator, (SittingInvigilator.sitting_id == Sitting.id) & (SittingInvigilator.user_id == user.id))
        .where(Sitting.id == sitting_id)
    )
    if sitting is None:
        raise SittingError("No such sitting.", code="not_found", status=404)
    return sitting


def lock_sitting(sitting_id: int) -> Sitting:
    """Take the row lock (PostgreSQL) so starts and sign-outs in one room are decided one at a time."""
    sitting = db.session.get(Sitting, sitting_id, with_for_update=True, populate_existing=True)
    if sitting is None:
        raise SittingError("No such sitting.", code="not_found", status=404)
    return sitting


def sittings_for_invigilator(user: User) -> list[Sitting]:
    return list(
        db.session.scalars(
            select(Sitting)
            .join(SittingInvigilator)
            .where(SittingInvigilator.user_id == user.id)
            .order_by(Sitting.window_start.desc())
        )
    )


def _people_present(sitting_id: Any) -> Any:
    """How many people count as invigilators in this room: a scalar subquery, to embed in a statement.

    Counted per person, not per sign-in: someone still marked present in another open room (a record
    from before one-room-at-a-time was enforced) counts only in the room they signed in to last.
    """
    here = aliased(SittingInvigilator)
    elsewhere = aliased(SittingInvigilator)
    later_elsewhere = (
        select(elsewhere.user_id)
        .join(Sitting, Sitting.id == elsewhere.sitting_id)
        .where(
            elsewhere.user_id == here.user_id,
            elsewhere.sitting_id != here.sitting_id,
            elsewhere.present.is_(True),
            Sitting.state != SittingState.CLOSED.value,
            elsewhere.signed_in_at > here.signed_in_at,
        )
        .exists()
    )
    return (
        select(func.count(func.distinct(here.user_id)))
        .where(here.sitting_id == sitting_id, here.present.is_(True), ~later_elsewhere)
        .scalar_subquery()
    )


def counts(sitting: Sitting) -> rules.RatioState:
    in_progress = (
        db.session.scalar(
            select(func.count(Attempt.id)).where(Attempt.sitting_id == sitting.id, Attempt.state.in_(ACTIVE_STATES))
        )
        or 0
    )
    present = db.session.scalar(select(_people_present(sitting.id))) or 0
    return rules.RatioState(in_progress=in_progress, invigilators_present=present, ratio=ratio_for(sitting))


def _room_event(sitting: Sitting, kind: str, now: dt.datetime, detail: dict[str, Any] | None = None) -> rules.RatioState:
    state = counts(sitting)
    db.session.add(
        RoomEvent(
            sitting_id=sitting.id,
            at=now,
            kind=kind,
            in_progress=state.in_progress,
            invigilators_present=state.invigilators_present,
            detail=detail,
        )
    )
    db.session.flush()
    return state


def sign_in(sitting: Sitting, user: User, *, now: dt.datetime) -> None:
    link = db.session.get(SittingInvigilator, (sitting.id, user.id))
    if link is None:
        raise SittingError("You are not assigned to this sitting.", code="not_assigned", status=403)
    if not link.present:
        # The person's row lock (PostgreSQL): two sign-ins of one person into two rooms are decided one at a time.
        db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
        try:
            rules.check_can_sign_in(_other_open_room(sitting, user))
        except rules.InAnotherRoom as refused:
            raise SittingError(str(refused), code=refused.code, status=409) from None
        link.present, link.signed_in_at = True, now
        db.session.flush()
        _room_event(sitting, "invigilator_in", now, {"invigilator": user.display_name})
        audit.record(user, "sitting.sign_in", sitting)


def _other_open_room(sitting: Sitting, user: User) -> str | None:
    """The open room (not closed) other than this one where the person is signed in, named for a message."""
    other = db.session.scalar(
        select(Sitting)
        .join(SittingInvigilator, SittingInvigilator.sitting_id == Sitting.id)
        .where(
            SittingInvigilator.user_id == user.id,
            SittingInvigilator.present.is_(True),
            Sitting.id != sitting.id,
            Sitting.state != SittingState.CLOSED.value,
        )
        .order_by(Sitting.id)
        .limit(1)
    )
    if other is None:
        return None
    return f"'{other.title}' at {other.venue} (sitting {other.id}, {other.window_start:%d %b %Y %H:%M} UTC)"


def sign_out(sitting: Sitting, user: User, *, now: dt.datetime) -> rules.RatioState:
    """An invigilator leaves the room. If that puts the room over the ratio, new starts stop and an incident is logged."""
    link = db.session.get(SittingInvigilator, (sitting.id, user.id))
    if link is None or not link.present:
        raise SittingError("You are not signed in to this room.", code="not_present")
    link.present, link.signed_out_at = False, now
    db.session.flush()
    state = _room_event(sitting, "invigilator_out", now, {"invigilator": user.display_name})
    audit.record(user, "sitting.sign_out", sitting)
    if state.over:
        log_incident(
            sitting,
            kind="ratio_breach",
            apprentice_ids=[],
            now=now,
            actor=user,
            notes=f"Over ratio: {state.in_progress} in progress with {state.invigilators_present} invigilator(s) present (at most {state.ratio} each).",
        )
    return state


def confirm_venue(sitting: Sitting, checks: dict[str, bool], *, now: dt.datetime, actor: User) -> None:
    """The venue checklist: every point confirmed before anybody can start."""
    items = load_policy().checklist_for(sitting.remote)
    required = [item.key for item in items]
    missing = [item.label for item in items if not checks.get(item.key)]
    if missing:
        raise SittingError(
            "Confirm every point of the checklist before the sitting opens. Not yet confirmed: " + "; ".join(missing) + ".",
            code="checklist_incomplete",
            status=400,
        )
    if sitting.state == SittingState.CLOSED.value:
        raise SittingError("This sitting is closed.", code="closed")
    target = next_sitting_state(sitting.state, SittingEvent.CONFIRM_VENUE)
    sitting.venue_checklist = {key: True for key in required}
    sitting.venue_confirmed_at, sitting.venue_confirmed_by_id = now, actor.id
    sitting.state = target.value
    db.session.flush()
    _room_event(sitting, "venue_confirmed", now)
    audit.record(actor, "sitting.venue_confirmed", sitting, after=sitting.venue_checklist)


def check_in(
    booking: Booking,
    *,
    document_type: str,
    last_digits: str,
    photo_matched: bool,
    uln_confirmed: bool,
    seat: str,
    now: dt.datetime,
    actor: User,
) -> None:
    policy = load_policy()
    if document_type not in {d.key for d in policy.identity.documents}:
        raise SittingError("Choose an accepted identity document.", code="invalid_document", status=400)
    digits = last_digits.strip()
    if len(digits) != policy.identity.last_digits or not digits.isalnum():
        raise SittingError(
            f"Enter the last {policy.identity.last_digits} characters of the document number.", code="invalid_digits", status=400
        )
    if not photo_matched or not uln_confirmed:
        raise SittingError(
            "Identity is not confirmed: the photo must match and the ULN must match the booking.",
            code="identity_unconfirmed",
            status=400,
        )
    sitting = booking.sitting
    standard = db.session.get(Standard, sitting.standard_id)
    assert standard is not None
    prepared = open_attempt(booking)
    eligible_kind(booking.apprentice, standard, today=now.date(), ignore_attempt_id=prepared.id if prepared else None)
    booking.status = next_booking_status(booking.status, BookingEvent.CHECK_IN).value
    booking.id_document_type, booking.id_last_digits = document_type, digits.upper()
    booking.photo_matched, booking.uln_confirmed = True, True
    booking.seat = seat.strip()[:20] or None
    booking.checked_in_at, booking.checked_in_by_id = now, actor.id
    booking.late = now > sitting.window_start
    db.session.flush()
    audit.record(
        actor, "booking.check_in", booking, after={"seat": booking.seat, "late": booking.late, "document": document_type}
    )
    if booking.late:
        log_incident(
            sitting,
            kind="late_arrival",
            apprentice_ids=[booking.apprentice_id],
            now=now,
            actor=actor,
            notes=f"Arrived {now:%H:%M} UTC.",
        )


def mark_absent(booking: Booking, *, now: dt.datetime, actor: User) -> None:
    if booking.status == BookingStatus.CHECKED_IN.value:
        raise SittingError("This apprentice is already checked in.", code="checked_in")
    booking.status = next_booking_status(booking.status, BookingEvent.MARK_ABSENT).value
    db.session.flush()
    audit.record(actor, "booking.absent", booking)


def in_force_adjustments(apprentice: Apprentice, today: dt.date) -> list[Adjustment]:
    return [a for a in apprentice.adjustments if a.in_force(today)]


def extra_time_for(apprentice: Apprentice, today: dt.date) -> tuple[int, int]:
    percent = minutes = 0
    for adjustment in in_force_adjustments(apprentice, today):
        if adjustment.kind == "extra_time":
            percent = max(percent, adjustment.extra_percent)
            minutes = max(minutes, adjustment.extra_minutes)
    return percent, minutes


def open_attempt(booking: Booking) -> Attempt | None:
    # Fresh from the database even if this session read the attempt earlier (a start decides on its state).
    return db.session.scalar(
        select(Attempt)
        .where(
            Attempt.sitting_id == booking.sitting_id,
            Attempt.apprentice_id == booking.apprentice_id,
            Attempt.state.in_(OPEN_STATES),
        )
        .execution_options(populate_existing=True)
    )


def latest_attempt(booking: Booking) -> Attempt | None:
    return db.session.scalar(
        select(Attempt)
        .where(Attempt.sitting_id == booking.sitting_id, Attempt.apprentice_id == booking.apprentice_id)
        .order_by(Attempt.id.desc())
        .limit(1)
    )


def prepare_paper(booking: Booking, *, now: dt.datetime, actor: User | None, drawn: DrawnPaper | None = None) -> Attempt:
    """Draw the paper ahead of the start (at check-in), which flattens the start spike.

    The paper is issued only if the apprentice may sit the test now, as the kind of attempt their
    history makes it (SittingError naming the rule otherwise).

    The invigilator's check-in calls this, so a start normally finds its paper waiting and only
    stamps the clock. `drawn` is a paper already drawn by `read_ahead` (outside the write lock).
    """
    attempt = open_attempt(booking)
    if attempt is not None:
        return attempt
    sitting = booking.sitting
    standard = db.session.get(Standard, sitting.standard_id)
    assert standard is not None
    percent, minutes = extra_time_for(booking.apprentice, now.date())
    try:
        return issue_paper(
            booking.apprentice,
            standard,
            now=now,
            actor=actor,
            sitting_id=sitting.id,
            extra_percent=percent,
            extra_minutes=minutes,
            drawn=drawn,
        )
    except Ineligible as refused:
        raise SittingError(f"{booking.apprentice.candidate_number}: {refused}", code=refused.code, status=409) from None


def log_incident(
    sitting: Sitting, *, kind: str, apprentice_ids: list[int], now: dt.datetime, actor: User | None, notes: str = ""
) -> Incident:
    if kind not in {c.key for c in load_policy().incident_types}:
        raise SittingError("Choose an incident type from the policy.", code="invalid_incident", status=400)
    if not notes.strip():
        raise SittingError("Notes are required: say what happened.", code="notes_required", status=400)
    incident = Incident(
        sitting_id=sitting.id,
        kind=kind,
        occurred_at=now,
        reported_by_id=actor.id if actor else None,
        apprentice_ids=sorted(apprentice_ids),
        notes=notes[:2000],
    )
    db.session.add(incident)
    db.session.flush()
    # The notes stay on the incident, where retention can redact a name; the append-only log could not.
    audit.record(
        actor,
        "incident.log",
        incident,
        after={"kind": kind, "apprentices": sorted(apprentice_ids), "notes_chars": len(incident.notes)},
    )
    return incident


def active_attempts(sitting: Sitting) -> list[Attempt]:
    return list(db.session.scalars(select(Attempt).where(Attempt.sitting_id == sitting.id, Attempt.state.in_(ACTIVE_STATES))))


def attempt_in_sitting(sitting: Sitting, attempt_id: int) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.sitting_id != sitting.id:
        raise SittingError("No such attempt in this sitting.", code="not_found", status=404)
    return attempt


def booking_in_sitting(sitting: Sitting, booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.sitting_id != sitting.id:
        raise SittingError("No such booking in this sitting.", code="not_found", status=404)
    return booking


def close(sitting: Sitting, *, now: dt.datetime, actor: User, settings: attempt_service.AttemptSettings) -> None:
    sweeps.finalise_each(active_attempts(sitting), now, settings)
    still = [a for a in active_attempts(sitting)]
    if still:
        raise SittingError(
            f"{len(still)} apprentice(s) are still sitting the test; wait for them to finish before closing.",
            code="still_sitting",
        )
    if sitting.state == SittingState.CLOSED.value:
        raise SittingError("This sitting is closed.", code="closed")
    sitting.state, sitting.closed_at = next_sitting_state(sitting.state, SittingEvent.CLOSE).value, now
    db.session.flush()
    _room_event(sitting, SittingState.CLOSED.value, now)
    audit.record(actor, "sitting.close", sitting)


def sweep(sitting: Sitting, now: dt.datetime, settings: attempt_service.AttemptSettings) -> sweeps.SweepReport:
    """Submit every attempt in the room whose time ran out (idempotent), each on its own.

    The attempts are read again (populate_existing) so that a deadline another request moved since
    they were last loaded, e.g. by the board's read, is the one judged. One that fails is reported,
    not raised: the rest of the room is submitted all the same.
    """
    attempts = list(
        db.session.scalars(
            select(Attempt)
            .where(
                Attempt.sitting_id == sitting.id,
                Attempt.state == AttemptState.IN_PROGRESS.value,
                Attempt.deadline_at.is_not(None),
            )
            .execution_options(populate_existing=True)
        )
    )
    return sweeps.finalise_each(attempts, now, settings)
