"""The outbox: delivery rows written in the request's transaction, handed to RQ after it commits.

This is the one place the web, the jobs and the scheduler hand work to the workers. Jobs are
enqueued by dotted path (so the enqueuing process never imports worker-only code), only after the
database commit (a job that runs before its row exists acts on nothing), with explicit ids.
Whatever fails to enqueue stays pending in the database, and the delivery sweeper queues it later.

Email batches: Batch jobs for delivery rows, with ids derived from the rows they cover.

Rows are grouped by id into fixed ranges of ``MAIL_BATCH_SIZE``: range ``k``
covers ids ``k*size .. k*size+size-1`` and its job id is
``email-batch-<first>-<last>``. The announcement fan-out and the sweeper derive
the same ids for the same rows, so a sweep (or a second sweep, or a fan-out
that runs late) does not queue the same work twice: a range whose job is still
waiting (queued, or scheduled for a retry that is not overdue) is skipped.
A job that is running, finished, failed or lost gets a fresh copy; claims in
the database make that copy harmless if the first one is in fact still going.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping

from flask import current_app, render_template
from flask_babel import gettext
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import JobStatus
from sqlalchemy import ColumnElement, Insert, Select, case, insert, literal, select

from app import defaults
from app.db_events import run_after_commit
from app.config import LOCALES
from app.extensions import db
from app.i18n import in_locale, recipient_locale
from app.links import page_url
from app.models.delivery import EMAIL, PENDING, SMS, Delivery
from app.models.types import utcnow
from app.models.user import CHANNEL_SMS, User
from app.redis_clients import queue_redis
from app.safe_jobs import JSONQueue, check_function

log = logging.getLogger(__name__)

# -- queue names, by urgency; workers listen to them in this order ----------------------
HIGH = "high"        # codes a person is waiting for
DEFAULT = "default"  # single emails
LOW = "low"          # bulk sends

ALL = (HIGH, DEFAULT, LOW)


# -- enqueue by dotted path, after commit ---------------------------------------------
def enqueue_now(func_path: str, *args: Any, job_id: str, queue: str = DEFAULT,
                retry: Retry | None = None, **options: Any) -> bool:
    """Put a job on the queue. Returns False (and logs) if the queue Redis is unreachable.

    Callers that must not lose work keep it in the database first (a delivery
    row); the sweeper enqueues it again later, so a False here is a delay.
    ``retry`` defaults to ``mail_retry``: every send job, single or batch, retries at
    ``MAIL_RETRY_INTERVALS``.
    """
    check_function(func_path)
    try:
        JSONQueue(queue, connection=queue_redis()).enqueue(
            func_path, *args, job_id=job_id, retry=retry or mail_retry(current_app.config), **options
        )
        return True
    except RedisError as exc:
        log.error("could not enqueue %s (%s) on %r: %s; the sweeper will retry", func_path, job_id, queue, exc)
        return False


def enqueue_after_commit(func_path: str, *args: Any, job_id: str, queue: str = DEFAULT, **options: Any) -> None:
    """Enqueue once the current transaction commits; nothing if it rolls back."""
    run_after_commit(db.session, lambda: enqueue_now(func_path, *args, job_id=job_id, queue=queue, **options))


# -- email batches ----------------------------------------------------------------------
SEND_EMAIL_BATCH = "jobs.mail_batch.send_email_batch"


@dataclass(frozen=True)
class Batch:
    first_id: int
    last_id: int

    @property
    def job_id(self) -> str:
        return f"email-batch-{self.first_id}-{self.last_id}"


def batch_for(delivery_id: int, size: int) -> Batch:
    first = (delivery_id // size) * size
    return Batch(first, first + size - 1)


def batches_covering(first_id: int, last_id: int, size: int) -> list[Batch]:
    return [Batch(k * size, k * size + size - 1) for k in range(first_id // size, last_id // size + 1)]


def batches_for_ids(ids: Iterable[int], size: int) -> list[Batch]:
    return sorted({batch_for(i, size) for i in ids}, key=lambda b: b.first_id)


def mail_retry(config: Mapping) -> Retry:
    intervals = list(config["MAIL_RETRY_INTERVALS"])
    return Retry(max=len(intervals), interval=intervals)


def _waiting(redis: Redis, queue: Queue, batches: list[Batch]) -> set[str]:
    """Job ids among ``batches`` that are still waiting to run (one round trip)."""
    pipe = redis.pipeline(transaction=False)
    for batch in batches:
        pipe.hget(f"rq:job:{batch.job_id}", "status")
        pipe.zscore(queue.scheduled_job_registry.key, batch.job_id)
        # "queued" alone is not enough: a worker killed right after taking the job
        # off the list leaves it "queued" in no list at all.
        pipe.lpos(queue.key, batch.job_id)
    replies = pipe.execute()
    now = time.time()
    waiting = set()
    for batch, status, scheduled_at, position in zip(batches, replies[0::3], replies[1::3], replies[2::3]):
        status = status.decode() if status else None
        if status == JobStatus.QUEUED.value and position is not None:
            waiting.add(batch.job_id)
        elif status == JobStatus.SCHEDULED.value and scheduled_at is not None \
                and scheduled_at > now - defaults.OVERDUE_RETRY_SECONDS:
            waiting.add(batch.job_id)
    return waiting


def enqueue_batches(redis: Redis, queue_name: str, batches: list[Batch], config: Mapping) -> int:
    """Enqueue a batch job per range unless one is waiting already; returns how many were enqueued.

    Raises ``redis.exceptions.RedisError`` if the queue Redis is unreachable:
    the rows stay pending in the database and the next sweep tries again.
    """
    if not batches:
        return 0
    queue = JSONQueue(queue_name, connection=redis)
    waiting = _waiting(redis, queue, batches)
    todo = [b for b in batches if b.job_id not in waiting]
    retry = mail_retry(config)
    for start in range(0, len(todo), 500):
        chunk = todo[start:start + 500]
        queue.enqueue_many([
            Queue.prepare_data(SEND_EMAIL_BATCH, args=(b.first_id, b.last_id), job_id=b.job_id,
                               timeout=defaults.BATCH_TIMEOUT, result_ttl=defaults.BATCH_RESULT_TTL, retry=retry,
                               description=f"email deliveries {b.first_id}..{b.last_id}")
            for b in chunk
        ])
    if len(todo) < len(batches):
        log.info("%d of %d batches on %r are already waiting; not queued again",
                 len(batches) - len(todo), len(batches), queue_name)
    return len(todo)


# -- delivery rows to jobs ----------------------------------------------------------------
SMS_SENDER = "jobs.sms.send_sms_delivery"


def enqueue_deliveries(deliveries: Iterable[tuple[int, str]], queue: str, key: str) -> int:
    """Enqueue send jobs for ``(delivery_id, channel)`` pairs; returns how many jobs were queued.

    Email rows go out in the same id-range batch jobs as announcements (one
    SMTP connection per 100 messages; deterministic job ids, so the sweeper
    never queues a range twice). ``key`` names the SMS jobs. Whatever fails to
    enqueue stays pending in the database for the delivery sweeper.
    """
    email_ids, queued = [], 0
    for delivery_id, channel in deliveries:
        if channel == "email":
            email_ids.append(delivery_id)
        elif enqueue_now(SMS_SENDER, delivery_id, job_id=f"{key}-{delivery_id}", queue=queue):
            queued += 1
    if email_ids:
        config = current_app.config
        try:
            queued += enqueue_batches(queue_redis(), queue, batches_for_ids(email_ids, config["MAIL_BATCH_SIZE"]),
                                      config)
        except RedisError as exc:
            log.error("could not enqueue %d email deliveries: %s; the sweeper will send them", len(email_ids), exc)
    return queued


# -- messages composed as delivery rows ------------------------------------------------
def welcome_key(user_id: int) -> str:
    return f"welcome:{user_id}"


def welcome_links() -> dict[str, str]:
    """What a newly verified member can do, as links: RSVP, reminders' channel (settings), posts."""
    return {"screenings": page_url("screenings.index"), "settings": page_url("accounts.account_settings"),
            "posts": page_url("posts.create")}


