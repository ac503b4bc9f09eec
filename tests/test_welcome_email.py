"""Seed step 1 and issue 13: the welcome email is sent by an RQ worker once the account is verified.

Sign-up sends only the verification code; entering it (by email or by SMS) writes the welcome row in the
transaction that verifies the member, and the job is enqueued after that commit.
"""
from redis import Redis
from sqlalchemy import select

from app.extensions import db
from app.safe_jobs import JSONQueue
from app.models.delivery import SENT, Delivery
from tests.helpers.accounts import latest_code
from tests.helpers.mail import burst

PHONE = "+821012345678"


def signup(client, email: str, channel: str = "email", name: str = "Newcomer", **headers):
    response = client.post("/api/auth/signup", headers=headers,
                           json={"email": email, "name": name, "password": "long-enough",
                                 "phone": "010-1234-5678", "channel": channel})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["user"]["id"]


def verify(app, client, email: str, recipient: str | None = None):
    """Enter the newest code sent to ``recipient`` (the email, or the phone for SMS) as the member would."""
    code = latest_code(app, recipient or email)
    return client.post("/api/auth/verify", json={"email": email, "code": code})


def welcomes(app, user_id: int) -> list[Delivery]:
    with app.app_context():
        return list(db.session.scalars(select(Delivery).where(Delivery.user_id == user_id,
                                                              Delivery.kind == "welcome")))


def verify_then_run(app, client, run_jobs, email: str, recipient: str | None = None) -> None:
    assert verify(app, client, email, recipient).status_code == 200
    run_jobs()


def test_sign_up_sends_only_the_code_and_verifying_by_email_sends_one_welcome(app, client, smtp, run_jobs,
                                                                                redis_url):
    user_id = signup(client, "new@example.com")
    assert welcomes(app, user_id) == []
    queue = JSONQueue("default", connection=Redis.from_url(redis_url))
    assert queue.fetch_job(f"welcome-email-{user_id}") is None
    code = latest_code(app, "new@example.com")
    run_jobs()
    assert [m["Subject"] for m in smtp.to("new@example.com")] == ["Your film club verification code"]
    assert client.post("/api/auth/verify", json={"email": "new@example.com", "code": code}).status_code == 200
    job = queue.fetch_job(f"welcome-email-{user_id}")
    assert job is not None and job.func_name == "jobs.email.send_welcome_email" and job.args == [user_id]
    assert len(smtp.to("new@example.com")) == 1  # the request did not send it
    run_jobs()
    [welcome] = [m for m in smtp.to("new@example.com") if m["Subject"] == "Welcome to the film club"]
    text = welcome.get_body(("plain",)).get_content()
    assert "Newcomer" in text and "your account is verified" in text
    for path in ("/screenings", "/account/settings", "/posts/new"):
        assert f"http://localhost{path}" in text, path
    assert "Reminders come by email" in text
    html = welcome.get_body(("html",)).get_content()
    assert "/screenings" in html and "/posts/new" in html
    [delivery] = welcomes(app, user_id)
    assert delivery.status == SENT and delivery.provider_response.startswith("250")


def test_welcome_is_in_the_members_language(app, client, smtp, run_jobs):
    signup(client, "ko@example.com", name="민지", **{"Accept-Language": "ko"})
    verify_then_run(app, client, run_jobs, "ko@example.com")
    subjects = [m["Subject"] for m in smtp.to("ko@example.com")]
    assert subjects.count("영화 모임에 오신 것을 환영합니다") == 1 and "Welcome to the film club" not in subjects
    [welcome] = [m for m in smtp.to("ko@example.com") if m["Subject"] == "영화 모임에 오신 것을 환영합니다"]
    text = welcome.get_body(("plain",)).get_content()
    assert "민지" in text and "/screenings" in text and "Reminders" not in text


def test_verifying_by_sms_sends_the_welcome_by_email(app, client, smtp, run_jobs):
    user_id = signup(client, "texted@example.com", channel="sms")
    code = latest_code(app, PHONE)  # before the job sends the text and redacts it
    run_jobs()
    assert smtp.to("texted@example.com") == []  # the code went by SMS; no welcome before verifying
    assert client.post("/api/auth/verify", json={"email": "texted@example.com", "code": code}).status_code == 200
    run_jobs()
    [welcome] = smtp.to("texted@example.com")
    assert welcome["Subject"] == "Welcome to the film club"
    assert "Reminders come by text message" in welcome.get_body(("plain",)).get_content()
    assert [d.channel for d in welcomes(app, user_id)] == ["email"]


