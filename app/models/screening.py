from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

ACTIVE = "active"
CANCELLED = "cancelled"


class Screening(db.Model):
    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    film: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    place: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    rsvps: Mapped[list["Rsvp"]] = relationship(back_populates="screening", cascade="all, delete-orphan")

    @property
    def is_cancelled(self) -> bool:
        return self.status == CANCELLED


class Rsvp(db.Model):
    __tablename__ = "rsvps"
    __table_args__ = (UniqueConstraint("screening_id", "user_id", name="uq_rsvps_screening_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    screening: Mapped[Screening] = relationship(back_populates="rsvps")


# Reminder states
PENDING = "pending"          # waiting for its due time
DISPATCHED = "dispatched"    # its delivery row exists; the delivery log tracks the send
CANCELLED_REMINDER = "cancelled"
SKIPPED = "skipped"          # due time had passed when the RSVP was made: never sent late


class Reminder(db.Model):
    """One reminder for one member and one lead time: the source of truth for timed sends."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("screening_id", "user_id", "lead_seconds", name="uq_reminders_screening_user_lead"),
        Index("ix_reminders_status_due_at", "status", "due_at"),
        Index("ix_reminders_screening_lead", "screening_id", "lead_seconds"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lead_seconds: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    dispatch_token: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
