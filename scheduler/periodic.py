"""The periodic schedule: one table, read by the scheduler at start (celery-beat's job).

Each entry runs ``func`` (a dotted path, executed by a worker) either on a cron
expression evaluated in ``timezone`` (DST-aware: 09:00 stays 09:00 local) or
every ``interval_seconds`` (aligned to the Unix epoch, so every scheduler
computes the same instants). Add a row here and restart the scheduler, or run
``flask schedule sync``; a row removed here is removed from Redis.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping
from zoneinfo import ZoneInfo

from croniter import croniter

from app.outbox import ALL as ALL_QUEUES


@dataclass(frozen=True)
class PeriodicJob:
    name: str                      # [A-Za-z0-9_-]; part of the job ids
    func: str                      # dotted path of the job function (no arguments)
    cron: str | None = None        # "minute hour day month weekday", in ``timezone``
    interval_seconds: int | None = None
    timezone: str = "UTC"
    queue: str = "default"
    max_runtime_seconds: int = 600  # also the lock that stops two runs overlapping
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"{self.name!r}: names may use only letters, digits, - and _")
        if (self.cron is None) == (self.interval_seconds is None):
            raise ValueError(f"{self.name}: give exactly one of cron, interval_seconds")
        if self.interval_seconds is not None and self.interval_seconds < 1:
            raise ValueError(f"{self.name}: interval_seconds must be at least 1")
        if self.cron is not None and len(self.cron.split()) != 5:
            raise ValueError(f"{self.name}: cron must have five fields, got {self.cron!r}")
        if self.queue not in ALL_QUEUES:
            raise ValueError(f"{self.name}: unknown queue {self.queue!r} (one of {ALL_QUEUES})")
        if "." not in self.func:
            raise ValueError(f"{self.name}: func must be a dotted path, got {self.func!r}")

    @property
    def when(self) -> str:
        return f"cron '{self.cron}' ({self.timezone})" if self.cron else f"every {self.interval_seconds} s"


def periodic_jobs(config: Mapping) -> list[PeriodicJob]:
    """The table, with times from configuration."""
    hour, minute = config["DAILY_NOTIFICATIONS_AT"].split(":")
    zone = config["APP_TIMEZONE"]
    return [
        PeriodicJob(
            name="daily-notifications", func="scheduler.daily.queue_todays_notifications",
            cron=f"{int(minute)} {int(hour)} * * *", timezone=zone, queue="default",
            description="the day's screening notifications, queued in order of screening time",
        ),
        PeriodicJob(
            name="sweep-reminders", func="scheduler.reminders.sweep_due_reminders",
            interval_seconds=config["REMINDER_SWEEP_SECONDS"], queue="default", max_runtime_seconds=300,
            description="dispatch reminders that are due but whose scheduled job was lost",
        ),
        PeriodicJob(
            name="sweep-deliveries", func="jobs.sweeper.sweep_deliveries",
            interval_seconds=config["DELIVERY_SWEEP_SECONDS"], queue="default", max_runtime_seconds=120,
            description="re-enqueue deliveries that are due and not sent (lost jobs, Redis down or flushed, "
                        "workers killed mid-batch)",
        ),
        PeriodicJob(
            name="clean-up", func="scheduler.cleanup.delete_expired_rows",
            cron="30 4 * * *", timezone=zone, queue="low",
            description="delete old sent/failed deliveries and finished reminders",
        ),
    ]


# -- when a periodic job runs next, in its own time zone, across daylight-saving changes ---------------
# rq-scheduler's own ``cron()`` evaluates cron strings in the server's local time
# and treats naive datetimes as UTC; we compute every instant here, as aware
# UTC datetimes, and give rq-scheduler only those.
def next_run(job: PeriodicJob, after: datetime) -> datetime:
    """The first run strictly after ``after`` (aware), as an aware UTC datetime."""
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    if job.interval_seconds:
        epoch = after.timestamp()
        slot = math.floor(epoch / job.interval_seconds + 1) * job.interval_seconds
        return datetime.fromtimestamp(slot, tz=timezone.utc)
    zone = ZoneInfo(job.timezone)
    local_after = after.astimezone(zone)
    iterator = croniter(job.cron, local_after)
    candidate = iterator.get_next(datetime)
    # When clocks go back, an hour repeats and croniter fires twice at the same
    # wall-clock time; a daily 01:30 job should run once that day.
    while candidate.replace(tzinfo=None) == local_after.replace(tzinfo=None):
        candidate = iterator.get_next(datetime)
    return candidate.astimezone(timezone.utc)
