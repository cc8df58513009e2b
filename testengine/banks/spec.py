"""Reading spec.yaml: its shape (schema.SpecModel), the rules across its fields, and the typed StandardSpec.

The cross-field rules are the ones a wrong number in a spec would otherwise turn into wrong
grades: boundaries that leave a mark ungraded or grade it twice, a total that the paper cannot
add up to, an overall rule that names a grade nobody can get.
"""

from __future__ import annotations

import itertools
from typing import Any

from ..domain.question_types import QUESTION_TYPES
from ..domain.standards import (
    Blueprint,
    Boundary,
    Condition,
    KnowledgeTestSpec,
    MethodSpec,
    OverallRule,
    OverallRules,
    QualitySettings,
    QuestionSetRule,
    ResitPolicy,
    StandardSpec,
    TypeQuota,
)
from .schema import (
    BoundaryModel,
    Issue,
    KnowledgeTestModel,
    MethodModel,
    OverallModel,
    ResitModel,
    SpecModel,
    check_fields,
)

WINDOWS = ("epa_period", "months_from_outcome")


def _question_set_issues(method: MethodModel, i: int, known_ksbs: Any) -> list[Issue]:
    """A method's question set must fit its min/max questions and name known KSBs once each."""
    rule = method.question_set
    if rule is None:
        return []
    base: tuple[str | int, ...] = ("methods", i, "question_set")
    issues: list[Issue] = []
    if method.min_questions is not None and rule.questions < method.min_questions:
        issues.append(Issue((*base, "questions"), f"is {rule.questions}, below min_questions ({method.min_questions})"))
    if method.max_questions is not None and rule.questions > method.max_questions:
        issues.append(Issue((*base, "questions"), f"is {rule.questions}, above max_questions ({method.max_questions})"))
    if rule.pre_picked > rule.questions:
        issues.append(Issue((*base, "pre_picked"), f"is {rule.pre_picked}, more than the set's {rule.questions} questions"))
    for k, code in enumerate(rule.ksbs):
        if isinstance(known_ksbs, dict) and code not in known_ksbs:
            issues.append(Issue((*base, "ksbs", k), f"KSB {code!r} is not in the spec's ksbs"))
        if code in rule.ksbs[:k]:
            issues.append(Issue((*base, "ksbs", k), f"KSB {code!r} is listed twice"))
    return issues


def _methods_issues(methods: list[MethodModel], known_ksbs: Any = None) -> list[Issue]:
    issues: list[Issue] = []
    seen: set[str] = set()
    for i, method in enumerate(methods):
        if method.key in seen:
            issues.append(Issue(("methods", i, "key"), f"duplicate method key {method.key!r}"))
        seen.add(method.key)
        if len(set(method.grades)) != len(method.grades):
            issues.append(Issue(("methods", i, "grades"), "names a grade twice"))
        if method.min_questions is not None and method.max_questions is not None and method.min_questions > method.max_questions:
            issues.append(
                Issue(
                    ("methods", i, "max_questions"),
                    f"is less than min_questions ({method.min_questions})",
                )
            )
        issues += _question_set_issues(method, i, known_ksbs)
    return issues


def _boundary_issues(boundaries: list[BoundaryModel], total: int, grades: tuple[str, ...] | None) -> list[Issue]:
    """Boundaries must grade every mark from 0 to total exactly once."""
    base = ("knowledge_test", "boundaries")
    issues: list[Issue] = []
    for i, boundary in enumerate(boundaries):
        if boundary.min > boundary.max:
            issues.append(Issue((*base, i), f"min ({boundary.min}) is above max ({boundary.max})"))
        if grades is not None and boundary.grade not in grades:
            issues.append(
                Issue(
                    (*base, i, "grade"),
                    f"{boundary.grade!r} is not a grade of the method ({', '.join(grades)})",
                )
            )
    if issues:
        return issues
    seen: dict[str, int] = {}
    for i, boundary in enumerate(boundaries):
        if boundary.grade in seen:
            issues.append(Issue((*base, i, "grade"), f"{boundary.grade!r} has two boundaries"))
        seen[boundary.grade] = i
    order = sorted(range(len(boundaries)), key=lambda i: (boundaries[i].min, boundaries[i].max))
    first, last = boundaries[order[0]], boundaries[order[-1]]
    if first.min != 0:
        issues.append(
            Issue(
                (*base, order[0], "min"),
                f"the lowest boundary starts at {first.min}, not 0: marks below it get no grade",
            )
        )
    for before, after in itertools.pairwise(order):
        low, high = boundaries[before], boundaries[after]
        if high.min <= low.max:
            issues.append(
                Issue(
                    (*base, after),
                    f"{high.grade} ({high.min}-{high.max}) overlaps {low.grade} ({low.min}-{low.max})",
                )
            )
        elif high.min > low.max + 1:
            issues.append(
                Issue(
                    (*base, after),
                    f"gap: marks {low.max + 1}-{high.min - 1} fall between {low.grade} and {high.grade}",
                )
            )
    if last.max != total:
        issues.append(
            Issue(
                (*base, order[-1], "max"),
                f"the highest boundary ends at {last.max}, not total_marks ({total})",
            )
        )
    return issues


