"""Batch jobs for delivery rows, with ids derived from the rows they cover.

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
from typing import Iterable, Mapping

from redis import Redis
from rq import Queue, Retry
from rq.job import JobStatus

from app.safe_jobs import JSONQueue

log = logging.getLogger(__name__)

SEND_EMAIL_BATCH = "jobs.mail_batch.send_email_batch"
BATCH_TIMEOUT = 1800        # seconds: 100 slow SMTP sends fit with room to spare
BATCH_RESULT_TTL = 3600     # keep finished batches visible in rq info / the dashboard for an hour
# A retry scheduled this long ago and not yet run is taken as lost (no scheduler running).
OVERDUE_RETRY_SECONDS = 120


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
    intervals = list(config.get("MAIL_RETRY_INTERVALS") or [5, 30, 120, 600, 1800])
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
                and scheduled_at > now - OVERDUE_RETRY_SECONDS:
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
                               timeout=BATCH_TIMEOUT, result_ttl=BATCH_RESULT_TTL, retry=retry,
                               description=f"email deliveries {b.first_id}..{b.last_id}")
            for b in chunk
        ])
    if len(todo) < len(batches):
        log.info("%d of %d batches on %r are already waiting; not queued again",
                 len(batches) - len(todo), len(batches), queue_name)
    return len(todo)
