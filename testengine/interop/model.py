"""What every reader produces (SourceItem) and how an item becomes a bank question, a draft or a refusal.

The readers (gift, moodle_xml, qti) only say what the source holds; the rules of what maps to
what live here, once, so the three formats agree. Pure: no files, no clock (`today` is given).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from ..banks.schema import ID_PATTERN
from ..domain.question_types import NOTE, OPTION_TEXT, QUESTION_TYPES, STEM, plain_text_problem
from .text import to_text

MCQ = QUESTION_TYPES["mcq"]
SHORT = QUESTION_TYPES["short_answer"]
OPTION_COUNT = 4  # the blueprint's multiple choice: four options, one key (question_types.MultipleChoice)
GUIDE_TO_WRITE = "To be written by the reviewer: the source has no marking guide for this question."

# Why each kind of source question is refused: the bank has multiple choice with one key out of
# four, and short answers marked by a person against a guide; nothing else can be marked here.
REFUSED_KINDS: dict[str, str] = {
    "truefalse": "true/false: the bank's multiple choice has four options, so a two-way guess cannot be carried",
    "matching": "matching: the bank has no matching question type",
    "numerical": "numerical: the bank has no numerical question type (auto-marked numbers with tolerances)",
    "cloze": "cloze / embedded answers: the bank has no gap-fill question type",
    "multi_answer": "more than one correct option (or partial credit on options): the bank's multiple choice has exactly one key",
    "ordering": "ordering: the bank has no ordering question type",
    "drag_and_drop": "drag and drop: the bank has no drag-and-drop question type",
    "description": "a description, not a question: nothing to answer",
    "calculated": "calculated: the bank has no calculated question type",
    "random": "random question: a placeholder drawn from a category, not a question",
    "composite": "more than one interaction in one item: a bank question asks one thing",
    "no_interaction": "no interaction: nothing to answer",
    "no_key": "no correct response declared, so the key cannot be read (custom response processing is not carried)",
    "other": "the bank has no question type for this interaction",
}


@dataclass(frozen=True)
class SourceOption:
    text: str
    text_format: str
    fraction: float  # share of the marks: 1.0 the key, 0 or negative a distractor
    feedback: str = ""
    feedback_format: str = "plain_text"


@dataclass(frozen=True)
class Native:
    """What this project's own export records beside a question, read back as it was written."""

    id: str | None = None
    ksb: tuple[str, ...] = ()
    status: str | None = None
    author: str | None = None
    last_reviewed: dt.date | None = None
    reviewer: str | None = None
    next_due: dt.date | None = None
    enemies: tuple[str, ...] = ()
    guide: dict[str, Any] | None = None


@dataclass(frozen=True)
class SourceItem:
    """One question as another tool holds it; `kind` is mcq, short_answer or a REFUSED_KINDS key."""

    source: str  # FILE:LINE or package!path:LINE
    kind: str
    source_id: str | None = None
    title: str | None = None
    stem: str = ""
    stem_format: str = "plain_text"
    options: tuple[SourceOption, ...] = ()
    model_answers: tuple[str, ...] = ()  # accepted answers of a short answer (plain text)
    feedback: tuple[tuple[str, str], ...] = ()  # (text, format): general feedback, grader info
    tags: tuple[str, ...] = ()
    category: str | None = None
    source_marks: float | None = None
    detail: str = ""  # more on why a kind is refused (the interaction, the weights)
    notes: tuple[str, ...] = ()
    native: Native | None = None


@dataclass
class Entry:
    """The outcome for one item: converted (complete), draft (written, needs a reviewer) or refused."""

    outcome: str  # converted | draft | refused
    source: str
    item: str
    reason: str
    question: dict[str, Any] | None = None
    comments: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, str]:
        return {"source": self.source, "item": self.item, "reason": self.reason}


@dataclass(frozen=True)
class Target:
    """Where the questions go: the standard, its KSB codes, the format's name and today's date."""

    standard: str
    ksbs: frozenset[str]
    format_label: str
    today: dt.date


