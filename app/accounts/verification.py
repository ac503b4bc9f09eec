"""One-time verification codes: issue, send (by a job on the ``high`` queue), check.

Security guidance followed: 6 digits from ``secrets``; only an HMAC of the code
(keyed by SECRET_KEY, bound to the member and the contact it proves) is stored;
valid ``VERIFICATION_CODE_TTL`` seconds; single use (a conditional UPDATE spends
it, so two requests cannot both use one code); ``VERIFICATION_MAX_ATTEMPTS`` wrong
tries void it; a new code voids the old one; resends wait
``VERIFICATION_RESEND_COOLDOWN`` seconds. Callers answer the same way whether or
not an account exists.

The code's text travels in a delivery row (the outbox) until it is sent; the job
redacts it from the row once the delivery is sent or failed.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from flask import current_app, render_template
from sqlalchemy import select, update

from app.accounts import limits
from app.extensions import db
from app.models.delivery import Delivery
from app.models.types import utcnow
from app.models.user import CHANNEL_SMS, User
from app.models.verification_code import VerificationCode
from jobs.enqueue import enqueue_after_commit
from jobs.queues import HIGH

log = logging.getLogger(__name__)

CODE_DIGITS = 6
DELIVERY_KIND = "verification_code"


def _hash(user_id: int, destination: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{user_id}:{destination}:{code}".encode(), hashlib.sha256).hexdigest()


def destination_for(user: User, channel: str) -> str | None:
    return user.phone if channel == CHANNEL_SMS else user.email


def _void_open_codes(user_id: int, channel: str) -> None:
    db.session.execute(update(VerificationCode)
                       .where(VerificationCode.user_id == user_id, VerificationCode.channel == channel,
                              VerificationCode.spent_at.is_(None))
                       .values(spent_at=utcnow()).execution_options(synchronize_session=False))


def issue_code(user: User, channel: str) -> Delivery:
    """Create a code for ``user``'s contact on ``channel`` and its delivery; sent after commit.

    The caller commits. Earlier open codes of the member on that channel are voided
    (a member changing both email and phone has one open code for each).
    """
    destination = destination_for(user, channel)
    if destination is None:
        raise ValueError(f"user {user.id} has no contact for channel {channel}")
    _void_open_codes(user.id, channel)
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    now = utcnow()
    row = VerificationCode(user_id=user.id, channel=channel, destination=destination,
                           code_hash=_hash(user.id, destination, code), attempts=0, created_at=now,
                           expires_at=now + timedelta(seconds=current_app.config["VERIFICATION_CODE_TTL"]))
    db.session.add(row)
    db.session.flush()
    minutes = max(1, current_app.config["VERIFICATION_CODE_TTL"] // 60)
    delivery = Delivery(
        idempotency_key=f"verification-code:{row.id}", channel=channel, kind=DELIVERY_KIND,
        recipient=destination, user_id=user.id, subject="Your film club verification code",
        body=render_template("email/verification_code.txt", user=user, code=code, minutes=minutes)
        if channel != CHANNEL_SMS else f"[Film club] Your verification code is {code} ({minutes} min).",
    )
    db.session.add(delivery)
    db.session.flush()
    enqueue_after_commit("jobs.verification.send_verification_code", delivery.id,
                         job_id=f"verification-code-{delivery.id}", queue=HIGH)
    return delivery


def check_code(user: User | None, code: str) -> bool:
    """Spend the member's open code that matches ``code``; count a wrong try otherwise.

    On success the contact the code was sent to is marked verified and the
    session is committed. A missing user, an expired, spent or voided code, a code
    sent to a contact the member has since changed, or another member's code: False.
    """
    if user is None:
        return False
    now = utcnow()
    max_attempts = current_app.config["VERIFICATION_MAX_ATTEMPTS"]
    open_codes = db.session.scalars(
        select(VerificationCode)
        .where(VerificationCode.user_id == user.id, VerificationCode.spent_at.is_(None),
               VerificationCode.expires_at > now, VerificationCode.attempts < max_attempts)).all()
    for row in open_codes:
        if destination_for(user, row.channel) != row.destination:
            continue
        if hmac.compare_digest(row.code_hash, _hash(user.id, row.destination, code)):
            return _spend(user, row)
    ids = [row.id for row in open_codes]
    if ids:
        db.session.execute(update(VerificationCode).where(VerificationCode.id.in_(ids))
                           .values(attempts=VerificationCode.attempts + 1)
                           .execution_options(synchronize_session=False))
        db.session.execute(update(VerificationCode)
                           .where(VerificationCode.id.in_(ids), VerificationCode.attempts >= max_attempts)
                           .values(spent_at=now).execution_options(synchronize_session=False))
        db.session.commit()
    return False


def _spend(user: User, row: VerificationCode) -> bool:
    now = utcnow()
    spent = db.session.execute(
        update(VerificationCode).where(VerificationCode.id == row.id, VerificationCode.spent_at.is_(None))
        .values(spent_at=now).execution_options(synchronize_session=False))
    if spent.rowcount != 1:  # another request used it a moment ago
        db.session.rollback()
        return False
    if row.channel == CHANNEL_SMS:
        user.phone_verified_at = now
    else:
        user.email_verified_at = now
    db.session.commit()
    return True


def request_code(user: User | None, channel: str | None = None) -> bool:
    """Send a fresh code if one is due; False (silently) otherwise.

    Nothing is sent when there is no such member, the contact is already verified,
    the last code is younger than the cooldown, or the per-phone/per-email limit
    is spent. The answer to the client is the same in every case.
    """
    if user is None:
        return False
    channel = channel or user.notification_channel
    destination = destination_for(user, channel)
    if destination is None or user.contact_verified(channel):
        return False
    cooldown = timedelta(seconds=current_app.config["VERIFICATION_RESEND_COOLDOWN"])
    last = db.session.scalar(select(VerificationCode.created_at).where(VerificationCode.user_id == user.id)
                             .order_by(VerificationCode.created_at.desc()).limit(1))
    if last is not None and utcnow() - last < cooldown:
        return False
    if not limits.allowed("RATELIMIT_CODE_SEND", f"code-{channel}", destination):
        log.warning("code for user %s not sent: %s limit for %s reached", user.id, channel, destination)
        return False
    issue_code(user, channel)
    db.session.commit()
    return True
