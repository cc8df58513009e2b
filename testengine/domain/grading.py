"""Grades from marks, overall grades from method grades, and the re-sit rules.

Every number and table here comes from a standard's spec (question_banks/<STANDARD>/spec.yaml,
read into a StandardSpec), never from code: ST0663's boundaries (Fail 0-45, Pass 46-52,
Distinction 53-66) and its three-method table, ST1379's Merit grade and re-sit cap, and the next
standard's rules all pass through the same functions.

Why the checks are strict: a grade is a result an apprentice is given and an EPAO signs off.
A mark outside the paper, a method the standard does not have, or a grade a method cannot award
is a bug upstream, so it is refused loudly rather than graded into something plausible.
"""

from __future__ import annotations

import calendar
import re
import sys
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

from testengine.domain.errors import DomainError, OutOfRange
from testengine.domain.standards import Boundary, Condition, StandardSpec

__all__ = [
    "add_months",
    "cap_grade",
    "grade_for_marks",
    "grades_for_marks",
    "ksb_feedback",
    "overall_grade",
    "resit_allowed",
    "resit_last_day",
    "resit_method_grade",
    "resit_overall_grade",
]


# --- marks to a grade ---------------------------------------------------------------------


def _checked_boundaries(boundaries: Sequence[Boundary], max_marks: int) -> list[Boundary]:
    """The boundaries lowest first, refused unless they cover 0..max_marks once, without gaps.

    A gap would leave some mark with no grade and an overlap would give a mark two; either is a
    mistake in the spec, and grading around it would hide it.
    """
    if not boundaries:
        raise DomainError("no grade boundaries given", code="invalid_boundaries")
    ordered = sorted(boundaries, key=lambda b: b.min)
    expected_min = 0
    for boundary in ordered:
        if boundary.min != expected_min or boundary.max < boundary.min:
            raise DomainError(
                f"grade boundaries must run from 0 to {max_marks} without gaps or overlaps; "
                f"{boundary.grade!r} covers {boundary.min}-{boundary.max}, expected it to start "
                f"at {expected_min}",
                code="invalid_boundaries",
            )
        expected_min = boundary.max + 1
    if ordered[-1].max != max_marks:
        raise DomainError(
            f"grade boundaries end at {ordered[-1].max} but the paper is out of {max_marks}",
            code="invalid_boundaries",
        )
    return ordered


def _is_whole_number(value: object) -> bool:
    # bool is an int subclass; True is not a mark. A NumPy integer is one too, and can only exist if
    # NumPy is loaded: grading one score (the `grade` command) does not import it.
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.integer) and not isinstance(value, numpy.bool_)


def grade_for_marks(boundaries: Sequence[Boundary], marks: int, max_marks: int) -> str:
    """The grade a knowledge-test score earns; both ends of each boundary are inclusive.

    ST0663: 45 is a fail and 46 a pass; 52 a pass and 53 a distinction. Marks are whole numbers
    from 0 to the paper's maximum; anything else means the marking went wrong, so OutOfRange.
    """
    if not _is_whole_number(marks):
        raise OutOfRange(f"marks must be a whole number, got {marks!r}")
    if not 0 <= marks <= max_marks:
        raise OutOfRange(f"marks must be from 0 to {max_marks}, got {marks}")
    for boundary in _checked_boundaries(boundaries, max_marks):
        if boundary.min <= marks <= boundary.max:
            return boundary.grade
    raise AssertionError("checked boundaries cover every mark")  # pragma: no cover


def grades_for_marks(boundaries: Sequence[Boundary], marks: npt.NDArray[np.generic], max_marks: int) -> npt.NDArray[np.str_]:
    """grade_for_marks over a whole array of scripts at once (same shape, a string per script).

    Used for cohort reports and boundary what-ifs over every script of a standard: one
    np.searchsorted over the boundaries' lower edges, so 100,000 scripts take about a
    millisecond. Any mark out of range (or not a whole number) refuses the whole array, as the
    scalar version would for that script.
    """
    import numpy as np

    values = np.asarray(marks)
    if values.dtype.kind == "f":
        if values.size and not bool(np.all(np.isfinite(values) & (values == np.floor(values)))):
            raise OutOfRange("marks must be whole numbers")
    elif values.dtype.kind not in "iu":
        raise OutOfRange(f"marks must be whole numbers, got an array of {values.dtype}")
    ordered = _checked_boundaries(boundaries, max_marks)
    if values.size:
        low, high = values.min(), values.max()
        if low < 0 or high > max_marks:
            bad = low if low < 0 else high
            raise OutOfRange(f"marks must be from 0 to {max_marks}, got {bad}")
    lower_edges = np.array([b.min for b in ordered], dtype=np.int64)
    grades = np.array([b.grade for b in ordered], dtype=np.str_)
    index = np.searchsorted(lower_edges, values, side="right") - 1
    result: npt.NDArray[np.str_] = grades[index]
    return result


