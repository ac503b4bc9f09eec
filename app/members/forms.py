"""HTML forms of the member pages: sign-up, sign-in, codes, settings (CSRF tokens come with FlaskForm)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, RadioField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from app.i18n import translate
from app.members import password_rules
from app.members.contact import InvalidContact, normalise_phone
from app.text_rules import DisplayName, TextRulesForm

CHANNEL_CHOICES = [SelectChoice("sms", _l("Text message (SMS)")), SelectChoice("email", _l("Email"))]


def phone_field(label: str = _l("Mobile phone"), required: bool = True) -> StringField:
    return StringField(label, validators=[DataRequired() if required else Optional(), Length(max=32)],
                       render_kw={"placeholder": "010-1234-5678", "autocomplete": "tel"})


def validate_phone_value(field) -> None:
    """Replace the field's data with E.164, or a validation error saying what is wrong."""
    if field.data:
        try:
            field.data = normalise_phone(field.data)
        except InvalidContact as exc:
            raise ValidationError(translate(exc.args[0])) from None


def not_common(form, field) -> None:
    """The rule the API applies (``app.members.password_rules``), in the form; with the email and name
    when the form has them."""
    email, name = getattr(form, "email", None), getattr(form, "name", None)
    problem = password_rules.password_problem(field.data or "", email=email.data if email else None,
                                              name=name.data if name else None)
    if problem:
        problem = translate(problem)
        raise ValidationError(problem[0].upper() + problem[1:] + ("" if problem.endswith(".") else "."))


def new_password_field(label: str = _l("New password")) -> PasswordField:
    return PasswordField(label, validators=[DataRequired(), Length(min=password_rules.MIN_LENGTH,
                                                                   max=password_rules.MAX_LENGTH), not_common],
                         render_kw={"autocomplete": "new-password"})


class VerifyForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    code = StringField(_l("Code"), validators=[DataRequired(), Regexp(r"^\s*[0-9]{6}\s*$", message=_l("6 digits"))],
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"})
    submit = SubmitField(_l("Verify"))


class ResendForm(FlaskForm):
    email = HiddenField(validators=[DataRequired(), Email()])
    channel = HiddenField(validators=[Optional()])
    submit = SubmitField(_l("Send a new code"))


class SettingsForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    phone = phone_field()
    notification_channel = RadioField(_l("Send reminders and codes by"), choices=CHANNEL_CHOICES)
    current_password = PasswordField(_l("Current password (needed to change email or phone)"),
                                     validators=[Optional(), Length(max=128)])
    submit = SubmitField(_l("Save"))

    def validate_phone(self, field) -> None:
        validate_phone_value(field)


class PhoneForm(TextRulesForm):
    """Completing a first social sign-in: the phone number (and email if the provider gave none)."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100), DisplayName()])
    email = EmailField(_l("Email"), validators=[Optional(), Email(), Length(max=254)])
    phone = phone_field()
    submit = SubmitField(_l("Send me a code"))

    def validate_phone(self, field) -> None:
        validate_phone_value(field)


class SignupForm(TextRulesForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100), DisplayName()])
    password = new_password_field(_l("Password"))
    phone = phone_field()
    channel = RadioField(_l("Send my verification code by"), choices=CHANNEL_CHOICES, default="email",
                         validators=[DataRequired()])
    submit = SubmitField(_l("Sign up"))

    def validate_phone(self, field) -> None:
        validate_phone_value(field)


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=128)],
                                     render_kw={"autocomplete": "current-password"})
    password = new_password_field()
    submit = SubmitField(_l("Change password"))


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Email me a link"))


class ResetForm(FlaskForm):
    password = new_password_field()
    submit = SubmitField(_l("Set my new password"))


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    submit = SubmitField(_l("Sign in"))


class LogoutForm(FlaskForm):
    submit = SubmitField(_l("Sign out"))
