"""Screening pages: the programme, RSVP and cancel, and a form for admins."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import DateTimeLocalField, IntegerField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange

from app.accounts.guards import refuse_unverified
from app.extensions import db
from app.models.screening import ACTIVE, Screening
from app.models.types import utcnow
from app.screenings import service

bp = Blueprint("screenings", __name__, url_prefix="/screenings")


class ScreeningForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    film = StringField("Film", validators=[DataRequired(), Length(max=200)])
    starts_at = DateTimeLocalField("Starts at (club time)", format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    place = StringField("Place", validators=[DataRequired(), Length(max=200)])
    capacity = IntegerField("Capacity", validators=[DataRequired(), NumberRange(min=1, max=100_000)])
    submit = SubmitField("Create screening")


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
    return render_template("screenings/list.html", items=items, zone=_zone())


@bp.get("/<int:screening_id>")
def detail(screening_id: int) -> str:
    screening = db.session.get(Screening, screening_id) or abort(404)
    return render_template("screenings/detail.html", screening=screening,
                           info=service.to_dict(screening, current_user), zone=_zone(), form=ActionForm())


def _act(screening_id: int, action, done: str) -> Response:
    screening = db.session.get(Screening, screening_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400, "the form expired; reload the page and try again")
    try:
        action(screening)
        flash(done, "success")
    except service.ScreeningError as exc:
        db.session.rollback()
        flash(_sentence(exc.message), "error")
    return redirect(url_for("screenings.detail", screening_id=screening_id))


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


@bp.post("/<int:screening_id>/rsvp")
@login_required
def rsvp(screening_id: int) -> Response:
    if not current_user.is_verified:
        refuse_unverified("Verify your account before you RSVP: enter the code we sent you when you signed up.")
    return _act(screening_id, lambda s: service.rsvp(current_user, s), "You have a seat. Reminders will follow.")


@bp.post("/<int:screening_id>/cancel-rsvp")
@login_required
def cancel_rsvp(screening_id: int) -> Response:
    return _act(screening_id, lambda s: service.cancel_rsvp(current_user, s), "Your RSVP is cancelled.")


@bp.post("/<int:screening_id>/cancel")
@login_required
def cancel(screening_id: int) -> Response:
    if not current_user.is_admin:
        abort(403, "only the club's admins can cancel a screening")
    return _act(screening_id, service.cancel_screening, "Screening cancelled; members' reminders are cancelled.")


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create() -> Response | str:
    if not current_user.is_admin:
        abort(403, "only the club's admins can create screenings")
    form = ScreeningForm()
    if form.validate_on_submit():
        starts_at = form.starts_at.data.replace(tzinfo=_zone())
        try:
            screening = service.create_screening(current_user, title=form.title.data, film=form.film.data,
                                                 starts_at=starts_at, place=form.place.data,
                                                 capacity=form.capacity.data)
        except service.ScreeningError as exc:
            form.starts_at.errors.append(exc.message)
        else:
            return redirect(url_for("screenings.detail", screening_id=screening.id))
    return render_template("screenings/form.html", form=form)


def local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %Y, %H:%M %Z")


bp.add_app_template_filter(lambda moment, zone: local(moment, zone), "local_time")
