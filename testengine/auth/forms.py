from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    identifier = StringField(
        "Email or candidate number", validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class EmptyForm(FlaskForm):
    """A button's form: it carries only the CSRF token."""