# --- method grades to an overall grade ------------------------------------------------------


def _check_method_grades(spec: StandardSpec, method_grades: Mapping[str, str]) -> None:
    """Refuse anything but one grade, from its own scale, for each of the standard's methods."""
    expected = [m.key for m in spec.methods]
    for key in expected:
        if key not in method_grades:
            raise DomainError(f"{spec.code}: no grade given for method {key!r}", code="invalid_grades")
    for key in method_grades:
        if key not in expected:
            raise DomainError(
                f"{spec.code} has no method {key!r} (its methods are {', '.join(expected)})",
                code="invalid_grades",
            )
    for method in spec.methods:
        grade = method_grades[method.key]
        if grade not in method.grades:
            raise DomainError(
                f"{spec.code}: {grade!r} is not a grade of method {method.key!r} (it awards {', '.join(method.grades)})",
                code="invalid_grades",
            )


def _holds(condition: Condition | None, grades: Sequence[str]) -> bool:
    """Whether a rule's condition holds; no condition (or an empty one) always holds."""
    if condition is None:
        return True
    if condition.any is not None and condition.any not in grades:
        return False
    return all(grades.count(grade) >= n for grade, n in condition.at_least.items())


def overall_grade(spec: StandardSpec, method_grades: Mapping[str, str]) -> str:
    """The EPA grade from every method's grade, by the standard's rules, first match wins.

    The rules are the spec's table in order (for ST0663: any fail -> fail, at least two
    distinctions -> distinction, otherwise pass), so D-P-D, which the plan's table leaves out,
    follows the written rule. A spec whose rules match nothing is refused rather than guessed at.
    """
    _check_method_grades(spec, method_grades)
    grades = [method_grades[m.key] for m in spec.methods]
    for rule in spec.overall.rules:
        if _holds(rule.when, grades):
            return rule.grade
    raise DomainError(
        f"{spec.code}: no overall-grade rule matches {dict(method_grades)}",
        code="invalid_grade_rules",
    )


def describe_overall_rules(spec: StandardSpec) -> list[str]:
    """The overall-grade rules in words, in the order they are tried (the first that applies wins).

    For letters: the apprentice reads how their grade follows from the methods' grades, from the same
    data that computed it. ST0663: "Any method graded fail: Fail.", "At least 2 of the 3 methods graded
    distinction: Distinction.", "Otherwise: Pass."
    """
    count = len(spec.methods)
    lines: list[str] = []
    for rule in spec.overall.rules:
        grade = rule.grade.capitalize()
        parts: list[str] = []
        if rule.when is not None and rule.when.any is not None:
            parts.append(f"any method graded {rule.when.any}")
        if rule.when is not None:
            parts += [f"at least {n} of the {count} methods graded {g}" for g, n in rule.when.at_least.items()]
        if not parts:
            lines.append(f"Otherwise: {grade}.")
        else:
            text = " and ".join(parts)
            lines.append(f"{text[0].upper()}{text[1:]}: {grade}.")
    return lines


# --- re-sits --------------------------------------------------------------------------------


def cap_grade(grade: str, cap: str | None, order: Sequence[str]) -> str:
    """The lower of `grade` and `cap` on the scale `order` (lowest first); no cap, no change."""
    if grade not in order:
        raise DomainError(f"{grade!r} is not on the scale {', '.join(order)}", code="invalid_grades")
    if cap is None:
        return grade
    if cap not in order:
        raise DomainError(f"grade cap {cap!r} is not on the scale {', '.join(order)}", code="invalid_grades")
    return grade if order.index(grade) <= order.index(cap) else cap


def resit_method_grade(spec: StandardSpec, achieved: str, method_key: str) -> str:
    """The grade a re-sat (or re-taken) method counts at: the achieved grade, capped if the
    standard caps re-sits (ST1379: a distinction on a re-sit counts as a pass; ST0663: no cap).
    """
    try:
        method = spec.method(method_key)
    except KeyError:
        raise DomainError(f"{spec.code} has no method {method_key!r}", code="invalid_grades") from None
    if achieved not in method.grades:
        raise DomainError(
            f"{spec.code}: {achieved!r} is not a grade of method {method_key!r}",
            code="invalid_grades",
        )
    return cap_grade(achieved, spec.resit.grade_cap, method.grades)


