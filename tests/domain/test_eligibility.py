"""The eligibility rule: the kind of attempt follows from the history; each refusal names its rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from testengine.banks import parse_spec
from testengine.banks.yaml_lines import load_yaml
from testengine.domain.eligibility import (
    RULES,
    Agreement,
    AttemptKind,
    History,
    Ineligible,
    PriorResult,
    decide,
)
from testengine.domain.standards import StandardSpec

BANKS = Path(__file__).resolve().parents[2] / "question_banks"
OUTCOME = dt.date(2026, 8, 31)


def _spec(code: str) -> StandardSpec:
    path = BANKS / code / "spec.yaml"
    document = load_yaml(path.read_text(encoding="utf-8"))
    return parse_spec(document.data, str(path), document.lines)


ST0663, ST1379 = _spec("ST0663"), _spec("ST1379")


def _history(
    grade: str | None = None,
    *,
    released: bool = True,
    agreed: bool = False,
    learning: str | None = None,
    pending: bool = False,
    agreement_for: int = 7,
    epa_ends: dt.date | None = None,
) -> History:
    current = None if grade is None else PriorResult(result_id=7, grade=grade, released_on=OUTCOME if released else None)
    agreement = Agreement(agreement_for, "Sam Employer", OUTCOME, learning) if agreed else None
    return History(current=current, pending_attempt=pending, agreement=agreement, epa_period_ends=epa_ends)


@pytest.mark.parametrize(
    ("spec", "method", "history", "today", "rule"),
    [
        (ST1379, "observation", _history(pending=True), OUTCOME, "result_pending"),
        (ST1379, "observation", _history("pass"), OUTCOME, "already_passed"),
        (ST1379, "observation", _history("distinction", agreed=True), OUTCOME, "already_passed"),
        (ST0663, "knowledge_test", _history("pass", agreed=True, epa_ends=OUTCOME), OUTCOME, "already_passed"),
        (ST1379, "observation", _history("fail", released=False, agreed=True), OUTCOME, "outcome_not_released"),
        (ST1379, "observation", _history("fail", agreed=True), OUTCOME - dt.timedelta(days=1), "outcome_not_released"),
        (ST1379, "observation", _history("fail"), OUTCOME, "employer_agreement_required"),
        (ST1379, "observation", _history("fail", agreed=True, agreement_for=6), OUTCOME, "employer_agreement_required"),
        # ST1379: six calendar months from the outcome; 31 August + 6 months is 28 February.
        (ST1379, "observation", _history("fail", agreed=True), dt.date(2027, 3, 1), "resit_window_closed"),
        # ST0663: inside the EPA period, whose end must be known.
        (ST0663, "knowledge_test", _history("fail", agreed=True), OUTCOME, "epa_period_end_required"),
        (
            ST0663,
            "knowledge_test",
            _history("fail", agreed=True, epa_ends=dt.date(2026, 9, 30)),
            dt.date(2026, 10, 1),
            "resit_window_closed",
        ),
        (ST0663, "no_such_method", _history(), OUTCOME, "unknown_method"),
    ],
)
def test_each_refusal_names_its_rule(spec, method, history, today, rule):
    with pytest.raises(Ineligible) as refused:
        decide(spec, method, history, today=today)
    assert refused.value.code == rule and f"(rule: {rule})" in str(refused.value)
    assert rule in RULES


@pytest.mark.parametrize(
    ("spec", "method", "history", "today", "kind", "cap"),
    [
        (ST1379, "observation", _history(), OUTCOME, AttemptKind.FIRST, None),
        (ST1379, "observation", _history("fail", agreed=True), OUTCOME, AttemptKind.RESIT, "pass"),
        (ST1379, "observation", _history("fail", agreed=True), dt.date(2027, 2, 28), AttemptKind.RESIT, "pass"),
        (
            ST1379,
            "professional_discussion",
            _history("fail", agreed=True, learning="Mentoring course"),
            OUTCOME,
            AttemptKind.RETAKE,
            "pass",
        ),
        (
            ST0663,
            "knowledge_test",
            _history("fail", agreed=True, epa_ends=dt.date(2026, 9, 30)),
            dt.date(2026, 9, 30),
            AttemptKind.RESIT,
            None,
        ),
        (
            ST0663,
            "observation",
            _history("fail", agreed=True, learning="Coaching", epa_ends=dt.date(2026, 11, 30)),
            dt.date(2026, 9, 1),
            AttemptKind.RETAKE,
            None,
        ),
    ],
)
def test_the_kind_is_derived_from_the_history(spec, method, history, today, kind, cap):
    decision = decide(spec, method, history, today=today)
    assert (decision.kind, decision.grade_cap) == (kind, cap)
    assert (decision.last_day is None) == (kind is AttemptKind.FIRST)


def test_the_window_and_cap_are_the_specs_data_not_the_standards_name():
    """Another standard with ST1379's policy behaves as ST1379: nothing keys on the code."""
    import dataclasses

    renamed = dataclasses.replace(ST1379, code="ST9999")
    history = _history("fail", agreed=True)
    assert decide(renamed, "observation", history, today=dt.date(2027, 2, 28)).grade_cap == "pass"
    with pytest.raises(Ineligible) as refused:
        decide(renamed, "observation", history, today=dt.date(2027, 3, 1))
    assert refused.value.code == "resit_window_closed"


