"""Fault tests with real worker processes: SIGKILL mid-send, and a Redis restart that loses its data.

Workers are real `rq worker` processes started with subprocess (config from the
environment, as in production), sending to the tests' SMTP server. The test
process plays the scheduler: it runs the sweeper every second. Claims go stale
after 2 s here (DELIVERY_STALE_CLAIM_SECONDS), 5 min in production.
"""
from __future__ import annotations

import time
from collections import Counter

import pytest
from redis.exceptions import RedisError

from deploy.local.redis_server import RedisServer
from tests.helpers.mail import WorkerProcess, add_members, sign_in_admin, statuses, worker_env

RECIPIENTS = 2000
STALE = 2
FAULT_SETTINGS = {"DELIVERY_STALE_CLAIM_SECONDS": STALE, "DELIVERY_SWEEP_GRACE_SECONDS": 0,
                  "MAIL_RETRY_INTERVALS": [1, 1, 1, 1, 1]}
TIME_LIMIT = 300  # a deadline for a stuck run, not a speed target: ~16 s alone, several times that on a busy machine


def env_for(database_url, redis_url, smtp_port):
    return worker_env(database_url, redis_url, smtp_port, DELIVERY_STALE_CLAIM_SECONDS=str(STALE),
                      DELIVERY_SWEEP_GRACE_SECONDS="0", MAIL_RETRY_INTERVALS="1,1,1,1,1")


def start_announcement(app, make_user) -> tuple[int, list[str]]:
    client = app.test_client()
    sign_in_admin(client, make_user)
    emails = ["admin@example.com", *add_members(app, RECIPIENTS - 1)]
    response = client.post("/api/announcements", json={"subject": "Season programme", "body": "Films!"})
    assert response.status_code == 202 and response.get_json()["recipient_count"] == RECIPIENTS
    return response.get_json()["id"], emails


def try_sweep(app) -> None:
    from jobs.sweeper import sweep_deliveries

    with app.app_context():
        try:
            sweep_deliveries()
        except RedisError:
            pass  # Redis is down this second; the next sweep tries again


def delivered(smtp) -> Counter:
    with smtp.lock:
        return Counter(m["To"] for m in smtp.messages)


def reclaimed(app, announcement_id: int) -> int:
    """Rows claimed more than once: a batch was cut off holding them and they were swept again."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models.delivery import Delivery

    with app.app_context():
        return db.session.scalar(select(func.count()).where(Delivery.announcement_id == announcement_id,
                                                            Delivery.attempts > 1))


def drive_until_sent(app, announcement_id: int, started: float, on_progress) -> None:
    """Until every delivery is finished (or TIME_LIMIT): call ``on_progress(counts)`` to inject
    the fault, and run the sweeper once a second, as the scheduler would."""
    last_sweep = 0.0
    while time.monotonic() - started < TIME_LIMIT:
        counts = statuses(app, announcement_id)
        if counts.get("sent", 0) + counts.get("failed", 0) == RECIPIENTS:
            return
        on_progress(counts)
        if time.monotonic() - last_sweep >= 1:
            try_sweep(app)
            last_sweep = time.monotonic()
        time.sleep(0.05)


def report(name: str, smtp, emails: list[str], faults: int, counts: dict, seconds: float) -> int:
    received = delivered(smtp)
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    missing = len(set(emails) - set(received))
    print(f"\n{name}: {RECIPIENTS} recipients, {sum(received.values())} messages received, "
          f"{missing} missing, {duplicates} duplicates, {faults} faults, rows {counts}, {seconds:.1f} s")
    assert missing == 0
    return duplicates


@pytest.mark.slow
def test_sigkilled_workers_mid_send_lose_nothing_and_duplicate_at_most_one_per_kill(
        app_factory, make_user, database_url, redis_url, smtp_server, smtp, tmp_path):
    app = app_factory(**FAULT_SETTINGS)
    env = env_for(database_url, redis_url, smtp_server.port)
    workers = [WorkerProcess(env, redis_url, log_path=tmp_path / f"worker{n}.log") for n in range(2)]
    kill_at = [250, 700, 1150, 1600]
    kills = 0
    started = time.monotonic()
    try:
        announcement_id, emails = start_announcement(app, make_user)

        def kill_a_worker(counts: dict) -> None:
            nonlocal kills
            if kill_at and counts.get("sent", 0) + counts.get("failed", 0) >= kill_at[0]:
                kill_at.pop(0)
                victim = kills % len(workers)
                workers[victim].kill()  # worker and work horse, mid-batch
                kills += 1
                workers[victim] = WorkerProcess(env, redis_url, log_path=tmp_path / f"worker{victim}.log")

        drive_until_sent(app, announcement_id, started, kill_a_worker)
    finally:
        for worker in workers:
            worker.stop()
    counts = statuses(app, announcement_id)
    duplicates = report("SIGKILL", smtp, emails, kills, counts, time.monotonic() - started)
    swept_again = reclaimed(app, announcement_id)
    print(f"SIGKILL: {swept_again} rows were claimed by a killed batch and sent by a later one")
    assert kills == 4 and counts == {"sent": RECIPIENTS}
    assert swept_again > 0  # the kills did land mid-batch
    assert duplicates <= kills


@pytest.mark.slow
def test_redis_restart_with_data_lost_mid_send_is_recovered_from_the_database(
        app_factory, make_user, database_url, smtp_server, smtp, tmp_path):
    redis = RedisServer(tmp_path / "redis", appendonly=False).start()
    app = app_factory(REDIS_URL=redis.url, **FAULT_SETTINGS)
    env = env_for(database_url, redis.url, smtp_server.port)
    workers = [WorkerProcess(env, redis.url, log_path=tmp_path / f"worker{n}.log") for n in range(2)]
    restarted = False
    interrupted = 0
    started = time.monotonic()
    try:
        announcement_id, emails = start_announcement(app, make_user)

        def restart_redis_empty(counts: dict) -> None:
            nonlocal restarted, interrupted
            if not restarted and counts.get("sent", 0) + counts.get("failed", 0) >= 600:
                interrupted = counts.get("sending", 0) and len(workers)  # batches in flight at the crash
                redis.kill()  # everything queued is gone with it
                time.sleep(0.5)
                redis.start()
                restarted = True
            for n, worker in enumerate(workers):
                if not worker.alive():  # a worker that gave up on Redis is restarted, as systemd would
                    worker.stop()
                    interrupted += 1
                    workers[n] = WorkerProcess(env, redis.url, log_path=tmp_path / f"worker{n}.log")

        drive_until_sent(app, announcement_id, started, restart_redis_empty)
    finally:
        for worker in workers:
            worker.stop()
        redis.stop()
    counts = statuses(app, announcement_id)
    duplicates = report("Redis restart", smtp, emails, interrupted, counts, time.monotonic() - started)
    print(f"Redis restart: {reclaimed(app, announcement_id)} rows claimed more than once")
    assert restarted and counts == {"sent": RECIPIENTS}
    assert duplicates <= max(interrupted, 1)
