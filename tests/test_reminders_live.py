"""Reminders with the real scheduler and worker processes: on time, once, whatever happens to them."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from redis import Redis

from app.extensions import db
from app.models.screening import Rsvp, Screening
from app.models.user import User
from app.screenings import service
from scheduler.periodic import periodic_jobs
from tests.helpers.processes import Processes, process_env

pytestmark = pytest.mark.slow

LEAD = 3


@pytest.fixture
def live_app(app_factory):
    return app_factory(REMINDER_LEADS=(LEAD,), REMINDER_SWEEP_SECONDS=1, SCHEDULER_RESYNC_SECONDS=1)


@pytest.fixture
def processes():
    procs = Processes()
    yield procs
    procs.stop_all()


def make_screening(app, starts_in: float, members: int = 1) -> tuple[int, datetime]:
    """A screening starting in ``starts_in`` seconds with ``members`` RSVPs; returns (id, reminder due)."""
    with app.app_context():
        admin = User(email="admin@example.com", name="Admin", is_admin=True)
        db.session.add(admin)
        db.session.commit()
        starts = datetime.now(timezone.utc) + timedelta(seconds=starts_in)
        screening = service.create_screening(admin, title="Late show", film="Stalker", starts_at=starts,
                                             place="Hall", capacity=members)
        for n in range(members):
            user = User(email=f"m{n}@example.com", name=f"M{n}")
            db.session.add(user)
            db.session.flush()
            service.rsvp(user, screening)
        return screening.id, screening.starts_at - timedelta(seconds=LEAD)


def wait_for_mail(smtp, address: str, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if smtp.to(address):
            return time.time()
        time.sleep(0.02)
    raise AssertionError(f"no mail for {address} within {timeout} s")


def test_reminder_is_sent_at_its_time(live_app, smtp, processes):
    env = process_env(live_app)
    processes.worker(env)
    processes.scheduler(env)
    _, due = make_screening(live_app, starts_in=LEAD + 4)
    arrived = wait_for_mail(smtp, "m0@example.com", timeout=60)
    lateness = arrived - due.timestamp()
    print(f"reminder lateness: {lateness:.2f} s")
    # Never early; late by the poll interval plus a busy machine's delays, never by rqscheduler's 60 s.
    assert -0.05 <= lateness <= 20
    assert smtp.to("m0@example.com")[0]["Subject"] == "Reminder: Late show (Stalker)"
    time.sleep(1.5)
    assert len(smtp.to("m0@example.com")) == 1


def test_scheduler_restarted_midway_sends_once(live_app, smtp, processes):
    env = process_env(live_app)
    processes.worker(env)
    first = processes.scheduler(env)
    _, due = make_screening(live_app, starts_in=LEAD + 5)
    time.sleep(1.5)
    processes.stop(first)
    processes.scheduler(env)
    wait_for_mail(smtp, "m0@example.com", timeout=60)
    time.sleep(1.5)
    assert len(smtp.to("m0@example.com")) == 1


def test_two_schedulers_at_once_send_once(live_app, smtp, processes, redis_url):
    env = process_env(live_app)
    processes.worker(env)
    processes.scheduler(env)
    processes.scheduler(env)
    make_screening(live_app, starts_in=LEAD + 5, members=3)
    for n in range(3):
        wait_for_mail(smtp, f"m{n}@example.com", timeout=60)
    time.sleep(1.5)
    assert [len(smtp.to(f"m{n}@example.com")) for n in range(3)] == [1, 1, 1]
    connection = Redis.from_url(redis_url)
    periodic = [k for k in connection.zrange("rq:scheduler:scheduled_jobs", 0, -1) if k.startswith(b"periodic-")]
    assert len(periodic) == len(periodic_jobs(live_app.config))  # each once, not once per scheduler


def test_redis_flushed_before_due_time_only_delays(live_app, smtp, processes, redis_url):
    _, due = make_screening(live_app, starts_in=LEAD + 3)
    Redis.from_url(redis_url).flushdb()  # the scheduled reminder job is gone
    env = process_env(live_app)
    processes.worker(env)
    processes.scheduler(env)
    arrived = wait_for_mail(smtp, "m0@example.com", timeout=90)
    print(f"after a flush, delivered {arrived - due.timestamp():.2f} s after due")
    with live_app.app_context():
        assert db.session.query(Rsvp).count() == 1 and db.session.get(Screening, 1) is not None
    time.sleep(1.5)
    assert len(smtp.to("m0@example.com")) == 1
