"""Sign-up and sign-in, shared by the HTML forms and the JSON API."""
from __future__ import annotations

from sqlalchemy import func, select

from app.exceptions import EmailTaken, PhoneTaken
from app.extensions import db
from app.members import verification
from app.members.contact import normalise_email
from app.models.user import CHANNELS, User
from app.outbox import DEFAULT, enqueue_after_commit, welcome_delivery


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email, strict=False)))


def sign_up(email: str, name: str, password: str, phone: str, channel: str) -> User:
    """Create the member, their welcome email and a verification code on ``channel``.

    ``phone`` is already E.164 (see ``app.members.contact``). Both jobs are
    enqueued after the commit: the code on the ``high`` queue, the welcome email
    on ``default``.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if find_user_by_email(email) is not None:
        raise EmailTaken(email)
    if verification.phone_taken(phone):
        raise PhoneTaken(phone)
    user = User(email=normalise_email(email, strict=False), name=name.strip(), phone=phone,
                notification_channel=channel)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    welcome_delivery(user)
    enqueue_after_commit("jobs.email.send_welcome_email", user.id,
                         job_id=f"welcome-email-{user.id}", queue=DEFAULT)
    verification.issue_code(user, channel)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    user = find_user_by_email(email)
    if user is None or not user.check_password(password):
        return None
    return user
