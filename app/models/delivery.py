from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

EMAIL = "email"
SMS = "sms"

PENDING = "pending"   # waiting to be sent (or sent back after a transient error)
SENDING = "sending"   # claimed by a job; the message may be in flight
SENT = "sent"
FAILED = "failed"     # given up: permanent error or too many attempts

UNSENT_WHERE = f"status = '{PENDING}' OR status = '{SENDING}'"


class Delivery(db.Model):
    """One message to one recipient: the delivery log and the outbox in one row.

    The row is written in the same transaction as the thing that caused it (a
    sign-up, an announcement), so a queue Redis that is down or flushed loses
    nothing: the sweeper finds pending rows and enqueues them again. The unique
    ``idempotency_key`` stops the same message being recorded twice; the claim
    (pending -> sending) stops it being sent twice.
    """

    __tablename__ = "deliveries"
    # Only unsent rows are indexed by status: the sweeper looks for those, and
    # marking a message sent then removes one small entry instead of moving it
    # in a large index (half the cost of a bulk send's per-message mark on
    # SQLite). The OR form, not IN, is what lets SQLite's planner use it for
    # ``status = ?``. Progress counts read an announcement's rows by id.
    __table_args__ = (
        Index("ix_deliveries_unsent_due_at", "status", "due_at",
              sqlite_where=text(UNSENT_WHERE), postgresql_where=text(UNSENT_WHERE)),
        Index("ix_deliveries_announcement_id", "announcement_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(10), default=EMAIL)
    kind: Mapped[str] = mapped_column(String(30))
    recipient: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Set for an announcement's recipients: progress is counted from these rows.
    announcement_id: Mapped[int | None] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    # The language the message is written in (the recipient's, app.i18n.recipient_locale): the mail's
    # HTML part is laid out in it. Empty for rows written before it existed.
    locale: Mapped[str | None] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_response: Mapped[str | None] = mapped_column(String(500))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Delivery {self.id} {self.kind} {self.channel}:{self.recipient} {self.status}>"