def welcome_delivery(user: User) -> Delivery:
    """The welcome email's delivery row for ``user``, added to the session if new; in their language."""
    key = welcome_key(user.id)
    existing = db.session.scalar(select(Delivery).where(Delivery.idempotency_key == key))
    if existing is not None:
        return existing
    locale = recipient_locale(user)
    with in_locale(locale):
        delivery = Delivery(
            idempotency_key=key, channel=EMAIL, kind="welcome", recipient=user.email, user_id=user.id,
            subject=gettext("Welcome to the film club"), locale=locale,
            body=render_template("email/welcome.txt", user=user, links=welcome_links()),
        )
    db.session.add(delivery)
    db.session.flush()
    return delivery


def queue_welcome(user: User) -> bool:
    """The welcome email, once per member, sent after the transaction that verified them commits.

    Called where an account becomes verified (a code entered, an account made verified by a
    trusted provider or the operator), in that transaction: the row is written with the
    verification, so a rollback takes both back. A member with no email address, or one whose
    welcome row exists already (verifying a second contact, a second request), gets nothing new.
    Returns whether a welcome was queued.
    """
    if not user.email or db.session.scalar(select(Delivery.id).where(
            Delivery.idempotency_key == welcome_key(user.id))) is not None:
        return False
    welcome_delivery(user)
    enqueue_after_commit("jobs.email.send_welcome_email", user.id, job_id=f"welcome-email-{user.id}", queue=DEFAULT)
    return True


