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
from collections import defaultdict
from collections.abc import Iterable, Mapping

from sqlalchemy import select

from ..domain import result_states
from ..domain.attempt_states import AttemptKind
from ..domain.errors import DomainError, IllegalTransition
from ..domain.grading import (
    describe_overall_rules,
    grade_for_marks,
    ksb_feedback,
    resit_method_grade,
    resit_overall_grade,
)
from ..domain.marking_states import MarkingState
from ..domain.question_types import get_type
from ..domain.result_states import ResultAction, ResultStatus
from ..domain.standards import StandardSpec
from ..extensions import db
from ..models import (
    Apprentice,
    Attempt,
    AttemptQuestion,
    Mark,
    MethodResult,
    OverallResult,
    QuestionVersion,
    Standard,
    User,
)
from . import audit, eligibility
from .banks import spec_of

CHANGE_ROUTES = ("appeal", "remark")
MAX_REASON = 450  # the audit log keeps 500, with the route before it


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


def _snapshot(result: MethodResult) -> dict[str, object]:
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
    audit.record(actor, "result.method.record", result, before=_snapshot(previous) if previous else None, after=_snapshot(result))
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
        actor, f"result.method.{route}", changed, before=_snapshot(result), after=_snapshot(changed), reason=reason.strip()
    )
    previous_overall = current_overall(apprentice.id, standard.id)
    was_released = previous_overall is not None and previous_overall.status == Status.RELEASED.value
    recompute_overall(apprentice, standard, now=now, actor=actor, released=was_released, reason=f"{route}: {reason.strip()}")
    return changed


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


# --- final marks and feedback ---------------------------------------------------------------


def final_marks(attempt_id: int) -> dict[int, int | None]:
    """Each attempt question's mark that stands (None while undecided), by domain.mark_standing's one rule."""
    from .marking_progress import marks_of

    return {aq_id: response.final for aq_id, response in marks_of([attempt_id]).items()}


def standing_total(attempt_id: int) -> int | None:
    """The total of the marks that stand now (after any re-mark), or None while one is undecided."""
    marks = final_marks(attempt_id).values()
    return None if any(m is None for m in marks) else sum(m for m in marks if m is not None)


def ksb_areas(attempt: Attempt) -> dict[str, tuple[int, int]]:
    """(scored, available) per KSB over the attempt's questions, from the final marks."""
    marks = final_marks(attempt.id)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rows = db.session.execute(
        select(AttemptQuestion.id, AttemptQuestion.marks, QuestionVersion.ksb)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .where(AttemptQuestion.attempt_id == attempt.id)
    ).all()
    for aq_id, available, ksbs in rows:
        for ksb in ksbs:
            totals[ksb][0] += marks.get(aq_id) or 0
            totals[ksb][1] += available
    return {ksb: (scored, available) for ksb, (scored, available) in totals.items()}


def weak_areas(result: MethodResult) -> list[tuple[str, str]]:
    """For a failed knowledge test: the KSB areas to work on, as (code, description); no question is named."""
    standard = db.session.get(Standard, result.standard_id)
    assert standard is not None
    spec = spec_of(standard)
    if result.attempt_id is None or result.grade != spec.method(result.method_key).grades[0]:
        return []
    attempt = db.session.get(Attempt, result.attempt_id)
    assert attempt is not None
    return [(code, spec.ksbs.get(code, code)) for code in ksb_feedback(ksb_areas(attempt))]


def method_names(spec: StandardSpec) -> dict[str, str]:
    return {m.key: m.name for m in spec.methods}


def released_for(apprentice: Apprentice) -> list[dict[str, object]]:
    """What the apprentice may see: per standard, each method's latest released result and the latest
    released overall result. A re-sit or correction waiting for sign-off leaves what was released in view.
    """
    methods: dict[tuple[int, str], MethodResult] = {}
    for row in db.session.scalars(
        select(MethodResult)
        .where(MethodResult.apprentice_id == apprentice.id, MethodResult.status == Status.RELEASED.value)
        .order_by(MethodResult.id)
    ):
        methods[(row.standard_id, row.method_key)] = row
    overall: dict[int, OverallResult] = {}
    for o in db.session.scalars(
        select(OverallResult)
        .where(OverallResult.apprentice_id == apprentice.id, OverallResult.status == Status.RELEASED.value)
        .order_by(OverallResult.id)
    ):
        overall[o.standard_id] = o
    entries = []
    for standard_id in sorted({key[0] for key in methods} | set(overall)):
        standard = db.session.get(Standard, standard_id)
        assert standard is not None
        spec = spec_of(standard)
        rows = [methods[(standard_id, m.key)] for m in spec.methods if (standard_id, m.key) in methods]
        entries.append(
            {
                "standard": standard,
                "names": method_names(spec),
                "overall": overall.get(standard_id),
                "methods": [{"result": r, "weak": weak_areas(r)} for r in rows],
            }
        )
    return entries


