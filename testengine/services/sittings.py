"""Sittings and invigilation: venue check, check-in, the ratio, pauses, incidents, the board, the report."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased, defer, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from .. import labels
from ..domain import invigilation as rules
from ..domain import timing
from ..domain.attempt_states import ACTIVE_STATES as domain_active_states
from ..domain.attempt_states import AttemptState
from ..domain.eligibility import Ineligible
from ..domain.errors import DomainError
from ..domain.papers import PaperShortfall
from ..domain.sitting_states import (
    BookingEvent,
    DeviceRequest,
    SittingEvent,
    next_booking_status,
    next_sitting_state,
)
from ..domain.timing import CLOCK_STEP
from ..extensions import db
from ..models import (
    Adjustment,
    Answer,
    Apprentice,
    Attempt,
    AttemptEvent,
    AttemptQuestion,
    Booking,
    BookingStatus,
    Incident,
    RoomEvent,
    Sitting,
    SittingInvigilator,
    SittingState,
    Standard,
    Stoppage,
    User,
)
from ..models.attempts import OPEN_STATES
from ..policy import load_policy
from . import attempts as attempt_service
from . import audit, eligibility, sweeps
from .banks import spec_of
from .papers import DrawnPaper, draw_for, issue_paper

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


def start_preview(booking: Booking, today: dt.date) -> tuple[int, int]:
    """What the apprentice is told before the clock starts: (questions on the paper, minutes allowed).

    From the standard's spec and the extra time in force today, as the start will issue them.
    """
    standard = db.session.get(Standard, booking.sitting.standard_id)
    assert standard is not None
    test = spec_of(standard).knowledge_test
    assert test is not None  # sittings are scheduled only for a standard with a knowledge test
    percent, minutes = extra_time_for(booking.apprentice, today)
    allowed = timing.allowed_duration(test.duration_minutes, timing.ExtraTime(percent=percent, minutes=minutes))
    return test.blueprint.question_count, round(allowed.total_seconds() / 60)


@dataclass(frozen=True)
class ReadAhead:
    """What a start read before its write lock. Holding it keeps the room's standard in the session
    (which holds rows weakly), so the ratio check under the lock does not read that row again."""

    standard: Standard
    drawn: DrawnPaper | None  # the paper, when none was prepared at check-in


def read_ahead(booking: Booking, *, now: dt.datetime) -> ReadAhead | None:
    """What a start can read before its write lock: the room's standard and, when no paper was
    prepared at check-in (say, a late booking), the draw itself, so the write only records it.
    None when the start will be refused anyway (not checked in).
    """
    if booking.status != BookingStatus.CHECKED_IN.value:
        return None
    sitting = booking.sitting
    standard = db.session.get(Standard, sitting.standard_id)
    assert standard is not None
    startable = (
        sitting.state == SittingState.OPEN.value
        and sitting.venue_confirmed_at is not None
        and sitting.room_paused_at is None
        and sitting.window_start <= now <= sitting.window_end
    )
    if not startable or db.session.scalar(_open_attempt_id(booking)) is not None:
        return ReadAhead(standard, None)  # nothing to draw, or the start will say why it cannot
    try:
        return ReadAhead(standard, draw_for(booking.apprentice, standard, now=now))
    except PaperShortfall:
        return ReadAhead(standard, None)  # drawn again under the lock, after the room's checks, and refused there


def _open_attempt_id(booking: Booking) -> Select[int]:
    return select(Attempt.id).where(
        Attempt.sitting_id == booking.sitting_id, Attempt.apprentice_id == booking.apprentice_id, Attempt.state.in_(OPEN_STATES)
    )


def _attempt_to_start(booking: Booking) -> Attempt | None:
    """The open attempt, fresh, with what starting it reads (its stoppages) and without what it does not (the draw's inputs)."""
    return (
        db.session.scalars(
            select(Attempt)
            .where(Attempt.id.in_(_open_attempt_id(booking).scalar_subquery()))
            .options(defer(Attempt.draw_inputs), joinedload(Attempt.stoppages))
            .execution_options(populate_existing=True)
        )
        .unique()
        .first()
    )


def start(
    booking: Booking, *, now: dt.datetime, actor: User, ahead: ReadAhead | None = None, device: str | None = None
) -> Attempt:
    """Start an apprentice's test, if every rule allows it, deciding one start at a time per room.

    With the paper prepared at check-in this is the room's checks and one short write: the
    attempt's start time and deadline (and, given the `device` of the browser starting it, that
    browser's claim, as opening the test page makes), its audit entry and the room's event.
    Without a paper, it is issued now (drawn ahead of the lock, if the caller did `read_ahead`).
    """
    sitting = lock_sitting(booking.sitting_id)
    if sitting.state != SittingState.OPEN.value or sitting.venue_confirmed_at is None:
        raise SittingError(
            "The test cannot start until the invigilator has confirmed the venue checklist.", code="venue_not_confirmed"
        )
    if booking.status != BookingStatus.CHECKED_IN.value:
        raise SittingError("You must be checked in by the invigilator before you can start.", code="not_checked_in", status=403)
    if sitting.room_paused_at is not None:
        raise SittingError("The room is paused. Wait for the invigilator to resume.", code="room_paused")
    existing = _attempt_to_start(booking)  # read again under the room's lock: a double click starts once
    if existing is not None and existing.state != AttemptState.NOT_STARTED:
        return existing
    if now > sitting.window_end:
        raise SittingError("The start window for this sitting has closed. Speak to the invigilator.", code="window_closed")
    if now < sitting.window_start:
        raise SittingError("The start window has not opened yet.", code="window_not_open")
    if existing is not None:
        # Asked again at the start: a paper prepared at check-in is no licence if the history changed since.
        # (Without one, issuing the paper below asks.)
        standard = db.session.get(Standard, sitting.standard_id)
        assert standard is not None
        kind = eligible_kind(booking.apprentice, standard, today=now.date(), ignore_attempt_id=existing.id)
        if existing.kind != kind:
            audit.record(actor, "attempt.kind", existing, before={"kind": existing.kind}, after={"kind": kind})
            existing.kind = kind
    state = counts(sitting)
    try:
        rules.check_can_start(state.in_progress, state.invigilators_present, state.ratio)
    except rules.RatioBreach as breach:
        raise SittingError(str(breach), code="ratio") from None
    attempt = existing or prepare_paper(booking, now=now, actor=actor, drawn=ahead.drawn if ahead else None)
    if device is not None and attempt.client_token is None and attempt.device_id is None:
        # Opened in this browser, as attempts.open_in_browser does (never opened before: no earlier window to stop).
        attempt.device_id, attempt.client_token, attempt.last_seen_at = device, secrets.token_urlsafe(24), now
    attempt_service.start(attempt, now=now, actor=actor)
    # The room as it is now: one more in progress than counted above (the room is locked meanwhile).
    db.session.add(
        RoomEvent(
            sitting_id=sitting.id,
            at=now,
            kind="start",
            in_progress=state.in_progress + 1,
            invigilators_present=state.invigilators_present,
            detail={"candidate": booking.apprentice.candidate_number},
        )
    )
    db.session.flush()
    return attempt


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


def pause_room(sitting: Sitting, *, now: dt.datetime, actor: User, reason: str = "") -> Incident:
    """Stop every clock in the room (a fire alarm): one action, and an incident opens by itself."""
    if sitting.room_paused_at is not None:
        raise SittingError("The room is already paused.", code="already_paused")
    incident = log_incident(
        sitting,
        kind="room_pause",
        apprentice_ids=[a.apprentice_id for a in active_attempts(sitting)],
        now=now,
        actor=actor,
        notes=reason or "Whole room paused.",
    )
    sitting.room_paused_at = now
    for attempt in active_attempts(sitting):
        if attempt.state == AttemptState.IN_PROGRESS:
            attempt_service.begin_stoppage(attempt, "room_pause", now=now, actor=actor, incident_id=incident.id)
    _room_event(sitting, "room_paused", now)
    return incident


def resume_room(sitting: Sitting, *, now: dt.datetime, actor: User) -> None:
    if sitting.room_paused_at is None:
        raise SittingError("The room is not paused.", code="not_paused")
    for attempt in active_attempts(sitting):
        if attempt.state == AttemptState.PAUSED and any(s.end is None and s.kind == "room_pause" for s in attempt.stoppages):
            attempt_service.end_stoppage(attempt, now=now, actor=actor)
    incident = db.session.scalar(
        select(Incident)
        .where(Incident.sitting_id == sitting.id, Incident.kind == "room_pause", Incident.ended_at.is_(None))
        .order_by(Incident.id.desc())
    )
    if incident is not None:
        incident.ended_at = max(now, incident.occurred_at)  # a clock gone back ends it where it began
        minutes = (incident.ended_at - incident.occurred_at).total_seconds() / 60
        incident.notes = f"{incident.notes} Resumed after {minutes:.1f} minutes.".strip()
    sitting.room_paused_at = None
    db.session.flush()
    _room_event(sitting, "room_resumed", now)
    audit.record(actor, "sitting.resume_room", sitting)


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


def request_device_change(attempt: Attempt, *, now: dt.datetime) -> None:
    """The apprentice opened their test on another computer: ask the invigilator, on the room board.

    One waiting request is enough: asking again (a reload of the "ask the invigilator" page) adds nothing.
    """
    last = {
        kind: at
        for kind, at in db.session.execute(
            select(AttemptEvent.kind, func.max(AttemptEvent.at))
            .where(AttemptEvent.attempt_id == attempt.id, AttemptEvent.kind.in_(DEVICE_KINDS))
            .group_by(AttemptEvent.kind)
        )
    }
    if last.get("device_request") is not None and (
        last.get("device_change") is None or last["device_change"] < last["device_request"]
    ):
        return
    db.session.add(
        AttemptEvent(attempt_id=attempt.id, at=now, kind="device_request", detail="asked to continue on another computer")
    )
    db.session.flush()


def allow_device_change(booking: Booking, *, actor: User) -> None:
    booking.device_change_allowed = True
    db.session.flush()
    audit.record(actor, "booking.allow_device_change", booking)


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


# --- the board and the report -------------------------------------------------------------

DEVICE_KINDS = ("device_request", "device_change")  # asked to continue on another computer; did so
WARNING_KINDS = {
    "blur": "Left the test window",
    "focus_lost": "Left the test window",
    "paste": "Pasted text",
    "second_browser": "Test page reopened (reload or another tab)",
    "copy": "Copied text",
}


@dataclass
class BoardRow:
    booking_id: int
    attempt_id: int | None
    candidate_number: str
    name: str
    seat: str | None
    status: str
    answered: int
    questions: int
    remaining_seconds: int | None  # None before the start (0 once finished)
    time_left: str  # what the board shows: "12 min", "12 min (clock stopped)", "Submitted"
    adjustments: list[str]
    warnings: list[str]
    device_request: str  # a DeviceRequest: none, waiting (asks for a new computer), allowed (approved, not yet used)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class Room:
    """What one board refresh reads, in a fixed handful of statements whatever the size of the room."""

    bookings: list[Booking]  # with their apprentices and the apprentices' adjustments
    attempts: list[Attempt]  # every attempt in the sitting, oldest first
    questions: dict[int, int]  # attempt id -> questions on the paper
    answered: dict[int, int]  # attempt id -> questions with a non-blank answer
    warnings: dict[int, list[str]]  # attempt id -> what the browser reported
    device_requests: set[int]  # attempt ids whose apprentice asks to continue on another computer
    invigilators_present: int
    ratio: int  # apprentices per invigilator

    def has_expired_attempts(self, now: dt.datetime, settings: attempt_service.AttemptSettings) -> bool:
        """Whether a sweep has work: an attempt still in progress after its deadline and the grace."""
        return any(attempt_service.is_overdue(attempt, now, settings=settings) for attempt in self.attempts)


def _browser_events(attempt_ids: list[int]) -> tuple[dict[int, list[str]], set[int]]:
    """In one statement: what each browser reported (warnings), and which attempts wait for a new computer.

    A request is waiting when the apprentice's latest "ask the invigilator" is newer than the last
    time the test moved to another computer.
    """
    events: dict[int, list[str]] = {}
    latest: dict[tuple[int, str], dt.datetime] = {}
    if not attempt_ids:
        return events, set()
    for attempt_id, kind, count, last in db.session.execute(
        select(AttemptEvent.attempt_id, AttemptEvent.kind, func.count(), func.max(AttemptEvent.at))
        .where(AttemptEvent.attempt_id.in_(attempt_ids), AttemptEvent.kind.in_([*WARNING_KINDS, *DEVICE_KINDS]))
        .group_by(AttemptEvent.attempt_id, AttemptEvent.kind)
    ):
        if kind in DEVICE_KINDS:
            latest[(attempt_id, kind)] = last
            continue
        label = WARNING_KINDS[kind]
        events.setdefault(attempt_id, [])
        if label not in events[attempt_id]:
            events[attempt_id].append(f"{label}" + (f" ({count})" if count > 1 else ""))
    waiting = {
        attempt_id
        for (attempt_id, kind), at in latest.items()
        if kind == "device_request"
        and (latest.get((attempt_id, "device_change")) is None or latest[(attempt_id, "device_change")] < at)
    }
    return events, waiting


def _load_stoppages(attempts: list[Attempt]) -> None:
    """Load in one statement the stoppages of the attempts whose clock is worked out from them.

    A running attempt's remaining time comes from its stored deadline (clock_status), so only a
    stopped clock, or one with no stored deadline, needs its stoppages.
    """
    needed = [
        a
        for a in attempts
        if a.started_at is not None
        and a.state in ACTIVE_STATES
        and (a.state != AttemptState.IN_PROGRESS or a.deadline_at is None)
    ]
    if not needed:
        return
    by_attempt: dict[int, list[Stoppage]] = {a.id: [] for a in needed}
    for stoppage in db.session.scalars(select(Stoppage).where(Stoppage.attempt_id.in_(by_attempt)).order_by(Stoppage.id)):
        by_attempt[stoppage.attempt_id].append(stoppage)
    for attempt in needed:
        set_committed_value(attempt, "stoppages", by_attempt[attempt.id])


def load_room(sitting: Sitting) -> Room:
    """Read the room for the board: bookings with apprentices and adjustments, attempts with their counts."""
    bookings = list(
        db.session.scalars(
            select(Booking)
            .where(Booking.sitting_id == sitting.id)
            .options(joinedload(Booking.apprentice, innerjoin=True).selectinload(Apprentice.adjustments))
            .order_by(Booking.id)
        )
    )
    questions = (
        select(func.count(AttemptQuestion.id))
        .where(AttemptQuestion.attempt_id == Attempt.id)
        .correlate(Attempt)
        .scalar_subquery()
    )
    answered = (
        select(func.count(Answer.id))
        .where(Answer.attempt_id == Attempt.id, Answer.response.is_not(None), func.length(func.trim(Answer.response)) > 0)
        .correlate(Attempt)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Attempt, questions, answered)
        .where(Attempt.sitting_id == sitting.id)
        .options(defer(Attempt.draw_inputs))  # tens of kilobytes each, for appeals, not for the board
        .order_by(Attempt.id)
        .execution_options(populate_existing=True)
    ).all()
    attempts = [attempt for attempt, _, _ in rows]
    _load_stoppages(attempts)
    warnings, device_requests = _browser_events([a.id for a in attempts])
    # The standard (for the ratio) and the invigilators in the room, in one statement.
    present = _people_present(sitting.id)
    standard, invigilators_present = db.session.execute(select(Standard, present).where(Standard.id == sitting.standard_id)).one()
    return Room(
        bookings=bookings,
        attempts=attempts,
        questions={attempt.id: n for attempt, n, _ in rows},
        answered={attempt.id: n for attempt, _, n in rows},
        warnings=warnings,
        device_requests=device_requests,
        invigilators_present=invigilators_present,
        ratio=_ratio_of(standard),
    )


