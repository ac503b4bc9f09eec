"""Long queue Redis outages (a restart, a failover that takes minutes), met by the real processes.

The worker (``rq worker --worker-class jobs.worker.AppSimpleWorker --with-scheduler``) and the
scheduler (``python -m scheduler``) run as in production against a redis-server of the test's
own (AOF on), which the test stops and starts again on the same port. They must wait, log
the outage once rather than once per attempt, and carry on by themselves. The web keeps
answering: after the first command used up its retries, later ones try once.
"""
from __future__ import annotations

import logging
import os
import signal
import time
from datetime import timedelta

import pytest
from redis import Redis
from rq import Worker
from rq_scheduler import Scheduler

from app.redis_clients import retry_window
from app.safe_jobs import JSONJob, JSONQueue
from deploy.local.redis_server import RedisServer
from tests.helpers.accounts import latest_code
from tests.helpers.processes import Processes, alive, children_of, process_env, wait_for

pytestmark = pytest.mark.slow

# How long Redis stays down after a process noticed it (the process has used up its client
# retries by then): the stimulus of these tests, not a bound on anything.
DOWN_AFTER_NOTICED = 10


@pytest.fixture
def queue_redis(tmp_path):
    server = RedisServer(tmp_path / "queue-redis", appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture
def processes(tmp_path):
    started = Processes(log_dir=tmp_path)
    yield started
    started.stop_all()


@pytest.fixture
def outage_app(app_factory, queue_redis, redis_server):
    """The app on the test's queue Redis; the cache stays on the session's Redis."""
    return app_factory(REDIS_URL=queue_redis.url, CACHE_REDIS_URL=f"{redis_server.url[:-2]}/1")


@pytest.fixture
def connection(queue_redis):
    client = Redis(port=queue_redis.port)
    yield client
    client.close()


def finished(connection: Redis, job_id: str) -> bool:
    return JSONJob.fetch(job_id, connection=connection).is_finished


def test_worker_and_its_scheduler_process_ride_out_an_outage_and_log_it_once(outage_app, queue_redis,
                                                                             processes, connection):
    worker = processes.worker(process_env(outage_app))  # the table's worker: --with-scheduler
    wait_for(lambda: Worker.all(connection=connection), message=lambda: f"the worker:\n{processes.log(worker)}")
    [scheduler_process] = wait_for(lambda: children_of(worker.pid), message="its --with-scheduler process")

    queue_redis.stop()
    wait_for(lambda: "unreachable" in processes.log(worker), 120,
             message=lambda: f"the worker to notice the outage:\n{processes.log(worker)}")
    time.sleep(DOWN_AFTER_NOTICED)
    assert worker.poll() is None, processes.log(worker)
    assert alive(scheduler_process), processes.log(worker)
    queue_redis.start()

    queue = JSONQueue("default", connection=connection)
    queue.enqueue("jobs.maintenance.ping", "now", job_id="after-the-outage")
    queue.enqueue_in(timedelta(seconds=1), "jobs.maintenance.ping", "later", job_id="scheduled-after-the-outage")
    for job_id in ("after-the-outage", "scheduled-after-the-outage"):
        wait_for(lambda: finished(connection, job_id), 120, message=lambda: f"{job_id}:\n{processes.log(worker)}")
    assert worker.poll() is None and alive(scheduler_process)
    assert [w.pid for w in Worker.all(connection=connection)] == [worker.pid]

    log = processes.log(worker)
    # Once per process that noticed it (the worker, its scheduler process), not once per attempt.
    assert 1 <= log.count("unreachable") <= 2, log
    assert "answers again" in log, log
    assert "could not connect to Redis instance" not in log and "quitting" not in log, log


def test_a_worker_stopped_during_an_outage_exits_cleanly(outage_app, queue_redis, processes, connection):
    worker = processes.worker(process_env(outage_app))  # the table's worker: --with-scheduler
    wait_for(lambda: Worker.all(connection=connection), message=lambda: f"the worker:\n{processes.log(worker)}")
    [scheduler_process] = wait_for(lambda: children_of(worker.pid), message="its --with-scheduler process")
    queue_redis.stop()
    wait_for(lambda: "unreachable" in processes.log(worker), 120,
             message=lambda: f"the worker to notice the outage:\n{processes.log(worker)}")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0, processes.log(worker)
    wait_for(lambda: not alive(scheduler_process), 60, message="its scheduler process to exit")


def test_rq_scheduler_process_dies_with_a_killed_worker_and_releases_its_locks(outage_app, processes,
                                                                              connection):
    """rq 2.12 forks an RQScheduler loop for --with-scheduler; its own stays behind a SIGKILLed worker."""
    worker = processes.worker(process_env(outage_app))  # the table's worker: --with-scheduler
    [scheduler_process] = wait_for(lambda: children_of(worker.pid), message=lambda: f"the worker's scheduler "
                                   f"process:\n{processes.log(worker)}")
    wait_for(lambda: connection.exists("rq:scheduler-lock:default"), message="the scheduler lock")

    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    wait_for(lambda: not alive(scheduler_process), 30, message="the scheduler process to exit with its worker")
    # Released on the way out, so the next worker's scheduler takes over at once (not after 61 s).
    assert not connection.exists("rq:scheduler-lock:default")


def test_scheduler_rides_out_an_outage_and_moves_jobs_after_it(outage_app, queue_redis, processes, connection):
    scheduler = processes.scheduler(process_env(outage_app), interval=0.2)
    rq_scheduler = Scheduler(connection=connection, job_class=JSONJob, queue_class=JSONQueue)
    wait_for(lambda: connection.zcard(rq_scheduler.scheduled_jobs_key) > 0,
             message=lambda: f"the periodic table:\n{processes.log(scheduler)}")

    queue_redis.stop()
    wait_for(lambda: "unreachable" in processes.log(scheduler), 120,
             message=lambda: f"the scheduler to notice the outage:\n{processes.log(scheduler)}")
    time.sleep(DOWN_AFTER_NOTICED)
    assert scheduler.poll() is None, processes.log(scheduler)
    queue_redis.start()

    job = rq_scheduler.enqueue_in(timedelta(seconds=1), "jobs.maintenance.ping", "after")
    wait_for(lambda: job.id in JSONQueue("default", connection=connection).job_ids, 120,
             message=lambda: f"the scheduled job on its queue:\n{processes.log(scheduler)}")
    assert scheduler.poll() is None
    log = processes.log(scheduler)
    assert log.count("unreachable") == 1 and log.count("answers again") == 1, log
    assert "Traceback" not in log, log


def test_scheduler_started_while_redis_is_down_waits_for_it(outage_app, queue_redis, processes, connection):
    queue_redis.stop()
    scheduler = processes.scheduler(process_env(outage_app), interval=0.2)
    wait_for(lambda: "unreachable" in processes.log(scheduler), 120,
             message=lambda: f"the scheduler to say it waits:\n{processes.log(scheduler)}")
    assert scheduler.poll() is None, processes.log(scheduler)
    queue_redis.start()
    wait_for(lambda: connection.zcard(Scheduler.scheduled_jobs_key) > 0, 120,
             message=lambda: f"the periodic table:\n{processes.log(scheduler)}")
    scheduler.send_signal(signal.SIGTERM)
    assert scheduler.wait(timeout=60) == 0, processes.log(scheduler)


def test_requests_during_a_long_outage_try_the_queue_once_and_log_it_once(app_factory, queue_redis,
                                                                        redis_server, caplog):
    """The first command uses up its retries (and logs the outage); later ones try once, so sign-ups
    keep answering at their usual pace while their work waits in the database."""
    app = app_factory(REDIS_URL=queue_redis.url, CACHE_REDIS_URL=f"{redis_server.url[:-2]}/1",
                      REDIS_RETRIES=6, REDIS_RETRY_MAX_BACKOFF=5.0)
    window = retry_window(6, 5.0)  # 11 s of backoff sleeps: a sign-up that retries takes longer
    client = app.test_client()
    caplog.set_level(logging.WARNING, logger="app.redis_clients")

    def sign_up(n: int) -> float:
        started = time.monotonic()
        response = client.post("/api/auth/signup", json={
            "email": f"member{n}@example.com", "name": f"Member {n}", "password": "correct-horse",
            "phone": f"010-4000-{1000 + n}", "channel": "email"})
        assert response.status_code == 201, response.get_json()
        return time.monotonic() - started

    queue_redis.stop()
    first = sign_up(0)
    later = [sign_up(n) for n in range(1, 6)]
    # The first waited through the retries of one enqueue; each later one enqueues a job (the
    # code; the welcome waits for the verification) and would wait the window again if it retried.
    assert first >= window, first
    assert all(seconds < window for seconds in later), later
    outages = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outages) <= 2, outages  # the first use's start-up check, then the outage itself
    assert [r.name for r in caplog.records if "unreachable: " in r.getMessage()] == ["app.redis_clients"]

    queue_redis.start()
    sign_up(6)
    assert [r for r in caplog.records if "answers again" in r.getMessage()]
    verified = client.post("/api/auth/verify", json={"email": "member6@example.com",
                                                     "code": latest_code(app, "member6@example.com")})
    assert verified.status_code == 200
    with Redis(port=queue_redis.port) as check:  # the last member's jobs were queued at once: code, then welcome
        assert JSONQueue("default", connection=check).count == 1 and JSONQueue("high", connection=check).count == 1