#: What a grade means, for the letter; the same for every standard (its spec sets how a grade is earned).
GRADE_MEANINGS = {
    "fail": "The evidence did not yet show the knowledge, skills and behaviours of the occupational standard "
    "at the level needed for a pass.",
    "pass": "You have shown the knowledge, skills and behaviours the occupational standard requires.",
    "merit": "You have met the occupational standard and shown part of it at the higher level the assessment plan sets out.",
    "distinction": "You have shown the knowledge, skills and behaviours of the occupational standard at the "
    "higher level the assessment plan sets for a distinction.",
}


def _resit_note(spec: StandardSpec) -> str:
    policy = spec.resit
    which = "Only the methods that were failed are taken again" if policy.failed_methods_only else "The assessment is taken again"
    when = (
        f"within {policy.window_months} months of the outcome"
        if policy.window == "months_from_outcome" and policy.window_months
        else "inside the end-point assessment period"
    )
    cap = (
        f"a method passed at a re-sit or re-take is graded at most {policy.grade_cap.capitalize()}"
        if policy.grade_cap
        else "a method passed at a re-sit or re-take can reach any grade"
    )
    return f"{which}, {when}; {cap}. Your training provider will agree the next step with you."


def letter(apprentice: Apprentice, entry: dict[str, object], *, today: dt.date) -> dict[str, object]:
    """The result letter's content (services.reports.result_letter_pdf draws it); released results only.

    It says what was achieved and why: each method's grade, the overall grade, the knowledge test's
    grade boundaries and the rules that combine the methods (both from the standard's spec), and what
    the grade means. Dates are given as dates; the PDF formats them.
    """
    standard: Standard = entry["standard"]  # type: ignore[assignment]
    names: dict[str, str] = entry["names"]  # type: ignore[assignment]
    spec = spec_of(standard)
    test = spec.knowledge_test
    details: list[tuple[str, str]] = [
        ("Apprentice", apprentice.full_name),
        ("ULN", apprentice.uln or "-"),
        ("Candidate number", apprentice.candidate_number),
        ("Standard", f"{standard.code} {standard.title} (level {spec.level})"),
        ("Date of letter", f"{today.day} {today:%B %Y}"),
    ]
    methods: list[dict[str, str]] = []
    paragraphs: list[str] = []
    failed = False
    for item in entry["methods"]:  # type: ignore[attr-defined]
        row: MethodResult = item["result"]
        name = names.get(row.method_key, row.method_key)
        total = test.total_marks if test is not None and test.method == row.method_key else None
        methods.append(
            {
                "method": name,
                "grade": row.grade.capitalize(),
                "marks": "" if row.marks is None else (f"{row.marks} of {total}" if total else str(row.marks)),
                "assessed_on": f"{row.assessed_on.day} {row.assessed_on:%B %Y}",
            }
        )
        failed = failed or row.grade == spec.method(row.method_key).grades[0]
        if item["weak"]:
            areas = "; ".join(f"{code} {text}" for code, text in item["weak"])
            paragraphs.append(f"{name}: areas to work on before a re-sit: {areas}.")
    overall: OverallResult | None = entry["overall"]  # type: ignore[assignment]
    if overall is None:
        paragraphs.insert(0, "The overall grade will follow once every assessment method has been graded and released.")
    if failed:
        paragraphs.append(_resit_note(spec))
    shown = overall.grade if overall is not None else None
    return {
        "title": "End-point assessment result",
        "standard": f"{standard.code} {standard.title}",
        "details": details,
        "methods": methods,
        "overall": shown.capitalize() if shown else None,
        "meaning": GRADE_MEANINGS.get(shown, "") if shown else "",
        "boundaries": (
            [(b.grade.capitalize(), f"{b.min} to {b.max}") for b in sorted(test.boundaries, key=lambda b: b.min)]
            if test is not None
            else []
        ),
        "test_name": names.get(test.method, test.method) if test is not None else "",
        "test_total": test.total_marks if test is not None else 0,
        "rules": describe_overall_rules(spec),
        "paragraphs": paragraphs,
    }


