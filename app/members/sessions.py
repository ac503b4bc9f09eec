"""Sessions that end: every sign-in is a row in ``member_sessions``, and the cookie is good only while
its row exists.

Flask's session cookie is signed, not stored: clearing it on sign-out leaves any copy of it (a shared
computer, a stolen cookie) working until the secret key changes. So the id Flask-Login keeps in the
cookie is ``<member id>:<session token>``; the user loader accepts it only while the token's row exists
and is younger than ``SESSION_MAX_AGE``. Signing out deletes the row; "sign out everywhere" deletes the
member's rows; a password change deletes every row but the current one; a reset deletes them all.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_login import current_user, login_user, logout_user
from sqlalchemy import delete

from app import defaults
from app.extensions import db
from app.models.member_session import MemberSession
from app.models.types import utcnow
from app.models.user import User


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _too_old():
    return utcnow() - timedelta(seconds=defaults.SESSION_MAX_AGE)


def sign_in(user: User) -> None:
    """Start a new session for ``user`` in this browser (a new row, a new token in the cookie).

    Commits. The member's sessions older than ``SESSION_MAX_AGE`` are removed on the way.
    """
    token = secrets.token_urlsafe(32)
    db.session.execute(delete(MemberSession).where(MemberSession.user_id == user.id,
                                                   MemberSession.created_at < _too_old()))
    db.session.add(MemberSession(token_hash=_hash(token), user_id=user.id, created_at=utcnow()))
    db.session.commit()
    user.session_token = token
    login_user(user)


def load(user_id: str) -> User | None:
    """Flask-Login's user loader: the member whose live session the cookie names, else None."""
    member_id, _, token = user_id.partition(":")
    if not (member_id.isascii() and member_id.isdigit()) or not token:
        return None
    row = db.session.get(MemberSession, _hash(token))
    if row is None or row.user_id != int(member_id) or row.created_at < _too_old():
        return None
    user = db.session.get(User, row.user_id)
    if user is not None:
        user.session_token = token
    return user


def sign_out() -> None:
    """End this browser's session: its row goes, so a copy of the cookie stops working too."""
    token = getattr(current_user, "session_token", None) if current_user.is_authenticated else None
    if token:
        db.session.execute(delete(MemberSession).where(MemberSession.token_hash == _hash(token)))
        db.session.commit()
    logout_user()


def end_other_sessions(user: User) -> int:
    """Delete every session of ``user`` except the one this request runs in; the caller commits."""
    query = delete(MemberSession).where(MemberSession.user_id == user.id)
    token = getattr(user, "session_token", None)
    if token:
        query = query.where(MemberSession.token_hash != _hash(token))
    return db.session.execute(query).rowcount


def sign_out_everywhere(user: User) -> int:
    """End every session of ``user``, this one included; returns how many ended. Commits."""
    ended = db.session.execute(delete(MemberSession).where(MemberSession.user_id == user.id)).rowcount
    db.session.commit()
    logout_user()
    return ended