@pytest.mark.parametrize(
    ("spec", "method", "history", "today", "message"),
    [
        (ST0663, "no_such_method", _history(), OUTCOME, "ST0663 has no method 'no_such_method'."),
        (
            ST1379,
            "observation",
            _history(pending=True),
            OUTCOME,
            "Observation with questioning: an attempt already sat is waiting for its result; it cannot be sat again meanwhile.",
        ),
        (
            ST1379,
            "observation",
            _history("pass"),
            OUTCOME,
            "Observation with questioning was graded pass: a method already passed cannot be sat again. "
            "Re-sits and re-takes are not offered to move from pass to distinction.",
        ),
        (
            ST1379,
            "observation",
            _history("fail", released=False, agreed=True),
            OUTCOME,
            "Observation with questioning: the fail result had not been released by 2026-08-31; "
            "a re-sit or re-take follows its outcome.",
        ),
        (
            ST1379,
            "observation",
            _history("fail"),
            OUTCOME,
            "Observation with questioning: a re-sit or re-take needs the employer's agreement; record who agreed and when.",
        ),
        (
            ST0663,
            "knowledge_test",
            _history("fail", agreed=True),
            OUTCOME,
            "ST0663: re-sits and re-takes must be inside the EPA period; record the date it ends.",
        ),
        (
            ST1379,
            "observation",
            _history("fail", agreed=True),
            dt.date(2027, 3, 1),
            "ST1379: too late to re-sit or re-take: the 6-month window from the outcome on 2026-08-31 closed on "
            "2027-02-28; the whole EPA must be taken again.",
        ),
        (
            ST0663,
            "knowledge_test",
            _history("fail", agreed=True, epa_ends=dt.date(2026, 9, 30)),
            dt.date(2026, 10, 1),
            "ST0663: too late to re-sit or re-take: the EPA period ended on 2026-09-30; the whole EPA must be taken again.",
        ),
    ],
)
def test_each_refusal_says_why_in_words(spec, method, history, today, message):
    with pytest.raises(Ineligible) as refused:
        decide(spec, method, history, today=today)
    assert str(refused.value) == f"{message} (rule: {refused.value.code})"


def test_where_any_grade_below_the_top_may_be_re_sat_only_the_top_grade_is_refused():
    """A spec that re-sits more than failed methods: a pass may be re-sat, a distinction never."""
    import dataclasses

    open_spec = dataclasses.replace(ST1379, resit=dataclasses.replace(ST1379.resit, failed_methods_only=False))
    grades = open_spec.method("observation").grades
    assert grades[0] == "fail" and len(grades) == 3
    for grade in grades[:-1]:
        decision = decide(open_spec, "observation", _history(grade, agreed=True), today=OUTCOME)
        assert decision.kind is AttemptKind.RESIT
    with pytest.raises(Ineligible) as refused:
        decide(open_spec, "observation", _history(grades[-1], agreed=True), today=OUTCOME)
    assert refused.value.code == "already_passed"