def _adjustment_labels(apprentice: Apprentice, today: dt.date) -> list[str]:
    labels = []
    for adjustment in in_force_adjustments(apprentice, today):
        if adjustment.kind == "extra_time":
            labels.append(
                f"Extra time {adjustment.extra_percent}%"
                if adjustment.extra_percent
                else f"Extra time {adjustment.extra_minutes} min"
            )
        else:
            labels.append(adjustment.kind.replace("_", " ").capitalize())
    return labels


def board(sitting: Sitting, now: dt.datetime, room: Room | None = None, failed: dict[int, str] | None = None) -> dict[str, Any]:
    """The live room board: one row per booking, and the ratio. Reads the room unless given it.

    `failed`: attempts the sweep could not submit (attempt id -> why), shown on their rows.
    """
    room = room or load_room(sitting)
    failed = failed or {}
    attempts_by_apprentice = {attempt.apprentice_id: attempt for attempt in room.attempts}  # the latest wins
    idle = dt.timedelta(minutes=load_policy().warnings.idle_minutes)
    rows = []
    today = now.date()
    for booking in room.bookings:
        apprentice = booking.apprentice
        attempt = attempts_by_apprentice.get(booking.apprentice_id)
        status = booking.status
        remaining = None
        time_left = ""
        warnings: list[str] = []
        device_request = DeviceRequest.NONE.value
        if attempt is not None and attempt.state != AttemptState.NOT_STARTED:
            status = {AttemptState.ON_BREAK.value: "on rest break"}.get(attempt.state, attempt.state.replace("_", " "))
            warnings = list(room.warnings.get(attempt.id, []))
            remaining = attempt_service.clock_status(attempt, now).remaining_seconds
            if attempt.state in ACTIVE_STATES:
                time_left = f"{remaining // 60} min" + ("" if attempt.state == AttemptState.IN_PROGRESS else " (clock stopped)")
                if booking.device_change_allowed:
                    device_request = DeviceRequest.ALLOWED.value
                elif attempt.id in room.device_requests:
                    device_request = DeviceRequest.WAITING.value
                    warnings.append("Asks to continue on another computer")
            else:  # submitted or abandoned: no time left to show, and no "0 min"
                time_left = labels.label(attempt.state, "attempt_state")
            if attempt.state == AttemptState.IN_PROGRESS and attempt.last_seen_at and now - attempt.last_seen_at > idle:
                warnings.append(f"Idle for over {idle.seconds // 60} minutes")
            if attempt.id in failed:
                warnings.append(
                    "Time is up but this test could not be submitted; its answers are kept and the administrator has been told"
                )
        rows.append(
            BoardRow(
                booking_id=booking.id,
                attempt_id=attempt.id if attempt else None,
                candidate_number=apprentice.candidate_number,
                name=apprentice.full_name,
                seat=booking.seat,
                status=status.replace("_", " "),
                answered=room.answered.get(attempt.id, 0) if attempt else 0,
                questions=room.questions.get(attempt.id, 0) if attempt else 0,
                remaining_seconds=remaining,
                time_left=time_left,
                adjustments=_adjustment_labels(apprentice, today),
                warnings=warnings,
                device_request=device_request,
            )
        )
    in_progress = sum(1 for attempt in room.attempts if attempt.state in ACTIVE_STATES)
    ratio = rules.RatioState(in_progress=in_progress, invigilators_present=room.invigilators_present, ratio=room.ratio)
    return {
        "sitting": {
            "id": sitting.id,
            "title": sitting.title,
            "state": sitting.state,
            "room_paused": sitting.room_paused_at is not None,
            "venue_confirmed": sitting.venue_confirmed_at is not None,
        },
        "ratio": {
            "in_progress": ratio.in_progress,
            "invigilators_present": ratio.invigilators_present,
            "ratio": ratio.ratio,
            "capacity": ratio.capacity,
            "over": ratio.over,
        },
        "rows": [row.as_dict() for row in rows],
        "failed": [{"attempt_id": attempt_id, "error": error} for attempt_id, error in sorted(failed.items())],
        "server_time": now.isoformat(),
    }


