"""The shape of bank files as pydantic models, and a validator that reports every problem by path.

Models are validated field by field (`check_fields`) rather than all at once, so that the rules
that look across fields (boundaries against total marks, review dates, KSBs against the spec)
still run on the fields that are fine when another field is broken: a reviewer fixing a file
should see every problem in one pass. Type-specific question content is not modelled here; the
question-type registry (testengine.domain.question_types) checks it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from ..domain.grading import add_months
from ..domain.question_types import NAME, STEM, TextLimits, describe, plain_text_problem
from .yaml_lines import YamlPath

STATUSES = ("draft", "in_review", "approved", "retired")
ID_PATTERN = re.compile(r"^[A-Z0-9][A-Za-z0-9-]{2,63}$")
_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_KSB_PATTERN = re.compile(r"^[A-Z][A-Za-z0-9.]{0,15}$")
_CODE_PATTERN = re.compile(r"^[A-Z][A-Za-z0-9_-]{1,19}$")
REVIEW_MONTHS = 12  # DOMAIN.md: banks reviewed at least once a year
TITLE = TextLimits(1, 200)


@dataclass(frozen=True)
class Issue:
    """A problem at `path` in a document; the loader turns the path into FILE:LINE."""

    path: YamlPath
    message: str


# --- field types -------------------------------------------------------------------------------


def _plain(limits: TextLimits) -> AfterValidator:
    def check(value: str) -> str:
        problem = plain_text_problem(value, limits)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


def _matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{value!r} is not a valid {what}")
        return value

    return AfterValidator(check)


def _known_ksb(value: str, info: ValidationInfo) -> str:
    known = (info.context or {}).get("ksbs")
    if known is not None and value not in known:
        listed = ", ".join(sorted(known)) or "none"
        raise ValueError(f"unknown KSB {value!r}: not in the spec's ksbs ({listed})")
    return value


def _status(value: str) -> str:
    if value not in STATUSES:
        raise ValueError(f"unknown status {value!r} (use {', '.join(STATUSES)})")
    return value


def _not_future(value: dt.date, info: ValidationInfo) -> dt.date:
    today = (info.context or {}).get("today")
    if today is not None and value > today:
        raise ValueError(f"{value.isoformat()} is in the future (today is {today.isoformat()})")
    return value


Key = Annotated[str, _matching(_KEY_PATTERN, "name (lower-case letters, digits and _)")]
KsbCode = Annotated[str, _matching(_KSB_PATTERN, "KSB code (like K3 or S8)")]
QuestionId = Annotated[
    str,
    _matching(ID_PATTERN, "question id (3-64 letters, digits and -, starting with a capital or digit)"),
]
Title = Annotated[str, _plain(TITLE)]
PersonName = Annotated[str, _plain(NAME)]
Positive = Annotated[int, Field(ge=1)]
NonNegative = Annotated[int, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- spec.yaml -----------------------------------------------------------------------------------


class QuestionSetModel(_Strict):
    questions: Positive
    pre_picked: NonNegative
    ksbs: Annotated[list[KsbCode], Field(min_length=1)]


class MethodModel(_Strict):
    key: Key
    name: Title
    grades: Annotated[list[Key], Field(min_length=1)]
    min_questions: NonNegative | None = None
    max_questions: NonNegative | None = None
    duration_minutes: Positive | None = None
    question_set: QuestionSetModel | None = None


class QuotaModel(_Strict):
    count: Positive
    marks: Positive


class BoundaryModel(_Strict):
    grade: Key
    min: NonNegative
    max: NonNegative


class KnowledgeTestModel(_Strict):
    method: Key
    duration_minutes: Positive
    closed_book: bool
    total_marks: Positive
    questions: Annotated[dict[str, QuotaModel], Field(min_length=1)]
    ksbs: list[KsbCode]
    boundaries: Annotated[list[BoundaryModel], Field(min_length=1)]


class ConditionModel(_Strict):
    any: Key | None = None
    at_least: dict[Key, Positive] = {}


class RuleModel(_Strict):
    when: ConditionModel | None = None
    grade: Key


class OverallModel(_Strict):
    grades: Annotated[list[Key], Field(min_length=1)]
    rules: Annotated[list[RuleModel], Field(min_length=1)]


class ResitModel(_Strict):
    failed_methods_only: bool
    grade_cap: Key | None
    window: str
    window_months: int | None = None


class InvigilationModel(_Strict):
    ratio: Annotated[int, Field(ge=1)]


class QualityModel(_Strict):
    near_duplicate_threshold: Annotated[float, Field(gt=0, le=1)] = 0.6
    max_reading_grade: Annotated[float, Field(gt=0, le=30)] = 12.0
    max_key_longest_share: Annotated[float, Field(gt=0, le=1)] = 0.30
    low_discrimination: Annotated[float, Field(ge=-1, le=1)] = 0.20
    steer_min_responses: Annotated[int, Field(ge=0, le=1_000_000)] = 30
    steer_tolerance_marks: Annotated[float, Field(gt=0, le=100)] = 0.5
    target_facility: Annotated[float, Field(ge=0, le=1)] | None = None


class SpecModel(_Strict):
    standard: Annotated[str, _matching(_CODE_PATTERN, "standard code (like ST0663)")]
    title: Title
    level: Annotated[int, Field(ge=1, le=8)]
    practice: bool
    methods: Annotated[list[MethodModel], Field(min_length=1)]
    knowledge_test: KnowledgeTestModel | None
    ksbs: dict[KsbCode, Title]
    overall: OverallModel
    resit: ResitModel
    invigilation: InvigilationModel
    quality: QualityModel | None = None


# --- question files ------------------------------------------------------------------------------


class ReviewModel(_Strict):
    last_reviewed: Annotated[dt.date, AfterValidator(_not_future)]
    reviewer: PersonName
    next_due: dt.date

    @field_validator("next_due")
    @classmethod
    def _within_a_year(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        last = info.data.get("last_reviewed")
        if last is None:
            return value
        if value < last:
            raise ValueError(f"{value.isoformat()} is before last_reviewed ({last.isoformat()})")
        latest = add_months(last, REVIEW_MONTHS)
        if value > latest:
            raise ValueError(
                f"{value.isoformat()} is more than {REVIEW_MONTHS} months after last_reviewed (at most {latest.isoformat()})"
            )
        return value


class QuestionModel(_Strict):
    """The fields every question has; its type's content fields are checked by the registry."""

    id: QuestionId
    type: str
    ksb: Annotated[list[Annotated[KsbCode, AfterValidator(_known_ksb)]], Field(min_length=1)]
    marks: NonNegative | None = None  # 0 only for types worth nothing (asked by an assessor)
    status: Annotated[str, AfterValidator(_status)]
    author: PersonName
    review: ReviewModel
    enemies: list[QuestionId] = []
    stem: Annotated[str, _plain(STEM)]


