from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from app.accounts.forms import CHANNEL_CHOICES, phone_field, validate_phone_value
from app.text_rules import TextRulesForm


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
