"""Grading rules for ST0663 and ST1379, as tables a reviewer can check against the plans."""

from __future__ import annotations

import itertools
import time
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from testengine.domain.errors import DomainError, OutOfRange
from testengine.domain.grading import (
    add_months,
    cap_grade,
    grade_for_marks,
    grades_for_marks,
    ksb_feedback,
    overall_grade,
    resit_allowed,
    resit_last_day,
    resit_method_grade,
    resit_overall_grade,
)
from testengine.domain.standards import (
    Blueprint,
    Boundary,
    Condition,
    KnowledgeTestSpec,
    MethodSpec,
    OverallRule,
    OverallRules,
    ResitPolicy,
    StandardSpec,
    TypeQuota,
)

FPD = ("fail", "pass", "distinction")
ST0663_BOUNDARIES = (
    Boundary("fail", 0, 45),
    Boundary("pass", 46, 52),
    Boundary("distinction", 53, 66),
)
ST0663_METHODS = ("presentation", "observation", "knowledge_test")
ST1379_METHODS = ("observation", "professional_discussion")


def _st0663() -> StandardSpec:
    """question_banks/ST0663/spec.yaml, written out by hand."""
    return StandardSpec(
        code="ST0663",
        title="Employability Practitioner",
        level=4,
        practice=False,
        methods=(
            MethodSpec("presentation", "Presentation with questions, underpinned by a portfolio", FPD),
            MethodSpec("observation", "Observation with questions", FPD, min_questions=0, max_questions=6),
            MethodSpec("knowledge_test", "Knowledge test", FPD),
        ),
        knowledge_test=KnowledgeTestSpec(
            method="knowledge_test",
            duration_minutes=120,
            closed_book=True,
            total_marks=66,
            blueprint=Blueprint(
                quotas={"mcq": TypeQuota(14, 1), "short_answer": TypeQuota(26, 2)},
                required_ksbs=("K3", "K9", "K10", "K11", "K14", "K15", "K16", "K17", "K19", "S8"),
            ),
            boundaries=ST0663_BOUNDARIES,
        ),
        ksbs={
            "K3": "Job search and other interventions",
            "K9": "Non-clinical behavioural change",
            "K10": "Challenging situations",
            "K11": "Employability industry",
            "K14": "Legislation and company vision, mission, values",
            "K15": "Minimum service levels and contractual requirements",
            "K16": "IT systems and record keeping",
            "K17": "Safeguarding",
            "K19": "Equality, diversity and inclusion",
            "S8": "Problem solving and risk/crisis management",
            "B6": "Resilient",
            "B7": "Emotional intelligence",
        },
        overall=OverallRules(
            grades=FPD,
            rules=(
                OverallRule("fail", Condition(any="fail")),
                OverallRule("distinction", Condition(at_least={"distinction": 2})),
                OverallRule("pass"),
            ),
        ),
        resit=ResitPolicy(failed_methods_only=True, grade_cap=None, window="epa_period", window_months=None),
        invigilation_ratio=20,
    )


def _st1379() -> StandardSpec:
    """question_banks/ST1379/spec.yaml, written out by hand."""
    return StandardSpec(
        code="ST1379",
        title="Learning and Skills Mentor",
        level=4,
        practice=False,
        methods=(
            MethodSpec(
                "observation",
                "Observation with questioning",
                FPD,
                min_questions=5,
                duration_minutes=30,
            ),
            MethodSpec(
                "professional_discussion",
                "Professional discussion underpinned by a portfolio of evidence",
                FPD,
                min_questions=8,
                duration_minutes=60,
            ),
        ),
        knowledge_test=None,
        ksbs={},
        overall=OverallRules(
            grades=("fail", "pass", "merit", "distinction"),
            rules=(
                OverallRule("fail", Condition(any="fail")),
                OverallRule("distinction", Condition(at_least={"distinction": 2})),
                OverallRule("merit", Condition(at_least={"distinction": 1})),
                OverallRule("pass"),
            ),
        ),
        resit=ResitPolicy(
            failed_methods_only=True,
            grade_cap="pass",
            window="months_from_outcome",
            window_months=6,
        ),
        invigilation_ratio=20,
    )


@pytest.fixture
def st0663() -> StandardSpec:
    return _st0663()


@pytest.fixture
def st1379() -> StandardSpec:
    return _st1379()


# --- marks to a grade -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marks", "grade"),
    [
        (0, "fail"),
        (45, "fail"),
        (46, "pass"),
        (52, "pass"),
        (53, "distinction"),
        (66, "distinction"),
    ],
)
def test_st0663_boundary_edges(st0663: StandardSpec, marks: int, grade: str) -> None:
    kt = st0663.knowledge_test
    assert kt is not None
    assert grade_for_marks(kt.boundaries, marks, kt.total_marks) == grade


