"""Starting a test in a sitting: what the apprentice is told first, what is read before the room's
lock, and the start itself (decided one at a time per room, against the invigilation ratio)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import defer, joinedload

from ..domain import invigilation as rules
from ..domain import timing
from ..domain.attempt_states import AttemptState
from ..domain.papers import PaperShortfall
from ..extensions import db
from ..models import Attempt, Booking, BookingStatus, RoomEvent, SittingState, Standard, User
from ..models.attempts import OPEN_STATES
from . import attempts as attempt_service
from . import audit
from .banks import spec_of
from .papers import DrawnPaper, draw_for
from .sittings import SittingError, counts, eligible_kind, extra_time_for, lock_sitting, prepare_paper


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
