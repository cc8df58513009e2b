"""Provisional -> signed off -> released; after release, only an appeal or re-mark changes a result."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from testengine.domain.errors import DomainError
from testengine.extensions import db
from testengine.models import Attempt, AuditEntry, Mark, MethodResult
from testengine.services import result_changes, results, standing_marks
from tests.factories import second_admin


def _grade(apprentice, standard, method, grade, clock, actor):
    return results.record_method_grade(
        apprentice,
        standard,
        method_key=method,
        grade=grade,
        assessed_on=clock.now().date(),
        assessor="A. Assessor",
        now=clock.now(),
        actor=actor,
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
    with pytest.raises(DomainError, match="already passed") as refused:
        _grade(apprentice, st1379, "observation", "distinction", clock, admin)
    assert refused.value.code == "already_passed"
    with pytest.raises(results.ResultError, match="reason"):
        result_changes.change_after_release(
            observation, route="appeal", reason="  ", grade="distinction", now=clock.now(), actor=admin
        )
    with pytest.raises(results.ResultError, match="appeal or a re-mark"):
        result_changes.change_after_release(
            observation, route="whim", reason="x", grade="distinction", now=clock.now(), actor=admin
        )
    changed = result_changes.change_after_release(
        observation,
        route="appeal",
        reason="Appeal upheld: evidence of criterion O3 overlooked",
        grade="distinction",
        now=clock.now(),
        actor=admin,
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
        result_changes.change_after_release(
            observation, route="appeal", reason="again", grade="fail", now=clock.now(), actor=admin
        )


def test_a_knowledge_test_remark_regrades_from_the_item_marks_that_stand(start_sitter, admin, clock):
    sitter = start_sitter()
    assert sitter.submit().status_code == 200  # nothing answered: every mark automatic, 0 of 66
    result = db.session.scalar(select(MethodResult).where(MethodResult.attempt_id == sitter.attempt_id))
    attempt = db.session.get(Attempt, sitter.attempt_id)
    results.sign_off(result, now=clock.now(), actor=admin)
    results.release(result, now=clock.now(), actor=second_admin())
    with pytest.raises(results.ResultError, match="released"):
        results.record_knowledge_test(attempt, now=clock.now(), actor=None)
    with pytest.raises(results.ResultError, match="items") as refused:
        result_changes.change_after_release(result, route="remark", reason="Q12 re-marked", now=clock.now(), actor=admin)
    assert refused.value.code == "item_marks_required"
    items = result_changes.remark_items(attempt.id)
    assert len(items) == 26 and all(item["standing"] == 0 and item["available"] == 2 for item in items)  # the short answers only
    mcq = next(aq for aq in attempt.questions if aq.id not in {item["id"] for item in items})
    for bad, code in (({items[0]["id"]: 3}, "invalid_mark"), ({mcq.id: 1}, "invalid_item")):
        with pytest.raises(results.ResultError) as refused:
            result_changes.change_after_release(result, route="remark", reason="x", item_marks=bad, now=clock.now(), actor=admin)
        assert refused.value.code == code
    # 23 answers re-marked at 2, one at 1 (one left as it stood): 47 marks stand, a pass.
    new_marks = {item["id"]: 2 for item in items[:23]} | {items[23]["id"]: 1, items[24]["id"]: 0}
    changed = result_changes.change_after_release(
        result, route="remark", reason="Short answers re-marked on appeal", item_marks=new_marks, now=clock.now(), actor=admin
    )
    assert (changed.marks, changed.grade, changed.attempt_id, changed.change_route) == (47, "pass", attempt.id, "remark")
    assert (
        changed.marks
        == standing_marks.standing_total(attempt.id)
        == sum(m for m in standing_marks.final_marks(attempt.id).values())
    )
    assert attempt.total_marks == 47
    remarks = db.session.scalars(select(Mark).where(Mark.attempt_id == attempt.id, Mark.role == "remark")).all()
    assert len(remarks) == 24 and {m.marker_id for m in remarks} == {admin.id}  # an unchanged item adds no row
    rows = db.session.scalars(select(MethodResult).order_by(MethodResult.id)).all()
    assert [(r.grade, r.marks, r.current) for r in rows] == [("fail", 0, False), ("pass", 47, True)]
    assert (
        db.session.scalar(select(Mark.id).where(Mark.attempt_id == attempt.id, Mark.role == "auto").limit(1)) is not None
    )  # kept
