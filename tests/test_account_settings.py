"""Members change phone, email and notification channel; changed contacts need a new code."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models.user import User
from tests.helpers.accounts import latest_code
from tests.helpers.web import csrf_token, login


def patch(client, **body):
    return client.patch("/api/account", json=body)


def test_changing_phone_needs_password_and_reverification(app, client, make_user):
    make_user(notification_channel="sms")
    login(client)
    assert patch(client, phone="010-9999-8888").status_code == 403  # no current_password
    answer = patch(client, phone="010-9999-8888", current_password="correct-horse")
    assert answer.status_code == 200
    user = answer.get_json()["user"]
    assert user["phone"] == "+821099998888" and not user["phone_verified"] and not user["is_verified"]
    assert client.post("/api/posts", json={"title": "t", "body": "b"}).status_code == 403
    code = latest_code(app, "+821099998888")
    assert client.post("/api/auth/verify", json={"email": "ada@example.com", "code": code}).status_code == 200
    assert client.post("/api/posts", json={"title": "t", "body": "b"}).status_code == 201


def test_changing_email_to_a_taken_address_is_409(client, make_user):
    make_user()
    make_user(email="bob@example.com", name="Bob")
    login(client)
    answer = patch(client, email="BOB@example.com", current_password="correct-horse")
    assert answer.status_code == 409 and "another account" in answer.get_json()["error"]


def test_changed_email_is_unverified_until_its_code_is_entered(app, client, make_user):
    make_user()
    login(client)
    answer = patch(client, email="ada.new@example.com", current_password="correct-horse")
    assert answer.status_code == 200 and answer.get_json()["user"]["email_verified"] is False
    code = latest_code(app, "ada.new@example.com")
    assert client.post("/api/auth/verify", json={"email": "ada.new@example.com", "code": code}).status_code == 200
    assert client.get("/api/account").get_json()["user"]["email_verified"] is True


def test_code_sent_to_an_old_number_cannot_verify_the_new_one(app, client, make_user):
    make_user(phone_verified_at=None)
    login(client)
    client.post("/api/auth/verify/resend", json={"email": "ada@example.com", "channel": "sms"})
    old_code = latest_code(app, "+821012345678")
    patch(client, phone="010-9999-8888", current_password="correct-horse")
    assert client.post("/api/auth/verify", json={"email": "ada@example.com", "code": old_code}).status_code == 400


def test_notification_channel_only_switches_to_a_verified_contact(app, client, make_user):
    make_user(phone_verified_at=None)
    login(client)
    refused = patch(client, notification_channel="sms")
    assert refused.status_code == 409 and "verify your phone number first" in refused.get_json()["error"]
    assert client.post("/api/auth/verify/resend",
                       json={"email": "ada@example.com", "channel": "sms"}).status_code == 202
    code = latest_code(app, "+821012345678")
    client.post("/api/auth/verify", json={"email": "ada@example.com", "code": code})
    switched = patch(client, notification_channel="sms")
    assert switched.status_code == 200 and switched.get_json()["user"]["notification_channel"] == "sms"
    with app.app_context():
        assert db.session.scalar(select(User.notification_channel)) == "sms"


def test_account_update_bad_input_is_4xx(client, make_user):
    make_user()
    login(client)
    assert patch(client).status_code == 422
    assert patch(client, notification_channel="fax").status_code == 422
    assert patch(client, phone="not a number", current_password="correct-horse").status_code == 422
    assert client.patch("/api/account", json={"phone": "010-1111-2222"}).status_code == 403
    client.post("/api/auth/logout")
    assert patch(client, notification_channel="sms").status_code == 401


def test_html_settings_page_changes_the_channel_with_a_csrf_token(app, client, make_user):
    make_user()
    login(client)
    page = client.get("/account/settings").get_data(as_text=True)
    assert "+821012345678" in page
    without_token = client.post("/account/settings", data={"email": "ada@example.com", "phone": "010-1234-5678",
                                                           "notification_channel": "sms"})
    assert without_token.status_code == 400
    response = client.post("/account/settings", data={"email": "ada@example.com", "phone": "010-1234-5678",
                                                      "notification_channel": "sms",
                                                      "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(User.notification_channel)) == "sms"


def test_html_signup_then_verify_page_then_post(app, client):
    form = client.get("/auth/signup").get_data(as_text=True)
    client.post("/auth/signup", data={"email": "hal@example.com", "name": "Hal", "password": "long-enough",
                                      "phone": "010-5555-6666", "channel": "email", "csrf_token": csrf_token(form)})
    new_post = client.get("/posts/new")
    assert new_post.status_code == 403 and "Verify your account first" in new_post.get_data(as_text=True)
    page = client.get("/auth/verify").get_data(as_text=True)
    assert 'value="hal@example.com"' in page
    wrong = client.post("/auth/verify", data={"email": "hal@example.com", "code": "12345x",
                                              "csrf_token": csrf_token(page)})
    assert wrong.status_code == 400
    code = latest_code(app, "hal@example.com")
    done = client.post("/auth/verify", data={"email": "hal@example.com", "code": code,
                                             "csrf_token": csrf_token(page)})
    assert done.status_code == 302
    assert client.get("/posts/new").status_code == 200


def test_html_signup_refuses_a_malformed_phone(client):
    form = client.get("/auth/signup").get_data(as_text=True)
    response = client.post("/auth/signup", data={"email": "hal@example.com", "name": "Hal",
                                                 "password": "long-enough", "phone": "12",
                                                 "channel": "sms", "csrf_token": csrf_token(form)})
    assert response.status_code == 400 and "not a valid phone number" in response.get_data(as_text=True)


def test_html_sign_in_is_rate_limited_with_a_429_page(app_factory):
    app = app_factory(RATELIMIT_LOGIN="2 per minute")
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    for _ in range(2):
        client.post("/auth/login", data={"email": "x@example.com", "password": "nope",
                                         "csrf_token": csrf_token(page)})
    limited = client.post("/auth/login", data={"email": "x@example.com", "password": "nope",
                                               "csrf_token": csrf_token(page)})
    assert limited.status_code == 429 and "Too many requests" in limited.get_data(as_text=True)
    assert limited.headers["Retry-After"].isdigit()
