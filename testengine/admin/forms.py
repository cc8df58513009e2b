from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..services.accounts import MIN_PASSWORD, ROLES

ROLE_CHOICES = [(role, role.capitalize()) for role in ROLES]


class RoleField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CreateUserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    display_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    roles = RoleField("Roles", choices=ROLE_CHOICES, validators=[DataRequired(message="Choose at least one role.")])
    uln = StringField(
        "ULN (apprentices only)",
        validators=[Optional(), Regexp(r"^[0-9]{10}$", message="ULN must be exactly 10 digits.")],
    )
    moderator = BooleanField("Senior marker (moderator)")
    password = PasswordField(
        "Initial password", validators=[DataRequired(), Length(min=MIN_PASSWORD, max=200)]
    )

    def validate_uln(self, field):  # type: ignore[no-untyped-def]
        if "apprentice" in (self.roles.data or []) and not field.data:
            raise ValidationError("An apprentice needs a ULN.")


class RolesForm(FlaskForm):
    roles = RoleField("Roles", choices=ROLE_CHOICES, validators=[DataRequired(message="Choose at least one role.")])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password", validators=[DataRequired(), Length(min=MIN_PASSWORD, max=200)]
    )
