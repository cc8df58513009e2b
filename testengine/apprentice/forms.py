"""The apprentice's forms: display settings, chosen on the home page or at the start of a test."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import Optional

from ..domain import display
from ..form_choices import options


def _select(field: str) -> SelectField:
    return SelectField(display.FIELD_LABELS[field], choices=options(display.FIELDS[field].items()), validators=[Optional()])


class DisplayForm(FlaskForm):
    """The display settings (the choices come from domain.display)."""

    background = _select("background")
    text_size = _select("text_size")
    line_spacing = _select("line_spacing")
    letter_spacing = _select("letter_spacing")
    font = _select("font")

    def settings(self, defaults: display.DisplaySettings) -> display.DisplaySettings:
        """The choices made, over the defaults (a start without the form's fields keeps the defaults)."""
        chosen = {field: getattr(self, field).data for field in display.FIELDS if getattr(self, field).data}
        return display.merge(defaults, chosen)


class StartForm(DisplayForm):
    """Start the test, with the display settings to keep for it."""
