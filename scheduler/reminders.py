"""Screening reminders, the worker's half: due reminder rows become deliveries.

The web's half (rows and scheduling) is ``app.screenings.reminders``.

Design choice: rq-scheduler holds one job per (screening, lead time), id
``reminders-<screening>-<lead seconds>``, not one per member. At its time that
job dispatches every pending reminder due then in two statements (claim the
rows, create their delivery rows with INSERT ... SELECT) and hands the
deliveries to the workers in batches. 10,000 RSVPs cost 10,000 small rows and
zero extra scheduled jobs: rqscheduler moves due jobs one at a time (~0.5 ms
each), so one job per reminder would make the last of 10,000 about 5 s late.

The rows are the truth: the sweeper dispatches reminders that are due but were
missed (lost job, flushed Redis, scheduler down), and a dispatched reminder
cannot be dispatched again (the claim and the deliveries' idempotency keys).
Rule for late RSVPs: a reminder whose due time has already passed when the
member RSVPs is recorded as ``skipped`` and never sent late.
"""
from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import gettext
from sqlalchemy import String, and_, cast, func, literal, select, update

from app.extensions import db
from app.models.delivery import Delivery
from app.models.screening import CANCELLED_REMINDER, DISPATCHED, PENDING, Reminder, Screening
from app.models.types import utcnow
from app.models.user import User
from app.links import page_url
from app.outbox import enqueue_deliveries, in_each_locale, insert_deliveries
from app.screenings.reminders import QUEUE

log = logging.getLogger(__name__)

SWEEP_GRACE = timedelta(seconds=5)   # leave the scheduled job time to run first
DISPATCH_SLACK = timedelta(seconds=1)


# -- dispatch (worker) ---------------------------------------------------------------
def dispatch(screening_id: int, lead_seconds: int | None, now: datetime | None = None) -> int:
    """Turn due pending reminders into delivery rows and enqueue their sends.

    Claim (UPDATE with a fresh token) and insert happen in one transaction, so
    two dispatchers racing (the scheduled job and the sweeper) cannot both win.
    """
    # A job may start a moment before its rows' due time (clock reads differ by
    # milliseconds); anything due within the next second goes now, not in 30 s.
    now = now or utcnow()
    screening = db.session.get(Screening, screening_id)
    token = secrets.token_hex(8)
    due = and_(Reminder.screening_id == screening_id, Reminder.status == PENDING,
               Reminder.due_at <= now + DISPATCH_SLACK)
    if lead_seconds is not None:
        due = and_(due, Reminder.lead_seconds == lead_seconds)
    if screening is None or screening.is_cancelled:
        db.session.execute(update(Reminder).where(due).values(status=CANCELLED_REMINDER)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        return 0
    claimed = db.session.execute(update(Reminder).where(due).values(status=DISPATCHED, dispatch_token=token)
                                 .execution_options(synchronize_session=False)).rowcount
    if not claimed:
        db.session.commit()
        return 0
    link = page_url("screenings.detail", screening_id=screening.id)
    subject, body = in_each_locale(lambda: (
        gettext("Reminder: %(title)s (%(film)s)", title=screening.title, film=screening.film),
        render_template("email/reminder.txt", screening=screening, link=link)))
    key = literal("reminder:") + cast(Reminder.id, String)
    db.session.execute(insert_deliveries(
        key, "reminder", subject, body,
        lambda rows: rows.join(User, User.id == Reminder.user_id).where(Reminder.dispatch_token == token)
        .order_by(Reminder.id), now=now))
    db.session.commit()
    deliveries = db.session.execute(
        select(Delivery.id, Delivery.channel)
        .join(Reminder, Delivery.idempotency_key == literal("reminder:") + cast(Reminder.id, String))
        .where(Reminder.dispatch_token == token).order_by(Delivery.id)).all()
    enqueue_deliveries(deliveries, QUEUE, key=f"rem-{token}")
    return claimed


def send_due_reminders(screening_id: int, lead_seconds: int) -> str:
    """The scheduled job for one screening and lead time."""
    return f"dispatched {dispatch(screening_id, lead_seconds)} reminders"


def sweep_due_reminders() -> str:
    """Periodic: dispatch reminders that are due but were missed (lost job, flushed Redis)."""
    cutoff = utcnow() - SWEEP_GRACE
    screenings = db.session.scalars(
        select(Reminder.screening_id).where(Reminder.status == PENDING, Reminder.due_at <= cutoff)
        .group_by(Reminder.screening_id).order_by(func.min(Reminder.due_at))).all()
    total = sum(dispatch(screening_id, None, now=cutoff) for screening_id in screenings)
    return f"swept {total} reminders"


def _local(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(current_app.config["APP_TIMEZONE"]))
