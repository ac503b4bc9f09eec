"""Batch jobs: one SMTP connection per batch, claims before sending, per-recipient failures, retries."""
from __future__ import annotations

import time
from functools import partial

from redis import Redis
from rq import Queue
from rq.job import Job
from sqlalchemy import select

from app.extensions import db
from app.models.delivery import Delivery
from tests.helpers.mail import add_members, burst, sign_in_admin, statuses


def announce(app, client, make_user, members: int, **body) -> tuple[int, list[str]]:
    sign_in_admin(client, make_user)
    emails = add_members(app, members)
    response = client.post("/api/announcements", json={"subject": "News", "body": "Text", **body})
    assert response.status_code == 202
    return response.get_json()["id"], emails


def test_batch_with_one_permanently_failing_recipient_sends_the_others(app, client, make_user, smtp, run_jobs):
    announcement_id, emails = announce(app, client, make_user, 40)
    smtp.refuse_permanently.add(emails[7])
    run_jobs()
    assert smtp.to(emails[7]) == []
    assert all(len(smtp.to(e)) == 1 for e in emails if e != emails[7])
    assert statuses(app, announcement_id) == {"sent": 40, "failed": 1}
    with app.app_context():
        failed = db.session.scalar(select(Delivery).where(Delivery.status == "failed"))
        assert failed.recipient == emails[7] and "550" in failed.last_error
    page = client.get(f"/admin/announcements/{announcement_id}").get_data(as_text=True)
    assert emails[7] in page and "550" in page


def test_temporarily_refusing_server_is_retried_until_it_accepts(app_factory, make_user, smtp, redis_url):
    app = app_factory(MAIL_RETRY_INTERVALS=[1, 1, 1, 1])
    client = app.test_client()
    announcement_id, emails = announce(app, client, make_user, 12)
    smtp.refuse_temporarily.add(emails[3])
    run = partial(burst, app)
    run()  # the fan-out, then the batch: 12 sent, one deferred, the job is scheduled for a retry
    assert statuses(app, announcement_id) == {"sent": 12, "pending": 1}
    time.sleep(1.2)
    run()  # still refused: deferred again
    assert smtp.to(emails[3]) == []
    smtp.refuse_temporarily.clear()
    time.sleep(1.2)
    run()
    assert len(smtp.to(emails[3])) == 1
    assert statuses(app, announcement_id) == {"sent": 13}
    with app.app_context():
        row = db.session.scalar(select(Delivery).where(Delivery.recipient == emails[3]))
        assert row.attempts == 3 and row.provider_response.startswith("250")
    assert all(len(smtp.to(e)) == 1 for e in emails)


def test_unreachable_smtp_server_fails_the_job_for_retry_and_keeps_rows_pending(app_factory, make_user, smtp,
                                                                                 redis_url):
    from deploy.local.redis_server import free_port

    app = app_factory(MAIL_PORT=free_port(), MAIL_RETRY_INTERVALS=[60])
    announce(app, app.test_client(), make_user, 5)
    burst(app)
    assert statuses(app) == {"pending": 6}
    scheduled = Queue("low", connection=Redis.from_url(redis_url)).scheduled_job_registry.get_job_ids()
    assert len(scheduled) == 1 and scheduled[0].startswith("email-batch-")
    with app.app_context():
        errors = set(db.session.scalars(select(Delivery.last_error)))
        assert len(errors) == 1 and "cannot reach SMTP server" in errors.pop()


def test_a_duplicated_batch_job_sends_nothing_twice(app, client, make_user, smtp, run_jobs, redis_url):
    announcement_id, emails = announce(app, client, make_user, 20)
    run_jobs()
    queue = Queue("low", connection=Redis.from_url(redis_url))
    for n in range(3):
        queue.enqueue("jobs.mail_batch.send_email_batch", 0, 10_000, job_id=f"again-{n}")
    run_jobs()
    assert all(len(smtp.to(e)) == 1 for e in emails)
    assert Job.fetch("again-0", connection=Redis.from_url(redis_url)).return_value()["claimed"] == 0


def test_a_batch_leaves_rows_that_are_not_due_yet(app, smtp, run_jobs, redis_url):
    from datetime import timedelta

    from app.models.types import utcnow

    with app.app_context():
        db.session.add(Delivery(idempotency_key="later:1", kind="reminder", recipient="later@example.com",
                                subject="Tomorrow", body="b", due_at=utcnow() + timedelta(hours=1)))
        db.session.commit()
    Queue("low", connection=Redis.from_url(redis_url)).enqueue("jobs.mail_batch.send_email_batch", 0, 99,
                                                               job_id="early")
    run_jobs()
    assert smtp.to("later@example.com") == [] and statuses(app) == {"pending": 1}
