"""Results: grades recorded per method, the overall grade, and the way to release and appeal.

A result is never edited. A new grade for a method (a correction before release, a re-sit, an
appeal or a re-mark) is a new MethodResult row; the one it replaces stays with `current` False.
The overall grade follows the method grades: whenever a method's current result changes and every
method has one, a new OverallResult row is graded from them by the standard's rules.

Workflow, for method and overall results alike: provisional -> signed_off (an admin) -> released
(the apprentice sees it). Once released, a method's grade changes only through change_after_release
(an appeal or a re-mark, with a reason), which re-grades and keeps the history.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..domain import result_states
from ..domain.attempt_states import AttemptKind
from ..domain.errors import DomainError, IllegalTransition
from ..domain.grading import (
    grade_for_marks,
    resit_method_grade,
    resit_overall_grade,
)
from ..domain.marking_states import MarkingState
from ..domain.result_states import ResultAction, ResultStatus
from ..domain.standards import StandardSpec
from ..extensions import db
from ..models import (
    Apprentice,
    Attempt,
    MethodResult,
    OverallResult,
    Standard,
    User,
)
from . import audit, eligibility
from .banks import spec_of


class ResultError(DomainError):
    code = "result_refused"


Status = ResultStatus  # the name this service's callers know


def next_status(current: str, action: str) -> Status:
    """The status after `action` (sign_off | release), by domain.result_states' table."""
    try:
        return result_states.next_status(current, action)
    except IllegalTransition as refused:
        raise ResultError(str(refused), code="illegal_transition") from None


# --- reading --------------------------------------------------------------------------------


def current_method_results(apprentice_id: int, standard_id: int) -> dict[str, MethodResult]:
    rows = db.session.scalars(
        select(MethodResult).where(
            MethodResult.apprentice_id == apprentice_id, MethodResult.standard_id == standard_id, MethodResult.current.is_(True)
        )
    )
    return {row.method_key: row for row in rows}


def current_overall(apprentice_id: int, standard_id: int) -> OverallResult | None:
    return db.session.scalar(
        select(OverallResult).where(
            OverallResult.apprentice_id == apprentice_id,
            OverallResult.standard_id == standard_id,
            OverallResult.current.is_(True),
        )
    )


def history(apprentice_id: int, standard_id: int) -> tuple[list[MethodResult], list[OverallResult]]:
    """Every row ever recorded, newest first: the full history an appeal or audit needs."""
    methods = db.session.scalars(
        select(MethodResult)
        .where(MethodResult.apprentice_id == apprentice_id, MethodResult.standard_id == standard_id)
        .order_by(MethodResult.id.desc())
    ).all()
    overall = db.session.scalars(
        select(OverallResult)
        .where(OverallResult.apprentice_id == apprentice_id, OverallResult.standard_id == standard_id)
        .order_by(OverallResult.id.desc())
    ).all()
    return list(methods), list(overall)


def outcome_date(result: MethodResult) -> dt.date:
    """When the apprentice learnt the outcome: its release, or the assessment if not yet released."""
    return result.released_at.date() if result.released_at is not None else result.assessed_on


# --- recording method grades ----------------------------------------------------------------


def snapshot(result: MethodResult) -> dict[str, object]:
    return {
        "method": result.method_key,
        "grade": result.grade,
        "achieved": result.achieved_grade,
        "marks": result.marks,
        "kind": result.kind,
        "status": result.status,
        "assessed_on": result.assessed_on.isoformat(),
    }


def _store(
    result: MethodResult,
    previous: MethodResult | None,
    apprentice: Apprentice,
    standard: Standard,
    *,
    now: dt.datetime,
    actor: User | None,
) -> MethodResult:
    """Add the new current row, retire (never delete) the one it replaces, audit, re-grade the overall."""
    if previous is not None:
        previous.current = False
        result.replaces_id = previous.id
    db.session.add(result)
    db.session.flush()
    audit.record(actor, "result.method.record", result, before=snapshot(previous) if previous else None, after=snapshot(result))
    recompute_overall(apprentice, standard, now=now, actor=actor)
    return result


def _refuse_over_released(spec: StandardSpec, previous: MethodResult | None, attempt: Attempt) -> None:
    """A released result changes only through an appeal or a re-mark (change_after_release).

    Grading an attempt may follow a released result only as the re-sit or re-take of a failed
    method: the attempt's kind says so, and it was derived when the paper was issued.
    """
    if previous is None or previous.status != Status.RELEASED.value:
        return
    failed = previous.grade == spec.method(previous.method_key).grades[0]
    if previous.attempt_id == attempt.id or attempt.kind == AttemptKind.FIRST.value or not failed:
        raise ResultError(
            "This method's result has been released: it changes only through an appeal or a re-mark.", code="released"
        )


