"""Provisional -> signed off -> released; after release, only an appeal or re-mark changes a result."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from testengine.extensions import db
from testengine.models import AuditEntry, MethodResult
from testengine.services import results
from tests.factories import second_admin


def _grade(apprentice, standard, method, grade, clock, actor):
    return results.record_method_grade(
        apprentice, standard, method_key=method, grade=grade, assessed_on=clock.now().date(), assessor="A. Assessor",
        now=clock.now(), actor=actor,
    )


@pytest.fixture
def graded(st1379, apprentice, admin, clock):
    """ST1379 observation pass and professional discussion distinction: a provisional merit."""
    observation = _grade(apprentice, st1379, "observation", "pass", clock, admin)
    discussion = _grade(apprentice, st1379, "professional_discussion", "distinction", clock, admin)
    return observation, discussion, results.current_overall(apprentice.id, st1379.id)


def test_sign_off_then_release_in_that_order(graded, admin, clock):
    observation, discussion, overall = graded
    assert overall.grade == "merit" and overall.status == "provisional"
    with pytest.raises(results.ResultError, match="provisional result cannot be released"):
        results.release(observation, now=clock.now(), actor=second_admin())
    with pytest.raises(results.ResultError, match="signed off: observation, professional_discussion"):
        results.sign_off(overall, now=clock.now(), actor=admin)
    for row in (observation, discussion):
        results.sign_off(row, now=clock.now(), actor=admin)
    results.sign_off(overall, now=clock.now(), actor=admin)
    assert (overall.status, overall.signed_off_by_id, overall.signed_off_at) == ("signed_off", admin.id, clock.now())
    with pytest.raises(results.ResultError, match="signed off result cannot be signed off"):
        results.sign_off(overall, now=clock.now(), actor=admin)
    with pytest.raises(results.ResultError, match="released: observation, professional_discussion"):
        results.release(overall, now=clock.now(), actor=second_admin())
    for row in (observation, discussion, overall):
        results.release(row, now=clock.now(), actor=second_admin())
    assert overall.status == "released" and overall.released_at == clock.now()
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions.count("result.method.sign_off") == 2 and actions.count("result.overall.release") == 1


def _release_all(graded, admin, clock):
    for row in graded:
        results.sign_off(row, now=clock.now(), actor=admin)
    for row in graded:
        results.release(row, now=clock.now(), actor=second_admin())


def test_a_released_result_changes_only_through_an_appeal(graded, st1379, apprentice, admin, clock):
    _release_all(graded, admin, clock)
    observation = graded[0]
    with pytest.raises(results.ResultError, match="only through an appeal or a re-mark"):
        _grade(apprentice, st1379, "observation", "distinction", clock, admin)
    with pytest.raises(results.ResultError, match="reason"):
        results.change_after_release(observation, route="appeal", reason="  ", grade="distinction", now=clock.now(), actor=admin)
    with pytest.raises(results.ResultError, match="appeal or a re-mark"):
        results.change_after_release(observation, route="whim", reason="x", grade="distinction", now=clock.now(), actor=admin)
    changed = results.change_after_release(
        observation, route="appeal", reason="Appeal upheld: evidence of criterion O3 overlooked", grade="distinction",
        now=clock.now(), actor=admin,
    )
    db.session.refresh(observation)
    assert (observation.current, changed.current, changed.replaces_id) == (False, True, observation.id)
    assert (changed.grade, changed.status, changed.change_route) == ("distinction", "released", "appeal")
    overall = results.current_overall(apprentice.id, st1379.id)
    assert (overall.grade, overall.status) == ("distinction", "released")
    assert overall.change_reason == "appeal: Appeal upheld: evidence of criterion O3 overlooked"
    db.session.refresh(graded[2])
    assert graded[2].current is False and graded[2].grade == "merit"  # the history is kept
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "result.method.appeal"))
    assert entry.before["grade"] == "pass" and entry.after["grade"] == "distinction" and entry.reason.startswith("Appeal upheld")
    with pytest.raises(results.ResultError, match="current, released"):
        results.change_after_release(observation, route="appeal", reason="again", grade="fail", now=clock.now(), actor=admin)


def test_a_knowledge_test_remark_regrades_from_the_new_total(apprentice, admin, marked_attempt, clock):
    attempt = marked_attempt(apprentice, 45)
    result = results.record_knowledge_test(attempt, now=clock.now(), actor=None)
    results.sign_off(result, now=clock.now(), actor=admin)
    results.release(result, now=clock.now(), actor=second_admin())
    with pytest.raises(results.ResultError, match="released"):
        results.record_knowledge_test(attempt, now=clock.now(), actor=None)
    with pytest.raises(results.ResultError, match="marks"):
        results.change_after_release(result, route="remark", reason="Q12 re-marked", now=clock.now(), actor=admin)
    changed = results.change_after_release(result, route="remark", reason="Q12 re-marked on appeal", marks=46, now=clock.now(), actor=admin)
    assert (changed.marks, changed.grade, changed.attempt_id) == (46, "pass", attempt.id)
    rows = db.session.scalars(select(MethodResult).order_by(MethodResult.id)).all()
    assert [(r.grade, r.current) for r in rows] == [("fail", False), ("pass", True)]
