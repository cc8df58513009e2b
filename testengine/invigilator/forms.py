from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget


class CheckInForm(FlaskForm):
    document_type = SelectField("Identity document", validators=[DataRequired()])
    last_digits = StringField(
        "Last 4 characters of the document number",
        validators=[DataRequired(), Regexp(r"^[A-Za-z0-9]{4}$", message="Enter exactly 4 letters or digits.")],
    )
    photo_matched = BooleanField("The photo matches the person", validators=[DataRequired(message="Confirm the photo matches.")])
    uln_confirmed = BooleanField("The ULN matches the booking", validators=[DataRequired(message="Confirm the ULN matches.")])
    seat = StringField("Seat", validators=[Optional(), Length(max=20)])


class IncidentForm(FlaskForm):
    kind = SelectField("Type", validators=[DataRequired()])
    apprentices = SelectMultipleField("Apprentices involved", coerce=int, validators=[Optional()], widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)])


class ExtraTimeForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])
