"""The registry of question types: the one place that knows what each type looks like and how it is marked.

A type says what its content is (the fields a bank file gives beyond the common ones), checks that
content, and marks a response. The bank loader, the paper, the marking screens and the reviewer
screens all ask the registry, so adding a type is one class here and one entry in QUESTION_TYPES,
never an `if type == ...` elsewhere (CTFd's challenge-type registry, for the same reason).

Pure: values in, values out; no Flask, no SQLAlchemy, no YAML.
"""

from __future__ import annotations

import logging
import re
import string
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import DomainError

log = logging.getLogger(__name__)

#: Where a problem is inside a question, relative to the question's mapping: ("options", 2, "text").
ContentPath = tuple[str | int, ...]


class UnknownQuestionType(DomainError):
    code = "unknown_question_type"


@dataclass(frozen=True)
class ContentIssue:
    """One thing wrong with a question's content, at `path` inside the question."""

    path: ContentPath
    message: str


@dataclass(frozen=True)
class TextLimits:
    """How long a piece of question wording may be, in characters."""

    min_chars: int
    max_chars: int


# The plain-text rules of docs/bank-format.md. Stems must say enough to be a question and
# little enough to read under time; options must be scannable side by side.
STEM = TextLimits(10, 1000)
OPTION_TEXT = TextLimits(1, 300)
NOTE = TextLimits(1, 1000)  # rationales and marking-guide entries
NAME = TextLimits(1, 120)  # authors and reviewers (the width of the database column)

# Wording is shown in a browser. Templates escape it, but bank text is reviewed content that also
# ends up in PDFs, exports and other tools, so anything that could be read as markup or script is
# refused at the door rather than trusted to every later escape.
_TAG = re.compile(r"<[A-Za-z/!?]")
_SCRIPT_URL = re.compile(r"\b(?:javascript|vbscript)\s*:", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31};|#[0-9]+;?|#[xX][0-9A-Fa-f]+;?)")
_ALLOWED_CONTROL = frozenset("\n\t")


def plain_text_problem(value: str, limits: TextLimits) -> str | None:
    """Why `value` is not acceptable question wording, or None when it is.

    Length counts characters as written; whitespace-only text counts as empty because a blank
    option or guide entry is as useless to a candidate or marker as a missing one.
    """
    if not value.strip():
        return "is empty"
    if len(value) < limits.min_chars:
        return f"is too short ({len(value)} characters; at least {limits.min_chars})"
    if len(value) > limits.max_chars:
        return f"is too long ({len(value)} characters; at most {limits.max_chars})"
    for char in value:
        if unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROL:
            return f"contains a control character (U+{ord(char):04X}); use plain text"
    tag = _TAG.search(value)
    if tag:
        return f"contains markup ({value[tag.start() : tag.start() + 12]!r}); use plain text, no HTML"
    if _SCRIPT_URL.search(value):
        return "contains a script address (javascript:); use plain text"
    entity = _ENTITY.search(value)
    if entity:
        return f"contains an HTML entity ({entity.group(0)!r}); write the character itself"
    return None


class _Reader:
    """Collects issues while reading a type's content fields, so every problem is reported."""

    def __init__(self) -> None:
        self.issues: list[ContentIssue] = []

    def fail(self, path: ContentPath, message: str) -> None:
        self.issues.append(ContentIssue(path, message))

    def mapping(self, raw: object, path: ContentPath, fields: Sequence[str], required: Sequence[str]) -> Mapping[str, Any] | None:
        if not isinstance(raw, Mapping):
            self.fail(path, f"should be a mapping (key: value), not {describe(raw)}")
            return None
        for key in raw:
            if key not in fields:
                self.fail((*path, str(key)), f"unknown field {key!r} (expected {', '.join(fields)})")
        for key in required:
            if key not in raw:
                self.fail(path, f"missing field {key!r}")
        return raw

    def text(self, raw: object, path: ContentPath, limits: TextLimits) -> str | None:
        if not isinstance(raw, str):
            self.fail(path, f"should be text, not {describe(raw)}{_quote_hint(raw)}")
            return None
        problem = plain_text_problem(raw, limits)
        if problem:
            self.fail(path, problem)
            return None
        return raw

    def texts(self, raw: object, path: ContentPath, limits: TextLimits, *, min_items: int) -> list[str] | None:
        if not isinstance(raw, list):
            self.fail(path, f"should be a list, not {describe(raw)}")
            return None
        if len(raw) < min_items:
            self.fail(path, f"should have at least {min_items} entr{'y' if min_items == 1 else 'ies'}")
            return None
        out = [self.text(item, (*path, i), limits) for i, item in enumerate(raw)]
        return [t for t in out if t is not None] if all(t is not None for t in out) else None

    def flag(self, raw: object, path: ContentPath) -> bool | None:
        if not isinstance(raw, bool):
            self.fail(path, f"should be true or false, not {describe(raw)}")
            return None
        return raw