def test_every_st0663_mark_graded_by_the_published_boundaries() -> None:
    for marks in range(67):
        expected = "fail" if marks <= 45 else "pass" if marks <= 52 else "distinction"
        assert grade_for_marks(ST0663_BOUNDARIES, marks, 66) == expected


def test_numpy_integer_marks_are_accepted() -> None:
    assert grade_for_marks(ST0663_BOUNDARIES, np.int64(53), 66) == "distinction"


@pytest.mark.parametrize("marks", [-1, 67, 1000, 45.5, 46.0, True, "50", None])
def test_marks_out_of_range_or_not_whole_are_refused(marks: object) -> None:
    with pytest.raises(OutOfRange) as err:
        grade_for_marks(ST0663_BOUNDARIES, marks, 66)  # type: ignore[arg-type]
    assert err.value.code == "out_of_range"


@pytest.mark.parametrize(
    "boundaries",
    [
        (),
        (Boundary("fail", 0, 44), Boundary("pass", 46, 52), Boundary("distinction", 53, 66)),  # gap
        (
            Boundary("fail", 0, 46),
            Boundary("pass", 46, 52),
            Boundary("distinction", 53, 66),
        ),  # overlap
        (
            Boundary("fail", 0, 45),
            Boundary("pass", 46, 52),
            Boundary("distinction", 53, 65),
        ),  # short
        (
            Boundary("fail", 1, 45),
            Boundary("pass", 46, 52),
            Boundary("distinction", 53, 66),
        ),  # no 0
    ],
)
def test_boundaries_that_do_not_tile_the_paper_are_refused(
    boundaries: tuple[Boundary, ...],
) -> None:
    with pytest.raises(DomainError) as err:
        grade_for_marks(boundaries, 50, 66)
    assert err.value.code == "invalid_boundaries"


def test_boundaries_given_in_any_order_grade_the_same() -> None:
    shuffled = tuple(reversed(ST0663_BOUNDARIES))
    assert [grade_for_marks(shuffled, m, 66) for m in (45, 46, 53)] == [
        "fail",
        "pass",
        "distinction",
    ]


# --- the vectorised version -----------------------------------------------------------------


def test_vectorised_grades_equal_scalar_grades_on_random_marks() -> None:
    rng = np.random.default_rng(663)
    marks = rng.integers(0, 67, size=5_000)
    expected = [grade_for_marks(ST0663_BOUNDARIES, int(m), 66) for m in marks]
    assert grades_for_marks(ST0663_BOUNDARIES, marks, 66).tolist() == expected


@given(st.lists(st.integers(min_value=0, max_value=66), max_size=200))
def test_vectorised_grades_equal_scalar_grades_property(marks: list[int]) -> None:
    got = grades_for_marks(ST0663_BOUNDARIES, np.array(marks, dtype=np.int64), 66)
    assert got.tolist() == [grade_for_marks(ST0663_BOUNDARIES, m, 66) for m in marks]


def test_vectorised_keeps_shape_and_takes_whole_floats_and_empty_arrays() -> None:
    grid = np.array([[0, 45], [46, 66]], dtype=np.int32)
    assert grades_for_marks(ST0663_BOUNDARIES, grid, 66).tolist() == [
        ["fail", "fail"],
        ["pass", "distinction"],
    ]
    assert grades_for_marks(ST0663_BOUNDARIES, np.array([52.0, 53.0]), 66).tolist() == [
        "pass",
        "distinction",
    ]
    assert grades_for_marks(ST0663_BOUNDARIES, np.array([], dtype=np.int64), 66).shape == (0,)


@pytest.mark.parametrize(
    "marks",
    [
        np.array([10, 20, -1]),
        np.array([67, 10]),
        np.array([45.5]),
        np.array([np.nan]),
        np.array([True, False]),
        np.array(["50"]),
    ],
)
def test_vectorised_refuses_any_bad_mark(marks: np.ndarray) -> None:
    with pytest.raises(OutOfRange):
        grades_for_marks(ST0663_BOUNDARIES, marks, 66)


def test_vectorised_grades_100k_scripts_well_under_20ms() -> None:
    marks = np.random.default_rng(1).integers(0, 67, size=100_000)
    grades_for_marks(ST0663_BOUNDARIES, marks, 66)  # warm up
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        grades = grades_for_marks(ST0663_BOUNDARIES, marks, 66)
        best = min(best, time.perf_counter() - t0)
    assert grades.shape == (100_000,)
    assert best < 0.020, f"{best * 1000:.1f} ms"


# --- overall grade: ST0663 ------------------------------------------------------------------


