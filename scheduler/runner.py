"""The job every periodic run executes: chain the next run, then run the task once at a time."""
from __future__ import annotations

import logging
import secrets
from datetime import datetime, timezone

from flask import current_app
from werkzeug.utils import import_string

from app.redis_clients import queue_redis
from scheduler.periodic import next_run, periodic_jobs
from scheduler.registry import schedule_run

log = logging.getLogger(__name__)

_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def run_periodic(name: str, occurrence: int) -> str:
    table = {job.name: job for job in periodic_jobs(current_app.config)}
    job = table.get(name)
    if job is None:
        return f"{name} is no longer in the periodic table"
    connection = queue_redis()
    now = datetime.now(timezone.utc)
    # Chain first, so a crash in the task cannot end the schedule. Runs missed
    # while workers were busy are skipped, not caught up in a burst.
    after = max(datetime.fromtimestamp(occurrence, tz=timezone.utc), now)
    schedule_run(connection, job, next_run(job, after))

    lock_key, token = f"periodic-lock:{name}", secrets.token_hex(8)
    if not connection.set(lock_key, token, nx=True, ex=job.max_runtime_seconds):
        log.warning("periodic %s: the previous run is still going; skipping this one", name)
        return "skipped: previous run still going"
    try:
        result = import_string(job.func)()
    finally:
        connection.eval(_RELEASE, 1, lock_key, token)
    return f"{name}: {result}"
