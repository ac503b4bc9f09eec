from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.models.announcement import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH
from app.text_rules import TextRulesForm


class AnnouncementForm(TextRulesForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=SUBJECT_MAX_LENGTH)])
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=BODY_MAX_LENGTH)])
    submit = SubmitField(_l("Send to every member"))


class RetryFailedForm(FlaskForm):
    """The CSRF token of the "retry the failed deliveries" button."""

    submit = SubmitField(_l("Retry the failed deliveries"))
