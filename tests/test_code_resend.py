"""A member who lost or mistyped a code can always get a new one, by email and by SMS, with the
limits as configured by default (issue 10, defect 2): the per-email limit counts one hit per
request, a wait is said with its length, and a code voided by wrong tries says so."""
from __future__ import annotations

import pytest
from redis import Redis
from sqlalchemy import func, select

from app.extensions import db
from app.models.delivery import Delivery
from app.outbox import ALL
from jobs.worker import AppSimpleWorker
from tests.helpers.accounts import (api_signup, code_emails, code_from_email, code_from_text, latest_code,
                                    let_time_pass, texts)
from tests.helpers.web import csrf_token

COOLDOWN = 61  # the default limits: one code a minute per email address and per phone number


@pytest.fixture
def app(app_factory, redis_url):
    """Limits counted on the test Redis, as production counts them on the queue Redis."""
    return app_factory(RATELIMIT_STORAGE_URI=redis_url)


@pytest.fixture
def sms_app(app_factory, redis_url, tmp_path):
    return app_factory(RATELIMIT_STORAGE_URI=redis_url, DEV_SMS_DIR=str(tmp_path / "sms"), SMS_BACKEND="console")


def work(app, redis_url: str) -> None:
    AppSimpleWorker(list(ALL), connection=Redis.from_url(redis_url), app=app).work(burst=True)


def code_deliveries(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Delivery)
                                 .where(Delivery.kind == "verification_code"))


def html_signup(client, channel: str, email: str = "hal@example.com"):
    form = client.get("/auth/signup").get_data(as_text=True)
    response = client.post("/auth/signup", data={"email": email, "name": "Hal", "password": "long-enough",
                                                 "phone": "010-5555-6666", "channel": channel,
                                                 "csrf_token": csrf_token(form)})
    assert response.status_code == 302, response.get_data(as_text=True)


def html_resend(client, channel: str | None = None, email: str | None = None):
    """Press "Send a new code" on the verify page (or a settings button, with ``channel``)."""
    page = client.get("/auth/verify").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "email": email or _prefilled_email(page)}
    if channel:
        data["channel"] = channel
    return client.post("/auth/verify/resend", data=data, follow_redirects=True)


def _prefilled_email(page: str) -> str:
    import re

    return re.search(r'name="email" type="hidden" value="([^"]+)"', page).group(1)


def html_verify(client, email: str, code: str):
    page = client.get("/auth/verify").get_data(as_text=True)
    return client.post("/auth/verify", data={"email": email, "code": code, "csrf_token": csrf_token(page)})


# -- the API -----------------------------------------------------------------------------------

def test_api_resend_after_the_cooldown_emails_a_new_code_that_verifies(app, client, smtp, redis_url):
    api_signup(client)
    work(app, redis_url)
    assert len(code_emails(smtp, "ada@example.com")) == 1
    let_time_pass(app, redis_url, COOLDOWN)
    answer = client.post("/api/auth/verify/resend", json={"email": "ada@example.com"})
    assert answer.status_code == 202
    work(app, redis_url)
    first, second = code_emails(smtp, "ada@example.com")
    assert client.post("/api/auth/verify", json={"email": "ada@example.com",
                                                 "code": code_from_email(second)}).status_code == 200


def test_api_resend_by_sms_after_the_cooldown_texts_a_new_code(sms_app, redis_url, tmp_path):
    client = sms_app.test_client()
    api_signup(client, channel="sms")
    work(sms_app, redis_url)
    let_time_pass(sms_app, redis_url, COOLDOWN)
    assert client.post("/api/auth/verify/resend", json={"email": "ada@example.com"}).status_code == 202
    work(sms_app, redis_url)
    first, second = texts(tmp_path / "sms")
    assert second["to"] == "+821012345678"
    assert client.post("/api/auth/verify", json={"email": "ada@example.com",
                                                 "code": code_from_text(second)}).status_code == 200


def test_api_resend_inside_the_cooldown_is_429_with_retry_after_and_sends_nothing(app, client, smtp, redis_url):
    api_signup(client)
    before = code_deliveries(app)
    answer = client.post("/api/auth/verify/resend", json={"email": "ada@example.com"})
    assert answer.status_code == 429
    assert 1 <= int(answer.headers["Retry-After"]) <= 60
    assert f"try again in {answer.headers['Retry-After']} seconds" in answer.get_json()["error"]
    assert code_deliveries(app) == before


def test_a_resend_counts_once_against_the_per_email_limit(app_factory, redis_url, smtp):
    # Two codes an hour: the sign-up's and one resend. A request that counted twice would
    # use up the second before the code was sent.
    app = app_factory(RATELIMIT_STORAGE_URI=redis_url, RATELIMIT_CODE_SEND="1 per minute;2 per hour")
    client = app.test_client()
    api_signup(client)
    let_time_pass(app, redis_url, COOLDOWN)
    assert client.post("/api/auth/verify/resend", json={"email": "ada@example.com"}).status_code == 202
    assert code_deliveries(app) == 2
    let_time_pass(app, redis_url, COOLDOWN)
    third = client.post("/api/auth/verify/resend", json={"email": "ada@example.com"})
    assert third.status_code == 429 and int(third.headers["Retry-After"]) > COOLDOWN
    assert code_deliveries(app) == 2


