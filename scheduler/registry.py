"""Register the periodic table with rq-scheduler, idempotently.

Every run of a periodic job is one rq-scheduler job whose id names the job and
the instant: ``periodic-<name>-<unix time>``. Two schedulers (or a restart)
compute the same next instant and so the same id: registering twice writes the
same job once. When a run starts it schedules the one after it
(``scheduler.runner``); ``sync`` repairs the chain if a run was lost (a flushed
Redis), drops runs of jobs no longer in the table, and replaces runs whose
definition changed.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq_scheduler import Scheduler

from scheduler.periodic import PeriodicJob, next_run

log = logging.getLogger(__name__)

PREFIX = "periodic-"
RUNNER = "scheduler.runner.run_periodic"


def occurrence_id(name: str, when: datetime) -> str:
    return f"{PREFIX}{name}-{int(when.timestamp())}"


def parse_occurrence_id(job_id: str) -> tuple[str, int] | None:
    if not job_id.startswith(PREFIX):
        return None
    name, _, epoch = job_id[len(PREFIX):].rpartition("-")
    return (name, int(epoch)) if name and epoch.isdigit() else None


def fingerprint(job: PeriodicJob) -> str:
    """Changes when anything that decides what runs, when or where changes."""
    spec = f"{job.func}|{job.cron}|{job.interval_seconds}|{job.timezone}|{job.queue}|{job.max_runtime_seconds}"
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def rq_scheduler(connection: Redis) -> Scheduler:
    return Scheduler(queue_name="default", connection=connection)


def schedule_run(connection: Redis, job: PeriodicJob, when: datetime) -> str:
    """Schedule one run of ``job`` at ``when`` (aware); idempotent by id."""
    job_id = occurrence_id(job.name, when)
    rq_scheduler(connection).enqueue_at(
        when, RUNNER, job.name, int(when.timestamp()),
        job_id=job_id, queue_name=job.queue, timeout=job.max_runtime_seconds,
        job_result_ttl=86400, meta={"periodic": job.name, "fingerprint": fingerprint(job)},
        job_description=f"periodic {job.name}: {job.func}",
    )
    return job_id


def _forget(connection: Redis, scheduler: Scheduler, job_id: str) -> None:
    # rq-scheduler's cancel() only unschedules and leaves the job hash behind forever.
    scheduler.cancel(job_id)
    try:
        Job.fetch(job_id, connection=connection).delete()
    except NoSuchJobError:
        pass


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def sync(connection: Redis, table: list[PeriodicJob], now: datetime | None = None) -> SyncReport:
    now = now or datetime.now(timezone.utc)
    scheduler = rq_scheduler(connection)
    report = SyncReport()
    wanted = {job.name: job for job in table}
    scheduled: dict[str, list[str]] = {}
    for raw in connection.zrange(scheduler.scheduled_jobs_key, 0, -1):
        job_id = raw.decode()
        parsed = parse_occurrence_id(job_id)
        if parsed:
            scheduled.setdefault(parsed[0], []).append(job_id)

    for name, ids in scheduled.items():
        job = wanted.get(name)
        keep = None
        for job_id in sorted(ids):
            current = False
            if job is not None and keep is None:
                try:
                    current = Job.fetch(job_id, connection=connection).meta.get("fingerprint") == fingerprint(job)
                except NoSuchJobError:
                    current = False
            if current:
                keep = job_id
                report.kept.append(job_id)
            else:
                _forget(connection, scheduler, job_id)
                report.removed.append(job_id)

    for job in table:
        if not any(i in report.kept for i in scheduled.get(job.name, [])):
            report.added.append(schedule_run(connection, job, next_run(job, now)))
    if report.added or report.removed:
        log.info("periodic schedule synced: added %s, removed %s", report.added, report.removed)
    return report


@dataclass(frozen=True)
class Listed:
    job: PeriodicJob
    next_run: datetime | None


def listing(connection: Redis, table: list[PeriodicJob]) -> list[Listed]:
    scheduler = rq_scheduler(connection)
    next_by_name: dict[str, datetime] = {}
    for raw, score in connection.zrange(scheduler.scheduled_jobs_key, 0, -1, withscores=True):
        parsed = parse_occurrence_id(raw.decode())
        if parsed:
            when = datetime.fromtimestamp(score, tz=timezone.utc)
            if parsed[0] not in next_by_name or when < next_by_name[parsed[0]]:
                next_by_name[parsed[0]] = when
    return [Listed(job, next_by_name.get(job.name)) for job in table]