def export_rows(
    methods: Iterable[tuple[MethodResult, Apprentice, Standard]], overall: Iterable[tuple[OverallResult, Apprentice, Standard]]
) -> Iterable[list[object]]:
    """Rows for the admins' CSV export, history included (pass each through services.exports.safe_csv_row)."""
    yield [
        "standard",
        "candidate_number",
        "uln",
        "given_name",
        "family_name",
        "method",
        "kind",
        "marks",
        "achieved_grade",
        "grade",
        "assessed_on",
        "assessor",
        "status",
        "current",
        "change_route",
        "change_reason",
        "recorded_at",
    ]
    for row, apprentice, standard in methods:
        yield [
            standard.code,
            apprentice.candidate_number,
            apprentice.uln,
            apprentice.given_name,
            apprentice.family_name,
            row.method_key,
            row.kind,
            row.marks,
            row.achieved_grade,
            row.grade,
            row.assessed_on.isoformat(),
            row.assessor,
            row.status,
            "yes" if row.current else "no",
            row.change_route,
            row.change_reason,
            row.recorded_at.isoformat(),
        ]
    for result, apprentice, standard in overall:
        yield [
            standard.code,
            apprentice.candidate_number,
            apprentice.uln,
            apprentice.given_name,
            apprentice.family_name,
            "overall",
            "",
            "",
            "",
            result.grade,
            "",
            "",
            result.status,
            "yes" if result.current else "no",
            "",
            result.change_reason,
            result.created_at.isoformat(),
        ]


# --- the appeal pack ------------------------------------------------------------------------


def appeal_pack(attempt: Attempt) -> dict[str, object]:
    """Everything an appeal about one attempt needs, gathered once for an admin.

    The paper is redrawn from its seed and inputs and compared with what was issued; then each
    question as issued (version, options in the order shown), the answer, and every mark with
    its marker and time; the timings, stoppages and browser events; adjustments; the incidents of
    the sitting that name the apprentice; and the results recorded from this attempt.
    """
    from ..models import Adjustment, Answer, AttemptEvent, Incident, Question, Sitting
    from .papers import reproduce_paper

    apprentice = db.session.get(Apprentice, attempt.apprentice_id)
    standard = db.session.get(Standard, attempt.standard_id)
    assert apprentice is not None and standard is not None
    try:
        reproduced: bool | None = reproduce_paper(attempt)[1]
        reproduce_error = None
    except DomainError as refused:
        reproduced, reproduce_error = None, str(refused)
    except KeyError as missing:  # an attempt recorded without its draw inputs cannot be redrawn, but is still shown
        reproduced, reproduce_error = None, f"the recorded draw inputs lack {missing}"
    marks: dict[int, list[Mark]] = defaultdict(list)
    for mark in db.session.scalars(select(Mark).where(Mark.attempt_id == attempt.id).order_by(Mark.created_at, Mark.id)):
        marks[mark.attempt_question_id].append(mark)
    marker_ids = {m.marker_id for rows in marks.values() for m in rows if m.marker_id is not None}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(marker_ids)))} if marker_ids else {}
    answers = {a.attempt_question_id: a for a in db.session.scalars(select(Answer).where(Answer.attempt_id == attempt.id))}
    final = final_marks(attempt.id)
    questions = []
    for aq, version, question in db.session.execute(
        select(AttemptQuestion, QuestionVersion, Question)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(AttemptQuestion.attempt_id == attempt.id)
        .order_by(AttemptQuestion.position)
    ):
        answer = answers.get(aq.id)
        options = version.content.get("options") or []
        order = aq.option_order or list(range(len(options)))
        shown = [{"index": i, "text": options[i]["text"], "correct": bool(options[i].get("correct"))} for i in order]
        chosen = None
        if options and answer is not None and answer.response not in (None, ""):
            chosen = next((o["text"] for o in shown if str(o["index"]) == answer.response), answer.response)
        questions.append(
            {
                "position": aq.position,
                "external_id": question.external_id,
                "version": version.version,
                "type": version.type,
                "ksb": version.ksb,
                "available": aq.marks,
                "stem": version.stem,
                "options": shown,
                "answer": answer,
                "chosen": chosen,
                "final": final.get(aq.id),
                "marks": [
                    {"mark": m, "marker": users[m.marker_id].display_name if m.marker_id in users else "automatic"}
                    for m in marks.get(aq.id, [])
                ],
            }
        )
    sitting = db.session.get(Sitting, attempt.sitting_id) if attempt.sitting_id else None
    incidents = []
    if sitting is not None:
        incidents = [
            i
            for i in db.session.scalars(select(Incident).where(Incident.sitting_id == sitting.id).order_by(Incident.occurred_at))
            if apprentice.id in (i.apprentice_ids or [])
        ]
    results = db.session.scalars(
        select(MethodResult).where(MethodResult.attempt_id == attempt.id).order_by(MethodResult.id)
    ).all()
    return {
        "attempt": attempt,
        "apprentice": apprentice,
        "standard": standard,
        "sitting": sitting,
        "reproduced": reproduced,
        "reproduce_error": reproduce_error,
        "questions": questions,
        "stoppages": list(attempt.stoppages),
        "incidents": incidents,
        "adjustments": db.session.scalars(
            select(Adjustment).where(Adjustment.apprentice_id == apprentice.id).order_by(Adjustment.id)
        ).all(),
        "events": db.session.scalars(
            select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id).order_by(AttemptEvent.at)
        ).all(),
        "results": results,
        "total": attempt.total_marks,
    }
