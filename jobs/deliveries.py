"""The delivery log's state changes: claim before sending, mark right after.

A row moves pending -> sending (claimed) -> sent | failed, or back to pending
after a transient error. The claim is one conditional UPDATE, so two jobs for
the same row (a retry, a requeue, a duplicate from the sweeper) cannot both
send it. A row left in ``sending`` by a killed worker becomes claimable again
after ``STALE_CLAIM``; that is the one message a kill may send twice.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, update

from app.extensions import db
from app.models.delivery import FAILED, PENDING, SENDING, SENT, Delivery
from app.models.types import utcnow

log = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=5)
MAX_ATTEMPTS = 8


def claim(delivery_id: int, now: datetime | None = None) -> Delivery | None:
    """Take the row for sending; None if it is sent, failed, or claimed by a live job."""
    now = now or utcnow()
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .where(or_(Delivery.status == PENDING,
                   (Delivery.status == SENDING) & (Delivery.claimed_at < now - STALE_CLAIM)))
        .values(status=SENDING, claimed_at=now, attempts=Delivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    return db.session.get(Delivery, delivery_id, populate_existing=True)


def mark_sent(delivery: Delivery, provider_response: str) -> None:
    delivery.status = SENT
    delivery.sent_at = utcnow()
    delivery.provider_response = provider_response[:500]
    delivery.last_error = None
    db.session.commit()


def mark_failed(delivery: Delivery, reason: str) -> None:
    delivery.status = FAILED
    delivery.last_error = reason
    db.session.commit()
    log.warning("delivery %s to %s failed for good: %s", delivery.id, delivery.recipient, reason)


def release(delivery: Delivery, reason: str, retry_in: timedelta) -> None:
    """Give the row back after a transient error; past MAX_ATTEMPTS it fails for good."""
    if delivery.attempts >= MAX_ATTEMPTS:
        mark_failed(delivery, f"gave up after {delivery.attempts} attempts: {reason}")
        return
    delivery.status = PENDING
    delivery.last_error = reason
    delivery.due_at = utcnow() + retry_in
    db.session.commit()
