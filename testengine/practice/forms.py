"""The practice forms: choosing a paper, and the paper's answers (one field per question)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

ANSWER_MAX = 5000


class StartPracticeForm(FlaskForm):
    standard = SelectField("Practice bank", validators=[DataRequired(message="Choose a practice bank.")])
    timing = RadioField(
        "Timing",
        choices=[("untimed", "Untimed: take as long as you like"), ("timed", "Timed, as in the real test")],
        default="untimed",
        validators=[DataRequired(message="Choose timed or untimed.")],
    )


def answer_form(questions: list[dict[str, Any]], formdata: Any = None) -> Any:
    """A form with a field `q<position>` per question: options for multiple choice, a text box otherwise."""

    class PaperForm(FlaskForm):
        pass

    for q in questions:
        label = f"Question {q['position']}"
        if q["options"]:
            field: Any = RadioField(label, choices=q["options"], validators=[Optional()], default=q["response"] or None)
        else:
            field = TextAreaField(
                label,
                validators=[Optional(), Length(max=ANSWER_MAX, message=f"Keep the answer under {ANSWER_MAX} characters.")],
                default=q["response"],
            )
        setattr(PaperForm, f"q{q['position']}", field)
    return PaperForm(formdata=formdata) if formdata is not None else PaperForm()
