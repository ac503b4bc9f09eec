"""SMS jobs. Like ``jobs.email``: load the delivery row by id, claim, send, mark."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app

from jobs.deliveries import claim, mark_failed, mark_sent, release
from jobs.sms_backends import PermanentSMSError, SMSMessage, TransientSMSError, backend_from_config

log = logging.getLogger(__name__)


def send_sms_delivery(delivery_id: int) -> str:
    """Send one SMS delivery row. Raises TransientSMSError so RQ retries it."""
    delivery = claim(delivery_id)
    if delivery is None:
        return "skipped: already sent, failed or in flight"
    message = SMSMessage(to=delivery.recipient, body=delivery.body, key=delivery.idempotency_key)
    try:
        answer = backend_from_config(current_app.config).send(message)
    except PermanentSMSError as exc:
        mark_failed(delivery, str(exc))
        return f"failed: {exc}"
    except TransientSMSError as exc:
        release(delivery, str(exc), retry_in=timedelta(seconds=30))
        raise
    mark_sent(delivery, answer)
    return answer
