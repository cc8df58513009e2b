"""What is told once results are released: to the apprentice (their results page, the areas to work on
after a fail, the result letter) and to the admins (the CSV export). Reads only."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select

from ..domain.grading import describe_overall_rules, ksb_feedback
from ..domain.standards import StandardSpec
from ..extensions import db
from ..models import Apprentice, Attempt, AttemptQuestion, MethodResult, OverallResult, QuestionVersion, Standard
from .banks import spec_of
from .results import Status
from .standing_marks import final_marks


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
