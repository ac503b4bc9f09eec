from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.models.announcement import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH
from app.text_rules import TextRulesForm


class AnnouncementForm(TextRulesForm):
    subject = StringField("Subject", validators=[DataRequired(), Length(max=SUBJECT_MAX_LENGTH)])
    body = TextAreaField("Message", validators=[DataRequired(), Length(max=BODY_MAX_LENGTH)])
    submit = SubmitField("Send to every member")


class RetryFailedForm(FlaskForm):
    """The CSRF token of the "retry the failed deliveries" button."""

    submit = SubmitField("Retry the failed deliveries")