def _st0663_by_the_written_rule(grades: tuple[str, ...]) -> str:
    """The plan in plain English: any fail fails; two or more distinctions; otherwise pass."""
    if "fail" in grades:
        return "fail"
    if sum(g == "distinction" for g in grades) >= 2:
        return "distinction"
    return "pass"


@pytest.mark.parametrize("grades", list(itertools.product(FPD, repeat=3)))
def test_st0663_all_27_combinations_follow_the_written_rule(st0663: StandardSpec, grades: tuple[str, str, str]) -> None:
    method_grades = dict(zip(ST0663_METHODS, grades))
    assert overall_grade(st0663, method_grades) == _st0663_by_the_written_rule(grades)


P, D, F, M = "pass", "distinction", "fail", "merit"


ST0663_TABLE = [
    # Every combination without a fail, by hand.
    (P, P, P, P),
    (D, P, P, P),
    (P, D, P, P),
    (P, P, D, P),
    (D, D, P, D),
    (P, D, D, D),
    (D, P, D, D),  # left out of the plan's table; the written rule makes it distinction
    (D, D, D, D),
    # A fail anywhere fails, whatever else was achieved.
    (F, D, D, F),
    (D, F, D, F),
    (D, D, F, F),
    (F, F, F, F),
]


@pytest.mark.parametrize(("presentation", "observation", "knowledge_test", "overall"), ST0663_TABLE)
def test_st0663_overall_table(
    st0663: StandardSpec, presentation: str, observation: str, knowledge_test: str, overall: str
) -> None:
    grades = {
        "presentation": presentation,
        "observation": observation,
        "knowledge_test": knowledge_test,
    }
    assert overall_grade(st0663, grades) == overall


def test_the_st0663_table_has_every_combination_without_a_fail() -> None:
    rows = {row[:3] for row in ST0663_TABLE}
    assert set(itertools.product((P, D), repeat=3)) <= rows


# --- overall grade: ST1379 ------------------------------------------------------------------


ST1379_TABLE = [
    (P, P, P),
    (P, D, M),
    (D, P, M),
    (D, D, D),
    (F, F, F),
    (F, P, F),
    (F, D, F),
    (P, F, F),
    (D, F, F),
]


@pytest.mark.parametrize(("observation", "professional_discussion", "overall"), ST1379_TABLE)
def test_st1379_all_9_combinations(st1379: StandardSpec, observation: str, professional_discussion: str, overall: str) -> None:
    grades = {"observation": observation, "professional_discussion": professional_discussion}
    assert overall_grade(st1379, grades) == overall


def test_the_st1379_table_covers_all_9_combinations() -> None:
    assert {(o, d) for o, d, _ in ST1379_TABLE} == set(itertools.product(FPD, repeat=2))


# --- refusing bad method grades --------------------------------------------------------------


@pytest.mark.parametrize(
    ("grades", "named"),
    [
        ({"presentation": P, "observation": P}, "knowledge_test"),  # missing
        ({"presentation": P, "observation": P, "knowledge_test": P, "interview": P}, "interview"),
        ({"presentation": P, "observation": P, "knowledge_tset": P}, "knowledge_test"),  # typo
        (
            {"presentation": M, "observation": P, "knowledge_test": P},
            "presentation",
        ),  # no merit here
        ({"presentation": P, "observation": "Pass", "knowledge_test": P}, "observation"),
        ({}, "presentation"),
    ],
)
def test_invalid_method_keys_or_grades_are_refused(st0663: StandardSpec, grades: dict[str, str], named: str) -> None:
    with pytest.raises(DomainError) as err:
        overall_grade(st0663, grades)
    assert err.value.code == "invalid_grades"
    assert named in str(err.value)


def test_a_spec_whose_rules_match_nothing_is_refused(st0663: StandardSpec) -> None:
    broken = replace(
        st0663,
        overall=OverallRules(grades=FPD, rules=(OverallRule("fail", Condition(any="fail")),)),
    )
    with pytest.raises(DomainError) as err:
        overall_grade(broken, dict.fromkeys(ST0663_METHODS, P))
    assert err.value.code == "invalid_grade_rules"


def test_a_rule_with_both_conditions_needs_both(st1379: StandardSpec) -> None:
    spec = replace(
        st1379,
        overall=OverallRules(
            grades=("fail", "pass", "merit", "distinction"),
            rules=(
                OverallRule("merit", Condition(any="pass", at_least={"distinction": 1})),
                OverallRule("pass"),
            ),
        ),
    )
    assert overall_grade(spec, {"observation": P, "professional_discussion": D}) == M
    assert overall_grade(spec, {"observation": D, "professional_discussion": D}) == P  # no pass
    assert overall_grade(spec, {"observation": P, "professional_discussion": P}) == P  # no D


