"""The clock rules, with times passed in: extra time, stoppages, grace, warnings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testengine.domain.errors import DomainError, OutOfRange
from testengine.domain.timing import (
    CLOCK_STEP,
    GRACE,
    ExtraTime,
    NaiveDatetime,
    Stoppage,
    allowed_duration,
    check_extra_time_change,
    deadline,
    end_stoppages,
    is_expired,
    remaining,
    require_utc,
    save_accepted,
    stopped_time,
    warnings_due,
)

T0 = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
NONE = ExtraTime()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def mins(n: float) -> timedelta:
    return timedelta(minutes=n)


# --- allowed time ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "extra", "allowed"),
    [
        (120, ExtraTime(), mins(120)),
        (120, ExtraTime(percent=25), mins(150)),
        (120, ExtraTime(percent=50), mins(180)),
        (120, ExtraTime(minutes=15), mins(135)),
        (120, ExtraTime(percent=25, minutes=10), mins(160)),  # both: added together
        (30, ExtraTime(percent=33), timedelta(minutes=30, seconds=594)),  # 9.9 minutes
        (1, ExtraTime(percent=1), timedelta(seconds=61)),  # 60.6 s rounds to whole seconds
        (7, ExtraTime(percent=13), timedelta(seconds=475)),  # 474.6 s
    ],
)
def test_allowed_duration(base: int, extra: ExtraTime, allowed: timedelta) -> None:
    assert allowed_duration(base, extra) == allowed


def test_allowed_duration_is_whole_seconds() -> None:
    for percent in range(101):
        assert allowed_duration(17, ExtraTime(percent=percent)).microseconds == 0


@pytest.mark.parametrize("kwargs", [{"percent": -5}, {"minutes": -1}])
def test_negative_extra_time_is_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(OutOfRange):
        ExtraTime(**kwargs)


@pytest.mark.parametrize("base", [0, -120])
def test_a_test_lasts_some_time(base: int) -> None:
    with pytest.raises(OutOfRange):
        allowed_duration(base, NONE)


# --- stoppages move the deadline -------------------------------------------------------------


def test_no_stoppages_deadline_is_start_plus_allowed() -> None:
    assert deadline(T0, 120, ExtraTime(percent=25), [], at(10)) == at(150)


def test_a_10_minute_rest_break_moves_the_deadline_10_minutes() -> None:
    rest = Stoppage(at(60), at(70), "rest_break")
    assert deadline(T0, 120, NONE, [rest], at(80)) == at(130)


def test_a_7_minute_room_pause_moves_the_deadline_7_minutes() -> None:
    room = Stoppage(at(45), at(52), "room_pause")
    assert deadline(T0, 120, NONE, [room], at(100)) == at(127)


def test_remaining_is_frozen_during_an_ongoing_pause_and_resumes_exactly() -> None:
    ongoing = [Stoppage(at(30), None, "pause")]
    assert remaining(T0, 120, NONE, [], at(30)) == mins(90)
    for later in (30, 31, 45, 89.5):
        assert remaining(T0, 120, NONE, ongoing, at(later)) == mins(90)
        assert deadline(T0, 120, NONE, ongoing, at(later)) == at(later + 90)
    ended = [Stoppage(at(30), at(45), "pause")]
    assert remaining(T0, 120, NONE, ended, at(45)) == mins(90)
    assert remaining(T0, 120, NONE, ended, at(46)) == mins(89)
    assert deadline(T0, 120, NONE, ended, at(46)) == at(135)


def test_overlapping_stoppages_are_not_double_counted() -> None:
    stoppages = [
        Stoppage(at(40), at(50), "room_pause"),
        Stoppage(at(45), at(55), "rest_break"),  # overlaps the room pause by 5 minutes
        Stoppage(at(47), at(49), "pause"),  # inside both
        Stoppage(at(55), at(60), "pause"),  # touches the end of the break
        Stoppage(at(70), at(72), "pause"),  # separate
    ]
    assert stopped_time(stoppages, at(100)) == mins(22)
    assert deadline(T0, 120, NONE, stoppages, at(100)) == at(142)


def test_an_ongoing_stoppage_inside_a_finished_one_counts_once() -> None:
    stoppages = [Stoppage(at(10), at(20), "room_pause"), Stoppage(at(15), None, "pause")]
    assert stopped_time(stoppages, at(18)) == mins(8)
    assert stopped_time(stoppages, at(30)) == mins(20)


def test_stoppages_count_only_up_to_now() -> None:
    planned = [Stoppage(at(60), at(70), "rest_break")]
    assert stopped_time(planned, at(30)) == timedelta(0)
    assert stopped_time(planned, at(65)) == mins(5)
    assert stopped_time(planned, at(90)) == mins(10)


def test_stoppage_time_before_the_start_does_not_count() -> None:
    early = [Stoppage(at(-10), at(5), "room_pause")]
    assert deadline(T0, 120, NONE, early, at(30)) == at(125)


def test_remaining_never_goes_below_zero() -> None:
    assert remaining(T0, 120, NONE, [], at(200)) == timedelta(0)


@pytest.mark.parametrize(
    ("start", "end", "kind"),
    [(at(10), at(5), "pause"), (at(10), None, "coffee")],
)
def test_impossible_stoppages_are_refused(start: datetime, end: datetime | None, kind: str) -> None:
    with pytest.raises(DomainError) as err:
        Stoppage(start, end, kind)
    assert err.value.code == "invalid_stoppage"


# --- grace and expiry -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after_deadline", "accepted"),
    [
        (timedelta(minutes=-30), True),
        (timedelta(0), True),
        (timedelta(seconds=60), True),
        (timedelta(seconds=60, microseconds=1), False),
        (timedelta(seconds=61), False),
        (timedelta(hours=2), False),
    ],
)
def test_save_accepted_until_deadline_plus_60s(after_deadline: timedelta, accepted: bool) -> None:
    due = at(120)
    assert save_accepted(due, due + after_deadline) is accepted


def test_grace_can_be_set() -> None:
    due = at(120)
    assert save_accepted(due, due + timedelta(seconds=61), grace=timedelta(seconds=90))
    assert not save_accepted(due, due + timedelta(seconds=1), grace=timedelta(0))


@pytest.mark.parametrize(
    ("after_deadline", "expired"),
    [(timedelta(0), False), (GRACE, False), (GRACE + timedelta(seconds=1), True)],
)
def test_expired_once_the_grace_is_over(after_deadline: timedelta, expired: bool) -> None:
    due = at(120)
    assert is_expired(due, due + after_deadline) is expired


def test_save_accepted_exactly_when_not_expired() -> None:
    due = at(120)
    for seconds in range(-5, 70):
        moment = due + timedelta(seconds=seconds)
        assert save_accepted(due, moment) is not is_expired(due, moment)


# --- warnings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "due"),
    [
        (mins(90), ()),
        (mins(30) + timedelta(seconds=1), ()),
        (mins(30), (30,)),
        (mins(12), (30,)),
        (mins(10), (30, 10)),
        (mins(5), (30, 10, 5)),
        (timedelta(0), (30, 10, 5)),
    ],
)
def test_warnings_due(left: timedelta, due: tuple[int, ...]) -> None:
    assert warnings_due(left) == due


def test_warnings_with_other_thresholds() -> None:
    assert warnings_due(mins(14), thresholds_minutes=(1, 15, 60)) == (60, 15)


# --- changing extra time mid-attempt --------------------------------------------------------


def test_reducing_extra_time_into_the_past_is_refused() -> None:
    # 25% extra (150 minutes); at 140 minutes an administrator removes it: deadline 120, past.
    with pytest.raises(DomainError) as err:
        check_extra_time_change(T0, 120, ExtraTime(percent=25), NONE, [], at(140))
    assert err.value.code == "deadline_in_past"


def test_a_reduction_that_still_leaves_time_is_accepted() -> None:
    check_extra_time_change(T0, 120, ExtraTime(percent=25), ExtraTime(minutes=15), [], at(130))
    check_extra_time_change(T0, 120, ExtraTime(percent=25), NONE, [], at(119))


def test_a_reduction_counts_stoppages() -> None:
    # Without the 20-minute break the new deadline (120) would be past at 130; with it, 140.
    rest = [Stoppage(at(50), at(70), "rest_break")]
    check_extra_time_change(T0, 120, ExtraTime(percent=25), NONE, rest, at(130))


def test_an_increase_is_accepted() -> None:
    check_extra_time_change(T0, 120, NONE, ExtraTime(percent=25), [], at(60))


# --- naive datetimes ------------------------------------------------------------------------

NAIVE = datetime(2025, 3, 3, 9, 30)


def test_require_utc_refuses_naive_datetimes() -> None:
    with pytest.raises(NaiveDatetime) as err:
        require_utc(NAIVE)
    assert isinstance(err.value, ValueError)
    assert isinstance(err.value, DomainError)
    assert err.value.code == "naive_datetime"


def test_require_utc_normalises_to_utc() -> None:
    bst = timezone(timedelta(hours=1))
    moment = require_utc(datetime(2025, 6, 2, 10, 0, tzinfo=bst))
    assert moment == datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: deadline(NAIVE, 120, NONE, [], at(10)),
        lambda: deadline(T0, 120, NONE, [], NAIVE),
        lambda: remaining(T0, 120, NONE, [], NAIVE),
        lambda: stopped_time([], NAIVE),
        lambda: save_accepted(NAIVE, at(10)),
        lambda: save_accepted(at(10), NAIVE),
        lambda: is_expired(at(10), NAIVE),
        lambda: Stoppage(NAIVE, None, "pause"),
        lambda: Stoppage(T0, NAIVE, "pause"),
        lambda: check_extra_time_change(T0, 120, NONE, NONE, [], NAIVE),
    ],
)
def test_every_clock_rule_refuses_naive_datetimes(call: object) -> None:
    with pytest.raises(NaiveDatetime):
        call()  # type: ignore[operator]


def test_times_in_other_zones_give_the_same_deadline() -> None:
    bst = timezone(timedelta(hours=1))
    pause = [Stoppage(at(20).astimezone(bst), at(25).astimezone(bst), "pause")]
    assert deadline(T0.astimezone(bst), 120, NONE, pause, at(60).astimezone(bst)) == at(125)


# --- invariants -----------------------------------------------------------------------------

_offsets = st.integers(min_value=-60 * 60, max_value=6 * 60 * 60)  # seconds from T0


@st.composite
def _stoppages(draw: st.DrawFn) -> list[Stoppage]:
    result = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        start = draw(_offsets)
        length = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=3 * 60 * 60)))
        kind = draw(st.sampled_from(["pause", "rest_break", "room_pause"]))
        end = None if length is None else T0 + timedelta(seconds=start + length)
        result.append(Stoppage(T0 + timedelta(seconds=start), end, kind))
    return result


_extra = st.builds(
    ExtraTime,
    percent=st.integers(min_value=0, max_value=100),
    minutes=st.integers(min_value=0, max_value=120),
)


@given(
    base=st.integers(min_value=1, max_value=240),
    extra=_extra,
    stoppages=_stoppages(),
    now=_offsets,
)
def test_deadline_never_earlier_than_start_plus_allowed(base: int, extra: ExtraTime, stoppages: list[Stoppage], now: int) -> None:
    moment = T0 + timedelta(seconds=now)
    assert deadline(T0, base, extra, stoppages, moment) >= T0 + allowed_duration(base, extra)


@given(
    base=st.integers(min_value=1, max_value=240),
    extra=_extra,
    stoppages=_stoppages(),
    a=_offsets,
    b=_offsets,
)
def test_deadline_is_monotone_in_now(base: int, extra: ExtraTime, stoppages: list[Stoppage], a: int, b: int) -> None:
    earlier, later = sorted((T0 + timedelta(seconds=a), T0 + timedelta(seconds=b)))
    assert deadline(T0, base, extra, stoppages, earlier) <= deadline(T0, base, extra, stoppages, later)


@given(stoppages=_stoppages(), now=_offsets)
def test_stopped_time_is_at_most_the_union_span(stoppages: list[Stoppage], now: int) -> None:
    moment = T0 + timedelta(seconds=now)
    total = stopped_time(stoppages, moment)
    assert timedelta(0) <= total
    assert total <= sum(
        (max(timedelta(0), min(s.end or moment, moment) - s.start) for s in stoppages),
        timedelta(0),
    )


@given(stoppages=_stoppages(), now=_offsets, step=st.integers(min_value=0, max_value=3600))
def test_remaining_never_grows_as_time_passes(stoppages: list[Stoppage], now: int, step: int) -> None:
    first = T0 + timedelta(seconds=now)
    second = first + timedelta(seconds=step)
    assert remaining(T0, 120, NONE, stoppages, second) <= remaining(T0, 120, NONE, stoppages, first)


# --- a wall clock that steps backward -------------------------------------------------------


def test_a_stoppage_going_reads_the_clock_as_no_earlier_than_its_start() -> None:
    paused = [Stoppage(at(30), None, "pause")]
    before = remaining(T0, 120, NONE, [], at(30))
    assert remaining(T0, 120, NONE, paused, at(20)) == before == mins(90)  # stepped back 10 minutes
    assert deadline(T0, 120, NONE, paused, at(20)) == at(120)


def test_ending_a_stoppage_after_a_backward_step_clamps_it_and_records_the_step() -> None:
    closing = end_stoppages([at(30)], at(20))
    assert closing.end == at(30)
    assert closing.clock_step == Stoppage(at(30), at(20), CLOCK_STEP)
    normal = end_stoppages([at(30)], at(35))
    assert (normal.end, normal.clock_step) == (at(35), None)
    assert end_stoppages([], at(35)).end == at(35)


@pytest.mark.parametrize("kind", ["pause", "room_pause", "rest_break"])
def test_after_a_backward_step_the_time_left_is_what_it_was_before_the_stoppage(kind: str) -> None:
    before = remaining(T0, 120, NONE, [], at(30))
    closing = end_stoppages([at(30)], at(20))
    assert closing.clock_step is not None
    history = [Stoppage(at(30), closing.end, kind), closing.clock_step]
    assert remaining(T0, 120, NONE, history, at(20)) == before
    # The deadline moves back with the clock: no time given, none taken.
    assert deadline(T0, 120, NONE, history, at(20)) == at(110)
    # Time then passes as usual; a later pause (in the new frame) stops it as usual.
    assert remaining(T0, 120, NONE, history, at(50)) == mins(60)
    later = [*history, Stoppage(at(50), at(55), "pause")]
    assert deadline(T0, 120, NONE, later, at(60)) == at(115)


def test_a_rest_break_inside_a_room_pause_closed_after_a_step() -> None:
    stoppages = [Stoppage(at(30), None, "room_pause"), Stoppage(at(40), None, "rest_break")]
    frozen = remaining(T0, 120, NONE, stoppages, at(40))
    assert frozen == mins(90)
    closing = end_stoppages([at(30), at(40)], at(25))  # back 15 minutes from the latest reading
    assert closing.end == at(40)
    history = [Stoppage(at(30), closing.end, "room_pause"), Stoppage(at(40), closing.end, "rest_break")]
    assert closing.clock_step is not None
    assert remaining(T0, 120, NONE, [*history, closing.clock_step], at(25)) == frozen


def test_an_extra_time_change_after_a_backward_step_is_judged_on_the_attempts_clock() -> None:
    paused = [Stoppage(at(100), None, "pause")]  # paused at 100 minutes in; the clock then goes back 10
    check_extra_time_change(T0, 120, ExtraTime(minutes=30), NONE, paused, at(90))  # 20 minutes still left
    with pytest.raises(DomainError):  # 90 + 0 minutes ended before the pause, whatever the wall clock says
        check_extra_time_change(T0, 90, ExtraTime(minutes=30), NONE, paused, at(90))


def test_a_clock_step_must_go_backward() -> None:
    with pytest.raises(DomainError):
        Stoppage(at(10), at(20), CLOCK_STEP)
    with pytest.raises(DomainError):
        Stoppage(at(10), None, CLOCK_STEP)


@given(stoppages=_stoppages(), now=_offsets, back=st.integers(min_value=1, max_value=3600))
def test_a_backward_step_under_a_stoppage_neither_gives_nor_takes_time(stoppages: list[Stoppage], now: int, back: int) -> None:
    moment = T0 + timedelta(seconds=now)
    live = [s for s in stoppages if s.end is None or s.end <= moment]
    live = [s for s in live if s.start <= moment]
    going = [*live, Stoppage(moment, None, "pause")]
    before = remaining(T0, 120, NONE, going, moment)
    stepped = moment - timedelta(seconds=back)
    assert remaining(T0, 120, NONE, going, stepped) == before
    closing = end_stoppages([s.start for s in going if s.end is None], stepped)
    closed = [Stoppage(s.start, closing.end, s.kind) if s.end is None else s for s in going]
    steps = [closing.clock_step] if closing.clock_step else []
    assert remaining(T0, 120, NONE, [*closed, *steps], stepped) == before


# --- rules pinned by mutation testing -------------------------------------------------------


class _NoOffset(tzinfo):
    """A zone that does not know its offset: as unusable as no zone at all."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