def _comparable(text: str) -> str:
    """Text as a candidate reads it: "Keep a record" and " keep  a RECORD " are the same option."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def describe(value: object) -> str:
    """A reader's name for a YAML value's kind, for messages about wrong types."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return f"true/false ({value})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return f"a {type(value).__name__} ({value})"


def _quote_hint(value: object) -> str:
    # YAML turns unquoted yes/no/on/off, numbers and dates into non-text values.
    return "; put it in quotes" if isinstance(value, bool | int | float) or hasattr(value, "isoformat") else ""


class QuestionType(ABC):
    """What the engine needs to know about one kind of question.

    `fixed_marks` is what every question of the type is worth (None: each question says);
    `auto_marked` types are marked by `mark` alone, the others wait for a human marker.
    `content_fields` are the question-file keys that belong to the type (the rest are common).
    """

    key: str
    label: str
    fixed_marks: int | None
    auto_marked: bool
    content_fields: tuple[str, ...]
    #: False for questions an assessor asks in person: they never go on a knowledge-test paper.
    on_papers: bool = True

    @abstractmethod
    def read_content(self, raw: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[ContentIssue]]:
        """Check the content fields as read from a bank file; return the stored content, or the issues.

        `raw` holds only this type's content fields (those present). The content returned is
        JSON-ready and normalised, so the same question read twice gives the same fingerprint.
        """

    @abstractmethod
    def file_content(self, content: Mapping[str, Any]) -> dict[str, Any]:
        """The content as bank-file fields, in the documented order (for export)."""

    @abstractmethod
    def mark(self, content: Mapping[str, Any], response: str | None) -> int | None:
        """Marks for a response, or None when a human marker must decide. Blank answers earn 0.

        Never raises, whatever is stored: a response that cannot be an answer earns 0 and a warning
        in the log, so one bad row cannot stop a submission or a room's sweep.
        """

    def closed_responses(self, content: Mapping[str, Any]) -> frozenset[str] | None:
        """The only responses a question of this type can take (a blank aside), or None for free text."""
        return None

    def response_problem(self, content: Mapping[str, Any], response: str | None) -> str | None:
        """Why `response` cannot be an answer to this question, or None when it can. A blank always can."""
        return response_problem(self.closed_responses(content), response)


def response_problem(accepted: frozenset[str] | None, response: str | None) -> str | None:
    """Why `response` is not one of `accepted` (None: any text), or None when it is or is blank.

    Apart from the question's content so a caller can keep only the accepted set (a paper's worth
    of sets is small; a paper's worth of content is not).
    """
    if accepted is None or response is None or not response.strip():
        return None
    if response.strip() in accepted:
        return None
    return f"must be one of the question's options ({', '.join(sorted(accepted, key=_option_order))})"


def _option_order(value: str) -> tuple[int, str]:
    return (int(value), value) if value.isdecimal() and len(value) < 10 else (2**31, value)