# --- caps -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grade", "cap", "capped"),
    [(D, P, P), (P, P, P), (F, P, F), (D, None, D), (F, None, F), (P, D, P)],
)
def test_cap_grade(grade: str, cap: str | None, capped: str) -> None:
    assert cap_grade(grade, cap, FPD) == capped


@pytest.mark.parametrize(("grade", "cap"), [(M, P), (P, M), ("", None)])
def test_cap_grade_refuses_grades_off_the_scale(grade: str, cap: str | None) -> None:
    with pytest.raises(DomainError):
        cap_grade(grade, cap, FPD)


@pytest.mark.parametrize(("achieved", "counted"), [(D, P), (P, P), (F, F)])
def test_st1379_resit_is_capped_at_pass(st1379: StandardSpec, achieved: str, counted: str) -> None:
    assert resit_method_grade(st1379, achieved, "observation") == counted
    assert resit_method_grade(st1379, achieved, "professional_discussion") == counted


@pytest.mark.parametrize("achieved", FPD)
def test_st0663_resit_has_no_cap(st0663: StandardSpec, achieved: str) -> None:
    for method in ST0663_METHODS:
        assert resit_method_grade(st0663, achieved, method) == achieved


def test_resit_method_grade_refuses_unknown_method_or_grade(st1379: StandardSpec) -> None:
    with pytest.raises(DomainError, match="knowledge_test"):
        resit_method_grade(st1379, P, "knowledge_test")
    with pytest.raises(DomainError, match="merit"):
        resit_method_grade(st1379, M, "observation")


def test_st1379_a_resit_caps_the_epa_grade_at_pass(st1379: StandardSpec) -> None:
    # Re-sat observation at distinction, professional discussion a first-time distinction:
    # "an apprentice will get a maximum EPA grade of pass for a resit or retake".
    grades = {"observation": D, "professional_discussion": D}
    assert resit_overall_grade(st1379, grades, {"observation"}) == P
    assert resit_overall_grade(st1379, grades, set()) == D
    failed_again = {"observation": F, "professional_discussion": D}
    assert resit_overall_grade(st1379, failed_again, {"observation"}) == F


def test_st0663_a_resat_method_can_still_reach_distinction(st0663: StandardSpec) -> None:
    grades = {"presentation": D, "observation": P, "knowledge_test": D}
    assert resit_overall_grade(st0663, grades, {"knowledge_test"}) == D


# --- re-sit windows -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2024, 8, 31), 6, date(2025, 2, 28)),
        (date(2023, 8, 31), 6, date(2024, 2, 29)),  # leap year
        (date(2024, 1, 15), 6, date(2024, 7, 15)),
        (date(2024, 11, 30), 3, date(2025, 2, 28)),  # over the year end
        (date(2024, 12, 31), 6, date(2025, 6, 30)),
        (date(2024, 3, 31), 1, date(2024, 4, 30)),
        (date(2024, 6, 30), 6, date(2024, 12, 30)),
        (date(2024, 5, 10), 0, date(2024, 5, 10)),
        (date(2024, 5, 10), 24, date(2026, 5, 10)),
    ],
)
def test_add_months(start: date, months: int, end: date) -> None:
    assert add_months(start, months) == end


@pytest.mark.parametrize(
    ("outcome_on", "today", "allowed"),
    [
        (date(2024, 1, 15), date(2024, 1, 15), True),  # the day of the outcome
        (date(2024, 1, 15), date(2024, 7, 15), True),  # last day of the six months
        (date(2024, 1, 15), date(2024, 7, 16), False),
        (date(2024, 8, 31), date(2025, 2, 28), True),  # month end: 31 Aug + 6 months = 28 Feb
        (date(2024, 8, 31), date(2025, 3, 1), False),
        (date(2023, 8, 31), date(2024, 2, 29), True),  # leap year: 29 Feb
        (date(2023, 8, 31), date(2024, 3, 1), False),
        (date(2024, 6, 30), date(2024, 12, 30), True),
        (date(2024, 6, 30), date(2024, 12, 31), False),
        (date(2024, 1, 15), date(2024, 1, 14), False),  # before the outcome
    ],
)
def test_st1379_resit_within_six_months_of_outcome(st1379: StandardSpec, outcome_on: date, today: date, allowed: bool) -> None:
    if allowed:
        resit_allowed(st1379, F, outcome_on=outcome_on, today=today, epa_period_ends=None)
    else:
        with pytest.raises(DomainError) as err:
            resit_allowed(st1379, F, outcome_on=outcome_on, today=today, epa_period_ends=None)
        assert err.value.code == "resit_not_allowed"


