"""The clock rules of a timed test: allowed time, stoppages, deadlines, grace and warnings.

The clock is the server's, and nothing here reads it: every function is given `now`, so the
rules are tested by passing times in, and a replay of an attempt gives the same deadline.

How the clock runs:
- An apprentice is allowed the standard's duration (ST0663: 120 minutes) plus any extra time
  set as a reasonable adjustment (a percentage, fixed minutes, or both).
- A stoppage stops the clock: a pause for one apprentice, a pause of the whole room (a fire
  alarm, say), or a supervised rest break. The deadline moves on by the time stopped, so while
  a stoppage is still going the deadline moves with `now` and the time remaining is frozen.
  Stoppages that overlap (a rest break during a room pause) stop the clock once, not twice.
- Answers that arrive up to GRACE after the deadline are still accepted: the browser saves at
  the last second and the request takes time to arrive; what an apprentice saved is never lost.
  Later than that nothing is accepted, and the attempt is submitted for them.

All datetimes are timezone-aware; naive ones are refused (NaiveDatetime) because guessing their
zone would put a deadline an hour out twice a year.

When the wall clock steps backward (an NTP correction, a virtual machine restored or moved), time
must neither run backward for the apprentice nor fail an action. A stoppage still going reads the
clock as no earlier than its start, so the time left stays frozen; when it ends before its start
it is clamped to its start, and the step is recorded as a `clock_step` entry (from the reading
before the step to the one after). Each such entry shifts the wall-clock frame of everything
recorded after it, so the deadline in today's wall-clock terms keeps the time left exactly as it
was. A forward step is indistinguishable from time passing and is treated as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from testengine.domain.errors import DomainError, OutOfRange

__all__ = [
    "CLOCK_STEP",
    "GRACE",
    "STOPPAGE_KINDS",
    "ExtraTime",
    "NaiveDatetime",
    "Stoppage",
    "StoppageEnd",
    "allowed_duration",
    "check_extra_time_change",
    "deadline",
    "end_stoppages",
    "is_expired",
    "remaining",
    "require_utc",
    "save_accepted",
    "stopped_time",
    "warnings_due",
]

GRACE = timedelta(seconds=60)
CLOCK_STEP = "clock_step"  # not a stoppage: a record that the wall clock went back
STOPPAGE_KINDS = frozenset({"pause", "rest_break", "room_pause", CLOCK_STEP})
_ZERO = timedelta(0)


class NaiveDatetime(DomainError, ValueError):
    """A datetime without a timezone reached the clock rules."""

    code = "naive_datetime"


def require_utc(value: datetime) -> datetime:
    """`value` in UTC; refuses naive datetimes rather than guessing which zone they meant."""
    if not isinstance(value, datetime):
        raise NaiveDatetime(f"expected a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetime(f"datetime {value.isoformat()} has no timezone; times must be UTC")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Stoppage:
    """A time the clock stood still: a pause (one apprentice or the whole room) or a rest break.

    Or, of kind `clock_step`, a backward step of the wall clock: `start` the reading before it,
    `end` the reading after it (earlier); it is the one kind whose end comes before its start.
    """

    start: datetime
    end: datetime | None  # None: still going
    kind: str  # "pause" | "rest_break" | "room_pause" | "clock_step"

    def __post_init__(self) -> None:
        if self.kind not in STOPPAGE_KINDS:
            raise DomainError(
                f"unknown stoppage kind {self.kind!r} (one of {', '.join(sorted(STOPPAGE_KINDS))})",
                code="invalid_stoppage",
            )
        start = require_utc(self.start)
        end = None if self.end is None else require_utc(self.end)
        if self.kind == CLOCK_STEP:
            if end is None or end > start:
                raise DomainError(
                    "a clock step records the wall clock going back: its end comes before its start",
                    code="invalid_stoppage",
                )
        elif end is not None and end < start:
            raise DomainError(
                f"a stoppage cannot end ({end.isoformat()}) before it starts ({start.isoformat()})",
                code="invalid_stoppage",
            )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)


@dataclass(frozen=True)
class ExtraTime:
    """Extra time set for one apprentice as a reasonable adjustment; it changes the clock only."""

    percent: int = 0  # e.g. 25 -> +25% of the base duration
    minutes: int = 0  # fixed extra minutes; added to the percentage when both are set

    def __post_init__(self) -> None:
        if self.percent < 0 or self.minutes < 0:
            raise OutOfRange(f"extra time cannot be negative (percent={self.percent}, minutes={self.minutes})")


def allowed_duration(base_minutes: int, extra: ExtraTime) -> timedelta:
    """The time an apprentice is allowed before stoppages: 120 minutes + 25% = 150 minutes.

    The percentage is of the base duration only, and the total is rounded to the nearest whole
    second (computed exactly, so no float error moves a deadline).
    """
    if base_minutes <= 0:
        raise OutOfRange(f"a test lasts a positive number of minutes, got {base_minutes}")
    base_seconds = base_minutes * 60
    seconds = base_seconds + round(Fraction(base_seconds * extra.percent, 100)) + extra.minutes * 60
    return timedelta(seconds=seconds)


def stopped_time(stoppages: Sequence[Stoppage], now: datetime, *, since: datetime | None = None) -> timedelta:
    """How long the clock has stood still by `now`, counting overlapping stoppages once.

    A stoppage still going counts up to `now`; nothing after `now` (or before `since`, the
    attempt's start, when given) counts, so the total only ever grows as `now` moves on.
    """
    now = require_utc(now)
    floor = None if since is None else require_utc(since)
    intervals: list[tuple[datetime, datetime]] = []
    for stoppage in stoppages:
        if stoppage.kind == CLOCK_STEP:
            continue
        start = stoppage.start if floor is None else max(stoppage.start, floor)
        end = now if stoppage.end is None else min(stoppage.end, now)
        if end > start:
            intervals.append((start, end))
    merged: list[list[datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return sum((end - start for start, end in merged), _ZERO)


@dataclass(frozen=True)
class _Frame:
    """The attempt's history in the wall-clock frame of its start, and how far the clock went back since."""

    stoppages: list[Stoppage]
    now: datetime  # `now` in that frame, never earlier than a stoppage still going
    offset: timedelta  # the sum of the backward steps recorded so far


def _first_frame(stoppages: Sequence[Stoppage], now: datetime) -> _Frame:
    offset = _ZERO
    shifted: list[Stoppage] = []
    for stoppage in stoppages:  # in the order they were recorded
        if stoppage.kind == CLOCK_STEP:
            assert stoppage.end is not None
            offset += stoppage.start - stoppage.end
            continue
        end = None if stoppage.end is None else stoppage.end + offset
        shifted.append(Stoppage(stoppage.start + offset, end, stoppage.kind))
    reading = require_utc(now) + offset
    for stoppage in shifted:
        if stoppage.end is None and stoppage.start > reading:  # the clock went back under it
            reading = stoppage.start
    return _Frame(shifted, reading, offset)


def deadline(
    started_at: datetime,
    base_minutes: int,
    extra: ExtraTime,
    stoppages: Sequence[Stoppage],
    now: datetime,
) -> datetime:
    """When the apprentice's time runs out, as known at `now`, on today's wall clock.

    The start plus the allowed duration plus the time stopped so far. While a stoppage is
    going the deadline moves with `now`, which is what freezes the time remaining. A recorded
    backward step of the wall clock moves the deadline back with it, so it gives no time.
    """
    started_at = require_utc(started_at)
    frame = _first_frame(stoppages, now)
    return (
        started_at
        + allowed_duration(base_minutes, extra)
        + stopped_time(frame.stoppages, frame.now, since=started_at)
        - frame.offset
    )


def remaining(
    started_at: datetime,
    base_minutes: int,
    extra: ExtraTime,
    stoppages: Sequence[Stoppage],
    now: datetime,
) -> timedelta:
    """Time left on the apprentice's clock at `now`; never negative, frozen while stopped.

    Frozen even if the wall clock goes back during a stoppage: the clock reads its start.
    """
    frame = _first_frame(stoppages, now)
    return max(_ZERO, deadline(started_at, base_minutes, extra, stoppages, now) + frame.offset - frame.now)


@dataclass(frozen=True)
class StoppageEnd:
    """How to close the stoppages still going at `now`."""

    end: datetime  # the end to record: never before the start of any of them
    clock_step: Stoppage | None  # the backward step of the wall clock under them, to record; or None


def end_stoppages(open_starts: Sequence[datetime], now: datetime) -> StoppageEnd:
    """Close stoppages begun at `open_starts` at `now`, even if the wall clock has gone back since.

    An end before a start is clamped to the latest start (no stopped time is invented), and the
    step is returned as a `clock_step` to record next: the deadline moves back by it, so the
    time left after the stoppage is what it was before, and the invigilator is told.
    """
    now = require_utc(now)
    latest = max((require_utc(start) for start in open_starts), default=now)
    if latest <= now:
        return StoppageEnd(now, None)
    return StoppageEnd(latest, Stoppage(latest, now, CLOCK_STEP))


def save_accepted(deadline_at: datetime, received_at: datetime, grace: timedelta = GRACE) -> bool:
    """Whether an answer received at `received_at` still counts: up to `grace` after the deadline.

    ST0663 deadline + 60 s is accepted, + 61 s is not: nothing is accepted after time is up.
    """
    return require_utc(received_at) <= require_utc(deadline_at) + grace


def is_expired(deadline_at: datetime, now: datetime, grace: timedelta = GRACE) -> bool:
    """Whether the grace is over, so the attempt is to be submitted for the apprentice.

    The finish time recorded for such an attempt is the deadline, not the moment it was noticed.
    """
    return require_utc(now) > require_utc(deadline_at) + grace


def warnings_due(remaining_time: timedelta, thresholds_minutes: Sequence[int] = (30, 10, 5)) -> tuple[int, ...]:
    """The warning thresholds (minutes left) already reached, largest first.

    Every threshold passed is returned, not only the latest, so a page that has missed some (a
    reload, a dropped connection) can tell which it has already passed and which it has shown.
    """
    return tuple(
        sorted(
            (t for t in set(thresholds_minutes) if remaining_time <= timedelta(minutes=t)),
            reverse=True,
        )
    )


def check_extra_time_change(
    started_at: datetime,
    base_minutes: int,
    old: ExtraTime,
    new: ExtraTime,
    stoppages: Sequence[Stoppage],
    now: datetime,
) -> None:
    """Refuse an extra-time change that would put the deadline before `now`.

    An administrator may correct an adjustment during an attempt, but a reduction must not end
    the attempt retrospectively: answers saved in good time would then be "late".
    """
    now = require_utc(now)
    old_deadline = deadline(started_at, base_minutes, old, stoppages, now)
    new_deadline = deadline(started_at, base_minutes, new, stoppages, now)
    frame = _first_frame(stoppages, now)  # judged on the attempt's clock, not a stepped-back wall clock
    if new_deadline + frame.offset < frame.now:
        raise DomainError(
            f"Refused: the new extra time would move the deadline from {old_deadline:%H:%M:%S} to "
            f"{new_deadline:%H:%M:%S} UTC, which is already in the past (now {now:%H:%M:%S}).",
            code="deadline_in_past",
        )
