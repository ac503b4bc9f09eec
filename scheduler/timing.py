"""When a periodic job runs next, in its own time zone, across daylight-saving changes.

rq-scheduler's own ``cron()`` evaluates cron strings in the server's local time
and treats naive datetimes as UTC; we compute every instant here, as aware
UTC datetimes, and give rq-scheduler only those.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

from scheduler.periodic import PeriodicJob


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
