"""The periodic schedule table: plain data that the scheduler entry registers with rq-scheduler."""
import importlib

import pytest

from scheduler.periodic import PeriodicJob, periodic_jobs


def test_the_sweepers_run_every_10_to_60_seconds_on_a_known_queue(app):
    """The delivery sweeper runs every 15 s: with the 30 s stale-claim time, a killed worker's rows go out
    again within about a minute (issue 10)."""
    table = {job.name: job for job in periodic_jobs(app.config)}
    for name in ("sweep-deliveries", "sweep-reminders"):
        assert 10 <= table[name].interval_seconds <= 60 and table[name].cron is None
        assert table[name].queue in ("high", "default")


def test_every_entry_names_an_importable_function_and_a_unique_name(app):
    table = periodic_jobs(app.config)
    assert len({job.name for job in table}) == len(table)
    for job in table:
        module, _, name = job.func.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))


@pytest.mark.parametrize("fields, message", [
    ({"interval_seconds": 30, "cron": "* * * * *"}, "exactly one"),
    ({}, "exactly one"),
    ({"interval_seconds": 0}, "at least 1"),
    ({"cron": "every minute"}, "five fields"),
    ({"interval_seconds": 30, "queue": "urgent"}, "unknown queue"),
    ({"interval_seconds": 30, "name": "has space"}, "letters, digits"),
    ({"interval_seconds": 30, "func": "nodots"}, "dotted path"),
])
def test_a_malformed_entry_is_refused_when_the_table_is_built(fields, message):
    base = {"name": "x", "func": "jobs.sweeper.sweep_deliveries", "queue": "default"}
    with pytest.raises(ValueError, match=message):
        PeriodicJob(**{**base, **fields})
