from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.models.post import BODY_MAX_LENGTH, TITLE_MAX_LENGTH
from app.text_rules import TextRulesForm


class PostForm(TextRulesForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TITLE_MAX_LENGTH)])
    body = TextAreaField(_l("Body"), validators=[DataRequired(), Length(max=BODY_MAX_LENGTH)])
    submit = SubmitField(_l("Save"))


class DeleteForm(FlaskForm):
    """Empty but for the CSRF token."""

    submit = SubmitField(_l("Delete"))
