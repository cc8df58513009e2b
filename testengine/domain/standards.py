"""A standard described as data: the typed form of question_banks/<STANDARD>/spec.yaml.

banks/ reads and validates the YAML and builds these; the rest of the engine reads only these.
A new standard is a new folder of data, never a new `if`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TypeQuota:
    """How many questions of one type a paper has, and what each is worth."""

    count: int
    marks: int


@dataclass(frozen=True)
class Blueprint:
    """The shape of a knowledge-test paper: exact counts per type, KSBs every paper must sample."""

    quotas: Mapping[str, TypeQuota]  # question type key -> quota, in paper order
    required_ksbs: tuple[str, ...]

    @property
    def question_count(self) -> int:
        return sum(q.count for q in self.quotas.values())

    @property
    def total_marks(self) -> int:
        return sum(q.count * q.marks for q in self.quotas.values())


@dataclass(frozen=True)
class Boundary:
    """Marks from `min` to `max` inclusive earn `grade`."""

    grade: str
    min: int
    max: int


@dataclass(frozen=True)
class Condition:
    """A rule's test over method grades: any method at `any`, and/or at least N methods per grade."""

    any: str | None = None
    at_least: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class OverallRule:
    """First matching rule wins; a rule with no condition always matches."""

    grade: str
    when: Condition | None = None


@dataclass(frozen=True)
class OverallRules:
    grades: tuple[str, ...]  # lowest to highest
    rules: tuple[OverallRule, ...]


@dataclass(frozen=True)
class QuestionSetRule:
    """The questions an assessor asks in one sitting of an assessor-led method.

    `questions` are drawn per set; the first `pre_picked` are fixed at random before the
    appointment and the rest are random suggestions the assessor may swap for other unseen
    questions from the method's bank. Together the set covers every KSB in `ksbs`.
    """

    questions: int
    pre_picked: int
    ksbs: tuple[str, ...]

    @property
    def assessor_chosen(self) -> int:
        return self.questions - self.pre_picked


@dataclass(frozen=True)
class MethodSpec:
    key: str
    name: str
    grades: tuple[str, ...]  # lowest to highest
    min_questions: int | None = None
    max_questions: int | None = None
    duration_minutes: int | None = None
    question_set: QuestionSetRule | None = None


@dataclass(frozen=True)
class KnowledgeTestSpec:
    method: str  # the key of the method this test grades
    duration_minutes: int
    closed_book: bool
    total_marks: int
    blueprint: Blueprint
    boundaries: tuple[Boundary, ...]  # lowest grade first


@dataclass(frozen=True)
class ResitPolicy:
    failed_methods_only: bool
    grade_cap: str | None  # None: no cap
    window: str  # "epa_period" | "months_from_outcome"
    window_months: int | None


@dataclass(frozen=True)
class QualitySettings:
    """Thresholds for bank quality checks: the item linter and the item statistics.

    Defaults are the usual item-writing guidance; a standard's spec.yaml may set its own under
    `quality:` (a standard is data, so a stricter awarding body changes a number, not code).
    """

    near_duplicate_threshold: float = 0.6  # TF-IDF cosine at or above which two items are near-duplicates
    max_reading_grade: float = 12.0  # Flesch-Kincaid grade above which a stem is hard to read
    max_key_longest_share: float = 0.30  # bank share of MCQs whose key is strictly the longest
    low_discrimination: float = 0.20  # item-rest correlation below which an item is flagged
    # Parallel papers: once an item version has this many marked responses its facility steers
    # live draws, bringing each paper's expected score to the target (the bank's own level
    # when target_facility is None) within steer_tolerance_marks. 0 turns steering off.
    steer_min_responses: int = 30
    steer_tolerance_marks: float = 0.5
    target_facility: float | None = None


@dataclass(frozen=True)
class StandardSpec:
    code: str
    title: str
    level: int
    practice: bool
    methods: tuple[MethodSpec, ...]
    knowledge_test: KnowledgeTestSpec | None
    ksbs: Mapping[str, str]
    overall: OverallRules
    resit: ResitPolicy
    invigilation_ratio: int
    quality: QualitySettings = field(default_factory=QualitySettings)

    def method(self, key: str) -> MethodSpec:
        for method in self.methods:
            if method.key == key:
                return method
        raise KeyError(key)