def test_posting_rsvp_and_announcements_answer_during_an_outage(app_factory, queue_redis, redis_server,
                                                                make_user):
    """What a member and an admin do while the queue Redis is down answers as usual; the work it
    leaves (delivery rows, reminder rows) waits in the database for the sweepers."""
    from datetime import datetime, timezone

    from app.extensions import db
    from app.models.delivery import Delivery
    from app.models.screening import Reminder
    from tests.helpers.web import login

    app = app_factory(REDIS_URL=queue_redis.url, CACHE_REDIS_URL=f"{redis_server.url[:-2]}/1")
    make_user("admin@example.com", "Admin", is_admin=True)
    make_user("member@example.com", "Member", phone="+821055556666")
    admin, member = app.test_client(), app.test_client()
    login(admin, "admin@example.com")
    login(member, "member@example.com")
    starts = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
    screening = admin.post("/api/screenings", json={"title": "Night", "film": "Stalker", "starts_at": starts,
                                                    "place": "Hall", "capacity": 10})
    assert screening.status_code == 201, screening.get_json()

    queue_redis.stop()
    posted = member.post("/api/posts", json={"title": "During the outage", "body": "Still here."})
    assert posted.status_code == 201, posted.get_json()
    assert member.get(f"/api/posts/{posted.get_json()['id']}").status_code == 200
    rsvp = member.post(f"/api/screenings/{screening.get_json()['id']}/rsvp", json={})
    assert rsvp.status_code == 201, rsvp.get_json()
    announced = admin.post("/api/announcements", json={"subject": "Outage", "body": "Mail will follow."})
    assert announced.status_code == 202, announced.get_json()
    with app.app_context():
        assert db.session.query(Delivery).filter_by(announcement_id=announced.get_json()["id"]).count() == 2
        assert db.session.query(Reminder).count() >= 1
