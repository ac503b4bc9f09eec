"""Passwords: change (current password required) and reset by email, with a single-use link.

A reset link carries a token signed with ``SECRET_KEY`` (itsdangerous, salt ``password-reset``) that
names the member and a fingerprint of their current password hash and email address. It is good for
``PASSWORD_RESET_TTL`` seconds (30 minutes) and once: setting a password changes the hash, so the
fingerprint no longer matches and every earlier link of that member dies with it (and so does a link
sent to an address the member has since changed). Nothing about the token is stored, so a database
reader learns nothing from it, and the delivery row that carries the link is redacted once it is sent
(``jobs.verification.send_verification_code``).

Asking for a reset answers the same whether or not the address has an account; the mail goes through
the outbox (a delivery row, a job on the ``high`` queue after the commit).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from flask import current_app, render_template, url_for
from flask_babel import gettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import defaults
from app.exceptions import FORBIDDEN, INVALID, PasswordRefused  # noqa: F401 (PasswordRefused: for callers)
from app.extensions import db
from app.i18n import in_locale, recipient_locale
from app.members import limits, sessions
from app.members.password_rules import password_problem
from app.members.service import find_user_by_email
from app.models.delivery import EMAIL, Delivery
from app.models.types import utcnow
from app.models.user import User
from app.outbox import HIGH, enqueue_after_commit, welcome_if_verified
from app.phrases import N_

log = logging.getLogger(__name__)

DELIVERY_KIND = "password_reset"
WRONG_PASSWORD = "the current password is wrong"
BAD_LINK = ("this password-reset link is not valid: it is wrong, expired (links last 30 minutes) or was "
            "already used; ask for a new one")
BAD_LINK_PAGE = N_("This password-reset link cannot be used: it is wrong, more than 30 minutes old, or was "
                 "already used. Ask for a new one below.")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _fingerprint(user: User) -> str:
    """Changes whenever the password (a new salted hash) or the email changes: what makes a link single-use."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{user.password_hash or ''}\x00{user.email}".encode(), hashlib.sha256).hexdigest()[:32]


def reset_token(user: User) -> str:
    return _serializer().dumps({"user": user.id, "state": _fingerprint(user)})


def user_for_token(token: str) -> User | None:
    """The member a live, unused link belongs to, or None."""
    try:
        data = _serializer().loads(token, max_age=defaults.PASSWORD_RESET_TTL)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("user"), int) or not isinstance(data.get("state"), str):
        return None
    user = db.session.get(User, data["user"])
    if user is None or not hmac.compare_digest(_fingerprint(user), data["state"]):
        return None
    return user


def request_reset(email: str) -> None:
    """Mail a reset link to ``email`` if a member has it; the same (silent) outcome otherwise.

    At most ``RATELIMIT_CODE_SEND`` mails per address, so the form cannot be used to flood a mailbox;
    over the limit nothing is sent and nothing is said (the answer must not tell whether an account exists).
    """
    user = find_user_by_email(email)
    if user is None:
        return
    try:
        limits.enforce("RATELIMIT_CODE_SEND", "password-reset", user.email, "for this email address")
    except limits.RateLimited:
        log.info("password reset for user %s not sent: over RATELIMIT_CODE_SEND", user.id)
        return
    link = _reset_link(reset_token(user))
    locale = recipient_locale(user)
    with in_locale(locale):
        delivery = Delivery(
            # Each request is its own mail: two asked within one second carry the same signed link.
            idempotency_key=f"password-reset:{user.id}:{secrets.token_hex(8)}",
            channel=EMAIL, kind=DELIVERY_KIND, recipient=user.email, user_id=user.id,
            subject=gettext("Reset your film club password"), locale=locale,
            body=render_template("email/password_reset.txt", user=user, link=link,
                                 minutes=defaults.PASSWORD_RESET_TTL // 60),
        )
    db.session.add(delivery)
    db.session.flush()
    enqueue_after_commit("jobs.verification.send_verification_code", delivery.id,
                         job_id=f"password-reset-{delivery.id}", queue=HIGH)
    db.session.commit()


def _reset_link(token: str) -> str:
    """The link in the mail: on ``EXTERNAL_URL`` when it is set, so a reset asked for with a forged
    ``Host`` header cannot mail the member a link to a stranger's site (else Flask's ``SERVER_NAME``,
    else the request's host)."""
    base = current_app.config.get("EXTERNAL_URL") or ""
    if base:
        return base.rstrip("/") + url_for("auth.reset_confirm", token=token)
    return url_for("auth.reset_confirm", token=token, _external=True)


def confirm_reset(token: str, password: str) -> User:
    """Set the password of the link's member and end every session they had; commits.

    Raises ``PasswordRefused`` for a link that is wrong, expired or used.
    """
    user = user_for_token(token)
    if user is None:
        raise PasswordRefused(INVALID, BAD_LINK, BAD_LINK_PAGE, field="token")
    _check_new(user, password)
    user.set_password(password)
    if user.email_verified_at is None:  # the link came to this address: the member holds the mailbox
        user.email_verified_at = utcnow()
        welcome_if_verified(user)  # the reset verified their account: welcomed now, as a code would
    user.session_token = None
    sessions.end_other_sessions(user)
    db.session.commit()
    return user


def _check_new(user: User, password: str) -> None:
    problem = password_problem(password, email=user.email, name=user.name)
    if problem:
        raise PasswordRefused(INVALID, problem, problem[0].upper() + problem[1:] + ".", field="password")


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Set a new password after checking the current one; the member's other sessions end. Commits.

    A member who signed up through a provider and never had a password sets one with a reset link.
    """
    if not user.check_password(current_password):
        raise PasswordRefused(FORBIDDEN, WRONG_PASSWORD, N_("The current password is wrong."),
                              field="current_password")
    _check_new(user, new_password)
    user.set_password(new_password)
    sessions.end_other_sessions(user)
    db.session.commit()
