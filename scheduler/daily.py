"""Seed step 7: each morning, the day's screening notifications, queued and sent in order.

One job per screening, chained with RQ dependencies in order of screening
time, so the 18:00 screening's notices go out only after the 14:00 one's.
Running it twice on a day sends nothing twice (idempotency keys per day,
screening and member).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import gettext
from rq.job import Dependency
from sqlalchemy import String, and_, cast, exists, literal, select

from app.extensions import db
from app.models.delivery import PENDING, Delivery
from app.models.screening import ACTIVE, Rsvp, Screening
from app.models.types import utcnow
from app.models.user import User
from app.links import page_url
from app.outbox import enqueue_now, in_each_locale, insert_deliveries
from app.times import local_clock
from jobs.email import send_email_delivery
from jobs.mailer import TransientMailError
from jobs.sms import send_sms_delivery
from jobs.sms_backends import TransientSMSError

QUEUE = "default"


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def _key_prefix(day: date, screening_id: int) -> str:
    return f"daily:{day.isoformat()}:{screening_id}:"


def queue_todays_notifications(day: str | None = None) -> str:
    zone = ZoneInfo(current_app.config["APP_TIMEZONE"])
    today = date.fromisoformat(day) if day else utcnow().astimezone(zone).date()
    start, end = local_day_bounds(today, zone)
    screenings = db.session.scalars(
        select(Screening).where(Screening.status == ACTIVE, Screening.starts_at >= start, Screening.starts_at < end)
        .order_by(Screening.starts_at, Screening.id)).all()
    previous = None
    for screening in screenings:
        _create_deliveries(today, screening, zone)
        job_id = f"daily-{today.isoformat()}-{screening.id}"
        depends = Dependency(jobs=[previous], allow_failure=True) if previous else None
        if enqueue_now("scheduler.daily.send_screening_notifications", today.isoformat(), screening.id,
                       job_id=job_id, queue=QUEUE, depends_on=depends):
            previous = job_id
    return f"{len(screenings)} screenings on {today.isoformat()}"


def _create_deliveries(day: date, screening: Screening, zone: ZoneInfo) -> None:
    prefix = _key_prefix(day, screening.id)
    key = literal(prefix) + cast(User.id, String)
    link = page_url("screenings.detail", screening_id=screening.id)
    subject, body = in_each_locale(lambda: (
        gettext("Today %(when)s: %(title)s", when=local_clock(screening.starts_at, zone=zone), title=screening.title),
        render_template("email/daily.txt", screening=screening, link=link)))
    db.session.execute(insert_deliveries(
        key, "daily", subject, body,
        lambda rows: rows.join(Rsvp, and_(Rsvp.user_id == User.id, Rsvp.screening_id == screening.id))
        .where(~exists().where(Delivery.idempotency_key == key)).order_by(User.id)))
    db.session.commit()


def send_screening_notifications(day: str, screening_id: int) -> str:
    """Send one screening's notices, one after another, each by its channel.

    A notice fails alone: a permanent failure is recorded on its row, and one
    that must wait (a 4xx, the provider down) is given back while the others
    go on; the job then raises so RQ's retry sends what waited.
    """
    senders = {"email": send_email_delivery, "sms": send_sms_delivery}
    rows = db.session.execute(
        select(Delivery.id, Delivery.channel).where(Delivery.idempotency_key.startswith(_key_prefix(date.fromisoformat(day),
                                                                                   screening_id)),
                                  Delivery.status == PENDING).order_by(Delivery.id)).all()
    waiting: list[str] = []
    for delivery_id, channel in rows:
        try:
            senders[channel](delivery_id)
        except (TransientMailError, TransientSMSError) as exc:
            waiting.append(f"{delivery_id}: {exc}")
    if waiting:
        raise TransientMailError(f"{len(waiting)} of {len(rows)} notices for screening {screening_id} must wait: "
                                 + "; ".join(waiting[:5]))
    return f"sent {len(rows)} notices for screening {screening_id}"
