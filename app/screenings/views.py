"""Screening pages: the programme, RSVP and cancel, and a form for admins."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_babel import format_number, gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import DateTimeLocalField, IntegerField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, StopValidation

from app.extensions import db
from app.i18n import translate
from app.phrases import N_
from app.members.access import admin_required, require_verified
from app.models.screening import ACTIVE, Screening
from app.models.types import utcnow
from app.screenings import service
from app.text_rules import TextRulesForm

bp = Blueprint("screenings", __name__, url_prefix="/screenings")

MAX_CAPACITY = 100_000  # as the API's schema


def _when_given(form, field) -> None:
    """A start time that could not be read says so with what was typed; an empty one asks for it."""
    typed = " ".join(field.raw_data or []).strip()
    if not typed:
        field.errors[:] = []
        raise StopValidation(_("Give the date and time the screening starts."))
    if field.process_errors:
        field.errors[:] = [_("%(typed)s is not a date and time: pick one, e.g. 2026-12-01 19:00.", typed=repr(typed))]
        raise StopValidation()


class SeatsField(IntegerField):
    """Capacity: a whole number of seats; what was typed is named when it is not one."""

    def process_formdata(self, valuelist) -> None:
        raw = (valuelist or [""])[0].strip()
        self.data = None
        if raw and not (raw.isascii() and raw.isdigit()):
            raise ValueError(_("Capacity must be a whole number of seats, like 30, not %(typed)s.", typed=repr(raw)))
        if raw:
            self.data = int(raw)


def _seats(form, field) -> None:
    if field.process_errors:
        raise StopValidation()  # the field already said what is wrong with the value
    if field.data is None:
        raise StopValidation(_("Give the number of seats."))
    if not 1 <= field.data <= MAX_CAPACITY:
        raise StopValidation(_("Capacity must be from 1 to %(most)s seats; %(typed)s is not.",
                               most=format_number(MAX_CAPACITY), typed=field.data))


class ScreeningForm(TextRulesForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    film = StringField(_l("Film"), validators=[DataRequired(), Length(max=200)])
    starts_at = DateTimeLocalField(_l("Starts at (club time)"), format="%Y-%m-%dT%H:%M", validators=[_when_given])
    place = StringField(_l("Place"), validators=[DataRequired(), Length(max=200)])
    capacity = SeatsField(_l("Capacity"), validators=[_seats])
    submit = SubmitField(_l("Create screening"))


class ActionForm(FlaskForm):
    """CSRF token only: RSVP, cancel RSVP, cancel screening."""


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["APP_TIMEZONE"])


@bp.get("/")
def index() -> str:
    screenings = db.session.scalars(
        select(Screening).where(Screening.status == ACTIVE, Screening.starts_at > utcnow())
        .order_by(Screening.starts_at)).all()
    items = [(s, service.to_dict(s, current_user)) for s in screenings]
    return render_template("screenings/list.html", items=items)


@bp.get("/<int:screening_id>")
def detail(screening_id: int) -> str:
    screening = db.session.get(Screening, screening_id) or abort(404)
    return render_template("screenings/detail.html", screening=screening,
                           info=service.to_dict(screening, current_user), form=ActionForm())


def _act(screening_id: int, action, done: str) -> Response:
    screening = db.session.get(Screening, screening_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400, N_("the form expired; reload the page and try again"))
    try:
        action(screening)
        flash(translate(done), "success")
    except service.ScreeningError as exc:
        db.session.rollback()
        flash(_sentence(translate(exc.page_message)), "error")
    return redirect(url_for("screenings.detail", screening_id=screening_id))


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


@bp.post("/<int:screening_id>/rsvp")
@login_required
def rsvp(screening_id: int) -> Response:
    require_verified(N_("Verify your account before you RSVP: enter the code we sent you when you signed up."))
    return _act(screening_id, lambda s: service.rsvp(current_user, s), N_("You have a seat. Reminders will follow."))


@bp.post("/<int:screening_id>/cancel-rsvp")
@login_required
def cancel_rsvp(screening_id: int) -> Response:
    return _act(screening_id, lambda s: service.cancel_rsvp(current_user, s), N_("Your RSVP is cancelled."))


@bp.get("/<int:screening_id>/cancel")
@admin_required(N_("only the club's admins can cancel a screening"))
def confirm_cancel(screening_id: int) -> Response | str:
    """The step before cancelling a screening (every RSVP and reminder goes with it): a page, no JavaScript."""
    screening = db.session.get(Screening, screening_id) or abort(404)
    if screening.is_cancelled:
        return redirect(url_for("screenings.detail", screening_id=screening_id))
    return render_template("screenings/confirm_cancel.html", screening=screening,
                           info=service.to_dict(screening, current_user), form=ActionForm())


@bp.post("/<int:screening_id>/cancel")
@admin_required(N_("only the club's admins can cancel a screening"))
def cancel(screening_id: int) -> Response:
    return _act(screening_id, service.cancel_screening, N_("Screening cancelled; members' reminders are cancelled."))


@bp.route("/new", methods=["GET", "POST"])
@admin_required(N_("only the club's admins can create screenings"))
def create() -> Response | tuple[str, int]:
    form = ScreeningForm()
    if form.validate_on_submit():
        starts_at = form.starts_at.data.replace(tzinfo=_zone())
        try:
            screening = service.create_screening(current_user, title=form.title.data, film=form.film.data,
                                                 starts_at=starts_at, place=form.place.data,
                                                 capacity=form.capacity.data)
        except service.ScreeningError as exc:
            form.starts_at.errors.append(_sentence(translate(exc.page_message)))
        else:
            flash(_("Screening created."), "success")
            return redirect(url_for("screenings.detail", screening_id=screening.id))
    return render_template("screenings/form.html", form=form), 400 if form.errors else 200

