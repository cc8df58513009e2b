from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..form_choices import options
from ..service_settings import test_email_domains_allowed
from ..services.accounts import MIN_PASSWORD, ROLES, AccountError, validate_email

ROLE_CHOICES = [(role, role.capitalize()) for role in ROLES]


class RoleField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def one_email_rule(form: FlaskForm, field: EmailField) -> None:
    """The same rule as `testengine create-user` (services.accounts.validate_email), so the web form and
    the CLI never disagree about an address."""
    try:
        validate_email(field.data or "", allow_test_domains=test_email_domains_allowed())
    except AccountError as refused:
        raise ValidationError(str(refused)) from None


class CreateUserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), one_email_rule])
    display_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    roles = RoleField("Roles", choices=options(ROLE_CHOICES), validators=[DataRequired(message="Choose at least one role.")])
    uln = StringField(
        "ULN (apprentices only)",
        validators=[Optional(), Regexp(r"^[0-9]{10}$", message="ULN must be exactly 10 digits.")],
    )
    moderator = BooleanField("Senior marker (moderator)")
    password = PasswordField("Initial password", validators=[DataRequired(), Length(min=MIN_PASSWORD, max=200)])

    def validate_uln(self, field):  # type: ignore[no-untyped-def]
        if "apprentice" in (self.roles.data or []) and not field.data:
            raise ValidationError("An apprentice needs a ULN.")


class RolesForm(FlaskForm):
    roles = RoleField("Roles", choices=options(ROLE_CHOICES), validators=[DataRequired(message="Choose at least one role.")])
    moderator = BooleanField("Senior marker (moderator): resolves disagreements and clears markers")

    def validate_moderator(self, field):  # type: ignore[no-untyped-def]
        if field.data and "marker" not in (self.roles.data or []):
            raise ValidationError("Only a marker can be a moderator: tick Marker too.")


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=MIN_PASSWORD, max=200)])


from wtforms import DateField, DateTimeLocalField, IntegerField, SelectField, TextAreaField  # noqa: E402
from wtforms.validators import NumberRange  # noqa: E402


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SittingForm(FlaskForm):
    standard = SelectField("Standard", coerce=int, validators=[DataRequired()])
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    venue = StringField("Venue", validators=[DataRequired(), Length(max=200)])
    remote = BooleanField("Remote, with online proctoring")
    window_start = DateTimeLocalField(
        "Start window opens (UTC)", format="%Y-%m-%dT%H:%M", validators=[DataRequired(message="Enter a date and time.")]
    )
    window_minutes = IntegerField(
        "Start window length (minutes)", default=60, validators=[DataRequired(), NumberRange(min=5, max=24 * 60)]
    )


class BookForm(FlaskForm):
    apprentices = MultiCheckbox("Book apprentices", coerce=int, validators=[Optional()])
    invigilators = MultiCheckbox("Assign invigilators", coerce=int, validators=[Optional()])


ADJUSTMENT_KINDS = [
    ("extra_time", "Extra time"),
    ("rest_breaks", "Supervised rest breaks"),
    ("large_text", "Larger text"),
    ("high_contrast", "High-contrast display"),
    ("screen_reader", "Screen reader"),
    ("display", "Display settings (colours, text size, spacing, font)"),
]


def _display_select(name: str) -> SelectField:
    from ..domain import display

    return SelectField(
        f"Display: {display.FIELD_LABELS[name].lower()}",
        choices=options([("", "Not set"), *display.FIELDS[name].items()]),
        validators=[Optional()],
    )


class AdjustmentForm(FlaskForm):
    kind = SelectField("Adjustment", choices=options(ADJUSTMENT_KINDS), validators=[DataRequired()])
    extra_percent = IntegerField("Extra time (%)", default=0, validators=[Optional(), NumberRange(min=0, max=100)])
    extra_minutes = IntegerField("Extra time (minutes)", default=0, validators=[Optional(), NumberRange(min=0, max=240)])
    reason = TextAreaField("Reason (evidence seen)", validators=[DataRequired(), Length(max=500)])
    approval_reference = StringField("Approval reference", validators=[DataRequired(), Length(max=100)])
    approved_by = StringField("Approved by", validators=[DataRequired(), Length(max=120)])
    expires_on = DateField("Expires on", validators=[Optional()])
    background = _display_select("background")
    text_size = _display_select("text_size")
    line_spacing = _display_select("line_spacing")
    letter_spacing = _display_select("letter_spacing")
    font = _display_select("font")

    def display_settings(self) -> dict[str, str]:
        return {
            name: getattr(self, name).data
            for name in ("background", "text_size", "line_spacing", "letter_spacing", "font")
            if getattr(self, name).data
        }


class ExtraTimeForm(FlaskForm):
    extra_percent = IntegerField("Extra time (%)", default=0, validators=[Optional(), NumberRange(min=0, max=100)])
    extra_minutes = IntegerField("Extra time (minutes)", default=0, validators=[Optional(), NumberRange(min=0, max=240)])
    reason = StringField("Reason for the change", validators=[DataRequired(), Length(max=500)])


class RemoveAdjustmentForm(FlaskForm):
    """Removing an adjustment is recorded with its reason and must be confirmed."""

    reason = TextAreaField(
        "Reason for removing it", validators=[DataRequired("Give the reason for removing this adjustment."), Length(max=450)]
    )
    confirm = BooleanField(
        "I confirm the removal: it no longer applies, including to a test already issued or in progress",
        validators=[DataRequired("Tick the box to confirm the removal.")],
    )
