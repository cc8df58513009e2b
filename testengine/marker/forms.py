"""The marker's forms: a mark (0, 1 or 2) with an optional comment, a change with its reason,
standardisation, and the moderator's forms. Every POST goes through one of these (CSRF included)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from ..form_choices import options
from ..services.marking_progress import MAX_COMMENT

MARK_CHOICES = [(0, "0 marks"), (1, "1 mark"), (2, "2 marks")]
VIA_CHOICES = ("question", "script", "")


def mark_field(label: str = "Mark") -> RadioField:
    # InputRequired, not DataRequired: 0 is a mark, not a missing value.
    return RadioField(label, choices=options(MARK_CHOICES), coerce=int, validators=[InputRequired(message="Choose a mark.")])


class MarkForm(FlaskForm):
    mark = mark_field()
    comment = TextAreaField("Comment (optional)", validators=[Optional(), Length(max=MAX_COMMENT)])
    via = HiddenField(validators=[Optional(), AnyOf(VIA_CHOICES)])


class ChangeMarkForm(FlaskForm):
    mark = mark_field("New mark")
    comment = TextAreaField("Comment (optional)", validators=[Optional(), Length(max=MAX_COMMENT)])
    reason = TextAreaField(
        "Why you are changing your mark", validators=[InputRequired(message="Give the reason."), Length(max=500)]
    )


class StandardisationItemForm(FlaskForm):
    response = TextAreaField("Answer", validators=[InputRequired(message="Write the answer."), Length(max=5000)])
    reference_mark = mark_field("Reference mark")
    rationale = TextAreaField(
        "Why this mark (shown to markers after they standardise)", validators=[Optional(), Length(max=MAX_COMMENT)]
    )


class FromAnswerForm(FlaskForm):
    reference_mark = mark_field("Reference mark")


class ClearForm(FlaskForm):
    reason = TextAreaField("Reason for clearing", validators=[InputRequired(message="Give the reason."), Length(max=500)])


def standardisation_form(item_ids: list[int]) -> FlaskForm:
    """One mark per standardisation answer, built for the question's set (fields named item_<id>)."""

    class StandardisationForm(FlaskForm):
        pass

    for number, item_id in enumerate(item_ids, start=1):
        setattr(StandardisationForm, f"item_{item_id}", mark_field(f"Your mark for answer {number}"))
    return StandardisationForm()
