"""Hand delivery rows to the workers, in batches, by channel."""
from __future__ import annotations

from typing import Iterable

from rq.job import Job

from jobs.enqueue import enqueue_now

BATCH_SIZE = 100
SENDERS = {"email": "jobs.email.send_email_delivery", "sms": "jobs.sms.send_sms_delivery"}


def enqueue_deliveries(delivery_ids: Iterable[tuple[int, str]], queue: str, key: str,
                       depends_on: Job | str | None = None) -> list[str]:
    """Enqueue send jobs for ``(delivery_id, channel)`` pairs; returns the job ids.

    ``key`` makes the job ids deterministic (the same dispatch enqueued twice
    is one job). Jobs that fail to enqueue are left to the delivery sweeper.
    """
    job_ids = []
    for delivery_id, channel in delivery_ids:
        job_id = f"{key}-{delivery_id}"
        if enqueue_now(SENDERS[channel], delivery_id, job_id=job_id, queue=queue, depends_on=depends_on):
            job_ids.append(job_id)
    return job_ids
