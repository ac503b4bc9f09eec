from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow
from app.models.user import User

SUBJECT_MAX_LENGTH = 300  # the deliveries.subject column's size
BODY_MAX_LENGTH = 50_000


class Announcement(db.Model):
    """A message from an admin to every member.

    Its recipients are delivery rows (``Delivery.announcement_id``) written in
    the same transaction; progress and failures are counted from those rows.
    ``recipient_count`` is how many rows were written (members at that moment).
    """

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX_LENGTH))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<Announcement {self.id} {self.subject!r}>"
