"""The item linter: item-writing faults a test-wise candidate could exploit, or a marker read two ways.

Schema checks (loader.py) decide whether a file can be read at all; these rules judge how well
a valid question is written. Each finding names FILE:LINE, a rule and a severity: an `error` is a
fault a reviewer must fix before the bank is imported (a blatant cue, an undeclared near-duplicate,
a marking guide that leaves a common answer unmarked); a `warning` is a matter of judgement
shown to reviewers beside the item. Plain Python and NumPy; the text rules are in lint_text.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..domain.standards import QualitySettings
from .lint_text import (
    content_words,
    near_duplicate_pairs,
    reading_grade,
    words,
)
from .questions import BankQuestion
from .yaml_lines import YamlPath

if TYPE_CHECKING:
    from .loader import LoadedStandard

ERROR = "error"
WARNING = "warning"

#: Where a part of a question is written: (question id, path inside the question) -> (file, line).
Locator = Callable[[BankQuestion, YamlPath], tuple[str, int]]

KEY_MUCH_LONGER = 1.20  # a key more than 20% longer than every distractor is a cue on its own
CHANCE_KEY_LONGEST = 0.25  # with four options, the key is the longest one time in four by chance
SIGNIFICANCE = 0.05
NEAR_IDENTICAL_OPTIONS = 0.9
MAX_PAIRS = (
    10_000  # beyond this many near-duplicate pairs, listing them helps nobody  # similarity ratio of two options' normalised text
)
_ABSOLUTES = frozenset({"always", "never", "all", "none", "only", "every", "must"})
_ALL_NONE = re.compile(r"\b(all|none|both|neither) of the (above|options|answers)\b", re.IGNORECASE)
_NEGATIVE = re.compile(r"\b(not|except|least|never)\b", re.IGNORECASE)
# A second demand after the first ("name two ... and explain ...", "give ... and say why"):
# markers then meet answers that do one part only, and the guide must say what that earns.
_SECOND_DEMAND = re.compile(
    r"\band (explain|describe|say|give|state|suggest|outline|identify|justify)\b"
    r"|\b(name|give|identify|list|state)\b[^.?]*\band (how|why|what)\b",
    re.IGNORECASE,
)
_TWO_POINTS = re.compile(r"\b(two|both)\b", re.IGNORECASE)
_ONE_POINT = re.compile(r"\b(one|single|either|only)\b", re.IGNORECASE)
# With two points AND a second demand, the case markers disagree on is one point without the
# second part ("one technique named, no explanation"): the guide must name that case.
_ONE_POINT_ALONE = re.compile(r"\b(alone|on its own|by itself|only one|a single)\b", re.IGNORECASE)
# With one point and a second demand, it must say what either part without the other earns.
_ONE_PART_ALONE = re.compile(
    r"\b(alone|on its own|by itself|only|a single|but not both|neither|with no|without|no)\b",
    re.IGNORECASE,
)
_EXAMPLE = re.compile(r"\be\.g\.|\bfor example\b|\bfor instance\b|\bsuch as\b|['\"‘“]", re.IGNORECASE)
_GUIDE_MARKS = (("two_marks", 2), ("one_mark", 1), ("zero_marks", 0))


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    rule: str
    severity: str
    item: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity} [{self.rule}] {self.item}: {self.message}"


@dataclass(frozen=True)
class NearDuplicate:
    first: str
    second: str
    similarity: float
    suggestion: str  # the enemy entry that would declare the pair


@dataclass(frozen=True)
class LintReport:
    mcq_count: int
    key_longest_count: int
    key_longest_share: float
    key_longest_p: float  # binomial P(X >= count) when each key is longest with chance 0.25
    undeclared_near_duplicates: tuple[NearDuplicate, ...]
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == ERROR)

    def for_item(self, item: str) -> list[Finding]:
        return [f for f in self.findings if f.item == item]

    def as_dict(self) -> dict[str, Any]:
        return {
            "mcq_count": self.mcq_count,
            "key_longest_count": self.key_longest_count,
            "key_longest_share": round(self.key_longest_share, 4),
            "key_longest_p": self.key_longest_p,
            "undeclared_near_duplicates": [asdict(p) for p in self.undeclared_near_duplicates],
            "errors": len(self.errors),
            "warnings": len(self.findings) - len(self.errors),
            "findings": [asdict(f) for f in self.findings],
        }


def binomial_tail(successes: int, trials: int, p: float) -> float:
    """P(X >= successes) for X ~ Binomial(trials, p), summed exactly in log space."""
    if successes <= 0:
        return 1.0
    if successes > trials:
        return 0.0
    total = 0.0
    for k in range(successes, trials + 1):
        log_term = (
            math.lgamma(trials + 1)
            - math.lgamma(k + 1)
            - math.lgamma(trials - k + 1)
            + k * math.log(p)
            + (trials - k) * math.log1p(-p)
        )
        total += math.exp(log_term)
    return min(1.0, total)


def source_locator(question: BankQuestion, path: YamlPath) -> tuple[str, int]:
    """The question's own FILE:LINE (its `source`) when nothing finer is known."""
    file, _, line = question.source.rpartition(":")
    if file and line.isdigit():
        return file, int(line)
    return question.source or question.id, 0