def record_knowledge_test(attempt: Attempt, *, now: dt.datetime, actor: User | None) -> MethodResult:
    """The provisional knowledge-test result from the attempt's total marks, by the spec's boundaries.

    A re-sit or re-take attempt is capped where the standard caps re-sits. Whether a re-sit was
    allowed, and so the attempt's kind, is decided when its paper is issued (services.eligibility);
    here the test has been sat and is graded. A released result is never replaced from here.
    """
    standard = db.session.get(Standard, attempt.standard_id)
    apprentice = db.session.get(Apprentice, attempt.apprentice_id)
    assert standard is not None and apprentice is not None
    spec = spec_of(standard)
    test = spec.knowledge_test
    if test is None:
        raise ResultError(f"{standard.code} has no knowledge test.", code="no_knowledge_test")
    if attempt.total_marks is None or attempt.marking_state != MarkingState.COMPLETE:
        raise ResultError("This attempt has not been fully marked.", code="not_marked")
    achieved = grade_for_marks(test.boundaries, attempt.total_marks, test.total_marks)
    previous = current_method_results(apprentice.id, standard.id).get(test.method)
    _refuse_over_released(spec, previous, attempt)
    kind = AttemptKind(attempt.kind).value  # derived from the history when its paper was issued
    grade = resit_method_grade(spec, achieved, test.method) if kind != AttemptKind.FIRST.value else achieved
    result = MethodResult(
        apprentice_id=apprentice.id,
        standard_id=standard.id,
        method_key=test.method,
        grade=grade,
        achieved_grade=achieved,
        marks=attempt.total_marks,
        attempt_id=attempt.id,
        assessed_on=(attempt.submitted_at or now).date(),
        assessor="Independent markers (knowledge test)",
        kind=kind,
        employer_agreed=False,
        current=True,
        recorded_by_id=actor.id if actor else None,
        recorded_at=now,
        status=Status.PROVISIONAL.value,
    )
    return _store(result, previous, apprentice, standard, now=now, actor=actor)


def record_method_grade(
    apprentice: Apprentice,
    standard: Standard,
    *,
    method_key: str,
    grade: str,
    assessed_on: dt.date,
    assessor: str,
    now: dt.datetime,
    actor: User | None,
) -> MethodResult:
    """An assessor's grade for a method graded by judgement (not by marks), with date and assessor.

    While the method's current result is not yet released, a new grade corrects it (same kind).
    Otherwise the kind is derived (services.eligibility): a first grade, or a re-sit or re-take of a
    released fail with the employer's agreement recorded, assessed inside the standard's window;
    its grade is capped where the standard caps re-sits. A released grade is never replaced here.
    """
    spec = spec_of(standard)
    try:
        method = spec.method(method_key)
    except KeyError:
        raise ResultError(f"{standard.code} has no method {method_key!r}.", code="invalid_method") from None
    if spec.knowledge_test is not None and spec.knowledge_test.method == method_key:
        raise ResultError("The knowledge test is graded from its marks, not entered by hand.", code="graded_by_marks")
    if grade not in method.grades:
        raise ResultError(f"{grade!r} is not a grade of {method.name} ({', '.join(method.grades)}).", code="invalid_grade")
    if assessed_on > now.date():
        raise ResultError("The assessment date cannot be in the future.", code="future_date")
    if not assessor.strip():
        raise ResultError("Name the assessor.", code="assessor_required")
    previous = current_method_results(apprentice.id, standard.id).get(method_key)
    if previous is not None and previous.status != Status.RELEASED.value:
        kind, employer_agreed = previous.kind, previous.employer_agreed  # a correction before release
    else:
        kind = eligibility.check(apprentice, standard, method_key, today=assessed_on).kind.value
        employer_agreed = kind != AttemptKind.FIRST.value
    result = MethodResult(
        apprentice_id=apprentice.id,
        standard_id=standard.id,
        method_key=method_key,
        achieved_grade=grade,
        grade=resit_method_grade(spec, grade, method_key) if kind != AttemptKind.FIRST else grade,
        marks=None,
        attempt_id=None,
        assessed_on=assessed_on,
        assessor=assessor.strip(),
        kind=kind,
        employer_agreed=employer_agreed,
        current=True,
        recorded_by_id=actor.id if actor else None,
        recorded_at=now,
        status=Status.PROVISIONAL.value,
    )
    return _store(result, previous, apprentice, standard, now=now, actor=actor)


# --- the overall grade ----------------------------------------------------------------------


