"""Periodic clean-up of rows nobody needs any more."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete

from app.extensions import db
from app.models.delivery import FAILED, SENT, Delivery
from app.models.screening import Reminder, Screening
from app.models.types import utcnow


def delete_expired_rows() -> str:
    cutoff = utcnow() - timedelta(days=current_app.config["DELIVERY_RETENTION_DAYS"])
    deliveries = db.session.execute(
        delete(Delivery).where(Delivery.status.in_((SENT, FAILED)), Delivery.created_at < cutoff)
        .execution_options(synchronize_session=False)).rowcount
    old_screenings = db.session.scalars(
        Screening.__table__.select().with_only_columns(Screening.id).where(Screening.starts_at < cutoff)).all()
    reminders = 0
    if old_screenings:
        reminders = db.session.execute(
            delete(Reminder).where(Reminder.screening_id.in_(old_screenings))
            .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return f"deleted {deliveries} deliveries and {reminders} reminders older than {cutoff:%Y-%m-%d}"
