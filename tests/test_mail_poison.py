"""One message that cannot be sent fails alone, with its reason; the batch goes on (issue 10, defect 1).

Found by trying the app: a member whose address has non-ASCII characters made
smtplib raise ``UnicodeEncodeError``; a subject holding a line-break-class
character made the email package raise ``ValueError``. Either fell through to
"job interrupted before sending": the batch gave back every later row of its
range, of any announcement or reminder, and retried for up to an hour.

These tests run the real thing: a real ``rq worker`` process (or the same
worker class in-process), the real database and a real SMTP server (aiosmtpd).
"No retry, no give-back" is asserted structurally: every row was claimed once
(``attempts == 1``) and no batch job failed or was scheduled for a retry.
"""
from __future__ import annotations

import time
from collections import Counter

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import insert, select

from app.extensions import db
from app.models.delivery import Delivery
from app.models.types import utcnow
from tests.helpers.mail import WorkerProcess, add_members, sign_in_admin, statuses, worker_env
from tests.helpers.smtp import SMTPServer

HANGUL_LOCAL = "민지@members.example"
IDN_DOMAIN = "jisoo@영화.example"
IDN_DOMAIN_ASCII = "jisoo@xn--vj5bo21a.example"


def wait_until_finished(app, deadline_seconds: float = 90) -> dict[str, int]:
    """Poll until no delivery is pending or being sent (or the deadline): the counts by status."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        counts = statuses(app)
        if not counts.get("pending") and not counts.get("sending"):
            return counts
        if time.monotonic() > deadline:
            return counts
        time.sleep(0.1)


def rows_by_key(app) -> dict[str, Delivery]:
    with app.app_context():
        rows = {d.idempotency_key: d for d in db.session.scalars(select(Delivery))}
        for row in rows.values():
            db.session.expunge(row)
        db.session.remove()
        return rows


def add_member(app, email: str) -> None:
    from app.models.user import User

    with app.app_context():
        db.session.execute(insert(User), [{"email": email, "name": "Poison", "password_hash": None}])
        db.session.commit()


def add_bad_row_from_before_validation(app, recipient: str, subject: str) -> None:
    """A reminder row written before subjects were validated: a line break inside its subject."""
    with app.app_context():
        db.session.add(Delivery(idempotency_key=f"old-reminder:{recipient}", kind="reminder", recipient=recipient,
                                subject=subject, body="See you there", due_at=utcnow()))
        db.session.commit()


def no_batch_job_was_retried(redis_url: str) -> bool:
    redis = Redis.from_url(redis_url)
    for name in ("high", "default", "low"):
        queue = Queue(name, connection=redis)
        if queue.failed_job_registry.count or queue.scheduled_job_registry.count:
            return False
    return True


@pytest.fixture
def plain_smtp_server():
    """A real SMTP server that does not offer SMTPUTF8, as many relays do not."""
    server = SMTPServer(smtputf8=False).start()
    yield server
    server.stop()


def announce_to_poisoned_members(app, client, make_user) -> list[str]:
    """Members with ordinary addresses, one with a Hangul mailbox name, one with an IDN domain, and an
    old reminder row whose subject holds a line break: the defect's two ways in."""
    sign_in_admin(client, make_user)
    emails = add_members(app, 120)
    add_member(app, HANGUL_LOCAL)
    add_member(app, IDN_DOMAIN)
    emails += add_members(app, 120, domain="later.example")
    add_bad_row_from_before_validation(app, emails[5], "Tonight\u2028the film")
    response = client.post("/api/announcements", json={"subject": "Season programme", "body": "Films!"})
    assert response.status_code == 202
    return ["admin@example.com", *emails]


def run_real_worker(app, database_url: str, redis_url: str, smtp_port: int, log_path) -> dict[str, int]:
    worker = WorkerProcess(worker_env(database_url, redis_url, smtp_port), redis_url, log_path=log_path)
    try:
        return wait_until_finished(app)
    finally:
        worker.stop()


def assert_failed_alone(app, redis_url: str, counts: dict, failed: set[str], log_path) -> dict[str, Delivery]:
    rows = rows_by_key(app)
    assert counts == {"sent": len(rows) - len(failed), "failed": len(failed)}, (counts, log_path.read_text())
    assert {r.idempotency_key for r in rows.values() if r.status == "failed"} == failed
    assert all(r.attempts == 1 for r in rows.values()), "a row was given back and claimed again"
    assert no_batch_job_was_retried(redis_url)
    bad = next(r for r in rows.values() if r.idempotency_key.startswith("old-reminder:"))
    assert "line break" in bad.last_error and "U+2028" in bad.last_error
    return rows