def recompute_overall(
    apprentice: Apprentice,
    standard: Standard,
    *,
    now: dt.datetime,
    actor: User | None,
    released: bool = False,
    reason: str | None = None,
) -> OverallResult | None:
    """Grade the overall result when every method has a current grade; a new row if anything changed."""
    spec = spec_of(standard)
    methods = current_method_results(apprentice.id, standard.id)
    if any(m.key not in methods for m in spec.methods):
        return None
    inputs = {key: {"result_id": row.id, "grade": row.grade, "kind": row.kind} for key, row in methods.items()}
    previous = current_overall(apprentice.id, standard.id)
    if previous is not None and previous.inputs == inputs:
        return previous
    resat = [key for key, row in methods.items() if row.kind != AttemptKind.FIRST]
    grade = resit_overall_grade(spec, {key: row.grade for key, row in methods.items()}, resat)
    overall = OverallResult(
        apprentice_id=apprentice.id,
        standard_id=standard.id,
        grade=grade,
        status=Status.PROVISIONAL.value,
        current=True,
        created_at=now,
        inputs=inputs,
        change_reason=reason,
    )
    if released:
        overall.status = Status.RELEASED.value
        overall.signed_off_by_id = actor.id if actor else None
        overall.signed_off_at = overall.released_at = now
    if previous is not None:
        previous.current = False
    db.session.add(overall)
    db.session.flush()
    audit.record(
        actor,
        "result.overall.grade",
        overall,
        before={"grade": previous.grade, "status": previous.status} if previous else None,
        after={"grade": grade, "status": overall.status, "methods": {k: v["grade"] for k, v in inputs.items()}},
        reason=reason,
    )
    return overall


# --- sign-off and release -------------------------------------------------------------------


def _label(result: MethodResult | OverallResult) -> str:
    return "method" if isinstance(result, MethodResult) else "overall"


def sign_off(result: MethodResult | OverallResult, *, now: dt.datetime, actor: User) -> None:
    """An admin confirms the grade. An overall result waits until each of its methods is signed off."""
    if not result.current:
        raise ResultError("Only the current result can be signed off.", code="not_current")
    if isinstance(result, OverallResult):
        _require_methods(result, {Status.SIGNED_OFF.value, Status.RELEASED.value}, Status.SIGNED_OFF)
    result.status = next_status(result.status, ResultAction.SIGN_OFF).value
    result.signed_off_by_id, result.signed_off_at = actor.id, now
    db.session.flush()
    audit.record(actor, f"result.{_label(result)}.sign_off", result, after={"grade": result.grade, "status": result.status})


def release(result: MethodResult | OverallResult, *, now: dt.datetime, actor: User, second_admin: bool = True) -> None:
    """Show a signed-off result to the apprentice. An overall result waits until its methods are released.

    Separation of duties: unless `second_admin` is off (TESTENGINE_RELEASE_NEEDS_SECOND_ADMIN, given
    by the caller; on unless the EPAO turned it off), the administrator who signed the result off may
    not release it too. Checked here, so every way of releasing (page, command, API) obeys it.
    """
    if not result.current:
        raise ResultError("Only the current result can be released.", code="not_current")
    if second_admin and result.signed_off_by_id is not None and result.signed_off_by_id == actor.id:
        raise ResultError(
            "Separation of duties: you signed this result off, so a different administrator must release it"
            " (TESTENGINE_RELEASE_NEEDS_SECOND_ADMIN).",
            code="second_admin_required",
        )
    if isinstance(result, OverallResult):
        _require_methods(result, {Status.RELEASED.value}, Status.RELEASED)
    result.status = next_status(result.status, ResultAction.RELEASE).value
    result.released_at = now
    db.session.flush()
    audit.record(actor, f"result.{_label(result)}.release", result, after={"grade": result.grade, "status": result.status})


def _require_methods(overall: OverallResult, allowed: set[str], target: ResultStatus) -> None:
    ids = [value["result_id"] for value in (overall.inputs or {}).values()]
    rows = db.session.scalars(select(MethodResult).where(MethodResult.id.in_(ids))).all()
    waiting = sorted(row.method_key for row in rows if row.status not in allowed)
    if waiting:
        verb = target.value.replace("_", " ")
        raise ResultError(f"First, each method's result must be {verb}: {', '.join(waiting)}.", code="methods_not_ready")


def set_epa_period_end(apprentice: Apprentice, ends_on: dt.date | None, *, actor: User) -> None:
    """The end of the apprentice's EPA period: ST0663 re-sits must fall inside it."""
    before = apprentice.epa_period_ends
    apprentice.epa_period_ends = ends_on
    db.session.flush()
    audit.record(
        actor,
        "apprentice.epa_period_ends",
        apprentice,
        before={"epa_period_ends": before.isoformat() if before else None},
        after={"epa_period_ends": ends_on.isoformat() if ends_on else None},
    )
