from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class VerificationCode(db.Model):
    """A one-time code sent to a phone or an email address; only its keyed hash is kept.

    ``destination`` is the contact the code proves (E.164 phone or email): a code sent to
    an old number cannot verify a new one. ``spent_at`` is set when the code is used,
    replaced by a newer code, or voided after too many wrong attempts.
    """

    __tablename__ = "verification_codes"
    __table_args__ = (Index("ix_verification_codes_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(5))
    destination: Mapped[str] = mapped_column(String(254))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
