"""Sign-up and sign-in, shared by the HTML forms and the JSON API."""
from __future__ import annotations

import logging
import secrets
import time
from functools import cache

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app import defaults

from app.exceptions import EmailTaken, PhoneTaken
from app.extensions import db
from app.i18n import signup_locale
from app.members import limits, verification
from app.members.contact import normalise_email
from app.models.user import CHANNELS, User

log = logging.getLogger(__name__)


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email, strict=False)))


RELEASED_DOMAIN = "released.invalid"  # RFC 2606: no mail can reach it


def email_owned(email: str) -> bool:
    """True when a member verified this address: only then is it theirs."""
    holder = find_user_by_email(email)
    return holder is not None and holder.email_verified


def claim_email(email: str, claimant_id: int | None = None) -> None:
    """Make ``email`` free for a new account (or ``claimant_id``'s), or raise EmailTaken.

    An address is owned only once verified. Someone who signs up with another person's address (and
    verifies by SMS) never proves it, so they must not keep its owner from signing up, changing to it
    or linking a social sign-in: the unverified holder loses the address (it becomes
    ``unverified-<id>@released.invalid``; their codes for it stop working, as after any email change).
    The caller commits.
    """
    holder = find_user_by_email(email)
    if holder is None or holder.id == claimant_id:
        return
    if holder.email_verified:
        raise EmailTaken(email)
    log.warning("email address of user %s was never verified: released for another account", holder.id)
    holder.email = f"unverified-{holder.id}@{RELEASED_DOMAIN}"
    db.session.flush()


def sign_up(email: str, name: str, password: str, phone: str, channel: str) -> User:
    """Create the member and a verification code on ``channel``.

    ``phone`` is already E.164 (see ``app.members.contact``). The code's job is
    enqueued after the commit, on the ``high`` queue, in the language the sign-up
    page was in. The welcome email waits for the verification (``app.outbox.welcome_if_verified``).
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if email_owned(email):
        raise EmailTaken(email)
    if verification.phone_taken(phone):
        raise PhoneTaken(phone)
    claim_email(email)
    user = User(email=normalise_email(email, strict=False), name=name.strip(), phone=phone,
                notification_channel=channel, locale=signup_locale())
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    verification.issue_code(user, channel)
    db.session.commit()
    return user


@cache
def _dummy_hash() -> str:
    """A hash made the way members' are (same method and cost), of a password nobody knows; made once
    per process, on the first sign-in that needs it."""
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(email: str, password: str) -> User | None:
    """The member with this email and password, or None.

    An unknown address (or an account with no password) is checked against a dummy hash, so a wrong
    answer costs the same time whether or not the address has an account: timing tells no one who is
    a member.
    """
    user = find_user_by_email(email)
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(), password)
        return None
    return user if user.check_password(password) else None


def sign_in_attempt(email: str, password: str) -> User | None:
    """``authenticate``, within the sign-in limits that cannot lock a member out.

    Attempts are counted per account *and* client address together (``RATELIMIT_LOGIN``): someone
    guessing from one address is stopped for that account, while the owner, from any other address,
    still signs in with the right password. Per account alone there is a higher ceiling
    (``RATELIMIT_LOGIN_ACCOUNT``) for guesses spread over many addresses: past it every attempt on the
    account waits ``LOGIN_SLOWDOWN_SECONDS`` first (slowed, never refused). The per-address limit the
    views apply bounds one address across accounts.
    """
    email = normalise_email(email, strict=False)
    limits.enforce("RATELIMIT_LOGIN", "login-account-address", f"{email} {limits.client_address()}",
                   "for this account from your address")
    try:
        limits.enforce("RATELIMIT_LOGIN_ACCOUNT", "login-account", email, "for this account")
    except limits.RateLimited:
        log.warning("sign-in attempts on one account over RATELIMIT_LOGIN_ACCOUNT: slowing them down")
        time.sleep(defaults.LOGIN_SLOWDOWN_SECONDS)
    return authenticate(email, password)
