"""No state is spelt as a bare string outside the domain's enums.

The states of attempts, sittings, bookings, results and marking live in testengine/domain/ as
enums with their transition tables; code and templates compare with those (templates see them as
Jinja globals, see create_app). A quoted "submitted" elsewhere is a second definition waiting to
drift, so this test reads every module and template and fails on one.

What is not a state, and so not counted:
- an error code, `code="closed"`: the JSON API's stable name for a refusal, not a state;
- a mapping key, `{"in_progress": 3}`: the name of a field;
- the bank spec's field `resit:` (testengine/banks/spec.py reads that key of spec.yaml).
The attempt kind "first" is left out of the list: "first" is also a marking role and a marking
stage, which are not states; "resit" and "retake" are counted.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from testengine.domain.attempt_states import AttemptKind, AttemptState
from testengine.domain.marking_states import MarkingState, SampleStatus
from testengine.domain.result_states import ResultStatus
from testengine.domain.sitting_states import BookingStatus, SittingState

ROOT = Path(__file__).resolve().parents[2]
STATE_ENUMS = (AttemptState, SittingState, BookingStatus, ResultStatus, MarkingState, SampleStatus)
LITERALS = sorted(
    {member.value for enum in STATE_ENUMS for member in enum}
    | {kind.value for kind in AttemptKind if kind is not AttemptKind.FIRST}
)
PATTERN = re.compile(r"(?P<q>[\"'])(?P<value>" + "|".join(map(re.escape, LITERALS)) + r")(?P=q)")
ALLOWED = {
    ("testengine/banks/spec.py", "resit"),  # the spec file's field name, not a kind
    ("testengine/cli/resit.py", "resit"),  # the command group's name, `testengine resit`
}


def _sources() -> list[Path]:
    code = [
        p
        for p in (ROOT / "testengine").rglob("*.py")
        if not p.is_relative_to(ROOT / "testengine" / "domain") and not p.is_relative_to(ROOT / "testengine" / "migrations")
    ]
    return sorted(code + list((ROOT / "templates").rglob("*.html")))


def _not_a_state(line: str, match: re.Match[str]) -> bool:
    before, after = line[: match.start()].rstrip(), line[match.end() :].lstrip()
    is_key = after.startswith(":") and (before == "" or before.endswith(("{", ",")))
    return before.endswith("code=") or is_key


def literals_in(text: str) -> list[tuple[int, str]]:
    """(line number, state) for each state spelt as a quoted string in `text`."""
    return [
        (number, match["value"])
        for number, line in enumerate(text.splitlines(), start=1)
        for match in PATTERN.finditer(line)
        if not _not_a_state(line, match)
    ]


def test_every_state_and_kind_is_looked_for() -> None:
    assert {"in_progress", "submitted", "released", "signed_off", "booked", "checked_in"} <= set(LITERALS)
    assert {"open", "closed", "complete", "waiting", "resit", "retake"} <= set(LITERALS)


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ('if attempt.state == "submitted":', ["submitted"]),
        ("Sitting.state != 'closed'", ["closed"]),
        ('{% if row.status in ("paused", "on rest break") %}', ["paused"]),
        ("_OPEN_SQL = \"state IN ('not_started', 'in_progress')\"", ["not_started", "in_progress"]),
        ('raise SittingError("This sitting is closed.", code="closed")', []),
        ('{"in_progress": ratio.in_progress}', []),
        ('after={"total": 3, "selected": sorted(chosen)}', []),
        ('    "waiting": 1,', []),
        ("attempt.state == AttemptState.SUBMITTED", []),
        ('"submitted_at"', []),
    ],
)
def test_the_search_finds_states_and_only_states(line: str, found: list[str]) -> None:
    assert [value for _n, value in literals_in(line)] == found


def test_no_state_literal_outside_the_domain() -> None:
    sources = _sources()
    assert len(sources) > 50  # the walk found the package and the templates
    spelt = [
        f"{path.relative_to(ROOT)}:{number}: {value!r}"
        for path in sources
        for number, value in literals_in(path.read_text(encoding="utf-8"))
        if (path.relative_to(ROOT).as_posix(), value) not in ALLOWED
    ]
    assert spelt == [], "compare with the domain's enums instead:\n" + "\n".join(spelt)
