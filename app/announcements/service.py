"""Writing an announcement and reading its progress.

The request does two things in one transaction: the announcement row, and one
delivery row per member written by a single ``INSERT ... SELECT`` from
``users`` (no member rows travel through Python, so 10,000 members cost one
statement). After the commit it enqueues one small fan-out job; the fan-out
job queues the batch jobs. If the queue Redis is down, the commit still
stands and the sweeper enqueues the batches later.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from sqlalchemy import String, cast, func, literal, select, update

from app.announcements.schemas import AnnouncementCounts, AnnouncementFailure, AnnouncementOut
from app.extensions import db
from app.models.announcement import Announcement
from app.models.delivery import FAILED, PENDING, SENDING, SENT, Delivery
from app.models.types import utcnow
from app.models.user import User
from app.links import page_url
from app.outbox import LOW, enqueue_after_commit, in_each_locale, insert_deliveries
from app.posts.schemas import AuthorOut

KIND = "announcement"
FAN_OUT = "jobs.announcements.fan_out"


def idempotency_prefix(announcement_id: int) -> str:
    return f"announcement:{announcement_id}:"


def fan_out_job_id(announcement_id: int) -> str:
    return f"announcement-{announcement_id}-fan-out"


def retry_job_id(announcement_id: int) -> str:
    return f"announcement-{announcement_id}-retry-{utcnow():%Y%m%d%H%M%S%f}"


def create_announcement(author: User, subject: str, body: str) -> Announcement:
    """Record the announcement and one pending delivery per member with a verified email; queue the send
    after commit."""
    announcement = Announcement(subject=subject, body=body, author_id=author.id)
    db.session.add(announcement)
    db.session.flush()
    key = literal(idempotency_prefix(announcement.id)) + cast(User.id, String)
    # Bulk mail goes only to addresses their members proved: an unverified one may be someone else's.
    link = page_url("posts.index")  # members have no page of announcements: the club's front page
    _, bodies = in_each_locale(lambda: ("", render_template("email/announcement.txt", body=body, link=link)))
    db.session.execute(insert_deliveries(key, KIND, subject, bodies,
                                         lambda rows: rows.where(User.email_verified_at.is_not(None)).order_by(User.id),
                                         by_preference=False, announcement_id=announcement.id))
    # rowcount of INSERT ... SELECT is -1 on some drivers (psycopg): count the rows (indexed).
    announcement.recipient_count = db.session.scalar(
        select(func.count()).where(Delivery.announcement_id == announcement.id))
    enqueue_after_commit(FAN_OUT, announcement.id, job_id=fan_out_job_id(announcement.id), queue=LOW)
    db.session.commit()
    return announcement


@dataclass(frozen=True)
class Progress:
    total: int
    pending: int
    sending: int
    sent: int
    failed: int

    @property
    def queued(self) -> int:
        """Not sent yet: waiting, or claimed by a worker right now."""
        return self.pending + self.sending

    @property
    def done(self) -> bool:
        return self.queued == 0

    @property
    def percent(self) -> float:
        return 100.0 if not self.total else round(100.0 * (self.sent + self.failed) / self.total, 1)


def progress(announcement_id: int) -> Progress:
    """Counts by status from the delivery rows (one indexed GROUP BY)."""
    counts = dict(db.session.execute(
        select(Delivery.status, func.count()).where(Delivery.announcement_id == announcement_id)
        .group_by(Delivery.status)).all())
    return Progress(total=sum(counts.values()), pending=counts.get(PENDING, 0), sending=counts.get(SENDING, 0),
                    sent=counts.get(SENT, 0), failed=counts.get(FAILED, 0))


def retry_failed(announcement_id: int) -> int:
    """Give the announcement's failed deliveries another go; returns how many.

    Each failed row goes back to pending with a fresh attempt count, addressed
    to the member's current email (a member who fixed their address gets the
    message there); its last reason stays visible until it is sent. After the
    commit one fan-out job queues batches for the unsent rows only.
    """
    current_email = (select(User.email).where(User.id == Delivery.user_id).scalar_subquery())
    retried = db.session.execute(
        update(Delivery)
        .where(Delivery.announcement_id == announcement_id, Delivery.status == FAILED)
        .values(status=PENDING, attempts=0, due_at=utcnow(), claimed_at=None,
                recipient=func.coalesce(current_email, Delivery.recipient))
        .execution_options(synchronize_session=False)).rowcount
    if retried:
        enqueue_after_commit(FAN_OUT, announcement_id, True, job_id=retry_job_id(announcement_id), queue=LOW)
    db.session.commit()
    return retried


def failed_deliveries(announcement_id: int, limit: int = 200) -> list[Delivery]:
    return list(db.session.scalars(
        select(Delivery).where(Delivery.announcement_id == announcement_id, Delivery.status == FAILED)
        .order_by(Delivery.id).limit(limit)))


def recent_announcements(limit: int = 50) -> list[Announcement]:
    return list(db.session.scalars(select(Announcement).order_by(Announcement.id.desc()).limit(limit)))


def announcement_json(announcement: Announcement, counts: Progress) -> dict:
    """The announcement in ``AnnouncementOut``'s shape, with its progress and its failed deliveries."""
    author = announcement.author
    return AnnouncementOut(
        id=announcement.id, subject=announcement.subject, body=announcement.body,
        author=AuthorOut(id=author.id, name=author.name) if author else None,
        created_at=announcement.created_at, recipient_count=announcement.recipient_count,
        counts=AnnouncementCounts(total=counts.total, queued=counts.queued, sending=counts.sending, sent=counts.sent,
                                  failed=counts.failed, done=counts.done, percent=counts.percent),
        failures=[AnnouncementFailure(recipient=d.recipient, attempts=d.attempts, reason=d.last_error)
                  for d in failed_deliveries(announcement.id)] if counts.failed else [],
    ).model_dump(mode="json")
