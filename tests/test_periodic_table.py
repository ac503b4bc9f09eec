"""The periodic schedule table: plain data that the scheduler entry registers with rq-scheduler."""
import importlib

import pytest

from scheduler.periodic import PERIODIC_JOBS, PeriodicJob


def test_the_sweeper_runs_every_30_to_60_seconds_on_a_known_queue():
    sweeper = next(job for job in PERIODIC_JOBS if job.func == "jobs.sweeper.sweep_deliveries")
    assert 30 <= sweeper.interval_seconds <= 60 and sweeper.cron is None
    assert sweeper.queue in ("high", "default")


def test_every_entry_names_an_importable_function_and_a_unique_id():
    assert len({job.id for job in PERIODIC_JOBS}) == len(PERIODIC_JOBS)
    for job in PERIODIC_JOBS:
        module, _, name = job.func.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))


@pytest.mark.parametrize("fields, message", [
    ({"interval_seconds": 30, "cron": "* * * * *"}, "exactly one"),
    ({}, "exactly one"),
    ({"interval_seconds": 0}, "at least 1"),
    ({"cron": "every minute"}, "five fields"),
    ({"interval_seconds": 30, "queue": "urgent"}, "unknown queue"),
    ({"interval_seconds": 30, "id": "has space"}, "letters, digits"),
])
def test_a_malformed_entry_is_refused_when_the_table_is_built(fields, message):
    base = {"id": "x", "func": "jobs.sweeper.sweep_deliveries", "queue": "default", "description": "d"}
    with pytest.raises(ValueError, match=message):
        PeriodicJob(**{**base, **fields})