def test_verifying_twice_still_sends_one_welcome(app_factory, smtp, redis_url):
    """Verify the phone, then the email too (a second code, a second verification): one welcome."""
    app = app_factory(VERIFICATION_RESEND_COOLDOWN=0, RATELIMIT_CODE_SEND="10 per minute")
    client = app.test_client()
    run_jobs = lambda: burst(app)  # noqa: E731
    user_id = signup(client, "both@example.com", channel="sms")
    verify_then_run(app, client, run_jobs, "both@example.com", PHONE)
    resend = client.post("/api/auth/verify/resend", json={"email": "both@example.com", "channel": "email"})
    assert resend.status_code == 202, resend.get_json()
    response = verify(app, client, "both@example.com")
    assert response.status_code == 200, response.get_json()
    run_jobs()
    assert [m["Subject"] for m in smtp.to("both@example.com")].count("Welcome to the film club") == 1
    assert len(welcomes(app, user_id)) == 1


def test_a_wrong_code_sends_no_welcome(app, client, smtp, run_jobs):
    user_id = signup(client, "wrong@example.com")
    code = latest_code(app, "wrong@example.com")
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    assert client.post("/api/auth/verify", json={"email": "wrong@example.com", "code": wrong}).status_code != 200
    run_jobs()
    assert welcomes(app, user_id) == []
    assert [m["Subject"] for m in smtp.to("wrong@example.com")] == ["Your film club verification code"]


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
    user_id = signup(client, "twice@example.com", channel="sms")
    verify_then_run(app, client, run_jobs, "twice@example.com", PHONE)
    JSONQueue("default", connection=Redis.from_url(redis_url)).enqueue(
        "jobs.email.send_welcome_email", user_id, job_id="welcome-email-again")
    run_jobs()
    assert len(smtp.to("twice@example.com")) == 1


def test_permanent_refusal_marks_delivery_failed(app, client, smtp, run_jobs):
    smtp.refuse_permanently.add("gone@example.com")
    signup(client, "gone@example.com", channel="sms")
    verify_then_run(app, client, run_jobs, "gone@example.com", PHONE)
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
    client = app.test_client()
    assert verify(app, client, "retry@example.com").status_code == 200
    redis = Redis.from_url(redis_url)
    welcome = JSONQueue("default", connection=redis).fetch_job(f"welcome-email-{user_id}")
    codes = JSONQueue("high", connection=redis).get_jobs()
    assert welcome is not None and codes
    for job in (welcome, *codes):
        assert (job.retries_left, job.retry_intervals) == (3, [7, 11, 13]), job.id


def welcome_subjects(smtp, address: str) -> list[str]:
    return [m["Subject"] for m in smtp.to(address) if m["Subject"] == "Welcome to the film club"]


def test_a_password_reset_that_verifies_the_account_sends_the_welcome(app, client, make_user, smtp, run_jobs):
    """The reset link came to the mailbox: an email-channel member who never entered a code is verified now."""
    user = make_user(email="reset@example.com", email_verified_at=None, notification_channel="email")
    assert client.post("/api/auth/password-reset", json={"email": "reset@example.com"}).status_code == 202
    run_jobs()
    assert welcome_subjects(smtp, "reset@example.com") == []
    [mail] = [m for m in smtp.to("reset@example.com") if m["Subject"] == "Reset your film club password"]
    token = mail.get_body(("plain",)).get_content().split("/auth/reset/")[1].split()[0]
    confirm = client.post("/api/auth/password-reset/confirm", json={"token": token, "password": "brand-new-secret"})
    assert confirm.status_code == 200, confirm.get_json()
    run_jobs()
    assert welcome_subjects(smtp, "reset@example.com") == ["Welcome to the film club"]
    assert len(welcomes(app, user.id)) == 1


def test_switching_notifications_to_a_contact_verified_earlier_sends_the_welcome(app, client, make_user, smtp,
                                                                                 run_jobs):
    """Texts chosen but the phone never verified; the email was: moving notifications there verifies the account."""
    user = make_user(email="switch@example.com", phone_verified_at=None, notification_channel="sms")
    client.post("/api/auth/login", json={"email": "switch@example.com", "password": "correct-horse"})
    assert client.get("/api/auth/me").get_json()["user"]["is_verified"] is False
    switched = client.patch("/api/account", json={"notification_channel": "email"})
    assert switched.status_code == 200, switched.get_json()
    run_jobs()
    assert welcome_subjects(smtp, "switch@example.com") == ["Welcome to the film club"]
    assert "Reminders come by email" in smtp.to("switch@example.com")[0].get_body(("plain",)).get_content()
    assert client.patch("/api/account", json={"notification_channel": "email"}).status_code == 200
    run_jobs()
    assert len(welcomes(app, user.id)) == 1 and len(welcome_subjects(smtp, "switch@example.com")) == 1


def test_an_admin_made_at_the_console_gets_no_welcome(app, runner, smtp, run_jobs):
    """``flask create-admin``: the operator makes the account (often their own), nobody signed up."""
    result = runner.invoke(args=["create-admin", "op@example.com", "--password", "a-long-admin-pass-1"])
    assert result.exit_code == 0, result.output
    run_jobs()
    assert smtp.to("op@example.com") == []
    with app.app_context():
        assert db.session.scalar(select(Delivery).where(Delivery.kind == "welcome")) is None
