"""The periodic table in rq-scheduler: idempotent registration, time zones, no overlapping runs."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from redis import Redis
from rq_scheduler import Scheduler

from scheduler.periodic import PeriodicJob, next_run, periodic_jobs
from scheduler.registry import listing, sync

NEW_YORK = ZoneInfo("America/New_York")


def scheduled(redis_url) -> dict[str, float]:
    connection = Redis.from_url(redis_url)
    return {k.decode(): v for k, v in connection.zrange(Scheduler(connection=connection).scheduled_jobs_key,
                                                          0, -1, withscores=True)}


def test_daily_job_keeps_local_time_across_daylight_saving():
    job = PeriodicJob(name="daily", func="x.y", cron="0 9 * * *", timezone="America/New_York")
    before = next_run(job, datetime(2026, 3, 7, 12, tzinfo=NEW_YORK))   # EST, UTC-5
    after = next_run(job, datetime(2026, 3, 8, 12, tzinfo=NEW_YORK))    # EDT, UTC-4
    assert before == datetime(2026, 3, 8, 13, tzinfo=timezone.utc)      # 09:00 EDT on the change day
    assert after == datetime(2026, 3, 9, 13, tzinfo=timezone.utc)
    assert next_run(job, datetime(2026, 3, 6, 12, tzinfo=NEW_YORK)) == datetime(2026, 3, 7, 14, tzinfo=timezone.utc)


def test_repeated_hour_in_autumn_runs_once():
    job = PeriodicJob(name="night", func="x.y", cron="30 1 * * *", timezone="America/New_York")
    first = next_run(job, datetime(2026, 10, 31, 12, tzinfo=NEW_YORK))
    second = next_run(job, first)
    assert first == datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc)   # 01:30 EDT
    assert second == datetime(2026, 11, 2, 6, 30, tzinfo=timezone.utc)  # next day, not 01:30 EST again


def test_seoul_morning_is_midnight_utc_whatever_the_server_zone():
    job = PeriodicJob(name="m", func="x.y", cron="0 9 * * *", timezone="Asia/Seoul")
    assert next_run(job, datetime(2026, 11, 25, 1, tzinfo=timezone.utc)) == datetime(2026, 11, 26, 0,
                                                                                      tzinfo=timezone.utc)


def test_intervals_are_aligned_so_every_scheduler_agrees():
    job = PeriodicJob(name="sweep", func="x.y", interval_seconds=30)
    assert next_run(job, datetime(2026, 1, 1, 0, 0, 10, tzinfo=timezone.utc)) == \
        datetime(2026, 1, 1, 0, 0, 30, tzinfo=timezone.utc)
    assert next_run(job, datetime(2026, 1, 1, 0, 0, 30, tzinfo=timezone.utc)) == \
        datetime(2026, 1, 1, 0, 1, 0, tzinfo=timezone.utc)


def test_table_rejects_ambiguous_entries():
    with pytest.raises(ValueError):
        PeriodicJob(name="both", func="x.y", cron="* * * * *", interval_seconds=5)
    with pytest.raises(ValueError):
        PeriodicJob(name="bad name!", func="x.y", interval_seconds=5)  # see also test_periodic_table


def test_sync_twice_or_by_two_schedulers_registers_each_job_once(app, redis_url):
    connection = Redis.from_url(redis_url)
    table = periodic_jobs(app.config)
    first = sync(connection, table)
    second = sync(connection, table)
    assert len(first.added) == len(table) and second.added == [] and len(second.kept) == len(table)
    ids = [i for i in scheduled(redis_url) if i.startswith("periodic-")]
    assert len(ids) == len(table)


def test_removed_or_changed_jobs_are_replaced_in_redis(app, redis_url):
    connection = Redis.from_url(redis_url)
    table = periodic_jobs(app.config)
    sync(connection, table)
    changed = [PeriodicJob(name="sweep-reminders", func="scheduler.reminders.sweep_due_reminders",
                           interval_seconds=7)]
    report = sync(connection, changed)
    ids = [i for i in scheduled(redis_url) if i.startswith("periodic-")]
    assert len(ids) == 1 and ids[0].startswith("periodic-sweep-reminders-")
    assert len(report.removed) == len(table) and len(report.added) == 1
    assert not connection.exists(f"rq:job:{report.removed[0]}")


def test_schedule_cli_lists_and_syncs(app, redis_url):
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["schedule", "list"])
    assert "NOT REGISTERED" in listed.output
    synced = runner.invoke(args=["schedule", "sync"])
    assert synced.exit_code == 0 and f"added {len(periodic_jobs(app.config))}" in synced.output
    listed = runner.invoke(args=["schedule", "list"])
    assert "NOT REGISTERED" not in listed.output and "daily-notifications" in listed.output
    assert "KST" in listed.output  # next runs shown in APP_TIMEZONE


def test_run_chains_the_next_run_and_never_overlaps(app, redis_url):
    from scheduler.runner import run_periodic

    connection = Redis.from_url(redis_url)
    now = int(datetime.now(timezone.utc).timestamp())
    with app.app_context():
        connection.set("periodic-lock:sweep-reminders", "someone-else", ex=60)  # a run still going
        assert run_periodic("sweep-reminders", now).startswith("skipped")
        connection.delete("periodic-lock:sweep-reminders")
        assert run_periodic("sweep-reminders", now).startswith("sweep-reminders: swept 0")
        assert run_periodic("no-longer-there", now) == "no-longer-there is no longer in the periodic table"
    chained = [i for i in scheduled(redis_url) if i.startswith("periodic-sweep-reminders-")]
    assert len(chained) == 1 and int(chained[0].rsplit("-", 1)[1]) > now


def test_listing_reports_next_run_per_job(app, redis_url):
    connection = Redis.from_url(redis_url)
    table = periodic_jobs(app.config)
    sync(connection, table, now=datetime(2026, 11, 25, 1, tzinfo=timezone.utc))
    rows = {row.job.name: row.next_run for row in listing(connection, table)}
    assert rows["daily-notifications"] == datetime(2026, 11, 26, 0, tzinfo=timezone.utc)  # 09:00 KST
