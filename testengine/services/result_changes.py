"""Changing a released result: an appeal or a re-mark, with its reason. A knowledge test is re-marked
item by item (the re-mark layer of marks); the re-graded result is released at once, the one it replaces
kept, and the overall grade re-graded (services.results). Flushes, never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select

from ..domain.attempt_states import AttemptKind
from ..domain.grading import grade_for_marks, resit_method_grade
from ..domain.question_types import get_type
from ..extensions import db
from ..models import Apprentice, Attempt, AttemptQuestion, Mark, MethodResult, QuestionVersion, Standard, User
from . import audit
from .banks import spec_of
from .results import ResultError, Status, current_overall, recompute_overall, snapshot
from .standing_marks import final_marks, standing_total

CHANGE_ROUTES = ("appeal", "remark")
MAX_REASON = 450  # the audit log keeps 500, with the route before it


def remark_items(attempt_id: int) -> list[dict[str, object]]:
    """The items of a knowledge-test attempt a re-mark can change: those a marker marks (not the
    automatically marked ones), in paper order, each with what it is out of and the mark that stands."""
    marks = final_marks(attempt_id)
    rows = db.session.execute(
        select(AttemptQuestion.id, AttemptQuestion.position, AttemptQuestion.marks, QuestionVersion.type, QuestionVersion.ksb)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .where(AttemptQuestion.attempt_id == attempt_id)
        .order_by(AttemptQuestion.position)
    ).all()
    return [
        {"id": aq_id, "position": position, "available": available, "ksb": list(ksb), "standing": marks.get(aq_id)}
        for aq_id, position, available, qtype, ksb in rows
        if not get_type(qtype).auto_marked
    ]


def _remark(result: MethodResult, item_marks: Mapping[int, int], *, reason: str, now: dt.datetime, actor: User) -> int:
    """Store the re-marked items as the re-mark layer (one new Mark row per changed item, never an
    edit) and return the total of the marks that stand afterwards: the re-marked total."""
    if result.attempt_id is None:
        raise ResultError("This result has no attempt whose items could be re-marked.", code="no_attempt")
    items = {item["id"]: item for item in remark_items(result.attempt_id)}
    for aq_id, mark in item_marks.items():
        item = items.get(aq_id)
        if item is None:
            raise ResultError(f"Item {aq_id} is not a marker-marked item of this attempt.", code="invalid_item")
        if isinstance(mark, bool) or not isinstance(mark, int) or not 0 <= mark <= int(item["available"]):  # type: ignore[call-overload]
            raise ResultError(
                f"Question {item['position']}: a mark from 0 to {item['available']}, not {mark!r}.", code="invalid_mark"
            )
    changed = {}
    for aq_id, mark in sorted(item_marks.items()):
        if mark != items[aq_id]["standing"]:
            db.session.add(
                Mark(
                    attempt_question_id=aq_id,
                    attempt_id=result.attempt_id,
                    marker_id=actor.id,
                    role="remark",
                    mark=mark,
                    created_at=now,
                    reason=reason,
                )
            )
            changed[str(items[aq_id]["position"])] = {"before": items[aq_id]["standing"], "after": mark}
    db.session.flush()
    total = standing_total(result.attempt_id)
    if total is None:
        raise ResultError("An item of this attempt has no mark that stands yet.", code="not_marked")
    attempt = db.session.get(Attempt, result.attempt_id)
    assert attempt is not None
    before = attempt.total_marks
    attempt.total_marks = total
    db.session.flush()
    audit.record(
        actor,
        "marking.remark",
        attempt,
        before={"total_marks": before},
        after={"total_marks": total, "items": changed},
        reason=reason,
    )
    return total


def change_after_release(
    result: MethodResult,
    *,
    route: str,
    reason: str,
    now: dt.datetime,
    actor: User,
    grade: str | None = None,
    item_marks: Mapping[int, int] | None = None,
) -> MethodResult:
    """An appeal or re-mark outcome for a released result: re-graded, recorded with its reason, released.

    A knowledge test is re-marked item by item (`item_marks`: attempt question id -> new mark, for
    the items a marker marks); the new marks are stored as the re-mark layer, and the total is the
    sum of the marks that stand, graded by the boundaries. Nobody types a total. Other methods
    take the new grade. The old row is kept (current False); the overall grade is re-graded and,
    if the one it replaces had been released, released with the same reason.
    """
    if route not in CHANGE_ROUTES:
        raise ResultError("A released result changes only through an appeal or a re-mark.", code="invalid_route")
    if not reason or not reason.strip():
        raise ResultError("Give the reason for the change.", code="reason_required")
    if len(reason.strip()) > MAX_REASON:
        raise ResultError(f"Keep the reason to {MAX_REASON} characters.", code="reason_too_long")
    if not result.current or result.status != Status.RELEASED.value:
        raise ResultError("Only the current, released result is changed by an appeal or re-mark.", code="not_released")
    standard = db.session.get(Standard, result.standard_id)
    apprentice = db.session.get(Apprentice, result.apprentice_id)
    assert standard is not None and apprentice is not None
    spec = spec_of(standard)
    test = spec.knowledge_test
    marks: int | None
    if test is not None and test.method == result.method_key:
        if item_marks is None:
            raise ResultError("Give the re-marked items' marks; the total follows from them.", code="item_marks_required")
        marks = _remark(result, item_marks, reason=reason.strip(), now=now, actor=actor)
        achieved = grade_for_marks(test.boundaries, marks, test.total_marks)
    else:
        method = spec.method(result.method_key)
        if grade not in method.grades:
            raise ResultError(f"Choose a grade of {method.name} ({', '.join(method.grades)}).", code="invalid_grade")
        achieved, marks = grade, None
    new_grade = resit_method_grade(spec, achieved, result.method_key) if result.kind != AttemptKind.FIRST.value else achieved
    changed = MethodResult(
        apprentice_id=result.apprentice_id,
        standard_id=result.standard_id,
        method_key=result.method_key,
        grade=new_grade,
        achieved_grade=achieved,
        marks=marks,
        attempt_id=result.attempt_id,
        assessed_on=result.assessed_on,
        assessor=result.assessor,
        kind=result.kind,
        employer_agreed=result.employer_agreed,
        current=True,
        recorded_by_id=actor.id,
        recorded_at=now,
        status=Status.RELEASED.value,
        signed_off_by_id=actor.id,
        signed_off_at=now,
        released_at=now,
        change_route=route,
        change_reason=reason.strip(),
        replaces_id=result.id,
    )
    result.current = False
    db.session.add(changed)
    db.session.flush()
    audit.record(
        actor, f"result.method.{route}", changed, before=snapshot(result), after=snapshot(changed), reason=reason.strip()
    )
    previous_overall = current_overall(apprentice.id, standard.id)
    was_released = previous_overall is not None and previous_overall.status == Status.RELEASED.value
    recompute_overall(apprentice, standard, now=now, actor=actor, released=was_released, reason=f"{route}: {reason.strip()}")
    return changed
