"""The reviewer's forms. They carry the edit; the bank-file rules judge it.

A revision is checked by services.review.check_revision, which runs the same checks as a bank
file (banks.questions.read_question and the question-type registry). So these forms add no
rules of their own about wording: they only turn fields into the bank-file shape and put each
problem back beside the field it is about. One revision form per question type, registered by
the type's key (the registry pattern of domain/question_types, never an `if type == ...`).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, RadioField, TextAreaField
from wtforms.validators import InputRequired, Length

from ..domain.question_types import MultipleChoice
from ..form_choices import options

DECISION_CHOICES = [
    ("keep", "Keep: fit for purpose as it stands (review dates renew for 12 months)"),
    ("retire", "Retire: never drawn again"),
]


class DecisionForm(FlaskForm):
    decision = RadioField("Decision", choices=options(DECISION_CHOICES), validators=[InputRequired("Choose keep or retire.")])
    comments = TextAreaField("Comments for the review record")


class RejectForm(FlaskForm):
    """Rejecting (or withdrawing) a revision says why: the reason goes to the audit log."""

    reason = TextAreaField(
        "Why it is rejected",
        validators=[
            InputRequired("Say why the revision is rejected: the proposer and the review record need the reason."),
            Length(max=450, message="Keep the reason to 450 characters."),
        ],
    )


def text_of(field: Field) -> str:
    """Browsers send CRLF line breaks; bank text uses LF (a CR would be refused as a control character)."""
    return (field.data or "").replace("\r\n", "\n").replace("\r", "\n")


def lines_of(field: Field) -> list[str]:
    return [line.strip() for line in text_of(field).split("\n") if line.strip()]


class RevisionForm(FlaskForm):
    """The fields every question has; subclasses add their type's content fields."""

    stem = TextAreaField("Question wording (stem)")
    comments = TextAreaField("What you changed and why (for the review record)")

    def fill(self, stem: str, content: Mapping[str, Any]) -> None:
        self.stem.data = stem

    def content_fields(self) -> dict[str, Any]:
        """The type's fields in bank-file form."""
        return {}

    def field_for(self, path: tuple[str | int, ...]) -> Field | None:
        """The field a problem at `path` (inside the question, as in a bank file) belongs to."""
        return self.stem if path[:1] == ("stem",) else None

    def content_field_names(self) -> list[str]:
        return [name for name in self._fields if name not in {"stem", "comments", "csrf_token"}]


class McqRevisionForm(RevisionForm):
    correct = RadioField(
        "Correct option",
        choices=options([(str(i), string.ascii_uppercase[i]) for i in range(MultipleChoice.option_count)]),
        validate_choice=False,  # "exactly one correct" is the registry's rule, reported from there
    )

    def fill(self, stem: str, content: Mapping[str, Any]) -> None:
        super().fill(stem, content)
        for i, option in enumerate(content.get("options") or []):
            self[f"option_{i}"].data = option.get("text") or ""
            self[f"rationale_{i}"].data = option.get("rationale") or ""
            if option.get("correct"):
                self.correct.data = str(i)

    def content_fields(self) -> dict[str, Any]:
        options = []
        for i in range(MultipleChoice.option_count):
            option: dict[str, Any] = {"text": text_of(self[f"option_{i}"])}
            if self.correct.data == str(i):
                option["correct"] = True
            rationale = text_of(self[f"rationale_{i}"])
            if rationale.strip():
                option["rationale"] = rationale
            options.append(option)
        return {"options": options}

    def field_for(self, path: tuple[str | int, ...]) -> Field | None:
        if path[:1] == ("options",):
            if len(path) >= 2 and isinstance(path[1], int) and path[1] < MultipleChoice.option_count:
                part = path[2] if len(path) > 2 else "text"
                return self[f"rationale_{path[1]}"] if part == "rationale" else self[f"option_{path[1]}"]
            return self.correct
        return super().field_for(path)


for _i, _letter in enumerate(string.ascii_uppercase[: MultipleChoice.option_count]):
    setattr(McqRevisionForm, f"option_{_i}", TextAreaField(f"Option {_letter}"))
    setattr(
        McqRevisionForm,
        f"rationale_{_i}",
        TextAreaField(f"Why option {_letter} is right or wrong (optional)"),
    )


class ShortAnswerRevisionForm(RevisionForm):
    indicative_content = TextAreaField("Indicative content (one point per line)")
    two_marks = TextAreaField("Two marks when")
    one_mark = TextAreaField("One mark when")
    zero_marks = TextAreaField("No marks when")
    acceptable_alternatives = TextAreaField("Acceptable alternatives (one per line, optional)")

    LEVELS = ("two_marks", "one_mark", "zero_marks")

    def fill(self, stem: str, content: Mapping[str, Any]) -> None:
        super().fill(stem, content)
        guide = content.get("guide") or {}
        self.indicative_content.data = "\n".join(guide.get("indicative_content") or [])
        for name in self.LEVELS:
            self[name].data = guide.get(name) or ""
        self.acceptable_alternatives.data = "\n".join(guide.get("acceptable_alternatives") or [])

    def content_fields(self) -> dict[str, Any]:
        guide: dict[str, Any] = {"indicative_content": lines_of(self.indicative_content)}
        for name in self.LEVELS:
            guide[name] = text_of(self[name])
        alternatives = lines_of(self.acceptable_alternatives)
        if alternatives:
            guide["acceptable_alternatives"] = alternatives
        return {"guide": guide}

    def field_for(self, path: tuple[str | int, ...]) -> Field | None:
        if path[:1] == ("guide",):
            if len(path) >= 2 and path[1] in self._fields:
                return self[str(path[1])]
            return self.indicative_content
        return super().field_for(path)


REVISION_FORMS: dict[str, type[RevisionForm]] = {
    "mcq": McqRevisionForm,
    "short_answer": ShortAnswerRevisionForm,
}