def test_st1379_late_resit_says_when_the_window_closed(st1379: StandardSpec) -> None:
    with pytest.raises(DomainError, match="2025-02-28"):
        resit_allowed(st1379, F, outcome_on=date(2024, 8, 31), today=date(2025, 3, 1), epa_period_ends=None)


@pytest.mark.parametrize(
    ("today", "allowed"),
    [(date(2025, 3, 1), True), (date(2025, 6, 30), True), (date(2025, 7, 1), False)],
)
def test_st0663_resit_inside_the_epa_period(st0663: StandardSpec, today: date, allowed: bool) -> None:
    kwargs = {"outcome_on": date(2025, 3, 1), "today": today, "epa_period_ends": date(2025, 6, 30)}
    if allowed:
        resit_allowed(st0663, F, **kwargs)
    else:
        with pytest.raises(DomainError, match="EPA period") as err:
            resit_allowed(st0663, F, **kwargs)
        assert err.value.code == "resit_not_allowed"


def test_st0663_resit_needs_the_epa_period_end(st0663: StandardSpec) -> None:
    with pytest.raises(DomainError) as err:
        resit_allowed(st0663, F, outcome_on=date(2025, 3, 1), today=date(2025, 3, 2), epa_period_ends=None)
    assert err.value.code == "epa_period_end_required"


@pytest.mark.parametrize("spec_name", ["st0663", "st1379"])
@pytest.mark.parametrize("grade", [P, D])
def test_only_failed_methods_may_be_resat(request: pytest.FixtureRequest, spec_name: str, grade: str) -> None:
    spec = request.getfixturevalue(spec_name)
    with pytest.raises(DomainError, match="only failed methods") as err:
        resit_allowed(
            spec,
            grade,
            outcome_on=date(2025, 3, 1),
            today=date(2025, 3, 2),
            epa_period_ends=date(2025, 6, 30),
        )
    assert err.value.code == "resit_not_allowed"


def test_resit_refuses_a_grade_no_method_awards(st1379: StandardSpec) -> None:
    with pytest.raises(DomainError) as err:
        resit_allowed(st1379, M, outcome_on=date(2025, 3, 1), today=date(2025, 3, 2), epa_period_ends=None)
    assert err.value.code == "invalid_grades"


# --- KSB feedback ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ksb_marks", "weak_below", "weak"),
    [
        ({"K3": (1, 4), "K10": (0, 6), "K9": (5, 6), "S8": (2, 6)}, 0.5, ["K3", "K10", "S8"]),
        ({"K3": (2, 4)}, 0.5, []),  # exactly half is not below half
        ({"K3": (2, 4)}, 0.75, ["K3"]),
        ({"K3": (0, 0)}, 0.5, []),  # nothing to judge
        ({}, 0.5, []),
        ({"S8": (0, 2), "K19": (0, 2), "K3": (0, 2), "B6": (0, 2)}, 0.5, ["B6", "K3", "K19", "S8"]),
    ],
)
def test_ksb_feedback(ksb_marks: dict[str, tuple[int, int]], weak_below: float, weak: list[str]) -> None:
    assert ksb_feedback(ksb_marks, weak_below) == weak


@pytest.mark.parametrize(
    ("ksb_marks", "weak_below"),
    [({"K3": (5, 4)}, 0.5), ({"K3": (-1, 4)}, 0.5), ({"K3": (0, -2)}, 0.5), ({"K3": (1, 2)}, 1.5)],
)
def test_ksb_feedback_refuses_impossible_marks(ksb_marks: dict[str, tuple[int, int]], weak_below: float) -> None:
    with pytest.raises(OutOfRange):
        ksb_feedback(ksb_marks, weak_below)


def test_the_overall_rules_in_words_follow_the_spec_in_order(st0663: StandardSpec, st1379: StandardSpec) -> None:
    from testengine.domain.grading import describe_overall_rules

    assert describe_overall_rules(st0663) == [
        "Any method graded fail: Fail.",
        "At least 2 of the 3 methods graded distinction: Distinction.",
        "Otherwise: Pass.",
    ]
    assert describe_overall_rules(st1379) == [
        "Any method graded fail: Fail.",
        "At least 2 of the 2 methods graded distinction: Distinction.",
        "At least 1 of the 2 methods graded distinction: Merit.",
        "Otherwise: Pass.",
    ]


def test_a_numpy_integer_is_a_whole_number_of_marks(st0663: StandardSpec) -> None:
    assert st0663.knowledge_test is not None
    assert grade_for_marks(st0663.knowledge_test.boundaries, np.int64(53), 66) == "distinction"
    with pytest.raises(OutOfRange):
        grade_for_marks(st0663.knowledge_test.boundaries, np.bool_(True), 66)  # type: ignore[arg-type]