# --- validating ----------------------------------------------------------------------------------

_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "date_type": "a date (YYYY-MM-DD, unquoted)",
    "list_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
}


@cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    return TypeAdapter(model.model_fields[name].rebuild_annotation())


def _unknown_field(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f"unknown field {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


def _issues(error: ValidationError, base: YamlPath) -> list[Issue]:
    out: list[Issue] = []
    for detail in error.errors():
        loc: YamlPath = tuple(part for part in detail["loc"] if part != "[key]")
        path = (*base, *loc)
        kind, value, ctx = detail["type"], detail["input"], detail.get("ctx") or {}
        if kind == "missing":
            out.append(Issue(path[:-1], f"missing field {path[-1]!r}"))
        elif kind == "extra_forbidden":
            out.append(Issue(path, f"unknown field {path[-1]!r}"))
        elif kind in _TYPE_WORDS:
            hint = (
                "; put it in quotes" if kind == "string_type" and value is not None and not isinstance(value, list | dict) else ""
            )
            out.append(Issue(path, f"should be {_TYPE_WORDS[kind]}, not {describe(value)}{hint}"))
        elif kind == "value_error":
            out.append(Issue(path, str(detail["msg"]).removeprefix("Value error, ")))
        elif kind == "too_short":
            need = ctx.get("min_length", 1)
            out.append(Issue(path, f"should have at least {need} entr{'y' if need == 1 else 'ies'}"))
        elif kind == "greater_than_equal":
            out.append(Issue(path, f"should be at least {ctx.get('ge')}, not {value}"))
        elif kind == "less_than_equal":
            out.append(Issue(path, f"should be at most {ctx.get('le')}, not {value}"))
        else:
            out.append(Issue(path, str(detail["msg"])))
    return out


def check_fields(
    model: type[BaseModel],
    raw: object,
    base: YamlPath,
    *,
    context: Mapping[str, Any] | None = None,
    ignore: frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], list[Issue]]:
    """Validate `raw` against `model` one field at a time.

    Returns the fields that are valid (defaults filled in) and an issue for every problem:
    not a mapping, unknown keys (except those in `ignore`, which another checker owns),
    missing fields and invalid values.
    """
    if not isinstance(raw, dict):
        return {}, [Issue(base, f"should be a mapping (key: value), not {describe(raw)}")]
    fields = model.model_fields
    issues = [Issue((*base, key), _unknown_field(key, list(fields))) for key in raw if key not in fields and key not in ignore]
    values: dict[str, Any] = {}
    for name, info in fields.items():
        if name not in raw:
            if info.is_required():
                issues.append(Issue(base, f"missing field {name!r}"))
            else:
                values[name] = info.get_default(call_default_factory=True)
            continue
        try:
            values[name] = _adapter(model, name).validate_python(raw[name], strict=True, context=dict(context or {}))
        except ValidationError as error:
            issues.extend(_issues(error, (*base, name)))
    return values, issues
