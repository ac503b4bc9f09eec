"""Announcements over JSON: admins write them, anyone admin reads their progress."""
from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from app.announcements import service
from app.api import bp
from app.api.errors import APIError, parse_json
from app.api.openapi import LOCATION_HEADER, operation
from app.api.schemas import AnnouncementAccepted, AnnouncementCreate, AnnouncementOut, AnnouncementRetried
from app.extensions import db
from app.members.access import admin_required
from app.models.announcement import Announcement


ADMINS_ONLY = "only admins can send or read announcements"


@bp.post("/announcements")
@operation("Email an announcement to every member (admins only). Answers at once; workers send it in batches",
           status=202, response=AnnouncementAccepted,
           description="Accepted: one delivery per member recorded, sending in the background",
           body=AnnouncementCreate, errors=(400, 401, 403, 422), signed_in=True, headers=LOCATION_HEADER)
@admin_required(ADMINS_ONLY)
def create_announcement() -> tuple[Response, int, dict]:
    """202: the rows are written, the mail goes out in the background."""
    data = parse_json(AnnouncementCreate)
    announcement = service.create_announcement(current_user, data.subject, data.body)
    url = f"/api/announcements/{announcement.id}"
    body = AnnouncementAccepted(id=announcement.id, recipient_count=announcement.recipient_count, status_url=url)
    return jsonify(body.model_dump(mode="json")), 202, {"Location": url}


@bp.post("/announcements/<int:announcement_id>/retry-failed")
@operation("Send the announcement's failed deliveries again (admins only)", status=202,
           response=AnnouncementRetried, description="Failed deliveries queued again", errors=(401, 403, 404),
           signed_in=True, headers=LOCATION_HEADER)
@admin_required(ADMINS_ONLY)
def retry_failed(announcement_id: int) -> tuple[Response, int, dict]:
    """202: the failed deliveries are pending again and queued; ``retried`` says how many."""
    if db.session.get(Announcement, announcement_id) is None:
        raise APIError(404, f"no announcement with id {announcement_id}")
    retried = service.retry_failed(announcement_id)
    url = f"/api/announcements/{announcement_id}"
    body = AnnouncementRetried(id=announcement_id, retried=retried, status_url=url)
    return jsonify(body.model_dump(mode="json")), 202, {"Location": url}


@bp.get("/announcements/<int:announcement_id>")
@operation("An announcement and its delivery counts (queued, sent, failed); admins only",
           response=AnnouncementOut, description="The announcement", errors=(401, 403, 404), signed_in=True)
@admin_required(ADMINS_ONLY)
def get_announcement(announcement_id: int) -> Response:
    announcement = db.session.get(Announcement, announcement_id)
    if announcement is None:
        raise APIError(404, f"no announcement with id {announcement_id}")
    return jsonify(service.announcement_json(announcement, service.progress(announcement_id)))
