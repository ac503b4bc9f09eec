"""Sign-up verification codes: sent by a worker on the high queue, checked as security guidance asks."""
from __future__ import annotations

import json
from datetime import timedelta

from redis import Redis
from sqlalchemy import select, update

from app.safe_jobs import JSONQueue
from app.extensions import db
from app.models.delivery import SENT, Delivery
from app.models.types import utcnow
from app.models.user import User
from app.models.verification_code import VerificationCode
from jobs.verification import REDACTED
from tests.helpers.accounts import api_signup, code_from_email, latest_code

INVALID = "this code is not valid"


def verify(client, code: str, email: str = "ada@example.com"):
    return client.post("/api/auth/verify", json={"email": email, "code": code})


def test_email_code_arrives_by_worker_and_unlocks_posting(app, client, smtp, run_jobs, redis_url):
    response = api_signup(client)
    assert response.status_code == 201
    assert response.get_json()["user"]["is_verified"] is False
    delivery_id = db_delivery_id(app, "ada@example.com")
    job = JSONQueue("high", connection=Redis.from_url(redis_url)).fetch_job(f"verification-code-{delivery_id}")
    assert job is not None and job.func_name == "jobs.verification.send_verification_code"
    blocked = client.post("/api/posts", json={"title": "t", "body": "b"})
    assert blocked.status_code == 403 and "verify your account first" in blocked.get_json()["error"]
    run_jobs()
    [message] = [m for m in smtp.to("ada@example.com") if "verification code" in m["Subject"]]
    assert verify(client, code_from_email(message)).status_code == 200
    assert client.get("/api/auth/me").get_json()["user"]["is_verified"] is True
    assert client.post("/api/posts", json={"title": "t", "body": "b"}).status_code == 201


def db_delivery_id(app, recipient: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Delivery.id).where(Delivery.recipient == recipient,
                                                           Delivery.kind == "verification_code"))


def test_sms_code_goes_to_the_console_backend_and_dev_page(app_factory, tmp_path, redis_url):
    from app.outbox import ALL
    from jobs.worker import AppSimpleWorker

    app = app_factory(DEV_SMS_DIR=str(tmp_path), SMS_BACKEND="console", APP_ENV="development")  # /dev/sms
    client = app.test_client()
    api_signup(client, channel="sms")
    AppSimpleWorker(list(ALL), connection=Redis.from_url(redis_url), app=app).work(burst=True)
    [path] = tmp_path.glob("*.json")
    sms = json.loads(path.read_text())
    assert sms["to"] == "+821012345678"
    code = sms["body"].split("code is ")[1][:6]
    page = client.get("/dev/sms").get_data(as_text=True)
    assert "+821012345678" in page and code in page
    assert verify(client, code).status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.phone_verified and not user.email_verified and user.is_verified


def test_code_is_stored_hashed_and_redacted_from_the_outbox_once_sent(app, client, smtp, run_jobs):
    api_signup(client)
    code = latest_code(app, "ada@example.com")
    run_jobs()
    with app.app_context():
        row = db.session.scalar(select(VerificationCode))
        delivery = db.session.scalar(select(Delivery).where(Delivery.kind == "verification_code"))
        assert code not in row.code_hash and len(row.code_hash) == 64
        assert delivery.status == SENT and delivery.body == REDACTED
        assert delivery.idempotency_key == f"verification-code:{row.id}"


def test_running_the_code_job_twice_sends_one_message(app, client, smtp, run_jobs, redis_url):
    api_signup(client)
    delivery_id = db_delivery_id(app, "ada@example.com")
    run_jobs()
    JSONQueue("high", connection=Redis.from_url(redis_url)).enqueue(
        "jobs.verification.send_verification_code", delivery_id, job_id="again")
    run_jobs()
    assert len([m for m in smtp.to("ada@example.com") if "verification code" in m["Subject"]]) == 1


def test_code_is_single_use(app, client):
    api_signup(client)
    code = latest_code(app, "ada@example.com")
    assert verify(client, code).status_code == 200
    reused = verify(client, code)
    assert reused.status_code == 400 and INVALID in reused.get_json()["error"]


def test_expired_code_is_refused(app, client):
    api_signup(client)
    code = latest_code(app, "ada@example.com")
    with app.app_context():
        db.session.execute(update(VerificationCode).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert verify(client, code).status_code == 400


def test_five_wrong_attempts_void_the_code(app, client):
    api_signup(client)
    code = latest_code(app, "ada@example.com")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert verify(client, wrong).status_code == 400
    assert verify(client, code).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(VerificationCode.spent_at)) is not None


