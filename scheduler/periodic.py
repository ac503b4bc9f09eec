"""The periodic schedule: one table, read by the scheduler at start (celery-beat's job).

Each entry runs ``func`` (a dotted path, executed by a worker) either on a cron
expression evaluated in ``timezone`` (DST-aware: 09:00 stays 09:00 local) or
every ``interval_seconds`` (aligned to the Unix epoch, so every scheduler
computes the same instants). Add a row here and restart the scheduler, or run
``flask schedule sync``; a row removed here is removed from Redis.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

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