@pytest.mark.slow
def test_unencodable_address_and_bad_header_fail_alone_with_a_real_worker(
        app_factory, make_user, database_url, redis_url, plain_smtp_server, tmp_path):
    """The defect as reported: a real worker process, a server without SMTPUTF8."""
    smtp = plain_smtp_server.handler
    app = app_factory(MAIL_PORT=plain_smtp_server.port)
    emails = announce_to_poisoned_members(app, app.test_client(), make_user)
    log_path = tmp_path / "worker.log"
    counts = run_real_worker(app, database_url, redis_url, plain_smtp_server.port, log_path)
    hangul_key = f"announcement:1:{user_id(app, HANGUL_LOCAL)}"
    rows = assert_failed_alone(app, redis_url, counts, {hangul_key, f"old-reminder:{emails[6]}"}, log_path)
    got = received(smtp)
    for address in emails:
        assert got[address] == 1, address
    assert len(smtp.to(IDN_DOMAIN_ASCII)) == 1   # the IDN domain went out in its xn-- form
    assert "SMTPUTF8" in rows[hangul_key].last_error and "does not offer" in rows[hangul_key].last_error


@pytest.mark.slow
def test_internationalised_addresses_are_delivered_where_the_server_offers_smtputf8(
        app_factory, make_user, database_url, redis_url, smtp_server, smtp, tmp_path):
    app = app_factory()
    emails = announce_to_poisoned_members(app, app.test_client(), make_user)
    log_path = tmp_path / "worker.log"
    counts = run_real_worker(app, database_url, redis_url, smtp_server.port, log_path)
    assert_failed_alone(app, redis_url, counts, {f"old-reminder:{emails[6]}"}, log_path)
    got = received(smtp)
    for address in emails:
        assert got[address] == 1, address
    hangul = smtp.to(HANGUL_LOCAL)
    assert len(hangul) == 1 and hangul[0]["Subject"] == "Season programme"
    assert len(smtp.to(IDN_DOMAIN_ASCII)) == 1


def user_id(app, email: str) -> int:
    from app.models.user import User

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


# --- the poison drill: several kinds of undeliverable members in one announcement -------------

DRILL_MEMBERS = 300


def received(smtp) -> Counter:
    """Messages received per To address (read once: ``smtp.to`` parses every message per call)."""
    with smtp.lock:
        return Counter(m["To"] for m in smtp.messages)


def first_pass(app) -> None:
    """One pass of the real worker class, in-process: every queued job once; retries not run."""
    from app.outbox import ALL
    from jobs.worker import AppSimpleWorker

    AppSimpleWorker(list(ALL), connection=Redis.from_url(app.config["REDIS_URL"]), app=app).work(
        burst=True, with_scheduler=False)


