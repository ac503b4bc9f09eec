"""One-time verification codes: issue, send (by a job on the ``high`` queue), check.

Security guidance followed: 6 digits from ``secrets``; only an HMAC of the code
(keyed by SECRET_KEY, bound to the member and the contact it proves) is stored;
valid ``VERIFICATION_CODE_TTL`` seconds; single use (a conditional UPDATE spends
it, so two requests cannot both use one code); ``VERIFICATION_MAX_ATTEMPTS`` wrong
tries void it; a new code voids the old one; resends wait
``VERIFICATION_RESEND_COOLDOWN`` seconds (the 429 says how long). A resend answers
the same way whether or not an account exists; a code entry too, until the fifth
wrong try on a member's code, which says the code is void so the member asks for
a new one.

The code's text travels in a delivery row (the outbox) until it is sent; the job
redacts it from the row once the delivery is sent or failed.
"""
from __future__ import annotations

import enum
import hashlib
import hmac
import logging
import math
import secrets
from datetime import timedelta

from flask import current_app, render_template
from flask_babel import gettext, ngettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.i18n import in_locale, recipient_locale
from app.members import limits
from app.models.delivery import Delivery
from app.models.types import utcnow
from app.models.user import CHANNEL_SMS, User
from app.models.verification_code import VerificationCode
from app.outbox import HIGH, enqueue_after_commit, welcome_if_verified

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
    locale = recipient_locale(user)
    with in_locale(locale):
        delivery = Delivery(
            idempotency_key=f"verification-code:{row.id}", channel=channel, kind=DELIVERY_KIND,
            recipient=destination, user_id=user.id, subject=gettext("Your film club verification code"),
            body=render_template("email/verification_code.txt", user=user, code=code, minutes=minutes)
            if channel != CHANNEL_SMS else ngettext("[Film club] Your verification code is %(code)s (%(num)s min).",
                                                    "[Film club] Your verification code is %(code)s (%(num)s min).",
                                                    minutes, code=code),
            locale=locale,
        )
    db.session.add(delivery)
    db.session.flush()
    enqueue_after_commit("jobs.verification.send_verification_code", delivery.id,
                         job_id=f"verification-code-{delivery.id}", queue=HIGH)
    return delivery


class Check(enum.Enum):
    """What entering a code did."""

    VERIFIED = "verified"
    INVALID = "invalid"      # wrong, expired, used, replaced, another member's, or no such member
    VOID = "void"            # the member's newest code took its last wrong try: they need a new one
    PHONE_TAKEN = "taken"    # right code, but another member verified this phone number first


def check_code(user: User | None, code: str) -> Check:
    """Spend the member's open code that matches ``code``; count a wrong try otherwise.

    On success the contact the code was sent to is marked verified and the
    session is committed. A missing user, an expired, spent or voided code, a code
    sent to a contact the member has since changed, or another member's code: INVALID,
    or VOID once the member's newest code has had ``VERIFICATION_MAX_ATTEMPTS`` wrong tries.
    """
    if user is None:
        return Check.INVALID
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
    return Check.VOID if _newest_code_used_up(user.id, now, max_attempts) else Check.INVALID


def _newest_code_used_up(user_id: int, now, max_attempts: int) -> bool:
    """The member's latest unexpired code was voided by wrong tries (not used, not replaced)."""
    attempts = db.session.scalar(
        select(VerificationCode.attempts)
        .where(VerificationCode.user_id == user_id, VerificationCode.expires_at > now)
        .order_by(VerificationCode.created_at.desc(), VerificationCode.id.desc()).limit(1))
    return attempts is not None and attempts >= max_attempts


def phone_taken(phone: str, user_id: int | None = None) -> bool:
    """Another member verified this mobile number: it is theirs (``ux_users_verified_phone``)."""
    query = select(User.id).where(User.phone == phone, User.phone_verified_at.is_not(None))
    if user_id is not None:
        query = query.where(User.id != user_id)
    return db.session.scalar(query.limit(1)) is not None


def _spend(user: User, row: VerificationCode) -> Check:
    if row.channel == CHANNEL_SMS and phone_taken(row.destination, user.id):
        return Check.PHONE_TAKEN
    now = utcnow()
    spent = db.session.execute(
        update(VerificationCode).where(VerificationCode.id == row.id, VerificationCode.spent_at.is_(None))
        .values(spent_at=now).execution_options(synchronize_session=False))
    if spent.rowcount != 1:  # another request used it a moment ago
        db.session.rollback()
        return Check.INVALID
    if row.channel == CHANNEL_SMS:
        user.phone_verified_at = now
    else:
        user.email_verified_at = now
    welcome_if_verified(user)
    try:
        db.session.commit()
    except IntegrityError:  # another member verified the same number at this very moment
        db.session.rollback()
        return Check.PHONE_TAKEN
    return Check.VERIFIED


class Resend(enum.Enum):
    SENT = "sent"
    NOTHING_TO_SEND = "nothing"  # no such member, or that contact is verified already


def request_code(email: str, user: User | None, channel: str | None = None) -> Resend:
    """Send a fresh code to ``user``'s contact on ``channel`` (default: where their notifications go).

    The request counts once against ``RATELIMIT_CODE_SEND`` for ``email`` (whether or not
    such a member exists, so the answers do not tell) and, for a text message, once for the
    phone number it goes to. Raises ``limits.RateLimited`` (429, with the seconds to wait)
    inside the limits or within ``VERIFICATION_RESEND_COOLDOWN`` of the member's last code.
    """
    channel = channel or (user.notification_channel if user is not None else None)
    destination = destination_for(user, channel) if user is not None and channel else None
    due = destination is not None and not user.contact_verified(channel)
    if due:
        _enforce_cooldown(user)
    enforce_code_limits(email, channel if due else None, destination)
    if not due:
        return Resend.NOTHING_TO_SEND
    issue_code(user, channel)
    db.session.commit()
    return Resend.SENT


def enforce_code_limits(email: str, channel: str | None, phone: str | None) -> None:
    """Count one code request: once for the account's email address (whatever the channel),
    and once for the phone number when the code goes by text message."""
    keys = [("code-email", email, "for this email address")]
    if channel == CHANNEL_SMS and phone:
        keys.append(("code-sms", phone, "for this phone number"))
    limits.enforce_all("RATELIMIT_CODE_SEND", keys)


def _enforce_cooldown(user: User) -> None:
    cooldown = current_app.config["VERIFICATION_RESEND_COOLDOWN"]
    last = db.session.scalar(select(VerificationCode.created_at).where(VerificationCode.user_id == user.id)
                             .order_by(VerificationCode.created_at.desc()).limit(1))
    if last is None:
        return
    wait = cooldown - (utcnow() - last).total_seconds()
    if wait > 0:
        retry_after = math.ceil(wait)
        raise limits.RateLimited(f"too many requests for this email address: one code per {cooldown} seconds; "
                                 f"try again in {retry_after} seconds", retry_after)
