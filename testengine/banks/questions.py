"""One question as read from a bank file: the checks on it, and its stored and file forms.

Common fields are checked by schema.QuestionModel; the type's own fields (options, guide, ...)
by its entry in the question-type registry, so this module never branches on a type key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..domain.question_types import QUESTION_TYPES
from .schema import Issue, QuestionModel, check_fields
from .yaml_lines import YamlPath

_ALL_CONTENT_FIELDS = frozenset(name for qtype in QUESTION_TYPES.values() for name in qtype.content_fields)


@dataclass(frozen=True)
class BankQuestion:
    """A valid question. `content` is type-specific and JSON-ready: mcq {"options": [{"text",
    "correct", "rationale"}]}, short_answer {"guide": {"indicative_content", "two_marks",
    "one_mark", "zero_marks", "acceptable_alternatives"}}. `source` is FILE:LINE."""

    id: str
    type: str
    ksb: tuple[str, ...]
    marks: int
    status: str
    author: str
    last_reviewed: dt.date
    reviewer: str
    next_due: dt.date
    enemies: tuple[str, ...]
    stem: str
    content: dict[str, Any]
    source: str

    def fingerprint(self) -> str:
        """A hash of what a candidate or marker sees and what grades it.

        Two questions with the same fingerprint are the same question for results: a new
        fingerprint means a new version (earlier attempts keep theirs), while status, author and
        review dates are bookkeeping and leave it alone.
        """
        seen = {
            "type": self.type,
            "ksb": list(self.ksb),
            "marks": self.marks,
            "stem": self.stem,
            "content": self.content,
            "enemies": sorted(self.enemies),
        }
        canonical = json.dumps(seen, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def to_file_dict(self) -> dict[str, Any]:
        """The question as a bank-file mapping, keys in the order docs/bank-format.md shows."""
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "ksb": list(self.ksb),
            "marks": self.marks,
            "status": self.status,
            "author": self.author,
            "review": {
                "last_reviewed": self.last_reviewed,
                "reviewer": self.reviewer,
                "next_due": self.next_due,
            },
        }
        if self.enemies:
            out["enemies"] = list(self.enemies)
        out["stem"] = self.stem
        out.update(QUESTION_TYPES[self.type].file_content(self.content))
        return out


def read_question(
    raw: object,
    path: YamlPath,
    *,
    ksbs: frozenset[str] | None,
    today: dt.date,
    source: str,
) -> tuple[BankQuestion | None, list[Issue]]:
    """Check one question mapping (at `path` in its file); the question, or None and every issue.

    `ksbs` are the codes the spec defines (None when the spec could not be read, so KSBs are
    not checked rather than all reported unknown); `today` decides what "in the future" means.
    """
    qtype = None
    if isinstance(raw, dict) and isinstance(raw.get("type"), str):
        qtype = QUESTION_TYPES.get(raw["type"])
    # With an unknown type, no content field is reported as unknown: the type is the problem.
    owned = frozenset(qtype.content_fields) if qtype is not None else _ALL_CONTENT_FIELDS
    common = {key: value for key, value in raw.items() if key not in owned} if isinstance(raw, dict) else raw
    values, issues = check_fields(QuestionModel, common, path, context={"ksbs": ksbs, "today": today}, ignore=owned)
    if qtype is None:
        if "type" in values:
            known = ", ".join(QUESTION_TYPES)
            issues.append(Issue((*path, "type"), f"unknown question type {values['type']!r} (known: {known})"))
        return None, issues
    assert isinstance(raw, dict)

    marks = values.get("marks")
    if qtype.fixed_marks is not None and marks is not None and marks != qtype.fixed_marks:
        issues.append(
            Issue(
                (*path, "marks"),
                f"every {qtype.key} question is worth {qtype.fixed_marks}, not {marks}",
            )
        )
    elif qtype.fixed_marks is None and "marks" in values and marks is None:
        issues.append(Issue(path, f"missing field 'marks' (a {qtype.key} question says what it is worth)"))
    for field in ("ksb", "enemies"):
        listed = values.get(field) or []
        for i, code in enumerate(listed):
            if code in listed[:i]:
                issues.append(Issue((*path, field, i), f"{code!r} is listed twice"))

    content, content_issues = qtype.read_content({key: raw[key] for key in qtype.content_fields if key in raw})
    issues += [Issue((*path, *item.path), item.message) for item in content_issues]
    if issues or content is None:
        return None, issues
    model = QuestionModel.model_construct(**values)
    return (
        BankQuestion(
            id=model.id,
            type=qtype.key,
            ksb=tuple(model.ksb),
            marks=model.marks if model.marks is not None else int(qtype.fixed_marks or 0),
            status=model.status,
            author=model.author,
            last_reviewed=model.review.last_reviewed,
            reviewer=model.review.reviewer,
            next_due=model.review.next_due,
            enemies=tuple(model.enemies),
            stem=model.stem,
            content=content,
            source=source,
        ),
        [],
    )
