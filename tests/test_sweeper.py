"""The sweeper re-enqueues what the database says is due and unsent; Redis losing work only delays mail."""
from __future__ import annotations

from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import update

from app.safe_jobs import JSONQueue
from app.extensions import db
from app.models.delivery import Delivery
from app.models.types import utcnow
from deploy.local.redis_server import RedisServer
from tests.helpers.mail import add_members, burst, sign_in_admin, statuses
from tests.helpers.accounts import latest_code


def sweep(app) -> dict:
    from jobs.sweeper import sweep_deliveries

    with app.app_context():
        return sweep_deliveries()


def test_sweeper_enqueues_pending_rows_whose_jobs_were_lost(app_factory, make_user, smtp, run_jobs, redis_url):
    app = app_factory(DELIVERY_SWEEP_GRACE_SECONDS=0, MAIL_BATCH_SIZE=10)
    client = app.test_client()
    sign_in_admin(client, make_user)
    emails = add_members(app, 25)
    client.post("/api/announcements", json={"subject": "s", "body": "b"})
    Redis.from_url(redis_url).flushdb()  # the queue Redis lost everything
    result = sweep(app)
    assert result["due"] == 26 and result["enqueued"] == 3
    assert sorted(JSONQueue("low", connection=Redis.from_url(redis_url)).job_ids) == [
        "email-batch-0-9", "email-batch-10-19", "email-batch-20-29"]
    run_jobs()
    assert all(len(smtp.to(e)) == 1 for e in emails)


def test_a_second_sweep_does_not_queue_waiting_batches_again(app_factory, make_user, redis_url):
    app = app_factory(DELIVERY_SWEEP_GRACE_SECONDS=0)
    client = app.test_client()
    sign_in_admin(client, make_user)
    add_members(app, 150)
    client.post("/api/announcements", json={"subject": "s", "body": "b"})
    assert sweep(app)["enqueued"] == 2
    assert sweep(app)["enqueued"] == 0
    assert JSONQueue("low", connection=Redis.from_url(redis_url)).count == 3  # fan-out + two batches


def test_sweeper_leaves_fresh_rows_and_live_claims_alone(app_factory, make_user):
    app = app_factory(DELIVERY_SWEEP_GRACE_SECONDS=60, DELIVERY_STALE_CLAIM_SECONDS=300)
    client = app.test_client()
    sign_in_admin(client, make_user)
    add_members(app, 5)
    client.post("/api/announcements", json={"subject": "s", "body": "b"})
    assert sweep(app)["due"] == 0
    with app.app_context():
        db.session.execute(update(Delivery).values(status="sending", claimed_at=utcnow() - timedelta(seconds=10)))
        db.session.commit()
    assert sweep(app)["due"] == 0


def test_stale_claims_of_a_killed_worker_are_sent_again(app_factory, make_user, smtp):
    app = app_factory(DELIVERY_STALE_CLAIM_SECONDS=5)
    client = app.test_client()
    sign_in_admin(client, make_user)
    emails = add_members(app, 5)
    client.post("/api/announcements", json={"subject": "s", "body": "b"})
    with app.app_context():  # as if a worker claimed them all and was killed before sending
        db.session.execute(update(Delivery).values(status="sending", claimed_at=utcnow() - timedelta(seconds=6)))
        db.session.commit()
    assert sweep(app)["due"] == 6
    burst(app)
    assert all(len(smtp.to(e)) == 1 for e in emails)


def test_sweeper_sends_welcome_rows_on_the_default_queue(app_factory, smtp, redis_url, run_jobs):
    app = app_factory(DELIVERY_SWEEP_GRACE_SECONDS=0)
    app.test_client().post("/api/auth/signup", json={"email": "w@example.com", "name": "W", "password": "long-enough",
                                                  "phone": "010-2222-3333", "channel": "email"})
    assert app.test_client().post("/api/auth/verify", json={"email": "w@example.com",
                                                            "code": latest_code(app, "w@example.com")}).status_code == 200
    Redis.from_url(redis_url).flushdb()
    sweep(app)
    assert JSONQueue("default", connection=Redis.from_url(redis_url)).count == 1  # the welcome batch
    assert JSONQueue("high", connection=Redis.from_url(redis_url)).count == 1     # the code, a job of its own
    run_jobs()
    subjects = sorted(m["Subject"] for m in smtp.to("w@example.com"))
    assert len(subjects) == 2 and "Welcome to the film club" in subjects


@pytest.fixture
def second_redis(tmp_path):
    server = RedisServer(tmp_path / "redis2", appendonly=False).start()
    yield server
    server.stop()


def test_queue_redis_down_at_request_time_mail_arrives_after_it_returns(app_factory, make_user, smtp,
                                                                        second_redis):
    app = app_factory(REDIS_URL=second_redis.url, DELIVERY_SWEEP_GRACE_SECONDS=0)
    client = app.test_client()
    sign_in_admin(client, make_user)
    emails = add_members(app, 8)
    second_redis.stop()
    response = client.post("/api/announcements", json={"subject": "While Redis was down", "body": "b"})
    assert response.status_code == 202
    signup = client.post("/api/auth/signup", json={"email": "new@example.com", "name": "N", "password": "long-enough",
                                                  "phone": "010-2222-3333", "channel": "email"})
    assert signup.status_code == 201
    verified = client.post("/api/auth/verify", json={"email": "new@example.com",
                                                     "code": latest_code(app, "new@example.com")})
    assert verified.status_code == 200  # the welcome is written with the verification, Redis or not
    assert statuses(app) == {"pending": 11}  # 9 announcement rows, the welcome email, the sign-up code
    second_redis.start()
    sweep(app)
    burst(app)
    assert all(len(smtp.to(e)) == 1 for e in emails)
    assert len(smtp.to("new@example.com")) == 2  # welcome and verification code
    assert statuses(app) == {"sent": 11}