def _knowledge_test_issues(kt: KnowledgeTestModel, values: dict[str, Any]) -> list[Issue]:
    base = ("knowledge_test",)
    issues: list[Issue] = []
    methods: list[MethodModel] | None = values.get("methods")
    grades: tuple[str, ...] | None = None
    if methods is not None:
        method = next((m for m in methods if m.key == kt.method), None)
        if method is None:
            issues.append(
                Issue(
                    (*base, "method"),
                    f"no method {kt.method!r} in methods ({', '.join(m.key for m in methods)})",
                )
            )
        else:
            grades = tuple(method.grades)
    for key, quota in kt.questions.items():
        qtype = QUESTION_TYPES.get(key)
        if qtype is None:
            issues.append(
                Issue(
                    (*base, "questions", key),
                    f"unknown question type {key!r} (known: {', '.join(QUESTION_TYPES)})",
                )
            )
        elif not qtype.on_papers:
            issues.append(
                Issue(
                    (*base, "questions", key),
                    f"{key} questions are asked by an assessor and never go on a paper",
                )
            )
        elif qtype.fixed_marks is not None and quota.marks != qtype.fixed_marks:
            issues.append(
                Issue(
                    (*base, "questions", key, "marks"),
                    f"every {key} question is worth {qtype.fixed_marks}, not {quota.marks}",
                )
            )
    paper_total = sum(q.count * q.marks for q in kt.questions.values())
    if paper_total != kt.total_marks:
        sums = " + ".join(f"{q.count}x{q.marks}" for q in kt.questions.values())
        issues.append(
            Issue(
                (*base, "total_marks"),
                f"is {kt.total_marks} but the paper adds up to {sums} = {paper_total}",
            )
        )
    known_ksbs = values.get("ksbs")
    for i, code in enumerate(kt.ksbs):
        if known_ksbs is not None and code not in known_ksbs:
            issues.append(Issue((*base, "ksbs", i), f"KSB {code!r} is not in the spec's ksbs"))
        if code in kt.ksbs[:i]:
            issues.append(Issue((*base, "ksbs", i), f"KSB {code!r} is listed twice"))
    issues += _boundary_issues(kt.boundaries, kt.total_marks, grades)
    return issues


def _method_grades(values: dict[str, Any]) -> set[str] | None:
    methods: list[MethodModel] | None = values.get("methods")
    return None if methods is None else {grade for m in methods for grade in m.grades}


