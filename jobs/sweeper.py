"""The delivery sweeper: re-enqueue what is due and not sent (run every 30 s by the scheduler).

The database, not Redis, says what still has to go out. A row is picked up if

* it is ``pending`` and was due at least ``DELIVERY_SWEEP_GRACE_SECONDS`` ago
  (fresh rows have a job on the way), or
* it is ``sending`` with a claim older than ``DELIVERY_STALE_CLAIM_SECONDS``
  (its worker was killed mid-batch).

So a job lost with a killed worker, a queue Redis that was down when the row
was written, or a Redis that restarted empty costs a delay, never a message.
Rows are grouped into the same id ranges the announcement fan-out uses
(``app.outbox``): a range whose batch job is still waiting is not queued a
second time. Bulk-only ranges go to ``low``, anything else to ``default``.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select

from app.extensions import db
from app.models.delivery import PENDING, SENDING, SMS, Delivery
from app.models.types import utcnow
from app.outbox import DEFAULT, HIGH, LOW, Batch, batch_for, enqueue_batches, enqueue_now
from app.redis_clients import queue_redis
from jobs.deliveries import stale_claim

log = logging.getLogger(__name__)

BULK_KINDS = frozenset({"announcement"})


def due_rows(limit: int) -> list[tuple[int, str, str]]:
    """(id, kind, channel) of rows that should have been sent by now, oldest id first."""
    now = utcnow()
    grace = timedelta(seconds=current_app.config["DELIVERY_SWEEP_GRACE_SECONDS"])
    rows = db.session.execute(
        select(Delivery.id, Delivery.kind, Delivery.channel)
        .where(or_(and_(Delivery.status == PENDING, Delivery.due_at <= now - grace),
                   and_(Delivery.status == SENDING, Delivery.claimed_at < now - stale_claim())))
        .order_by(Delivery.id).limit(limit)).all()
    db.session.commit()
    return [(row.id, row.kind, row.channel) for row in rows]


# Rows that do not go out in email batches: each has a job of its own, by dotted path.
SINGLE_SENDERS = {"verification_code": "jobs.verification.send_verification_code"}
CHANNEL_SENDERS = {SMS: "jobs.sms.send_sms_delivery"}


def _single_sender(kind: str, channel: str) -> str | None:
    return SINGLE_SENDERS.get(kind) or CHANNEL_SENDERS.get(channel)


def sweep_deliveries() -> dict[str, int]:
    """Enqueue batch jobs for every due, unsent email delivery. Returns what it found and queued."""
    config = current_app.config
    size = config["MAIL_BATCH_SIZE"]
    rows = due_rows(config["DELIVERY_SWEEP_LIMIT"])
    kinds: dict[Batch, set[str]] = defaultdict(set)
    singles = 0
    for delivery_id, kind, channel in rows:
        sender = _single_sender(kind, channel)
        if sender is None:
            kinds[batch_for(delivery_id, size)].add(kind)
        elif enqueue_now(sender, delivery_id, job_id=f"sweep-{delivery_id}", queue=HIGH if kind in SINGLE_SENDERS
                         else DEFAULT):
            singles += 1
    by_queue: dict[str, list[Batch]] = defaultdict(list)
    for batch, batch_kinds in sorted(kinds.items(), key=lambda item: item[0].first_id):
        by_queue[LOW if batch_kinds <= BULK_KINDS else DEFAULT].append(batch)
    redis = queue_redis()
    enqueued = singles + sum(enqueue_batches(redis, name, batches, config) for name, batches in by_queue.items())
    if rows:
        log.info("sweeper: %d due deliveries in %d ranges, %d batch jobs queued",
                 len(rows), len(kinds), enqueued)
    return {"due": len(rows), "batches": len(kinds), "enqueued": enqueued}