class _Collector:
    def __init__(self, locate: Locator) -> None:
        self.locate = locate
        self.findings: list[Finding] = []

    def add(self, question: BankQuestion, path: YamlPath, rule: str, severity: str, message: str) -> None:
        file, line = self.locate(question, path)
        self.findings.append(Finding(file, line, rule, severity, question.id, message))


def _options(question: BankQuestion) -> list[dict[str, Any]]:
    options = question.content.get("options") or []
    return [o for o in options if isinstance(o, dict)]


def key_is_strictly_longest(question: BankQuestion) -> bool:
    """The cue test-wise candidates use: 'pick the longest option'."""
    options = _options(question)
    keys = [len(o["text"]) for o in options if o.get("correct")]
    others = [len(o["text"]) for o in options if not o.get("correct")]
    return len(keys) == 1 and bool(others) and keys[0] > max(others)


def _cueing(question: BankQuestion, out: _Collector) -> None:
    options = _options(question)
    key_index = next((i for i, o in enumerate(options) if o.get("correct")), None)
    if key_index is None or len(options) < 2:
        return
    key_len = len(options[key_index]["text"])
    longest_other = max(len(o["text"]) for i, o in enumerate(options) if i != key_index)
    path: YamlPath = ("options", key_index, "text")
    if key_len > KEY_MUCH_LONGER * longest_other:
        out.add(
            question,
            path,
            "cueing",
            ERROR,
            f"the key ({key_len} characters) is more than 20% longer than every distractor "
            f"(longest {longest_other}): lengthen distractors or tighten the key",
        )
    elif key_len > longest_other:
        out.add(
            question,
            path,
            "key-longest",
            WARNING,
            f"the key is the longest option ({key_len} against {longest_other} characters)",
        )


def _similar(a: list[str], b: list[str]) -> float:
    """difflib's similarity ratio of two options' words (case and punctuation ignored), after a
    length bound rules most pairs out cheaply."""
    if 2 * min(len(a), len(b)) < NEAR_IDENTICAL_OPTIONS * (len(a) + len(b)):
        return 2 * min(len(a), len(b)) / max(1, len(a) + len(b))
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def _option_faults(question: BankQuestion, out: _Collector) -> None:
    options = _options(question)
    texts = [words(o["text"]) for o in options]
    digits = [[w for w in t if w.isdigit()] for t in texts]
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if digits[i] != digits[j]:
                continue  # options that differ in a figure (85 / 90 per cent) differ on purpose
            ratio = _similar(texts[i], texts[j])
            if ratio >= NEAR_IDENTICAL_OPTIONS:
                out.add(
                    question,
                    ("options", j, "text"),
                    "near-identical-options",
                    ERROR,
                    f"options {i + 1} and {j + 1} are near-identical ({ratio:.0%} alike)",
                )
    for i, option in enumerate(options):
        if _ALL_NONE.search(option["text"]):
            out.add(
                question,
                ("options", i, "text"),
                "all-none-of-the-above",
                WARNING,
                f"option {i + 1} is an 'all/none of the above' option: it can be answered by spotting one true or false option",
            )
    key = [set(words(o["text"])) for o in options if o.get("correct")]
    distractors = [set(words(o["text"])) for o in options if not o.get("correct")]
    if len(key) != 1 or not distractors:
        return
    absolute_distractors = sum(1 for d in distractors if d & _ABSOLUTES)
    if absolute_distractors >= 2 and not key[0] & _ABSOLUTES:
        out.add(
            question,
            ("options",),
            "absolute-words",
            WARNING,
            f"{absolute_distractors} distractors use absolute words "
            f"({', '.join(sorted(_ABSOLUTES))}) and the key none: a test-wise candidate rules them out",
        )
    stem_words = set(content_words(question.stem))
    echoed = (stem_words & set(content_words(" ".join(key[0])))) - set().union(
        *(set(content_words(" ".join(d))) for d in distractors)
    )
    if echoed:
        out.add(
            question,
            ("options",),
            "key-repeats-stem",
            WARNING,
            f"only the key repeats the stem's word(s) {', '.join(sorted(echoed))!s}",
        )