def test_poison_drill_every_other_member_gets_it_in_the_first_pass(app_factory, make_user, redis_url,
                                                                   plain_smtp_server, monkeypatch):
    import jobs.mailer

    smtp = plain_smtp_server.handler
    app = app_factory(MAIL_PORT=plain_smtp_server.port, MAIL_RETRY_INTERVALS=[1])
    client = app.test_client()
    sign_in_admin(client, make_user)
    emails = add_members(app, DRILL_MEMBERS // 2)
    add_member(app, HANGUL_LOCAL)                                       # 1. unencodable on this server
    add_bad_row_from_before_validation(app, emails[10], "Old\rsubject")  # 2. bad header value, in the range
    emails += add_members(app, DRILL_MEMBERS // 2, domain="later.example")
    refused, deferred, broken = emails[20], emails[160], emails[250]
    smtp.refuse_permanently.add(refused)                                # 3. SMTP 550 for one recipient
    smtp.refuse_temporarily.add(deferred)                               # 4. SMTP 451 for one recipient
    real_build = jobs.mailer.build_message

    def build_or_break(sender, recipient, *args):                       # 5. an exception while building one
        if recipient == broken:
            raise RuntimeError("template exploded for this member")
        return real_build(sender, recipient, *args)

    monkeypatch.setattr(jobs.mailer, "build_message", build_or_break)
    response = client.post("/api/announcements", json={"subject": "Season programme", "body": "Films!"})
    assert response.status_code == 202
    announcement_id = response.get_json()["id"]

    first_pass(app)

    innocent = [e for e in ["admin@example.com", *emails] if e not in (refused, deferred, broken)]
    got = received(smtp)
    assert all(got[e] == 1 for e in innocent), "an innocent member did not get it in the first pass"
    rows = rows_by_key(app)
    by_recipient = {r.recipient: r for r in rows.values() if r.announcement_id == announcement_id}
    reasons = {
        HANGUL_LOCAL: "does not offer",
        refused: "550 5.1.1 No such user here",
        broken: "RuntimeError: template exploded for this member",
    }
    for recipient, reason in reasons.items():
        row = by_recipient[recipient]
        assert row.status == "failed" and reason in row.last_error, (recipient, row.last_error)
    old = rows[f"old-reminder:{emails[10]}"]
    assert old.status == "failed" and "U+000D CARRIAGE RETURN" in old.last_error
    waiting = by_recipient[deferred]
    assert waiting.status == "pending" and "451" in waiting.last_error
    # Structurally "as fast as a clean announcement": no row but the deferred one was given back or
    # claimed twice, and only the one batch holding the 451 is waiting for a retry.
    assert all(r.attempts == 1 for r in rows.values())
    assert statuses(app, announcement_id) == {"sent": len(innocent), "failed": 3, "pending": 1}
    low = Queue("low", connection=Redis.from_url(redis_url))
    assert low.failed_job_registry.count == 0
    assert len(low.scheduled_job_registry.get_job_ids()) == 1

    smtp.refuse_temporarily.clear()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not received(smtp)[deferred]:
        time.sleep(0.5)
        from app.outbox import ALL
        from jobs.worker import AppSimpleWorker

        AppSimpleWorker(list(ALL), connection=Redis.from_url(redis_url), app=app).work(burst=True,
                                                                                   with_scheduler=True)
    got = received(smtp)
    assert got[deferred] == 1
    assert all(got[e] == 1 for e in innocent), "the retry sent something twice"


# --- single-message jobs: the same rule -------------------------------------------------------

def test_single_message_jobs_fail_alone_with_their_reason(app_factory, redis_url, plain_smtp_server, monkeypatch):
    """A welcome email to an address this server cannot take, an old row with a bad subject and an SMS
    whose provider call breaks: each row failed with its reason, no job left failing, no row left claimed."""
    import jobs.sms_backends.console
    from jobs.email import send_email_delivery
    from app.outbox import enqueue_now

    app = app_factory(MAIL_PORT=plain_smtp_server.port, SMS_BACKEND="console")
    with app.app_context():
        rows = [Delivery(idempotency_key="welcome:hangul", kind="welcome", recipient=HANGUL_LOCAL, subject="Hi",
                         body="b"),
                Delivery(idempotency_key="welcome:old", kind="welcome", recipient="old@example.com",
                         subject="Hi\nthere", body="b"),
                Delivery(idempotency_key="sms:1", kind="reminder", channel="sms", recipient="+821012345678",
                         subject="", body="See you"),
                Delivery(idempotency_key="welcome:fine", kind="welcome", recipient="fine@example.com",
                         subject="Hi", body="b")]
        db.session.add_all(rows)
        db.session.commit()
        ids = [r.id for r in rows]

    def broken_send(self, message):
        raise RuntimeError("provider client bug")

    monkeypatch.setattr(jobs.sms_backends.console.ConsoleBackend, "send", broken_send)
    with app.app_context():
        for delivery_id, job in zip(ids, ["jobs.email.send_email_delivery"] * 2 + ["jobs.sms.send_sms_delivery"]
                                    + ["jobs.email.send_email_delivery"]):
            assert enqueue_now(job, delivery_id, job_id=f"single-{delivery_id}")
    first_pass(app)
    found = rows_by_key(app)
    assert "does not offer" in found["welcome:hangul"].last_error
    assert "U+000A LINE FEED" in found["welcome:old"].last_error
    assert "RuntimeError: provider client bug" in found["sms:1"].last_error
    assert [found[k].status for k in ("welcome:hangul", "welcome:old", "sms:1", "welcome:fine")] == [
        "failed", "failed", "failed", "sent"]
    assert no_batch_job_was_retried(redis_url)
    with app.app_context():  # a second run finds nothing to do: the rows are settled, not claimed
        assert send_email_delivery(ids[0]).startswith("skipped")