# --- rules pinned by mutation testing -------------------------------------------------------
# Each test below fails on a fault that the tests above let through (scripts/mutation).


def _months_later(day: date, months: int) -> date:
    """An independent month add for checking add_months: step one month at a time."""
    year, month = day.year, day.month
    for _ in range(months):
        month += 1
        if month == 13:
            year, month = year + 1, 1
    first_of_next = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    last = (first_of_next - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


OUTCOME_DAYS = [
    date(2024, month, day)
    for month in range(1, 13)
    for day in (1, 15, 28, 29, 30, 31)
    if day <= (date(2024 + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
]


@pytest.mark.parametrize("outcome_on", OUTCOME_DAYS, ids=str)
def test_resit_window_from_an_outcome_in_every_month_of_the_year(st1379: StandardSpec, outcome_on: date) -> None:
    # ST1379: six calendar months from the outcome; from July onwards it ends in the next year.
    last_day = _months_later(outcome_on, 6)
    assert last_day.year == outcome_on.year + (outcome_on.month > 6)
    assert resit_last_day(st1379, outcome_on=outcome_on, epa_period_ends=None) == last_day
    resit_allowed(st1379, F, outcome_on=outcome_on, today=last_day, epa_period_ends=None)
    with pytest.raises(DomainError) as err:
        resit_allowed(
            st1379,
            F,
            outcome_on=outcome_on,
            today=last_day + timedelta(days=1),
            epa_period_ends=None,
        )
    assert err.value.code == "resit_not_allowed"


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31)), st.integers(0, 60))
def test_add_months_agrees_with_stepping_month_by_month(day: date, months: int) -> None:
    assert add_months(day, months) == _months_later(day, months)


@pytest.mark.parametrize("months", [0, 1, 11, 12, 13, 24])
def test_resit_window_length_is_the_spec_setting(st1379: StandardSpec, months: int) -> None:
    spec = replace(st1379, resit=replace(st1379.resit, window_months=months))
    outcome_on = date(2025, 12, 31)
    expected = _months_later(outcome_on, months)
    assert resit_last_day(spec, outcome_on=outcome_on, epa_period_ends=None) == expected


@pytest.mark.parametrize("months", [None, -1, -6])
def test_resit_window_with_no_or_negative_months_is_refused(st1379: StandardSpec, months: int | None) -> None:
    spec = replace(st1379, resit=replace(st1379.resit, window_months=months))
    with pytest.raises(DomainError) as err:
        resit_last_day(spec, outcome_on=date(2025, 1, 1), epa_period_ends=None)
    assert err.value.code == "invalid_resit_policy"
    assert str(err.value) == "ST1379: a months_from_outcome re-sit window needs window_months"


def test_resit_window_of_an_unknown_type_is_refused(st1379: StandardSpec) -> None:
    spec = replace(st1379, resit=replace(st1379.resit, window="weeks_from_outcome"))
    with pytest.raises(DomainError) as err:
        resit_last_day(spec, outcome_on=date(2025, 1, 1), epa_period_ends=date(2025, 3, 1))
    assert err.value.code == "invalid_resit_policy"
    assert str(err.value) == "ST1379: unknown re-sit window 'weeks_from_outcome'"


def test_resit_window_of_the_epa_period_ends_with_the_period(st0663: StandardSpec) -> None:
    ends = date(2025, 6, 30)
    assert resit_last_day(st0663, outcome_on=date(2025, 3, 1), epa_period_ends=ends) == ends
    with pytest.raises(DomainError) as err:
        resit_last_day(st0663, outcome_on=date(2025, 3, 1), epa_period_ends=None)
    assert err.value.code == "epa_period_end_required"
    assert str(err.value) == ("ST0663: re-sits must be inside the EPA period, so its end date is needed")


def test_resit_before_the_outcome_says_so(st1379: StandardSpec) -> None:
    with pytest.raises(DomainError) as err:
        resit_allowed(st1379, F, outcome_on=date(2025, 3, 1), today=date(2025, 2, 28), epa_period_ends=None)
    assert err.value.code == "resit_not_allowed"
    assert str(err.value) == "a re-sit cannot be booked before the outcome it follows (2025-03-01)"


def test_resit_of_a_grade_no_method_awards_names_it(st1379: StandardSpec) -> None:
    with pytest.raises(DomainError) as err:
        resit_allowed(st1379, M, outcome_on=date(2025, 3, 1), today=date(2025, 3, 2), epa_period_ends=None)
    assert str(err.value) == "ST1379: 'merit' is not a method grade"


