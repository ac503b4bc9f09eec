"""Email jobs. Each loads its delivery rows by id and records what happened."""
from __future__ import annotations

import logging

from flask import current_app

from app.extensions import db
from app.mail_html import html_part
from app.models.user import User
from app.outbox import welcome_delivery
from jobs.deliveries import ClaimedRow, send_claimed
from jobs.mailer import PermanentMailError, SMTPConnection, SMTPSettings, TransientMailError
from jobs.send_rate import mail_rate

log = logging.getLogger(__name__)


def send_email_delivery(delivery_id: int) -> str:
    """Send one email delivery row. Raises TransientMailError so RQ retries it."""
    def send(delivery: ClaimedRow) -> str:
        settings = SMTPSettings.from_config(current_app.config)
        with SMTPConnection(settings, mail_rate(current_app.config)) as connection:
            return connection.deliver(settings.sender, delivery.recipient, delivery.subject, delivery.body,
                                      delivery.idempotency_key,
                                      html_part(delivery.subject, delivery.body, delivery.locale))

    return send_claimed(delivery_id, send, PermanentMailError, TransientMailError)


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
