"""Seed step 1: the welcome email is sent by an RQ worker, after the user row commits.

The sign-ups choose SMS verification, so the only email they cause is the welcome email.
"""
from redis import Redis
from sqlalchemy import select

from app.extensions import db
from app.safe_jobs import JSONQueue
from app.models.delivery import SENT, Delivery


def test_welcome_email_arrives_through_a_worker(app, client, smtp, run_jobs, redis_url):
    response = client.post("/api/auth/signup",
                           json={"email": "new@example.com", "name": "Newcomer", "password": "long-enough",
                                 "phone": "010-1234-5678", "channel": "sms"})
    assert response.status_code == 201
    user_id = response.get_json()["user"]["id"]
    queue = JSONQueue("default", connection=Redis.from_url(redis_url))
    job = queue.fetch_job(f"welcome-email-{user_id}")
    assert job is not None and job.func_name == "jobs.email.send_welcome_email" and job.args == [user_id]  # JSON: a list
    assert smtp.to("new@example.com") == []  # the request did not send it
    run_jobs()
    messages = smtp.to("new@example.com")
    assert len(messages) == 1
    assert messages[0]["Subject"] == "Welcome to the film club"
    assert "Newcomer" in messages[0].get_body(("plain",)).get_content()
    with app.app_context():
        delivery = db.session.scalar(select(Delivery).where(Delivery.user_id == user_id,
                                                            Delivery.kind == "welcome"))
        assert delivery.status == SENT and delivery.provider_response.startswith("250")


def test_job_is_not_enqueued_when_the_transaction_rolls_back(app, redis_url):
    from app.outbox import enqueue_after_commit

    with app.app_context():
        enqueue_after_commit("jobs.email.send_welcome_email", 1, job_id="welcome-email-1")
        db.session.rollback()
        enqueue_after_commit("jobs.email.send_welcome_email", 2, job_id="welcome-email-2")
        db.session.commit()
    queue = JSONQueue("default", connection=Redis.from_url(redis_url))
    assert queue.job_ids == ["welcome-email-2"]


def test_running_the_job_twice_sends_once(app, client, smtp, run_jobs, redis_url):
    client.post("/api/auth/signup", json={"email": "twice@example.com", "name": "T", "password": "long-enough",
                                 "phone": "010-1234-5678", "channel": "sms"})
    run_jobs()
    user_id = client.get("/api/auth/me").get_json()["user"]["id"]
    JSONQueue("default", connection=Redis.from_url(redis_url)).enqueue(
        "jobs.email.send_welcome_email", user_id, job_id="welcome-email-again")
    run_jobs()
    assert len(smtp.to("twice@example.com")) == 1


def test_permanent_refusal_marks_delivery_failed(app, client, smtp, run_jobs):
    smtp.refuse_permanently.add("gone@example.com")
    client.post("/api/auth/signup", json={"email": "gone@example.com", "name": "G", "password": "long-enough",
                                 "phone": "010-1234-5678", "channel": "sms"})
    run_jobs()
    with app.app_context():
        delivery = db.session.scalar(select(Delivery).where(Delivery.recipient == "gone@example.com"))
        assert delivery.status == "failed"
        assert "550" in delivery.last_error


def test_welcome_and_code_jobs_retry_at_mail_retry_intervals(app_factory, redis_url):
    """Every send job retries at MAIL_RETRY_INTERVALS: the welcome email and the code too, not only batches."""
    app = app_factory(MAIL_RETRY_INTERVALS=[7, 11, 13])
    response = app.test_client().post("/api/auth/signup", json={
        "email": "retry@example.com", "name": "Retry", "password": "long-enough", "phone": "010-1234-5678",
        "channel": "email"})
    assert response.status_code == 201
    user_id = response.get_json()["user"]["id"]
    redis = Redis.from_url(redis_url)
    welcome = JSONQueue("default", connection=redis).fetch_job(f"welcome-email-{user_id}")
    codes = JSONQueue("high", connection=redis).get_jobs()
    assert welcome is not None and codes
    for job in (welcome, *codes):
        assert (job.retries_left, job.retry_intervals) == (3, [7, 11, 13]), job.id