def _negative_stem(question: BankQuestion, out: _Collector) -> None:
    """A negative question ('which is NOT ...') is misread unless the negative stands out."""
    sentences = re.split(r"(?<=[.?!])\s+", question.stem.strip())
    asked = next((s for s in reversed(sentences) if s.endswith("?")), sentences[-1])
    for match in _NEGATIVE.finditer(asked):
        if not match.group(0).isupper():
            out.add(
                question,
                ("stem",),
                "negative-stem",
                WARNING,
                f"the question is negative ({match.group(0)!r}) but the word is not emphasised: "
                f"write it in capitals ({match.group(0).upper()})",
            )
            return


def _guide(question: BankQuestion, out: _Collector) -> None:
    guide = question.content.get("guide")
    if not isinstance(guide, dict):
        return
    for name, mark in _GUIDE_MARKS:
        text = guide.get(name)
        if not isinstance(text, str) or not text.strip():
            out.add(
                question,
                ("guide", name),
                "guide-incomplete",
                ERROR,
                f"the guide does not say what earns {mark} mark(s)",
            )
            continue
        has_example = bool(_EXAMPLE.search(text)) or (mark == 2 and bool(guide.get("indicative_content")))
        if not has_example:
            out.add(
                question,
                ("guide", name),
                "guide-example",
                WARNING,
                f"{name} has no example answer (e.g. ..., such as ...) for markers to compare",
            )
    lower = " ".join(str(guide.get(name) or "") for name in ("one_mark", "zero_marks"))
    # The demand is in the question's last sentence; "two weeks ago" in a scenario is not one.
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", question.stem.strip()) if s]
    asked = sentences[-1] if sentences else ""
    second_demand = bool(_SECOND_DEMAND.search(asked))
    two_points = bool(_TWO_POINTS.search(asked))
    if second_demand and two_points:
        needed = _ONE_POINT_ALONE
    elif second_demand:
        needed = _ONE_PART_ALONE
    else:
        needed = _ONE_POINT
    if (second_demand or two_points) and not needed.search(lower):
        out.add(
            question,
            ("guide", "one_mark"),
            "guide-one-part",
            ERROR,
            "a two-part question: the guide should say what one part alone earns "
            "(for example a single point named without explanation)",
        )


