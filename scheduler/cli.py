"""`flask schedule list` and `flask schedule sync`."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup

from app.redis_clients import queue_redis
from scheduler.periodic import periodic_jobs
from scheduler.registry import listing, sync

schedule_cli = AppGroup("schedule", help="The periodic schedule (scheduler/periodic.py).")


@schedule_cli.command("list")
def list_command() -> None:
    """Show each periodic job, when it runs, and its next run."""
    zone = ZoneInfo(current_app.config["APP_TIMEZONE"])
    rows = listing(queue_redis(), periodic_jobs(current_app.config))
    for row in rows:
        when = row.next_run.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z") if row.next_run else "NOT REGISTERED"
        click.echo(f"{row.job.name:22} {row.job.when:34} next: {when:26} {row.job.func}")
    if any(row.next_run is None for row in rows):
        click.echo("some jobs are not registered: run `flask schedule sync` or start the scheduler", err=True)


@schedule_cli.command("sync")
def sync_command() -> None:
    """Register the table in Redis now (idempotent)."""
    report = sync(queue_redis(), periodic_jobs(current_app.config))
    click.echo(f"added {len(report.added)}, kept {len(report.kept)}, removed {len(report.removed)}")
    for job_id in report.added:
        click.echo(f"  + {job_id}")
    for job_id in report.removed:
        click.echo(f"  - {job_id}")
