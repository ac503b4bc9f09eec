"""A signed-in session, kept on the server so that signing out really ends it.

The session cookie is signed but lives in the browser: deleting it on sign-out does nothing to a
copy taken earlier. So the cookie names a row here (by a random token whose SHA-256 is stored), and
the user loader accepts the cookie only while the row exists. Signing out deletes this session's
row; "sign out everywhere", a password change and a password reset delete the member's others.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class MemberSession(db.Model):
    __tablename__ = "member_sessions"

    # hex SHA-256 of the token in the cookie: a database reader cannot forge a cookie from it
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
