"""Verification-code job (``high`` queue): send by the delivery's channel, then redact the code.

The code's text is kept in the delivery row only while it may still be sent;
once the row is sent or failed for good it is replaced, so the database holds
no usable code (the verification table keeps only a keyed hash).
"""
from __future__ import annotations

from app.extensions import db
from app.models.delivery import FAILED, SENT, SMS, Delivery
from jobs.email import send_email_delivery
from jobs.sms import send_sms_delivery

REDACTED = "[verification code redacted after sending]"


def send_verification_code(delivery_id: int) -> str:
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        return f"skipped: no delivery {delivery_id}"
    send = send_sms_delivery if delivery.channel == SMS else send_email_delivery
    try:
        return send(delivery_id)
    finally:
        redact(delivery_id)


def redact(delivery_id: int) -> None:
    db.session.rollback()
    delivery = db.session.get(Delivery, delivery_id, populate_existing=True)
    if delivery is not None and delivery.status in (SENT, FAILED) and delivery.body != REDACTED:
        delivery.body = REDACTED
        db.session.commit()