def _label(item: SourceItem) -> str:
    return item.title or item.source_id or item.stem[:60].replace("\n", " ") or "(untitled)"


def _ksbs(item: SourceItem, target: Target) -> tuple[list[str], list[str]]:
    """KSB codes named by the source's tags or category, and the other labels as suggestions."""
    found: list[str] = []
    suggestions: list[str] = []
    labels = list(item.tags)
    if item.category:
        labels += [part for part in re.split(r"[/:]", item.category) if part and not part.startswith("$")]
    for label in labels:
        words = label.strip().split()
        first = words[0].rstrip(".,;:-") if words else ""
        if first in target.ksbs:
            if first not in found:
                found.append(first)
        elif label.strip() and label.strip() not in suggestions and label.strip() not in {"top", "Default"}:
            suggestions.append(label.strip())
    return found, suggestions


def question_id(item: SourceItem, target: Target, taken: set[str]) -> str:
    """The source's own id when it is already one of this standard's ids, else a stable new one.

    A new id is a hash of the file and the source's id (or its position), so converting the same
    file again gives the same ids and `bank import` sees the same questions, not new ones.
    """
    candidates = [item.native.id if item.native else None, item.source_id]
    for candidate in candidates:
        if candidate and ID_PATTERN.match(candidate) and candidate.startswith(f"{target.standard}-"):
            chosen = candidate
            break
    else:
        file = item.source.rsplit(":", 1)[0].replace("\\", "/").rsplit("/", 1)[-1]
        key = f"{file}|{item.source_id or item.title or item.source}"
        code = re.sub(r"[^A-Z0-9]", "", target.format_label.upper())[:4]
        chosen = f"{target.standard}-{code}-{hashlib.sha256(key.encode()).hexdigest()[:8].upper()}"
    unique, n = chosen, 2
    while unique in taken:
        unique, n = f"{chosen}-{n}", n + 1
    taken.add(unique)
    return unique


def _text(raw: str, text_format: str, what: str, dropped: list[str]) -> str:
    text, lost = to_text(raw, text_format)
    dropped.extend(f"{what}: {d}" for d in lost)
    return text


