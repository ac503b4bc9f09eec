"""The periodic schedule: what runs when, as data (the celery-beat table of this app).

Each entry is a ``PeriodicJob``. The scheduler entry point registers every
entry of ``PERIODIC_JOBS`` with rq-scheduler (``Scheduler.schedule`` for an
interval, ``Scheduler.cron`` for a cron line) under the entry's ``id`` as job
id, replacing whatever was registered under that id before, so restarting the
scheduler never duplicates a job. This module only describes; it imports no
job code and opens no connection.

Fields:

``id``
    Stable job id (rq ids allow ``[A-Za-z0-9_-]`` only). Renaming it leaves the old
    registration behind until it is cancelled.
``func``
    Dotted path of the job function (enqueued by name; the scheduler does not import it).
``queue``
    Queue name from ``jobs.queues``.
``interval_seconds`` or ``cron``
    Exactly one: run every N seconds (first run at start-up), or at the times a
    five-field cron line names.
``timezone``
    The zone a ``cron`` line is read in (IANA name). rq-scheduler evaluates cron
    lines in the server's local time, so the scheduler entry must convert; ignored
    for intervals.
``description``
    What it is for; shown by ``rq info`` / the dashboard.
``timeout``
    Seconds before RQ kills a run (None: RQ's default).

A job that may run longer than its interval must tolerate overlapping runs
(rq-scheduler does not prevent them); the sweeper does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from jobs.queues import ALL, DEFAULT

_JOB_ID = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class PeriodicJob:
    id: str
    func: str
    queue: str
    description: str
    interval_seconds: int | None = None
    cron: str | None = None
    timezone: str = "UTC"
    timeout: int | None = None

    def __post_init__(self) -> None:
        if not _JOB_ID.match(self.id):
            raise ValueError(f"periodic job id {self.id!r} may use only letters, digits, '_' and '-'")
        if (self.interval_seconds is None) == (self.cron is None):
            raise ValueError(f"periodic job {self.id!r}: give exactly one of interval_seconds, cron")
        if self.interval_seconds is not None and self.interval_seconds < 1:
            raise ValueError(f"periodic job {self.id!r}: interval_seconds must be at least 1")
        if self.cron is not None and len(self.cron.split()) != 5:
            raise ValueError(f"periodic job {self.id!r}: cron must have five fields, got {self.cron!r}")
        if self.queue not in ALL:
            raise ValueError(f"periodic job {self.id!r}: unknown queue {self.queue!r} (one of {ALL})")
        if "." not in self.func:
            raise ValueError(f"periodic job {self.id!r}: func must be a dotted path, got {self.func!r}")


PERIODIC_JOBS: list[PeriodicJob] = [
    PeriodicJob(
        id="sweep-deliveries",
        func="jobs.sweeper.sweep_deliveries",
        queue=DEFAULT,
        interval_seconds=30,
        timeout=120,
        description="Re-enqueue email deliveries that are due and not sent (lost jobs, Redis down or "
                    "flushed, workers killed mid-batch)",
    ),
]
