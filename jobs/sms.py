"""SMS jobs. Like ``jobs.email``: load the delivery row by id, claim, send, mark."""
from __future__ import annotations

import logging

from flask import current_app

from jobs.deliveries import ClaimedRow, send_claimed
from jobs.sms_backends import PermanentSMSError, SMSMessage, TransientSMSError, backend_from_config

log = logging.getLogger(__name__)


def send_sms_delivery(delivery_id: int) -> str:
    """Send one SMS delivery row. Raises TransientSMSError so RQ retries it."""
    def send(delivery: ClaimedRow) -> str:
        message = SMSMessage(to=delivery.recipient, body=delivery.body, key=delivery.idempotency_key)
        return backend_from_config(current_app.config).send(message)

    return send_claimed(delivery_id, send, PermanentSMSError, TransientSMSError)
