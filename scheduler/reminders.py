"""Screening reminders: rows in the database, one rq-scheduler job per screening and lead time.

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

from flask import current_app, render_template
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq_scheduler import Scheduler
from sqlalchemy import String, and_, case, cast, func, insert, literal, select, update

from app.db_events import run_after_commit
from app.safe_jobs import JSONJob, JSONQueue
from app.extensions import db
from app.models.delivery import Delivery
from app.models.screening import (CANCELLED_REMINDER, DISPATCHED, PENDING, SKIPPED, Reminder, Rsvp, Screening)
from app.models.types import utcnow
from app.models.user import User
from app.redis_clients import queue_redis
from scheduler.sending import enqueue_deliveries

log = logging.getLogger(__name__)

SWEEP_GRACE = timedelta(seconds=5)   # leave the scheduled job time to run first
QUEUE = "default"
DISPATCH_SLACK = timedelta(seconds=1)


def job_id(screening_id: int, lead_seconds: int) -> str:
    return f"reminders-{screening_id}-{lead_seconds}"


def _scheduler() -> Scheduler:
    return Scheduler(queue_name=QUEUE, connection=queue_redis(), job_class=JSONJob, queue_class=JSONQueue)


# -- scheduling (web process, after commit) ------------------------------------------
def schedule_screening(screening_id: int, starts_at: datetime, leads: tuple[int, ...]) -> None:
    """(Re)schedule the screening's reminder jobs; idempotent by job id."""
    try:
        scheduler = _scheduler()
        now = utcnow()
        for lead in leads:
            due = starts_at - timedelta(seconds=lead)
            if due.microsecond:  # rq-scheduler truncates to whole seconds: never fire early
                due = due.replace(microsecond=0) + timedelta(seconds=1)
            if due > now:
                scheduler.enqueue_at(due, "scheduler.reminders.send_due_reminders", screening_id, lead,
                                     job_id=job_id(screening_id, lead), queue_name=QUEUE,
                                     job_description=f"reminders for screening {screening_id}, {lead}s before")
            else:
                _forget(scheduler, job_id(screening_id, lead))
    except RedisError as exc:
        log.error("could not schedule reminders of screening %s: %s; the sweeper will send them", screening_id, exc)


def unschedule_screening(screening_id: int, leads: tuple[int, ...]) -> None:
    try:
        scheduler = _scheduler()
        for lead in leads:
            _forget(scheduler, job_id(screening_id, lead))
    except RedisError as exc:
        log.error("could not unschedule reminders of screening %s: %s (they will find nothing to send)",
                  screening_id, exc)


def _forget(scheduler: Scheduler, job_id: str) -> None:
    scheduler.cancel(job_id)  # leaves the job hash behind: delete it too
    try:
        JSONJob.fetch(job_id, connection=scheduler.connection).delete()
    except NoSuchJobError:
        pass


def schedule_after_commit(screening: Screening) -> None:
    leads = current_app.config["REMINDER_LEADS"]
    screening_id, starts_at, cancelled = screening.id, screening.starts_at, screening.is_cancelled
    if cancelled:
        run_after_commit(db.session, lambda: unschedule_screening(screening_id, leads))
    else:
        run_after_commit(db.session, lambda: schedule_screening(screening_id, starts_at, leads))


# -- reminder rows (web process, inside the request's transaction) -------------------
def add_reminders(rsvp: Rsvp, screening: Screening, now: datetime | None = None) -> None:
    """The member's reminder rows for an RSVP; a member who cancelled and comes back gets
    their cancelled rows back (one row per member and lead), and one already sent stays sent."""
    now = now or utcnow()
    existing = {row.lead_seconds: row for row in db.session.scalars(
        select(Reminder).where(Reminder.screening_id == screening.id, Reminder.user_id == rsvp.user_id))}
    for lead in current_app.config["REMINDER_LEADS"]:
        due = screening.starts_at - timedelta(seconds=lead)
        status = PENDING if due > now else SKIPPED
        row = existing.get(lead)
        if row is None:
            db.session.add(Reminder(screening_id=screening.id, user_id=rsvp.user_id, lead_seconds=lead,
                                    due_at=due, status=status))
        elif row.status != DISPATCHED:
            row.due_at, row.status, row.dispatch_token = due, status, None


def bulk_add_reminders(screening: Screening, user_ids: list[int], now: datetime | None = None) -> int:
    """Reminder rows for many RSVPs in one statement per lead (the fan-out path)."""
    now = now or utcnow()
    rows = []
    for lead in current_app.config["REMINDER_LEADS"]:
        due = screening.starts_at - timedelta(seconds=lead)
        status = PENDING if due > now else SKIPPED
        rows.extend({"screening_id": screening.id, "user_id": uid, "lead_seconds": lead, "due_at": due,
                     "status": status, "created_at": now} for uid in user_ids)
    if rows:
        db.session.execute(insert(Reminder), rows)
    return len(rows)


def cancel_reminders(screening_id: int, user_id: int | None = None) -> None:
    condition = and_(Reminder.screening_id == screening_id, Reminder.status.in_((PENDING, SKIPPED)))
    if user_id is not None:
        condition = and_(condition, Reminder.user_id == user_id)
    db.session.execute(update(Reminder).where(condition).values(status=CANCELLED_REMINDER)
                       .execution_options(synchronize_session=False))


def move_reminders(screening: Screening, now: datetime | None = None) -> None:
    """The screening moved: pending (and skipped) reminders follow; past ones are skipped."""
    now = now or utcnow()
    for lead in current_app.config["REMINDER_LEADS"]:
        due = screening.starts_at - timedelta(seconds=lead)
        db.session.execute(
            update(Reminder)
            .where(Reminder.screening_id == screening.id, Reminder.lead_seconds == lead,
                   Reminder.status.in_((PENDING, SKIPPED)))
            .values(due_at=due, status=PENDING if due > now else SKIPPED)
            .execution_options(synchronize_session=False))


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
    subject = f"Reminder: {screening.title} ({screening.film})"
    body = render_template("email/reminder.txt", screening=screening,
                           local_start=_local(screening.starts_at))
    sms = (User.notification_channel == "sms") & User.phone_verified_at.is_not(None)
    db.session.execute(insert(Delivery).from_select(
        ["idempotency_key", "channel", "kind", "recipient", "user_id", "subject", "body", "status",
         "attempts", "due_at", "created_at"],
        select(literal("reminder:") + cast(Reminder.id, String),
               case((sms, literal("sms")), else_=literal("email")),
               literal("reminder"),
               case((sms, User.phone), else_=User.email),
               User.id, literal(subject), literal(body), literal("pending"), literal(0),
               literal(now, type_=Delivery.__table__.c.due_at.type),
               literal(now, type_=Delivery.__table__.c.created_at.type))
        .join(User, User.id == Reminder.user_id)
        .where(Reminder.dispatch_token == token)
        .order_by(Reminder.id)))
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
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(current_app.config["APP_TIMEZONE"]))