def _check(value: str, limits: Any, what: str, problems: list[str]) -> None:
    problem = plain_text_problem(value, limits)
    if problem:
        problems.append(f"{what} {problem}")


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def map_item(item: SourceItem, target: Target, taken: set[str]) -> Entry:
    """Map one source item by the rules of docs/interop.md."""
    label = _label(item)
    if item.kind in REFUSED_KINDS or item.kind not in {"mcq", "short_answer"}:
        reason = REFUSED_KINDS.get(item.kind, f"{item.kind}: the bank has no such question type")
        return Entry("refused", item.source, label, reason + (f" ({item.detail})" if item.detail else ""))

    dropped: list[str] = []
    problems: list[str] = []
    notes = list(item.notes)
    stem = _text(item.stem, item.stem_format, "stem", dropped)
    _check(stem, STEM, "stem", problems)
    native = item.native or Native()
    ksb, suggestions = (list(native.ksb), []) if native.ksb else _ksbs(item, target)
    unknown = [code for code in ksb if code not in target.ksbs]
    if unknown:
        suggestions += unknown
        ksb = [code for code in ksb if code in target.ksbs]
    qtype = MCQ if item.kind == "mcq" else SHORT
    if item.source_marks is not None and item.source_marks != qtype.fixed_marks and not item.native:
        notes.append(f"the source gives {item.source_marks:g} marks; a {qtype.key} question is worth {qtype.fixed_marks}")

    content: dict[str, Any]
    draft_reasons: list[str] = []
    if item.kind == "mcq":
        keys = [o for o in item.options if o.fraction > 0]
        if len(keys) != 1 or any(0 < o.fraction < 1 for o in item.options):
            return Entry("refused", item.source, label, REFUSED_KINDS["multi_answer"])
        if len(item.options) != OPTION_COUNT:
            return Entry(
                "refused",
                item.source,
                label,
                f"{len(item.options)} options: the {target.standard} blueprint's multiple choice has exactly "
                f"{OPTION_COUNT} options and one key",
            )
        options = []
        for letter, option in zip("ABCD", item.options):
            text = _text(option.text, option.text_format, f"option {letter}", dropped)
            _check(text, OPTION_TEXT, f"option {letter}", problems)
            entry: dict[str, Any] = {"text": text, "correct": option.fraction > 0}
            if option.feedback.strip():
                rationale = _text(option.feedback, option.feedback_format, f"option {letter} feedback", dropped)
                _check(rationale, NOTE, f"option {letter} feedback", problems)
                entry["rationale"] = rationale
            if option.fraction < 0:
                notes.append(
                    f"option {letter} carried a negative weight ({option.fraction:.0%}): the bank has no negative marking"
                )
            options.append(entry)
        for text, text_format in item.feedback:
            general = _text(text, text_format, "general feedback", dropped)
            if general:
                dropped.append(f"general feedback (a multiple-choice question keeps a rationale per option): {general}")
        content = {"options": options}
    else:
        if native.guide is not None:
            content = {"guide": native.guide}
        else:
            points: list[str] = []
            for answer in item.model_answers:
                points += _paragraphs(answer)
            for text, text_format in item.feedback:
                points += _paragraphs(_text(text, text_format, "feedback", dropped))
            for i, point in enumerate(points):
                _check(point, NOTE, f"guide point {i + 1}", problems)
            content = {
                "guide": {
                    "indicative_content": points or [GUIDE_TO_WRITE],
                    "two_marks": GUIDE_TO_WRITE,
                    "one_mark": GUIDE_TO_WRITE,
                    "zero_marks": GUIDE_TO_WRITE,
                    "acceptable_alternatives": [],
                }
            }
            draft_reasons.append(
                "no marking guide in the source: written as a draft guide from "
                + ("its model answer, feedback and grader notes" if points else "nothing (the source has no model answer)")
            )
    if problems:
        return Entry("refused", item.source, label, "; ".join(problems))
    checked, issues = qtype.read_content(content)
    if checked is None:
        return Entry("refused", item.source, label, "; ".join(f"{'.'.join(map(str, i.path))}: {i.message}" for i in issues))
    if not ksb:
        draft_reasons.append(
            "no KSB: add one before validating"
            + (f" (the source's tags and categories suggest: {', '.join(suggestions)})" if suggestions else "")
        )

    qid = question_id(item, target, taken)
    status = native.status if native.status and not draft_reasons else "draft"
    question: dict[str, Any] = {
        "id": qid,
        "type": qtype.key,
        "ksb": ksb,
        "marks": qtype.fixed_marks,
        "status": status,
        "author": native.author or f"Converted from {target.format_label}",
        "review": {
            "last_reviewed": native.last_reviewed or target.today,
            "reviewer": native.reviewer or "Not yet reviewed",
            "next_due": native.next_due or target.today,
        },
    }
    if native.enemies:
        question["enemies"] = list(native.enemies)
    question["stem"] = stem
    question.update(qtype.file_content(checked))

    comments = [f"from {item.source}" + (f" ({item.title})" if item.title else "")]
    if item.source_id:
        comments.append(f"source id: {item.source_id}")
    if suggestions and ksb:
        comments.append(f"KSB suggestions from the source: {', '.join(suggestions)}")
    comments += [f"dropped {d}" for d in dropped]
    comments += [f"note: {n}" for n in notes]
    comments += [f"draft: {r}" for r in draft_reasons]
    reason_parts = draft_reasons + [f"dropped {d}" for d in dropped] + notes
    outcome = "draft" if draft_reasons else "converted"
    return Entry(outcome, item.source, qid, "; ".join(reason_parts), question, comments)