def report(sitting: Sitting) -> dict[str, Any]:
    bookings = list(db.session.scalars(select(Booking).where(Booking.sitting_id == sitting.id).order_by(Booking.id)))
    events = list(
        db.session.scalars(select(RoomEvent).where(RoomEvent.sitting_id == sitting.id).order_by(RoomEvent.at, RoomEvent.id))
    )
    incidents = list(
        db.session.scalars(select(Incident).where(Incident.sitting_id == sitting.id).order_by(Incident.occurred_at, Incident.id))
    )
    ratio = ratio_for(sitting)
    breaches = [e for e in events if e.in_progress > e.invigilators_present * ratio]
    attempts = {
        a.apprentice_id: a
        for a in db.session.scalars(select(Attempt).where(Attempt.sitting_id == sitting.id).order_by(Attempt.id))
    }
    register = []
    for booking in bookings:
        attempt = attempts.get(booking.apprentice_id)
        register.append(
            {
                "candidate_number": booking.apprentice.candidate_number,
                "name": booking.apprentice.full_name,
                "seat": booking.seat or "",
                "attendance": BookingStatus.ABSENT.value
                if booking.status == BookingStatus.ABSENT
                else ("late" if booking.late else ("present" if booking.status == BookingStatus.CHECKED_IN else "not recorded")),
                "checked_in_at": booking.checked_in_at.isoformat() if booking.checked_in_at else "",
                "identity": booking.id_document_type or "",
                "started_at": attempt.started_at.isoformat() if attempt and attempt.started_at else "",
                "finished_at": attempt.submitted_at.isoformat() if attempt and attempt.submitted_at else "",
                "finish": (attempt.finish_reason or attempt.state) if attempt else "",
                "stopped_minutes": round(
                    sum(((s.end or s.start) - s.start).total_seconds() for s in attempt.stoppages if s.kind != CLOCK_STEP) / 60, 1
                )
                if attempt
                else 0,
            }
        )
    return {
        "sitting": sitting,
        "ratio": ratio,
        "register": register,
        "timeline": events,
        "ratio_held": not breaches,
        "breaches": breaches,
        "incidents": incidents,
        "incident_names": {c.key: c.name for c in load_policy().incident_types},
        "candidates": {b.apprentice_id: b.apprentice.candidate_number for b in bookings},  # incidents name apprentices by id
        "apprentices": {b.apprentice_id: f"{b.apprentice.candidate_number} {b.apprentice.full_name}" for b in bookings},
        "starts": [a.started_at for a in attempts.values() if a.started_at],
        "ends": [a.submitted_at for a in attempts.values() if a.submitted_at],
    }
