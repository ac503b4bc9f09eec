"""Email jobs. Each loads its delivery rows by id and records what happened."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app

from app.emails import welcome_delivery
from app.extensions import db
from app.models.user import User
from jobs.deliveries import claim, mark_failed, mark_sent, release
from jobs.mailer import PermanentMailError, SMTPConnection, SMTPSettings, TransientMailError, build_message

log = logging.getLogger(__name__)


def send_email_delivery(delivery_id: int) -> str:
    """Send one email delivery row. Raises TransientMailError so RQ retries it."""
    delivery = claim(delivery_id)
    if delivery is None:
        return "skipped: already sent, failed or in flight"
    settings = SMTPSettings.from_config(current_app.config)
    message = build_message(settings.sender, delivery.recipient, delivery.subject, delivery.body,
                            delivery.idempotency_key)
    try:
        with SMTPConnection(settings) as connection:
            answer = connection.send(message)
    except PermanentMailError as exc:
        mark_failed(delivery, str(exc))
        return f"failed: {exc}"
    except TransientMailError as exc:
        release(delivery, str(exc), retry_in=timedelta(seconds=30))
        raise
    mark_sent(delivery, answer)
    return answer


def send_welcome_email(user_id: int) -> str:
    """The welcome email for a new member (seed step 1).

    The web writes the delivery row with the user; if that row is missing (an
    older account, a hand-made job) it is created here, once, by its key.
    """
    user = db.session.get(User, user_id)
    if user is None:
        return f"skipped: no user {user_id}"
    delivery = welcome_delivery(user)
    db.session.commit()
    return send_email_delivery(delivery.id)