def test_code_of_another_account_is_refused(app, client):
    api_signup(client)
    client.post("/api/auth/logout", json={})
    api_signup(client, email="bob@example.com", name="Bob", phone="010-2222-3333")
    bobs_code = latest_code(app, "bob@example.com")
    answer = verify(client, bobs_code, email="ada@example.com")
    assert answer.status_code == 400 and INVALID in answer.get_json()["error"]


def test_unknown_email_gets_the_same_answer_as_a_wrong_code(app, client):
    api_signup(client)
    unknown = verify(client, "123456", email="nobody@example.com")
    wrong = verify(client, "000000" if latest_code(app, "ada@example.com") != "000000" else "111111")
    assert unknown.status_code == wrong.status_code == 400
    assert unknown.get_json() == wrong.get_json()


def test_malformed_code_and_email_are_422(client):
    assert verify(client, "12ab56").status_code == 422
    assert verify(client, "1234567").status_code == 422
    assert verify(client, "123456", email="not-an-email").status_code == 422


def test_resend_answers_the_same_for_unknown_and_known_accounts(app, client):
    api_signup(client)
    known = client.post("/api/auth/verify/resend", json={"email": "someone@example.com"})
    unknown = client.post("/api/auth/verify/resend", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()


def test_resend_within_the_cooldown_is_429_with_retry_after(client):
    first = client.post("/api/auth/verify/resend", json={"email": "nobody@example.com"})
    second = client.post("/api/auth/verify/resend", json={"email": "nobody@example.com"})
    assert first.status_code == 202 and second.status_code == 429
    body = second.get_json()
    assert body["status"] == 429 and "too many requests for this email address" in body["error"]
    assert 1 <= int(second.headers["Retry-After"]) <= 60


def test_resend_after_cooldown_sends_a_new_code_and_voids_the_old(app_factory, redis_url):
    app = app_factory(VERIFICATION_RESEND_COOLDOWN=0, RATELIMIT_CODE_SEND="10 per minute")
    client = app.test_client()
    api_signup(client)
    old = latest_code(app, "ada@example.com")
    assert client.post("/api/auth/verify/resend", json={"email": "ada@example.com"}).status_code == 202
    new = latest_code(app, "ada@example.com")
    with app.app_context():
        assert db.session.scalar(select(Delivery.id).where(Delivery.kind == "verification_code")
                                 .order_by(Delivery.id.desc())) == 2  # code 1, new code 2 (the welcome waits for the verification)
    if old != new:
        assert verify(client, old).status_code == 400
    assert verify(client, new).status_code == 200


def test_signup_refuses_malformed_phone_and_unknown_channel(client):
    bad_phone = api_signup(client, phone="12-34")
    assert bad_phone.status_code == 422
    assert bad_phone.get_json()["details"][0]["field"] == "phone"
    landline = api_signup(client, phone="02-123-4567")
    assert landline.status_code == 422 and "not a mobile number" in landline.get_json()["details"][0]["message"]
    assert api_signup(client, channel="pigeon").status_code == 422


def test_phone_is_stored_in_e164(app, client):
    api_signup(client, phone="+82 10-1234-5678")
    with app.app_context():
        assert db.session.scalar(select(User.phone)) == "+821012345678"


def test_sign_in_is_rate_limited_per_address(app_factory, make_user):
    app = app_factory(RATELIMIT_LOGIN="3 per minute")
    client = app.test_client()
    for _ in range(3):
        assert client.post("/api/auth/login", json={"email": "x@example.com", "password": "nope"}).status_code == 401
    limited = client.post("/api/auth/login", json={"email": "y@example.com", "password": "nope"})
    assert limited.status_code == 429 and "from your address" in limited.get_json()["error"]


def test_signup_is_rate_limited_per_phone_number(app_factory):
    app = app_factory(RATELIMIT_CODE_SEND="1 per minute")
    client = app.test_client()
    assert api_signup(client, channel="sms").status_code == 201
    client.post("/api/auth/logout", json={})
    again = api_signup(client, email="other@example.com", channel="sms")
    assert again.status_code == 429 and "for this phone number" in again.get_json()["error"]
