"""SMS jobs. Like ``jobs.email``: load the delivery row by id, claim, send, mark.

The stored body is fitted for Korean carriers just before it is sent (``app.sms_text.fit``: characters
EUC-KR cannot carry replaced, SMS or LMS by its EUC-KR size, cut with its link kept past the provider's
limit), so no body the app accepted ends as a provider's refusal. The delivery log records the type and size.
"""
from __future__ import annotations

import logging

from flask import current_app

from app.sms_text import fit
from jobs.deliveries import ClaimedRow, send_claimed
from jobs.send_rate import sms_rate
from jobs.sms_backends import PermanentSMSError, SMSMessage, TransientSMSError, backend_from_config

log = logging.getLogger(__name__)


def send_sms_delivery(delivery_id: int) -> str:
    """Send one SMS delivery row. Raises TransientSMSError so RQ retries it."""
    def send(delivery: ClaimedRow) -> str:
        backend = backend_from_config(current_app.config)
        body = fit(delivery.body, backend.max_bytes)
        message = SMSMessage(to=delivery.recipient, body=body.text, key=delivery.idempotency_key, type=body.type)
        rate = sms_rate(current_app.config)
        if rate is not None:
            rate.acquire()   # the provider's quota, shared by every worker (jobs/send_rate.py)
        notes = [body.type, f"{body.size} bytes"] + (["cut"] if body.cut else []) + \
            ([f"{body.replaced} characters replaced"] if body.replaced else [])
        return f"{backend.send(message)} ({', '.join(notes)})"

    return send_claimed(delivery_id, send, PermanentSMSError, TransientSMSError)
