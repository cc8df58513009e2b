"""Invigilation: the live room board, the whole room paused and resumed, a new computer asked for and
allowed, and the invigilation report (the messages to the room are services/messages.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import defer, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from .. import labels
from ..domain import invigilation as rules
from ..domain import presence
from ..domain.attempt_states import AttemptState
from ..domain.sitting_states import DeviceRequest
from ..domain.timing import CLOCK_STEP
from ..extensions import db
from ..models import (
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
    Standard,
    Stoppage,
    User,
)
from ..policy import load_policy
from . import attempts as attempt_service
from . import audit
from .sittings import (
    ACTIVE_STATES,
    SittingError,
    _people_present,
    _ratio_of,
    _room_event,
    active_attempts,
    in_force_adjustments,
    log_incident,
    ratio_for,
)


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
    connection: str  # a presence.Connection from the page's heartbeat: online, offline, unknown
    last_heard: str  # when the page last reported ("HH:MM:SS" UTC), or ""
    connection_label: str  # what the board shows: "Online", "Offline since 10:04:31 UTC" or ""
    last_saved: str  # when an answer was last saved ("HH:MM:SS" UTC), or ""

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
    last_saved: dict[int, dt.datetime | None]  # attempt id -> when an answer was last saved
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
    last_saved = select(func.max(Answer.saved_at)).where(Answer.attempt_id == Attempt.id).correlate(Attempt).scalar_subquery()
    rows = db.session.execute(
        select(Attempt, questions, answered, last_saved)
        .where(Attempt.sitting_id == sitting.id)
        .options(defer(Attempt.draw_inputs))  # tens of kilobytes each, for appeals, not for the board
        .order_by(Attempt.id)
        .execution_options(populate_existing=True)
    ).all()
    attempts = [attempt for attempt, _, _, _ in rows]
    _load_stoppages(attempts)
    warnings, device_requests = _browser_events([a.id for a in attempts])
    # The standard (for the ratio) and the invigilators in the room, in one statement.
    present = _people_present(sitting.id)
    standard, invigilators_present = db.session.execute(select(Standard, present).where(Standard.id == sitting.standard_id)).one()
    return Room(
        bookings=bookings,
        attempts=attempts,
        questions={attempt.id: n for attempt, n, _, _ in rows},
        answered={attempt.id: n for attempt, _, n, _ in rows},
        last_saved={attempt.id: saved for attempt, _, _, saved in rows},
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


def _time_of_day(moment: dt.datetime | None) -> str:
    return f"{moment:%H:%M:%S}" if moment is not None else ""


def _connection_label(connection: presence.Connection, heard: dt.datetime | None) -> str:
    if connection == presence.Connection.ONLINE:
        return "Online"
    if connection == presence.Connection.OFFLINE:
        return f"Offline since {_time_of_day(heard)} UTC"
    return ""


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
        connection = presence.Connection.UNKNOWN
        if attempt is not None and attempt.state in ACTIVE_STATES:
            connection = presence.connection(attempt.heartbeat_at, now)
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
                connection=connection.value,
                last_heard=_time_of_day(attempt.heartbeat_at if attempt else None),
                connection_label=_connection_label(connection, attempt.heartbeat_at if attempt else None),
                last_saved=_time_of_day(room.last_saved.get(attempt.id) if attempt else None),
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