def welcome_if_verified(user: User) -> bool:
    """``queue_welcome`` once ``user`` counts as verified (their notification contact proved)."""
    return user.is_verified and queue_welcome(user)


# -- delivery rows for many members in one statement ------------------------------------
Localised = Mapping[str, str]  # locale -> text: a message written once per language (``in_each_locale``)


def in_each_locale(render: Callable[[], tuple[str, str]]) -> tuple[Localised, Localised]:
    """``render()`` (-> subject, body) once per language: the subjects and bodies by locale."""
    subjects, bodies = {}, {}
    for locale in LOCALES:
        with in_locale(locale):
            subjects[locale], bodies[locale] = render()
    return subjects, bodies


def member_locale() -> ColumnElement[str]:
    """Each member's language in SQL: their saved choice, else ``APP_LOCALE``."""
    return case((User.locale.in_(LOCALES), User.locale), else_=literal(current_app.config["APP_LOCALE"]))


def _per_locale(text: str | Localised) -> ColumnElement[str]:
    """A literal, or a ``CASE`` on the member's language choosing the text written in it."""
    if isinstance(text, str):
        return literal(text)
    default = current_app.config["APP_LOCALE"]
    whens = [(member_locale() == literal(locale), literal(value)) for locale, value in text.items() if locale != default]
    return case(*whens, else_=literal(text[default])) if whens else literal(text[default])

# A member who chose SMS and verified their phone gets a text; everyone else an email.
PREFERS_SMS = (User.notification_channel == CHANNEL_SMS) & User.phone_verified_at.is_not(None)


def insert_deliveries(key: ColumnElement[str], kind: str, subject: str | Localised, body: str | Localised,
                      rows: Callable[[Select], Select], *, by_preference: bool = True,
                      announcement_id: int | None = None, now: datetime | None = None) -> Insert:
    """``INSERT INTO deliveries ... SELECT``: one pending row per member that ``rows`` selects.

    The one builder behind announcements, reminders and the daily notices. ``key`` is the
    SQL expression of each row's idempotency key; ``rows`` adds the joins, filters and order
    to a ``SELECT`` over ``User`` (and whatever ``key`` names). ``by_preference`` sends by the
    member's channel (``PREFERS_SMS``), else by email. ``subject`` and ``body`` given per locale
    (``in_each_locale``) go to each member in their language, still in one statement (a ``CASE``
    on ``users.locale``). The statement is returned for the caller to execute in its transaction.
    """
    now = now or utcnow()
    values = {
        "idempotency_key": key,
        "channel": case((PREFERS_SMS, literal(SMS)), else_=literal(EMAIL)) if by_preference else literal(EMAIL),
        "kind": literal(kind),
        "recipient": case((PREFERS_SMS, User.phone), else_=User.email) if by_preference else User.email,
        "user_id": User.id,
        "subject": _per_locale(subject),
        "body": _per_locale(body),
        "locale": member_locale(),
        "status": literal(PENDING),
        "attempts": literal(0),
        "due_at": literal(now, Delivery.due_at.type),
        "created_at": literal(now, Delivery.created_at.type),
    }
    if announcement_id is not None:
        values["announcement_id"] = literal(announcement_id)
    return insert(Delivery).from_select(list(values), rows(select(*values.values())))
