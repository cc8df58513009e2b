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
    apprentices = SelectMultipleField(
        "Apprentices involved",
        coerce=int,
        validators=[Optional()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    notes = TextAreaField("Notes", validators=[DataRequired(message="Say what happened."), Length(max=2000)])


class PauseRoomForm(FlaskForm):
    """Stopping every clock in the room is confirmed, and its reason goes into the incident it opens."""

    reason = StringField(
        "Reason for pausing the room",
        id="pause-reason",
        validators=[DataRequired(message="Give the reason (it is recorded in the incident log)."), Length(max=500)],
    )
    confirm = BooleanField(
        "Yes, stop every apprentice's clock now",
        id="pause-confirm",
        validators=[DataRequired(message="Tick to confirm the whole room is paused.")],
    )


class CloseSittingForm(FlaskForm):
    confirm = BooleanField(
        "Yes, close the sitting: every apprentice has finished",
        id="close-confirm",
        validators=[DataRequired(message="Tick to confirm that you want to close the sitting.")],
    )


class ExtraTimeForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])


class MessageForm(FlaskForm):
    """A message to one apprentice or the whole room; it appears on their screens within seconds."""

    recipient = SelectField(
        "Send to", id="message-recipient", validators=[DataRequired(message="Choose who receives the message.")]
    )
    body = TextAreaField(
        "Message",
        id="message-body",
        validators=[DataRequired(message="Write the message."), Length(max=500, message="Keep the message to 500 characters.")],
    )
