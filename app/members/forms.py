"""HTML forms of the member pages: sign-up, sign-in, codes, settings (CSRF tokens come with FlaskForm)."""
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, RadioField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from app.members.contact import InvalidContact, normalise_phone
from app.text_rules import TextRulesForm

CHANNEL_CHOICES = [SelectChoice("sms", "Text message (SMS)"), SelectChoice("email", "Email")]


def phone_field(label: str = "Mobile phone", required: bool = True) -> StringField:
    return StringField(label, validators=[DataRequired() if required else Optional(), Length(max=32)],
                       render_kw={"placeholder": "010-1234-5678", "autocomplete": "tel"})


def validate_phone_value(field) -> None:
    """Replace the field's data with E.164, or a validation error saying what is wrong."""
    if field.data:
        try:
            field.data = normalise_phone(field.data)
        except InvalidContact as exc:
            raise ValidationError(str(exc)) from None


class VerifyForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    code = StringField("Code", validators=[DataRequired(), Regexp(r"^\s*[0-9]{6}\s*$", message="6 digits")],
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"})
    submit = SubmitField("Verify")


class ResendForm(FlaskForm):
    email = HiddenField(validators=[DataRequired(), Email()])
    channel = HiddenField(validators=[Optional()])
    submit = SubmitField("Send a new code")


class SettingsForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    phone = phone_field()
    notification_channel = RadioField("Send reminders and codes by", choices=CHANNEL_CHOICES)
    current_password = PasswordField("Current password (needed to change email or phone)",
                                     validators=[Optional(), Length(max=128)])
    submit = SubmitField("Save")

    def validate_phone(self, field) -> None:
        validate_phone_value(field)


class PhoneForm(TextRulesForm):
    """Completing a first social sign-in: the phone number (and email if the provider gave none)."""

    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    email = EmailField("Email", validators=[Optional(), Email(), Length(max=254)])
    phone = phone_field()
    submit = SubmitField("Send me a code")

    def validate_phone(self, field) -> None:
        validate_phone_value(field)


class SignupForm(TextRulesForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=128)])
    phone = phone_field()
    channel = RadioField("Send my verification code by", choices=CHANNEL_CHOICES, default="email",
                         validators=[DataRequired()])
    submit = SubmitField("Sign up")

    def validate_phone(self, field) -> None:
        validate_phone_value(field)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired()])
    submit = SubmitField("Sign in")


class LogoutForm(FlaskForm):
    submit = SubmitField("Sign out")
