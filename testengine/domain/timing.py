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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from testengine.domain.errors import DomainError, OutOfRange

__all__ = [
    "GRACE",
    "STOPPAGE_KINDS",
    "ExtraTime",
    "NaiveDatetime",
    "Stoppage",
    "allowed_duration",
    "check_extra_time_change",
    "deadline",
    "is_expired",
    "remaining",
    "require_utc",
    "save_accepted",
    "stopped_time",
    "warnings_due",
]

GRACE = timedelta(seconds=60)
STOPPAGE_KINDS = frozenset({"pause", "rest_break", "room_pause"})
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
    """A time the clock stood still: a pause (one apprentice or the whole room) or a rest break."""

    start: datetime
    end: datetime | None  # None: still going
    kind: str  # "pause" | "rest_break" | "room_pause"

    def __post_init__(self) -> None:
        if self.kind not in STOPPAGE_KINDS:
            raise DomainError(
                f"unknown stoppage kind {self.kind!r} (one of {', '.join(sorted(STOPPAGE_KINDS))})",
                code="invalid_stoppage",
            )
        start = require_utc(self.start)
        end = None if self.end is None else require_utc(self.end)
        if end is not None and end < start:
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
            raise OutOfRange(
                f"extra time cannot be negative (percent={self.percent}, minutes={self.minutes})"
            )


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


def stopped_time(
    stoppages: Sequence[Stoppage], now: datetime, *, since: datetime | None = None
) -> timedelta:
    """How long the clock has stood still by `now`, counting overlapping stoppages once.

    A stoppage still going counts up to `now`; nothing after `now` (or before `since`, the
    attempt's start, when given) counts, so the total only ever grows as `now` moves on.
    """
    now = require_utc(now)
    floor = None if since is None else require_utc(since)
    intervals: list[tuple[datetime, datetime]] = []
    for stoppage in stoppages:
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


def deadline(
    started_at: datetime,
    base_minutes: int,
    extra: ExtraTime,
    stoppages: Sequence[Stoppage],
    now: datetime,
) -> datetime:
    """When the apprentice's time runs out, as known at `now`.

    The start plus the allowed duration plus the time stopped so far. While a stoppage is
    going the deadline moves with `now`, which is what freezes the time remaining.
    """
    started_at = require_utc(started_at)
    return (
        started_at
        + allowed_duration(base_minutes, extra)
        + stopped_time(stoppages, now, since=started_at)
    )


def remaining(
    started_at: datetime,
    base_minutes: int,
    extra: ExtraTime,
    stoppages: Sequence[Stoppage],
    now: datetime,
) -> timedelta:
    """Time left on the apprentice's clock at `now`; never negative, frozen while stopped."""
    now = require_utc(now)
    return max(_ZERO, deadline(started_at, base_minutes, extra, stoppages, now) - now)


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


def warnings_due(
    remaining_time: timedelta, thresholds_minutes: Sequence[int] = (30, 10, 5)
) -> tuple[int, ...]:
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
    if new_deadline < now:
        raise DomainError(
            f"Refused: the new extra time would move the deadline from {old_deadline:%H:%M:%S} to "
            f"{new_deadline:%H:%M:%S} UTC, which is already in the past (now {now:%H:%M:%S}).",
            code="deadline_in_past",
        )
