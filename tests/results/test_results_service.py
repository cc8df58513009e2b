"""Results through the service: boundaries, both standards' tables, re-sits, caps, history."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from testengine.domain.errors import DomainError, OutOfRange
from testengine.extensions import db
from testengine.models import AuditEntry, MethodResult
from testengine.services import eligibility, results
from tests.factories import second_admin
from tests.results.grade_tables import ST0663_MARKS_FOR, ST0663_OVERALL, ST1379_OVERALL


def _grade(apprentice, standard, method, grade, clock, actor, **kwargs):
    kwargs.setdefault("assessed_on", clock.now().date())
    return results.record_method_grade(
        apprentice, standard, method_key=method, grade=grade, assessor="A. Assessor", now=clock.now(), actor=actor, **kwargs
    )


@pytest.mark.parametrize(
    ("marks", "grade"), [(0, "fail"), (45, "fail"), (46, "pass"), (52, "pass"), (53, "distinction"), (66, "distinction")]
)
def test_knowledge_test_total_is_graded_on_each_boundary_edge(marks, grade, apprentice, marked_attempt, clock):
    attempt = marked_attempt(apprentice, marks)
    result = results.record_knowledge_test(attempt, now=clock.now(), actor=None)
    assert (result.method_key, result.marks, result.grade, result.achieved_grade) == ("knowledge_test", marks, grade, grade)
    assert (result.kind, result.status, result.current, result.attempt_id) == ("first", "provisional", True, attempt.id)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "result.method.record"))
    assert entry.object_id == str(result.id) and entry.after["grade"] == grade


@pytest.mark.parametrize("marks", [-1, 67])
def test_marks_outside_the_paper_are_refused_and_nothing_is_recorded(marks, apprentice, marked_attempt, clock):
    attempt = marked_attempt(apprentice, marks)
    with pytest.raises(OutOfRange, match="from 0 to 66"):
        results.record_knowledge_test(attempt, now=clock.now(), actor=None)
    assert db.session.scalar(select(func.count(MethodResult.id))) == 0


def test_an_attempt_still_being_marked_is_not_graded(apprentice, marked_attempt, clock):
    attempt = marked_attempt(apprentice, 50)
    attempt.marking_state, attempt.total_marks = "marking", None
    with pytest.raises(results.ResultError, match="not been fully marked"):
        results.record_knowledge_test(attempt, now=clock.now(), actor=None)


@pytest.mark.parametrize(
    ("grades", "overall"), sorted(ST0663_OVERALL.items()), ids=lambda v: "-".join(v) if isinstance(v, tuple) else v
)
def test_every_st0663_combination_through_the_service(grades, overall, st0663_spec, apprentice, admin, marked_attempt, clock):
    presentation, observation, knowledge = grades
    _grade(apprentice, st0663_spec, "presentation", presentation, clock, admin)
    _grade(apprentice, st0663_spec, "observation", observation, clock, admin)
    assert results.current_overall(apprentice.id, st0663_spec.id) is None  # the knowledge test is still missing
    attempt = marked_attempt(apprentice, ST0663_MARKS_FOR[knowledge])
    assert results.record_knowledge_test(attempt, now=clock.now(), actor=None).grade == knowledge
    row = results.current_overall(apprentice.id, st0663_spec.id)
    assert row.grade == overall and row.status == "provisional"
    assert {k: v["grade"] for k, v in row.inputs.items()} == dict(zip(("presentation", "observation", "knowledge_test"), grades))


@pytest.mark.parametrize(
    ("grades", "overall"), sorted(ST1379_OVERALL.items()), ids=lambda v: "-".join(v) if isinstance(v, tuple) else v
)
def test_every_st1379_combination_through_the_service(grades, overall, st1379, apprentice, admin, clock):
    _grade(apprentice, st1379, "observation", grades[0], clock, admin)
    _grade(apprentice, st1379, "professional_discussion", grades[1], clock, admin)
    assert results.current_overall(apprentice.id, st1379.id).grade == overall


def _release(result, clock, admin):
    results.sign_off(result, now=clock.now(), actor=admin)
    results.release(result, now=clock.now(), actor=second_admin())


def _agree(apprentice, standard, method, clock, admin, further_learning=None):
    return eligibility.record_agreement(
        apprentice,
        standard,
        method,
        employer_contact="Sam Employer",
        agreed_on=clock.now().date(),
        further_learning=further_learning,
        now=clock.now(),
        actor=admin,
    )


def test_st1379_resit_is_capped_at_pass_for_the_method_and_overall(st1379, apprentice, admin, clock):
    failed = _grade(apprentice, st1379, "observation", "fail", clock, admin)
    _grade(apprentice, st1379, "professional_discussion", "distinction", clock, admin)
    _release(failed, clock, admin)
    assert results.current_overall(apprentice.id, st1379.id).grade == "fail"
    clock.advance(dt.timedelta(days=60))
    _agree(apprentice, st1379, "observation", clock, admin)
    resit = _grade(apprentice, st1379, "observation", "distinction", clock, admin)
    assert (resit.achieved_grade, resit.grade, resit.kind, resit.employer_agreed) == ("distinction", "pass", "resit", True)
    # Pass beside a first-time distinction would be merit; a re-sit caps the EPA grade at pass.
    assert results.current_overall(apprentice.id, st1379.id).grade == "pass"


def test_st0663_resit_is_not_capped(st0663_spec, apprentice, admin, marked_attempt, clock):
    apprentice.epa_period_ends = clock.now().date() + dt.timedelta(days=90)
    _grade(apprentice, st0663_spec, "presentation", "distinction", clock, admin)
    failed_observation = _grade(apprentice, st0663_spec, "observation", "fail", clock, admin)
    first = results.record_knowledge_test(marked_attempt(apprentice, 40), now=clock.now(), actor=None)
    assert results.current_overall(apprentice.id, st0663_spec.id).grade == "fail"
    for row in (failed_observation, first):
        _release(row, clock, admin)
    clock.advance(dt.timedelta(days=30))
    retake = results.record_knowledge_test(marked_attempt(apprentice, 60, kind="retake"), now=clock.now(), actor=None)
    assert (retake.kind, retake.achieved_grade, retake.grade) == ("retake", "distinction", "distinction")
    _agree(apprentice, st0663_spec, "observation", clock, admin)
    resit = _grade(apprentice, st0663_spec, "observation", "distinction", clock, admin)
    assert resit.kind == "resit"
    assert resit.grade == "distinction"
    assert results.current_overall(apprentice.id, st0663_spec.id).grade == "distinction"
    # The full history: nothing deleted, one current row per method.
    methods, overall = results.history(apprentice.id, st0663_spec.id)
    assert sorted((m.method_key, m.grade, m.current) for m in methods) == [
        ("knowledge_test", "distinction", True),
        ("knowledge_test", "fail", False),
        ("observation", "distinction", True),
        ("observation", "fail", False),
        ("presentation", "distinction", True),
    ]
    assert [o.grade for o in overall] == ["distinction", "fail", "fail"] and [o.current for o in overall] == [True, False, False]


def test_a_released_pass_is_not_sat_again(st1379, apprentice, admin, clock):
    passed = _grade(apprentice, st1379, "observation", "pass", clock, admin)
    _release(passed, clock, admin)
    with pytest.raises(DomainError, match="already passed") as refused:
        _grade(apprentice, st1379, "observation", "distinction", clock, admin)
    assert refused.value.code == "already_passed"
    with pytest.raises(DomainError) as refused:
        _agree(apprentice, st1379, "observation", clock, admin)
    assert refused.value.code == "already_passed"
    assert results.current_method_results(apprentice.id, st1379.id)["observation"].id == passed.id


def test_before_release_a_new_grade_corrects_and_after_it_a_resit_needs_the_employers_agreement(st1379, apprentice, admin, clock):
    first = _grade(apprentice, st1379, "observation", "pass", clock, admin)
    corrected = _grade(apprentice, st1379, "observation", "fail", clock, admin)  # a correction before release
    assert (corrected.kind, corrected.replaces_id) == ("first", first.id)
    _release(corrected, clock, admin)
    with pytest.raises(DomainError, match="employer's agreement") as refused:
        _grade(apprentice, st1379, "observation", "pass", clock, admin)
    assert refused.value.code == "employer_agreement_required"
    _agree(apprentice, st1379, "observation", clock, admin, further_learning="Six weeks of mentoring practice")
    retake = _grade(apprentice, st1379, "observation", "pass", clock, admin)
    assert (retake.kind, retake.employer_agreed) == ("retake", True)


def test_st1379_resit_is_refused_after_six_months_from_the_outcome(st1379, apprentice, admin, clock):
    _release(_grade(apprentice, st1379, "observation", "fail", clock, admin), clock, admin)
    _agree(apprentice, st1379, "observation", clock, admin)
    clock.advance(dt.timedelta(days=185))
    with pytest.raises(DomainError, match="6-month window") as refused:
        _grade(apprentice, st1379, "observation", "pass", clock, admin)
    assert refused.value.code == "resit_window_closed"


def test_st0663_resit_must_be_inside_the_epa_period(st0663_spec, apprentice, admin, clock):
    _release(_grade(apprentice, st0663_spec, "presentation", "fail", clock, admin), clock, admin)
    _agree(apprentice, st0663_spec, "presentation", clock, admin)
    with pytest.raises(DomainError, match="EPA period") as refused:
        _grade(apprentice, st0663_spec, "presentation", "pass", clock, admin)
    assert refused.value.code == "epa_period_end_required"
    results.set_epa_period_end(apprentice, clock.now().date() + dt.timedelta(days=10), actor=admin)
    clock.advance(dt.timedelta(days=11))
    with pytest.raises(DomainError, match="EPA period ended") as refused:
        _grade(apprentice, st0663_spec, "presentation", "pass", clock, admin)
    assert refused.value.code == "resit_window_closed"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "apprentice.epa_period_ends"))
    assert entry.before == {"epa_period_ends": None} and entry.actor_id == admin.id


def test_assessor_grades_are_checked(st0663_spec, apprentice, admin, clock):
    with pytest.raises(results.ResultError, match="graded from its marks"):
        _grade(apprentice, st0663_spec, "knowledge_test", "pass", clock, admin)
    with pytest.raises(results.ResultError, match="not a grade"):
        _grade(apprentice, st0663_spec, "presentation", "merit", clock, admin)
    with pytest.raises(results.ResultError, match="no method"):
        _grade(apprentice, st0663_spec, "portfolio", "pass", clock, admin)
    with pytest.raises(results.ResultError, match="future"):
        _grade(
            apprentice, st0663_spec, "presentation", "pass", clock, admin, assessed_on=clock.now().date() + dt.timedelta(days=1)
        )


def test_a_correction_before_release_keeps_the_earlier_row(st1379, apprentice, admin, clock):
    first = _grade(apprentice, st1379, "observation", "pass", clock, admin)
    results.sign_off(first, now=clock.now(), actor=admin)
    corrected = _grade(apprentice, st1379, "observation", "distinction", clock, admin)
    db.session.refresh(first)
    assert (first.current, corrected.current, corrected.replaces_id, corrected.status) == (False, True, first.id, "provisional")
    with pytest.raises(results.ResultError, match="current"):
        results.release(first, now=clock.now(), actor=second_admin())


def test_a_standard_that_caps_resits_caps_the_resat_knowledge_test_and_the_overall(app, apprentice, admin, clock):
    """The cap is the spec's data: ST0663's figures with ST1379's cap (pass) cap a re-sat knowledge test."""
    import copy

    from testengine.models import Attempt, Standard
    from tests.factories import loaded_bank

    loaded = loaded_bank("ST0663")
    raw = copy.deepcopy(loaded.spec_raw)
    raw["resit"]["grade_cap"] = "pass"
    standard = Standard(code="ST0663", title=loaded.spec.title, spec=raw, imported_at=clock.now())
    db.session.add(standard)
    apprentice.epa_period_ends = clock.now().date() + dt.timedelta(days=60)
    db.session.flush()
    _grade(apprentice, standard, "presentation", "distinction", clock, admin)
    _grade(apprentice, standard, "observation", "distinction", clock, admin)

    def sat(total, kind):
        attempt = Attempt(
            apprentice_id=apprentice.id,
            standard_id=standard.id,
            kind=kind,
            state="submitted",
            seed=1,
            draw_inputs={},
            issued_at=clock.now(),
            started_at=clock.now(),
            submitted_at=clock.now(),
            base_minutes=120,
            marking_state="complete",
            total_marks=total,
        )
        db.session.add(attempt)
        db.session.flush()
        return results.record_knowledge_test(attempt, now=clock.now(), actor=None)

    _release(sat(30, "first"), clock, admin)
    _agree(apprentice, standard, "knowledge_test", clock, admin)
    assert eligibility.check(apprentice, standard, today=clock.now().date()).kind.value == "resit"
    resit = sat(60, "resit")
    assert (resit.achieved_grade, resit.grade) == ("distinction", "pass")
    # Two first-time distinctions and a capped pass would be a distinction; the re-sit caps the EPA grade at pass.
    assert results.current_overall(apprentice.id, standard.id).grade == "pass"