def resit_overall_grade(spec: StandardSpec, method_grades: Mapping[str, str], resat: Collection[str]) -> str:
    """The overall grade when the methods in `resat` were re-sat or re-taken.

    Their grades are capped first (resit_method_grade); then, where the standard has a cap and
    the cap is on the overall scale, the overall grade is capped too. ST1379 says a re-sit
    earns "a maximum EPA grade of pass": without the second cap, a capped pass beside a
    first-time distinction would come out as merit.
    """
    _check_method_grades(spec, method_grades)
    for key in resat:
        if key not in method_grades:
            raise DomainError(f"{spec.code} has no method {key!r}", code="invalid_grades")
    capped = {key: resit_method_grade(spec, grade, key) if key in resat else grade for key, grade in method_grades.items()}
    grade = overall_grade(spec, capped)
    cap = spec.resit.grade_cap
    if resat and cap is not None and cap in spec.overall.grades:
        grade = cap_grade(grade, cap, spec.overall.grades)
    return grade


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, or the month's last day if it is shorter.

    31 August + 6 months is 28 February (29th in a leap year), not a day in March: a window of
    six months must not quietly grow by the length of a short month.
    """
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def resit_last_day(spec: StandardSpec, *, outcome_on: date, epa_period_ends: date | None) -> date:
    """The last day a failed method may be re-sat, by the standard's window.

    "months_from_outcome" (ST1379: six months from the EPA outcome notification) counts calendar
    months from the outcome; "epa_period" (ST0663) is the end of the apprentice's EPA period,
    which then has to be known.
    """
    policy = spec.resit
    if policy.window == "months_from_outcome":
        if policy.window_months is None or policy.window_months < 0:
            raise DomainError(
                f"{spec.code}: a months_from_outcome re-sit window needs window_months",
                code="invalid_resit_policy",
            )
        return add_months(outcome_on, policy.window_months)
    if policy.window == "epa_period":
        if epa_period_ends is None:
            raise DomainError(
                f"{spec.code}: re-sits must be inside the EPA period, so its end date is needed",
                code="epa_period_end_required",
            )
        return epa_period_ends
    raise DomainError(f"{spec.code}: unknown re-sit window {policy.window!r}", code="invalid_resit_policy")


def resit_allowed(
    spec: StandardSpec,
    method_grade: str,
    *,
    outcome_on: date,
    today: date,
    epa_period_ends: date | None,
) -> None:
    """Refuse a re-sit (or re-take) that the standard does not allow; return quietly otherwise.

    Re-sits are not offered to move from a pass to a higher grade, so where the standard says
    failed methods only, only a method graded at the bottom of its scale may be re-sat. The
    re-sit must fall after the outcome and by the window's last day (resit_last_day, inclusive).
    """
    failing = {m.grades[0] for m in spec.methods if m.grades}
    known = {g for m in spec.methods for g in m.grades}
    if method_grade not in known:
        raise DomainError(f"{spec.code}: {method_grade!r} is not a method grade", code="invalid_grades")
    if spec.resit.failed_methods_only and method_grade not in failing:
        raise DomainError(
            f"{spec.code}: only failed methods may be re-sat or re-taken; this one was graded {method_grade}",
            code="resit_not_allowed",
        )
    if today < outcome_on:
        raise DomainError(
            f"a re-sit cannot be booked before the outcome it follows ({outcome_on.isoformat()})",
            code="resit_not_allowed",
        )
    last_day = resit_last_day(spec, outcome_on=outcome_on, epa_period_ends=epa_period_ends)
    if today > last_day:
        if spec.resit.window == "epa_period":
            reason = f"the EPA period ended on {last_day.isoformat()}"
        else:
            reason = (
                f"the {spec.resit.window_months}-month re-sit window from the outcome on "
                f"{outcome_on.isoformat()} closed on {last_day.isoformat()}"
            )
        raise DomainError(
            f"{spec.code}: too late to re-sit: {reason}; the whole EPA must be taken again",
            code="resit_not_allowed",
        )


# --- feedback -------------------------------------------------------------------------------

_KSB_CODE = re.compile(r"([A-Za-z]*)(\d*)(.*)")


def _ksb_order(code: str) -> tuple[str, int, str]:
    """K3 before K10 before S8: the order the standard lists them in, not string order."""
    match = _KSB_CODE.fullmatch(code)
    assert match is not None  # the pattern matches every string
    letters, digits, rest = match.groups()
    return (letters.upper(), int(digits) if digits else -1, rest)


def ksb_feedback(ksb_marks: Mapping[str, tuple[int, int]], weak_below: float = 0.5) -> list[str]:
    """The KSB codes where the apprentice scored less than `weak_below` of the marks available.

    Fail feedback names knowledge areas to work on without revealing questions, which must stay
    confidential for re-sits. KSBs with no marks available say nothing and are left out. Codes
    come in the standard's order (K3, K9, K10, ..., S8).
    """
    if not 0 <= weak_below <= 1:
        raise OutOfRange(f"weak_below is a share from 0 to 1, got {weak_below}")
    weak = []
    for ksb, (scored, available) in ksb_marks.items():
        if available < 0 or not 0 <= scored <= available:
            raise OutOfRange(f"{ksb}: {scored} marks scored out of {available} is impossible")
        if available and scored < weak_below * available:
            weak.append(ksb)
    return sorted(weak, key=_ksb_order)