@pytest.fixture
def host_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The host's local zone is not UTC, so nothing may lean on it being UTC."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_zone_whose_offset_is_unknown_is_refused_like_a_naive_one() -> None:
    value = datetime(2025, 3, 3, 9, 30, tzinfo=_NoOffset())
    with pytest.raises(NaiveDatetime) as err:
        require_utc(value)
    assert err.value.code == "naive_datetime"
    assert str(err.value) == "datetime 2025-03-03T09:30:00 has no timezone; times must be UTC"


def test_a_non_datetime_is_refused_by_name() -> None:
    with pytest.raises(NaiveDatetime) as err:
        require_utc("2025-03-03T09:30:00Z")  # type: ignore[arg-type]
    assert err.value.code == "naive_datetime"
    assert str(err.value) == "expected a datetime, got '2025-03-03T09:30:00Z'"


@pytest.mark.usefixtures("host_in_new_york")
def test_results_are_in_utc_whatever_the_host_zone() -> None:
    assert time.localtime(0).tm_gmtoff != 0  # the fixture took effect
    plus_one = timezone(timedelta(hours=1))
    assert require_utc(datetime(2025, 3, 3, 10, 30, tzinfo=plus_one)).utcoffset() == timedelta(0)
    started = datetime(2025, 3, 3, 10, 30, tzinfo=plus_one)
    due = deadline(started, 120, NONE, [], started)
    assert due.utcoffset() == timedelta(0)
    assert due.hour == 11  # 09:30 UTC + 120 minutes


