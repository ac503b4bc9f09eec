"""Screening reminders, the web's half: reminder rows in the request's transaction, and one
rq-scheduler job per screening and lead time, (re)scheduled after the commit.

The worker's half (turning due rows into deliveries) is ``scheduler.reminders``; the scheduled
job is named here by its dotted path, so the web never imports it. Why one job per screening
and lead time, not one per member, is explained there.

Rule for late RSVPs: a reminder whose due time has already passed when the member RSVPs is
recorded as ``skipped`` and never sent late.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq_scheduler import Scheduler
from sqlalchemy import and_, insert, select, update

from app.db_events import run_after_commit
from app.extensions import db
from app.models.screening import CANCELLED_REMINDER, DISPATCHED, PENDING, SKIPPED, Reminder, Rsvp, Screening
from app.models.types import utcnow
from app.outbox import DEFAULT
from app.redis_clients import queue_redis

log = logging.getLogger(__name__)

QUEUE = DEFAULT
SEND_DUE_REMINDERS = "scheduler.reminders.send_due_reminders"


def job_id(screening_id: int, lead_seconds: int) -> str:
    return f"reminders-{screening_id}-{lead_seconds}"


def _scheduler() -> Scheduler:
    return Scheduler(queue_name=QUEUE, connection=queue_redis())


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
                scheduler.enqueue_at(due, SEND_DUE_REMINDERS, screening_id, lead,
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
        Job.fetch(job_id, connection=scheduler.connection).delete()
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
