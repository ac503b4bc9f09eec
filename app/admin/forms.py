from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.models.announcement import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH


class AnnouncementForm(FlaskForm):
    subject = StringField("Subject", validators=[DataRequired(), Length(max=SUBJECT_MAX_LENGTH)])
    body = TextAreaField("Message", validators=[DataRequired(), Length(max=BODY_MAX_LENGTH)])
    submit = SubmitField("Send to every member")