def _overall_issues(overall: OverallModel, values: dict[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    grades = set(overall.grades)
    if len(grades) != len(overall.grades):
        issues.append(Issue(("overall", "grades"), "names a grade twice"))
    method_grades = _method_grades(values)

    def check_grade(path: tuple[str | int, ...], grade: str, *, counted: bool) -> None:
        if grade not in grades:
            issues.append(Issue(path, f"grade {grade!r} is not in overall.grades ({', '.join(overall.grades)})"))
        elif counted and method_grades is not None and grade not in method_grades:
            issues.append(Issue(path, f"no method can be graded {grade!r}, so this condition never holds"))

    last = len(overall.rules) - 1
    for i, rule in enumerate(overall.rules):
        base = ("overall", "rules", i)
        check_grade((*base, "grade"), rule.grade, counted=False)
        if rule.when is None:
            if i != last:
                issues.append(Issue(base, "has no condition, so the rules after it never apply"))
            continue
        if rule.when.any is None and not rule.when.at_least:
            issues.append(
                Issue(
                    (*base, "when"),
                    "names no condition; leave 'when' out for the rule that always applies",
                )
            )
        if rule.when.any is not None:
            check_grade((*base, "when", "any"), rule.when.any, counted=True)
        for grade in rule.when.at_least:
            check_grade((*base, "when", "at_least", grade), grade, counted=True)
        if i == last:
            issues.append(
                Issue(
                    base,
                    "the last rule must have no 'when', so every combination of grades gets one",
                )
            )
    return issues


def _resit_issues(resit: ResitModel, values: dict[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    method_grades = _method_grades(values)
    if resit.grade_cap is not None and method_grades is not None and resit.grade_cap not in method_grades:
        issues.append(
            Issue(
                ("resit", "grade_cap"),
                f"{resit.grade_cap!r} is not a grade a method can get ({', '.join(sorted(method_grades))})",
            )
        )
    if resit.window not in WINDOWS:
        issues.append(Issue(("resit", "window"), f"unknown window {resit.window!r} (use {' or '.join(WINDOWS)})"))
    elif resit.window == "months_from_outcome":
        if resit.window_months is None:
            issues.append(
                Issue(
                    ("resit",),
                    "missing field 'window_months' (needed when window is months_from_outcome)",
                )
            )
        elif resit.window_months < 1:
            issues.append(Issue(("resit", "window_months"), f"should be at least 1, not {resit.window_months}"))
    elif resit.window_months is not None:
        issues.append(
            Issue(
                ("resit", "window_months"),
                f"only applies to months_from_outcome; use null for {resit.window}",
            )
        )
    return issues


def _build(values: dict[str, Any]) -> StandardSpec:
    spec = SpecModel.model_construct(**values)
    kt = spec.knowledge_test
    knowledge_test = None
    if kt is not None:
        knowledge_test = KnowledgeTestSpec(
            method=kt.method,
            duration_minutes=kt.duration_minutes,
            closed_book=kt.closed_book,
            total_marks=kt.total_marks,
            blueprint=Blueprint(
                quotas={key: TypeQuota(count=q.count, marks=q.marks) for key, q in kt.questions.items()},
                required_ksbs=tuple(kt.ksbs),
            ),
            boundaries=tuple(Boundary(grade=b.grade, min=b.min, max=b.max) for b in sorted(kt.boundaries, key=lambda b: b.min)),
        )
    return StandardSpec(
        code=spec.standard,
        title=spec.title,
        level=spec.level,
        practice=spec.practice,
        methods=tuple(
            MethodSpec(
                key=m.key,
                name=m.name,
                grades=tuple(m.grades),
                min_questions=m.min_questions,
                max_questions=m.max_questions,
                duration_minutes=m.duration_minutes,
                question_set=None
                if m.question_set is None
                else QuestionSetRule(
                    questions=m.question_set.questions,
                    pre_picked=m.question_set.pre_picked,
                    ksbs=tuple(m.question_set.ksbs),
                ),
            )
            for m in spec.methods
        ),
        knowledge_test=knowledge_test,
        ksbs=dict(spec.ksbs),
        overall=OverallRules(
            grades=tuple(spec.overall.grades),
            rules=tuple(
                OverallRule(
                    grade=r.grade,
                    when=None if r.when is None else Condition(any=r.when.any, at_least=dict(r.when.at_least)),
                )
                for r in spec.overall.rules
            ),
        ),
        resit=ResitPolicy(
            failed_methods_only=spec.resit.failed_methods_only,
            grade_cap=spec.resit.grade_cap,
            window=spec.resit.window,
            window_months=spec.resit.window_months,
        ),
        invigilation_ratio=spec.invigilation.ratio,
        quality=QualitySettings()
        if spec.quality is None
        else QualitySettings(
            near_duplicate_threshold=spec.quality.near_duplicate_threshold,
            max_reading_grade=spec.quality.max_reading_grade,
            max_key_longest_share=spec.quality.max_key_longest_share,
            low_discrimination=spec.quality.low_discrimination,
            steer_min_responses=spec.quality.steer_min_responses,
            steer_tolerance_marks=spec.quality.steer_tolerance_marks,
            target_facility=spec.quality.target_facility,
        ),
    )


def read_spec(data: object) -> tuple[StandardSpec | None, list[Issue]]:
    """Check a spec document and build its StandardSpec; None and every issue when it is wrong."""
    values, issues = check_fields(SpecModel, data, ())
    if "methods" in values:
        issues += _methods_issues(values["methods"], values.get("ksbs"))
    if values.get("knowledge_test") is not None:
        issues += _knowledge_test_issues(values["knowledge_test"], values)
    if "overall" in values:
        issues += _overall_issues(values["overall"], values)
    if "resit" in values:
        issues += _resit_issues(values["resit"], values)
    if issues:
        return None, issues
    return _build(values), []


def spec_ksbs(data: object) -> frozenset[str] | None:
    """The KSB codes a spec document defines, read leniently so questions can be checked against
    them even when another part of the spec is wrong; None when there is no usable list."""
    if isinstance(data, dict) and isinstance(data.get("ksbs"), dict):
        return frozenset(str(code) for code in data["ksbs"])
    return None