def test_stoppage_times_are_kept_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    stoppage = Stoppage(
        datetime(2025, 3, 3, 11, 30, tzinfo=plus_two),
        datetime(2025, 3, 3, 11, 40, tzinfo=plus_two),
        "pause",
    )
    assert stoppage.start.utcoffset() == timedelta(0)
    assert stoppage.end is not None and stoppage.end.utcoffset() == timedelta(0)
    assert (stoppage.start.hour, stoppage.end.hour) == (9, 9)


def test_an_extra_time_change_landing_the_deadline_exactly_on_now_is_accepted() -> None:
    # 25% of 120 minutes is 30; taking it away at minute 120 ends the attempt now, not before.
    check_extra_time_change(T0, 120, ExtraTime(percent=25), NONE, [], at(120))
    with pytest.raises(DomainError) as err:
        check_extra_time_change(T0, 120, ExtraTime(percent=25), NONE, [], at(120) + timedelta(seconds=1))
    assert err.value.code == "deadline_in_past"
    assert str(err.value) == (
        "Refused: the new extra time would move the deadline from 12:00:00 to 11:30:00 UTC, "
        "which is already in the past (now 11:30:01)."
    )


@pytest.mark.parametrize(
    ("make", "error", "code", "message"),
    [
        (
            lambda: Stoppage(at(0), None, "lunch"),
            DomainError,
            "invalid_stoppage",
            "unknown stoppage kind 'lunch' (one of clock_step, pause, rest_break, room_pause)",
        ),
        (
            lambda: Stoppage(at(10), at(5), "pause"),
            DomainError,
            "invalid_stoppage",
            ("a stoppage cannot end (2025-03-03T09:35:00+00:00) before it starts (2025-03-03T09:40:00+00:00)"),
        ),
        (
            lambda: ExtraTime(percent=-5, minutes=2),
            OutOfRange,
            "out_of_range",
            "extra time cannot be negative (percent=-5, minutes=2)",
        ),
        (
            lambda: allowed_duration(0, NONE),
            OutOfRange,
            "out_of_range",
            "a test lasts a positive number of minutes, got 0",
        ),
    ],
)
def test_clock_errors_have_codes_and_say_what_is_wrong(
    make: Callable[[], object], error: type[DomainError], code: str, message: str
) -> None:
    with pytest.raises(error) as err:
        make()
    assert err.value.code == code
    assert str(err.value) == message