def _readability(questions: Sequence[BankQuestion], settings: QualitySettings, out: _Collector) -> None:
    lengths = [len(words(q.stem)) for q in questions]
    median = sorted(lengths)[len(lengths) // 2] if lengths else 0
    spread = sorted(abs(n - median) for n in lengths)[len(lengths) // 2] if lengths else 0
    for question, length in zip(questions, lengths, strict=True):
        grade = reading_grade(question.stem)
        if grade > settings.max_reading_grade:
            out.add(
                question,
                ("stem",),
                "readability",
                WARNING,
                f"the stem reads at grade {grade:.1f} (Flesch-Kincaid; the spec allows "
                f"{settings.max_reading_grade:g}): shorter sentences and words",
            )
        # A robust outlier: more than 4 median absolute deviations from the median length.
        if len(lengths) >= 10 and abs(length - median) > 4 * max(spread, 1):
            out.add(
                question,
                ("stem",),
                "length-outlier",
                WARNING,
                f"the stem has {length} words, far from the bank's usual {median}",
            )


def _enemy_pairs(questions: Iterable[BankQuestion]) -> set[frozenset[str]]:
    return {frozenset((q.id, e)) for q in questions for e in q.enemies}


def _item_text(question: BankQuestion) -> str:
    parts = [question.stem, *(o["text"] for o in _options(question))]
    return " ".join(parts)


def lint_questions(
    questions: Sequence[BankQuestion],
    settings: QualitySettings | None = None,
    *,
    locate: Locator = source_locator,
    bank_location: tuple[str, int] | None = None,
) -> LintReport:
    """Every finding over a bank's live questions (retired ones are skipped), and the bank figures.

    `locate` turns a question part into FILE:LINE; `bank_location` is where bank-wide findings
    point (the spec file), defaulting to the first MCQ.
    """
    settings = settings or QualitySettings()
    live = [q for q in questions if q.status != "retired"]
    out = _Collector(locate)
    mcqs = [q for q in live if _options(q)]
    for question in live:
        if _options(question):
            _cueing(question, out)
            _option_faults(question, out)
            _negative_stem(question, out)
        if question.content.get("guide") is not None:
            _guide(question, out)
    _readability(live, settings, out)

    longest = sum(1 for q in mcqs if key_is_strictly_longest(q))
    share = longest / len(mcqs) if mcqs else 0.0
    p_value = binomial_tail(longest, len(mcqs), CHANCE_KEY_LONGEST)
    if mcqs and share > settings.max_key_longest_share:
        file, line = bank_location or out.locate(mcqs[0], ())
        severe = p_value < SIGNIFICANCE
        out.findings.append(
            Finding(
                file,
                line,
                "key-longest-share",
                ERROR if severe else WARNING,
                "bank",
                f"the key is strictly the longest option in {longest} of {len(mcqs)} MCQs "
                f"({share:.0%}; the spec allows {settings.max_key_longest_share:.0%}, chance is "
                f"25%, binomial p = {p_value:.2g})",
            )
        )

    declared = _enemy_pairs(live)
    by_id = {q.id: q for q in live}
    duplicates: list[NearDuplicate] = []
    texts = [_item_text(q) for q in live]
    found = near_duplicate_pairs(texts, settings.near_duplicate_threshold, MAX_PAIRS)
    if len(found) >= MAX_PAIRS and live:
        file, line = bank_location or out.locate(live[0], ())
        out.findings.append(
            Finding(
                file,
                line,
                "near-duplicate",
                ERROR,
                "bank",
                f"at least {MAX_PAIRS:,} near-duplicate pairs: the bank's items are written from "
                "one template; only the first are listed",
            )
        )
    for i, j, similarity in found:
        first, second = sorted((live[i].id, live[j].id))
        if frozenset((first, second)) in declared:
            continue
        suggestion = f"{first}: enemies: [{', '.join([*by_id[first].enemies, second])}]"
        duplicates.append(NearDuplicate(first, second, round(similarity, 3), suggestion))
        out.add(
            by_id[first],
            ("id",),
            "near-duplicate",
            ERROR,
            f"near-duplicate of {second} (TF-IDF cosine {similarity:.2f}, threshold "
            f"{settings.near_duplicate_threshold:g}) and not declared enemies; add to {first} "
            f"`enemies: [{second}]`, or retire one",
        )
    findings = sorted(out.findings, key=lambda f: (f.file, f.line, f.rule))
    return LintReport(
        mcq_count=len(mcqs),
        key_longest_count=longest,
        key_longest_share=share,
        key_longest_p=p_value,
        undeclared_near_duplicates=tuple(sorted(duplicates, key=lambda d: (d.first, d.second))),
        findings=tuple(findings),
    )


def _file_locator(folder: Path) -> Locator:
    """A locator that finds each question part's own line by re-reading the question files."""
    from .loader import QUESTION_SUFFIXES, QUESTIONS_DIR
    from .yaml_lines import LineMap, YamlError, load_yaml

    places: dict[str, tuple[str, YamlPath, LineMap]] = {}
    directory = folder / QUESTIONS_DIR
    paths = sorted(directory.iterdir()) if directory.is_dir() else []
    for path in paths:
        if path.suffix not in QUESTION_SUFFIXES:
            continue
        try:
            doc = load_yaml(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, YamlError):
            continue
        items = doc.data.get("questions") if isinstance(doc.data, dict) else None
        for index, raw in enumerate(items if isinstance(items, list) else []):
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                places[raw["id"]] = (str(path), ("questions", index), doc.lines)

    def locate(question: BankQuestion, path: YamlPath) -> tuple[str, int]:
        place = places.get(question.id)
        if place is None:
            return source_locator(question, path)
        file, base, lines = place
        return file, lines.line_of((*base, *path))

    return locate


def lint_loaded(loaded: LoadedStandard) -> LintReport:
    """Lint a loaded standard folder, each finding at the line of the part it is about."""
    from .loader import SPEC_FILE

    return lint_questions(
        loaded.questions,
        loaded.spec.quality,
        locate=_file_locator(loaded.folder),
        bank_location=(str(loaded.folder / SPEC_FILE), 1),
    )