def test_resend_answers_do_not_tell_known_from_unknown_emails(app, client, redis_url):
    api_signup(client)
    let_time_pass(app, redis_url, COOLDOWN)
    for email in ("ada@example.com", "nobody@example.com"):
        first = client.post("/api/auth/verify/resend", json={"email": email})
        again = client.post("/api/auth/verify/resend", json={"email": email})
        assert (first.status_code, again.status_code) == (202, 429), email
        assert first.get_json() == {"message": "if an account with this email needs verifying, "
                                               "a new code is on its way"}
        assert "try again in" in again.get_json()["error"]


def test_the_fifth_wrong_try_voids_the_code_and_says_so(app, client, redis_url):
    api_signup(client)
    code = latest_code(app, "ada@example.com")
    wrong = "000000" if code != "000000" else "111111"
    answers = [client.post("/api/auth/verify", json={"email": "ada@example.com", "code": wrong})
               for _ in range(5)]
    assert {a.status_code for a in answers} == {400}
    assert all("void" not in a.get_json()["error"] for a in answers[:4])
    assert "void" in answers[4].get_json()["error"] and "new one" in answers[4].get_json()["error"]
    right_too_late = client.post("/api/auth/verify", json={"email": "ada@example.com", "code": code})
    assert right_too_late.status_code == 400 and "void" in right_too_late.get_json()["error"]
    let_time_pass(app, redis_url, COOLDOWN)
    assert client.post("/api/auth/verify/resend", json={"email": "ada@example.com"}).status_code == 202
    new = latest_code(app, "ada@example.com")
    assert client.post("/api/auth/verify", json={"email": "ada@example.com", "code": new}).status_code == 200


# -- the pages -------------------------------------------------------------------------------

@pytest.mark.parametrize("channel", ["email", "sms"])
def test_page_journey_lose_the_code_wait_resend_verify(sms_app, redis_url, smtp, tmp_path, channel):
    client = sms_app.test_client()
    html_signup(client, channel)
    work(sms_app, redis_url)
    early = html_resend(client)
    page = early.get_data(as_text=True)
    assert early.status_code == 200 and "Please wait" in page and "seconds before asking" in page
    assert 'class="flash flash-error"' in page
    let_time_pass(sms_app, redis_url, COOLDOWN)
    resent = html_resend(client).get_data(as_text=True)
    assert "A new code is on its way" in resent
    work(sms_app, redis_url)
    if channel == "email":
        first, second = code_emails(smtp, "hal@example.com")
        code = code_from_email(second)
    else:
        first, second = texts(tmp_path / "sms")
        code = code_from_text(second)
    assert code_deliveries(sms_app) == 2
    done = html_verify(client, "hal@example.com", code)
    assert done.status_code == 302
    assert client.get("/posts/new").status_code == 200


def test_settings_email_me_a_code_sends_one_by_email(sms_app, redis_url, smtp):
    client = sms_app.test_client()
    html_signup(client, "sms")  # the email address is not verified yet
    let_time_pass(sms_app, redis_url, COOLDOWN)
    settings = client.get("/account/settings").get_data(as_text=True)
    assert "email me a code" in settings
    answer = client.post("/auth/verify/resend", data={"csrf_token": csrf_token(settings),
                                                      "email": "hal@example.com", "channel": "email"},
                         follow_redirects=True)
    assert "A new code is on its way to hal@example.com" in answer.get_data(as_text=True)
    work(sms_app, redis_url)
    [message] = code_emails(smtp, "hal@example.com")
    assert html_verify(client, "hal@example.com", code_from_email(message)).status_code == 302
    with sms_app.app_context():
        from app.models.user import User

        assert db.session.scalar(select(User.email_verified_at)) is not None


def test_anonymous_page_resend_does_not_tell_whether_the_account_exists(app, client, redis_url):
    api_signup(client)
    client.post("/api/auth/logout")
    let_time_pass(app, redis_url, COOLDOWN)
    known = html_resend(client, email="ada@example.com").get_data(as_text=True)
    unknown = html_resend(client, email="nobody@example.com").get_data(as_text=True)
    generic = "If this account needs verifying, a new code is on its way."
    assert generic in known and generic in unknown


def test_page_after_the_fifth_wrong_try_says_void_and_offers_a_new_code(app, client):
    html_signup(client, "email")
    code = latest_code(app, "hal@example.com")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        page = html_verify(client, "hal@example.com", wrong).get_data(as_text=True)
        assert "void" not in page
    fifth = html_verify(client, "hal@example.com", wrong)
    page = fifth.get_data(as_text=True)
    assert fifth.status_code == 400
    assert "This code is now void" in page and "Send a new code" in page
    assert "/api/" not in page
