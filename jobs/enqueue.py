"""Enqueue jobs by dotted path, after the database commit, with explicit ids."""
from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from rq import Retry

from app.db_events import run_after_commit
from app.extensions import db
from app.redis_clients import queue_redis
from app.safe_jobs import JSONQueue, check_function
from jobs.queues import DEFAULT

log = logging.getLogger(__name__)

# Transient failures (SMTP down, 4xx) are retried with growing delays.
DEFAULT_RETRY = Retry(max=5, interval=[5, 30, 120, 600, 1800])


def enqueue_now(func_path: str, *args: Any, job_id: str, queue: str = DEFAULT,
                retry: Retry | None = DEFAULT_RETRY, **options: Any) -> bool:
    """Put a job on the queue. Returns False (and logs) if the queue Redis is unreachable.

    Callers that must not lose work keep it in the database first (a delivery
    row); the sweeper enqueues it again later, so a False here is a delay.
    """
    check_function(func_path)
    try:
        JSONQueue(queue, connection=queue_redis()).enqueue(
            func_path, *args, job_id=job_id, retry=retry, **options
        )
        return True
    except RedisError as exc:
        log.error("could not enqueue %s (%s) on %r: %s; the sweeper will retry", func_path, job_id, queue, exc)
        return False


def enqueue_after_commit(func_path: str, *args: Any, job_id: str, queue: str = DEFAULT, **options: Any) -> None:
    """Enqueue once the current transaction commits; nothing if it rolls back."""
    run_after_commit(db.session, lambda: enqueue_now(func_path, *args, job_id=job_id, queue=queue, **options))