class MultipleChoice(QuestionType):
    """Four options, exactly one correct, one mark (ST0663 plan). Options are shuffled per paper,
    so a response names the ORIGINAL option index (0-based), never the position shown."""

    key = "mcq"
    label = "Multiple choice"
    fixed_marks = 1
    auto_marked = True
    content_fields = ("options",)
    option_count = 4

    def read_content(self, raw: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[ContentIssue]]:
        reader = _Reader()
        if "options" not in raw:
            reader.fail((), "missing field 'options' (an mcq has 4 options)")
            return None, reader.issues
        options_raw = raw["options"]
        if not isinstance(options_raw, list):
            reader.fail(
                ("options",),
                f"should be a list of {self.option_count} options, not {describe(options_raw)}",
            )
            return None, reader.issues
        if len(options_raw) != self.option_count:
            reader.fail(
                ("options",),
                f"an mcq has exactly {self.option_count} options, not {len(options_raw)}",
            )
        options: list[dict[str, Any]] = []
        positions: list[int] = []  # each read option's place in the file, which an unreadable one does not take
        for i, option_raw in enumerate(options_raw):
            path: ContentPath = ("options", i)
            option = reader.mapping(option_raw, path, ("text", "correct", "rationale"), ("text",))
            if option is None:
                continue
            text = reader.text(option.get("text"), (*path, "text"), OPTION_TEXT) if "text" in option else None
            correct = reader.flag(option["correct"], (*path, "correct")) if "correct" in option else False
            rationale = reader.text(option["rationale"], (*path, "rationale"), NOTE) if "rationale" in option else None
            options.append({"text": text, "correct": correct, "rationale": rationale})
            positions.append(i)
        # Count the correct options only when every flag could be read, or one typo reports twice.
        if len(options) == len(options_raw) and all(option["correct"] is not None for option in options):
            correct_count = sum(1 for option in options if option["correct"])
            if correct_count != 1:
                reader.fail(
                    ("options",),
                    f"an mcq has exactly 1 option with 'correct: true', not {correct_count}",
                )
        seen: dict[str, int] = {}
        for i, option in zip(positions, options):
            if option["text"] is None:
                continue
            same = seen.setdefault(_comparable(option["text"]), i)
            if same != i:
                reader.fail(
                    ("options", i, "text"),
                    f"option {string.ascii_uppercase[i]} repeats option {string.ascii_uppercase[same]}"
                    " (ignoring case and spaces): the options must all differ",
                )
        if reader.issues:
            return None, reader.issues
        return {"options": options}, []

    def file_content(self, content: Mapping[str, Any]) -> dict[str, Any]:
        options: list[dict[str, Any]] = []
        for option in content["options"]:
            entry: dict[str, Any] = {"text": option["text"]}
            if option.get("correct"):
                entry["correct"] = True
            if option.get("rationale") is not None:
                entry["rationale"] = option["rationale"]
            options.append(entry)
        return {"options": options}

    def closed_responses(self, content: Mapping[str, Any]) -> frozenset[str]:
        """The option ids: each option's ORIGINAL index, as text ("0" to "3")."""
        options = content.get("options")
        return frozenset(str(i) for i in range(len(options))) if isinstance(options, list) else frozenset()

    def mark(self, content: Mapping[str, Any], response: str | None) -> int | None:
        if response is None or not response.strip():
            return 0
        problem = self.response_problem(content, response)
        if problem is not None:
            shown = response if len(response) <= 40 else f"{response[:40]}... ({len(response)} characters)"
            log.warning("multiple-choice response %r %s: marked 0", shown, problem)
            return 0
        option = content["options"][int(response.strip())]
        return 1 if isinstance(option, Mapping) and option.get("correct") is True else 0


