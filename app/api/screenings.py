"""Screenings and RSVPs over JSON."""
from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user, login_required
from sqlalchemy import select

from app.api import bp
from app.api.errors import APIError, parse_json
from app.api.openapi import LOCATION_HEADER, operation
from app.api.screening_schemas import ScreeningCreate, ScreeningList, ScreeningOut, ScreeningUpdate
from app.error_pages import status_for
from app.extensions import db
from app.members.access import admin_required, require_verified
from app.models.screening import ACTIVE, Screening
from app.models.types import utcnow
from app.screenings import service


ADMINS_ONLY = "only admins can manage screenings"


def _screening(screening_id: int) -> Screening:
    screening = db.session.get(Screening, screening_id)
    if screening is None:
        raise APIError(404, f"no screening with id {screening_id}")
    return screening


def _service_call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except service.ScreeningError as exc:
        db.session.rollback()
        raise APIError(status_for(exc), exc.message) from None


@bp.get("/screenings")
@operation("Upcoming screenings", response=ScreeningList, description="Upcoming, soonest first")
def list_screenings() -> Response:
    screenings = db.session.scalars(
        select(Screening).where(Screening.status == ACTIVE, Screening.starts_at > utcnow())
        .order_by(Screening.starts_at)).all()
    return jsonify({"items": [service.to_dict(s, current_user) for s in screenings]})


@bp.get("/screenings/<int:screening_id>")
@operation("One screening", response=ScreeningOut, description="It", errors=(404,))
def get_screening(screening_id: int) -> Response:
    return jsonify(service.to_dict(_screening(screening_id), current_user))


@bp.post("/screenings")
@operation("Create a screening (admins)", status=201, response=ScreeningOut, description="Created; reminders scheduled",
           body=ScreeningCreate, errors=(400, 401, 403, 422), signed_in=True, headers=LOCATION_HEADER)
@admin_required(ADMINS_ONLY)
def create_screening() -> tuple[Response, int, dict]:
    data = parse_json(ScreeningCreate)
    screening = _service_call(service.create_screening, current_user, **data.model_dump())
    return jsonify(service.to_dict(screening)), 201, {"Location": f"/api/screenings/{screening.id}"}


@bp.patch("/screenings/<int:screening_id>")
@operation("Change or move a screening (admins); pending reminders move with it", response=ScreeningOut,
           description="Changed", body=ScreeningUpdate, errors=(400, 401, 403, 404, 409, 422), signed_in=True)
@admin_required(ADMINS_ONLY)
def update_screening(screening_id: int) -> Response:
    screening = _screening(screening_id)
    data = parse_json(ScreeningUpdate)
    _service_call(service.update_screening, screening, **data.model_dump(exclude_unset=True))
    return jsonify(service.to_dict(screening))


@bp.delete("/screenings/<int:screening_id>")
@operation("Cancel a screening (admins); its reminders are cancelled", status=204, description="Cancelled",
           errors=(401, 403, 404), signed_in=True)
@admin_required(ADMINS_ONLY)
def cancel_screening(screening_id: int) -> tuple[str, int]:
    _service_call(service.cancel_screening, _screening(screening_id))
    return "", 204


@bp.post("/screenings/<int:screening_id>/rsvp")
@operation("RSVP; reminders follow by your preferred channel", status=201, response=ScreeningOut,
           description="Seat taken", errors=(401, 403, 404, 409), signed_in=True)
@login_required
def rsvp(screening_id: int) -> tuple[Response, int]:
    require_verified(api_message="verify your account before you RSVP")
    screening = _screening(screening_id)
    _service_call(service.rsvp, current_user, screening)
    return jsonify(service.to_dict(screening, current_user)), 201


@bp.delete("/screenings/<int:screening_id>/rsvp")
@operation("Cancel your RSVP and its reminders", status=204, description="Cancelled", errors=(401, 404),
           signed_in=True)
@login_required
def cancel_rsvp(screening_id: int) -> tuple[str, int]:
    _service_call(service.cancel_rsvp, current_user, _screening(screening_id))
    return "", 204