def test_resit_too_late_message_names_the_window(st1379: StandardSpec) -> None:
    with pytest.raises(DomainError) as err:
        resit_allowed(st1379, F, outcome_on=date(2024, 8, 31), today=date(2025, 3, 1), epa_period_ends=None)
    assert str(err.value) == (
        "ST1379: too late to re-sit: the 6-month re-sit window from the outcome on 2024-08-31 "
        "closed on 2025-02-28; the whole EPA must be taken again"
    )


def test_resit_of_an_unknown_method_is_refused_with_its_code(st1379: StandardSpec) -> None:
    with pytest.raises(DomainError) as err:
        resit_method_grade(st1379, P, "knowledge_test")
    assert err.value.code == "invalid_grades"
    assert str(err.value) == "ST1379 has no method 'knowledge_test'"
    with pytest.raises(DomainError) as err:
        resit_method_grade(st1379, M, "observation")
    assert err.value.code == "invalid_grades"
    assert str(err.value) == "ST1379: 'merit' is not a grade of method 'observation'"


def test_resit_overall_grade_refuses_an_unknown_resat_method(st1379: StandardSpec) -> None:
    grades = {"observation": P, "professional_discussion": P}
    with pytest.raises(DomainError) as err:
        resit_overall_grade(st1379, grades, {"knowledge_test"})
    assert err.value.code == "invalid_grades"
    assert str(err.value) == "ST1379 has no method 'knowledge_test'"


def test_cap_grade_error_codes_and_messages() -> None:
    with pytest.raises(DomainError) as err:
        cap_grade(M, P, FPD)
    assert err.value.code == "invalid_grades"
    assert str(err.value) == "'merit' is not on the scale fail, pass, distinction"
    with pytest.raises(DomainError) as err:
        cap_grade(P, M, FPD)
    assert err.value.code == "invalid_grades"
    assert str(err.value) == "grade cap 'merit' is not on the scale fail, pass, distinction"


def test_each_resat_method_is_capped_not_only_the_overall_grade(st1379: StandardSpec) -> None:
    # An overall scale without the cap's name: only the method caps can hold the grade down.
    spec = replace(
        st1379,
        overall=OverallRules(
            grades=("not_yet", "competent", "merit", "excellent"),
            rules=(
                OverallRule("not_yet", Condition(any="fail")),
                OverallRule("excellent", Condition(at_least={"distinction": 2})),
                OverallRule("merit", Condition(at_least={"distinction": 1})),
                OverallRule("competent"),
            ),
        ),
    )
    grades = {"observation": D, "professional_discussion": D}
    assert resit_overall_grade(spec, grades, set()) == "excellent"
    assert resit_overall_grade(spec, grades, {"observation"}) == "merit"
    assert resit_overall_grade(spec, grades, {"observation", "professional_discussion"}) == ("competent")


def test_a_one_mark_wide_grade_band_is_a_band() -> None:
    bands = (Boundary("fail", 0, 45), Boundary("pass", 46, 46), Boundary("distinction", 47, 66))
    assert [grade_for_marks(bands, m, 66) for m in (45, 46, 47)] == ["fail", "pass", "distinction"]
    assert grades_for_marks(bands, np.array([45, 46, 47]), 66).tolist() == [
        "fail",
        "pass",
        "distinction",
    ]


@given(st.integers(0, 66), st.integers(0, 66))
def test_grading_is_monotonic_in_marks(a: int, b: int) -> None:
    low, high = sorted((a, b))
    order = [bd.grade for bd in ST0663_BOUNDARIES]
    assert order.index(grade_for_marks(ST0663_BOUNDARIES, low, 66)) <= order.index(grade_for_marks(ST0663_BOUNDARIES, high, 66))