class ShortAnswer(QuestionType):
    """Two marks against a marking guide; a partial answer may get 1 and a blank one gets 0.
    Only the blank case is decided here: everything else goes to an independent marker."""

    key = "short_answer"
    label = "Short answer"
    fixed_marks = 2
    auto_marked = False
    content_fields = ("guide",)
    guide_fields = (
        "indicative_content",
        "two_marks",
        "one_mark",
        "zero_marks",
        "acceptable_alternatives",
    )
    required_guide_fields = ("indicative_content", "two_marks", "one_mark", "zero_marks")

    def read_content(self, raw: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[ContentIssue]]:
        reader = _Reader()
        if "guide" not in raw:
            reader.fail((), "missing field 'guide' (a short answer needs a marking guide)")
            return None, reader.issues
        guide_raw = reader.mapping(raw["guide"], ("guide",), self.guide_fields, self.required_guide_fields)
        if guide_raw is None:
            return None, reader.issues
        path: ContentPath = ("guide",)
        indicative = (
            reader.texts(guide_raw["indicative_content"], (*path, "indicative_content"), NOTE, min_items=1)
            if "indicative_content" in guide_raw
            else None
        )
        levels = {
            key: reader.text(guide_raw[key], (*path, key), NOTE) if key in guide_raw else None
            for key in ("two_marks", "one_mark", "zero_marks")
        }
        alternatives = (
            reader.texts(
                guide_raw["acceptable_alternatives"],
                (*path, "acceptable_alternatives"),
                NOTE,
                min_items=0,
            )
            if "acceptable_alternatives" in guide_raw
            else []
        )
        if reader.issues:
            return None, reader.issues
        guide = {
            "indicative_content": indicative,
            **levels,
            "acceptable_alternatives": alternatives,
        }
        return {"guide": guide}, []

    def file_content(self, content: Mapping[str, Any]) -> dict[str, Any]:
        guide = content["guide"]
        out: dict[str, Any] = {
            "indicative_content": list(guide["indicative_content"]),
            "two_marks": guide["two_marks"],
            "one_mark": guide["one_mark"],
            "zero_marks": guide["zero_marks"],
        }
        if guide.get("acceptable_alternatives"):
            out["acceptable_alternatives"] = list(guide["acceptable_alternatives"])
        return {"guide": out}

    def mark(self, content: Mapping[str, Any], response: str | None) -> int | None:
        if response is None or not response.strip():
            return 0
        return None


_METHOD_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class AssessorQuestion(QuestionType):
    """An open question an independent assessor asks in an observation, presentation or
    professional discussion. It carries no marks: the assessor records evidence against the KSBs
    it is tagged with, and `pass_shows` / `distinction_shows` say what an answer at each grade
    shows (the plan's grading descriptors, applied to this question). `method` is the key of the
    spec method whose bank it belongs to. Never on a knowledge-test paper."""

    key = "assessor_question"
    label = "Assessor question"
    fixed_marks = 0
    auto_marked = False
    on_papers = False
    content_fields = ("method", "pass_shows", "distinction_shows", "follow_ups")

    def read_content(self, raw: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[ContentIssue]]:
        reader = _Reader()
        for required in ("method", "pass_shows", "distinction_shows"):
            if required not in raw:
                reader.fail((), f"missing field {required!r} (an assessor question needs it)")
        if reader.issues:
            return None, reader.issues
        method = raw["method"]
        if not isinstance(method, str) or not _METHOD_KEY.match(method):
            reader.fail(("method",), f"should be a method key (like observation), not {describe(method)}")
        pass_shows = reader.texts(raw["pass_shows"], ("pass_shows",), NOTE, min_items=1)
        distinction_shows = reader.texts(raw["distinction_shows"], ("distinction_shows",), NOTE, min_items=1)
        follow_ups = reader.texts(raw["follow_ups"], ("follow_ups",), NOTE, min_items=0) if "follow_ups" in raw else []
        if reader.issues:
            return None, reader.issues
        return {
            "method": method,
            "pass_shows": pass_shows,
            "distinction_shows": distinction_shows,
            "follow_ups": follow_ups,
        }, []

    def file_content(self, content: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": content["method"],
            "pass_shows": list(content["pass_shows"]),
            "distinction_shows": list(content["distinction_shows"]),
        }
        if content.get("follow_ups"):
            out["follow_ups"] = list(content["follow_ups"])
        return out

    def mark(self, content: Mapping[str, Any], response: str | None) -> int | None:
        return None  # never answered on screen: the assessor grades the method, not the question


QUESTION_TYPES: dict[str, QuestionType] = {t.key: t for t in (MultipleChoice(), ShortAnswer(), AssessorQuestion())}


def get_type(key: str) -> QuestionType:
    """The registered type for `key`; an unknown key is a refusal, never a silent default."""
    try:
        return QUESTION_TYPES[key]
    except KeyError:
        known = ", ".join(QUESTION_TYPES)
        raise UnknownQuestionType(f"Unknown question type {key!r} (known: {known}).") from None
