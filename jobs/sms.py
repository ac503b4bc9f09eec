"""SMS jobs. Like ``jobs.email``: load the delivery row by id, claim, send, mark."""
from __future__ import annotations

import logging

from flask import current_app

from jobs.deliveries import ClaimedRow, send_claimed
from jobs.send_rate import sms_rate
from jobs.sms_backends import PermanentSMSError, SMSMessage, TransientSMSError, backend_from_config

log = logging.getLogger(__name__)


def send_sms_delivery(delivery_id: int) -> str:
    """Send one SMS delivery row. Raises TransientSMSError so RQ retries it."""
    def send(delivery: ClaimedRow) -> str:
        message = SMSMessage(to=delivery.recipient, body=delivery.body, key=delivery.idempotency_key)
        backend = backend_from_config(current_app.config)
        rate = sms_rate(current_app.config)
        if rate is not None:
            rate.acquire()   # the provider's quota, shared by every worker (jobs/send_rate.py)
        return backend.send(message)

    return send_claimed(delivery_id, send, PermanentSMSError, TransientSMSError)