@pytest.mark.parametrize(
    ("boundaries", "message"),
    [
        ((), "no grade boundaries given"),
        (
            (Boundary("fail", 0, 44), Boundary("pass", 46, 52), Boundary("distinction", 53, 66)),
            ("grade boundaries must run from 0 to 66 without gaps or overlaps; 'pass' covers 46-52, expected it to start at 45"),
        ),
        (
            (Boundary("fail", 0, 45), Boundary("pass", 46, 52), Boundary("distinction", 53, 60)),
            "grade boundaries end at 60 but the paper is out of 66",
        ),
        (
            (Boundary("fail", 0, 45), Boundary("pass", 46, 45), Boundary("distinction", 46, 66)),
            ("grade boundaries must run from 0 to 66 without gaps or overlaps; 'pass' covers 46-45, expected it to start at 46"),
        ),
    ],
)
def test_boundary_errors_say_what_is_wrong(boundaries: tuple[Boundary, ...], message: str) -> None:
    with pytest.raises(DomainError) as err:
        grade_for_marks(boundaries, 10, 66)
    assert err.value.code == "invalid_boundaries"
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("marks", "message"),
    [
        (45.5, "marks must be a whole number, got 45.5"),
        (-1, "marks must be from 0 to 66, got -1"),
        (67, "marks must be from 0 to 66, got 67"),
    ],
)
def test_mark_errors_name_the_mark(marks: object, message: str) -> None:
    with pytest.raises(OutOfRange) as err:
        grade_for_marks(ST0663_BOUNDARIES, marks, 66)  # type: ignore[arg-type]
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("marks", "message"),
    [
        (np.array([10, 45.5]), "marks must be whole numbers"),
        (np.array(["50"]), "marks must be whole numbers, got an array of <U2"),
        (np.array([-1, 70]), "marks must be from 0 to 66, got -1"),
        (np.array([0, 67]), "marks must be from 0 to 66, got 67"),
        (np.array([1, 67]), "marks must be from 0 to 66, got 67"),
    ],
)
def test_vectorised_mark_errors_name_the_first_bad_mark(marks: np.ndarray, message: str) -> None:
    with pytest.raises(OutOfRange) as err:
        grades_for_marks(ST0663_BOUNDARIES, marks, 66)
    assert str(err.value) == message


def test_method_grade_errors_list_the_choices(st0663: StandardSpec) -> None:
    with pytest.raises(DomainError) as err:
        overall_grade(st0663, {**dict.fromkeys(ST0663_METHODS, P), "interview": P})
    assert str(err.value) == ("ST0663 has no method 'interview' (its methods are presentation, observation, knowledge_test)")
    with pytest.raises(DomainError) as err:
        overall_grade(st0663, {**dict.fromkeys(ST0663_METHODS, P), "observation": M})
    assert str(err.value) == ("ST0663: 'merit' is not a grade of method 'observation' (it awards fail, pass, distinction)")
    with pytest.raises(DomainError) as err:
        overall_grade(st0663, {"presentation": P, "observation": P})
    assert str(err.value) == "ST0663: no grade given for method 'knowledge_test'"


def test_no_matching_overall_rule_names_the_grades(st0663: StandardSpec) -> None:
    broken = replace(
        st0663,
        overall=OverallRules(grades=FPD, rules=(OverallRule("fail", Condition(any="fail")),)),
    )
    with pytest.raises(DomainError) as err:
        overall_grade(broken, dict.fromkeys(ST0663_METHODS, P))
    assert str(err.value) == (
        "ST0663: no overall-grade rule matches {'presentation': 'pass', 'observation': 'pass', 'knowledge_test': 'pass'}"
    )


def test_a_ksb_area_is_weak_below_half_its_marks_by_default() -> None:
    marks = {"K3": (1, 4), "K9": (2, 4), "K10": (3, 4)}
    assert ksb_feedback(marks) == ["K3"]
    assert ksb_feedback({"K3": (49, 100), "K9": (50, 100)}) == ["K3"]


def test_weak_below_may_be_nought_or_one() -> None:
    marks = {"K3": (0, 4), "K9": (3, 4), "K10": (4, 4)}
    assert ksb_feedback(marks, 0) == []
    assert ksb_feedback(marks, 1) == ["K3", "K9"]


def test_ksb_codes_without_digits_come_before_numbered_ones() -> None:
    marks = {"B0": (0, 2), "B": (0, 2), "b1": (0, 2), "K3x": (0, 2), "K3": (0, 2)}
    assert ksb_feedback(marks) == ["B", "B0", "b1", "K3", "K3x"]


@pytest.mark.parametrize(
    ("ksb_marks", "weak_below", "message"),
    [
        ({"K3": (5, 4)}, 0.5, "K3: 5 marks scored out of 4 is impossible"),
        ({"K3": (1, 2)}, 1.5, "weak_below is a share from 0 to 1, got 1.5"),
        ({"K3": (1, 2)}, -0.1, "weak_below is a share from 0 to 1, got -0.1"),
    ],
)
def test_ksb_feedback_errors_say_what_is_impossible(
    ksb_marks: dict[str, tuple[int, int]], weak_below: float, message: str
) -> None:
    with pytest.raises(OutOfRange) as err:
        ksb_feedback(ksb_marks, weak_below)
    assert err.value.code == "out_of_range"
    assert str(err.value) == message


def test_a_standard_names_the_method_it_does_not_have(st1379: StandardSpec) -> None:
    assert st1379.method("observation").key == "observation"
    with pytest.raises(KeyError) as err:
        st1379.method("knowledge_test")
    assert err.value.args == ("knowledge_test",)
