"""Changing a password (current one required) and resetting it by email, as a member meets it.

Reset mails go the way every mail goes: a delivery row, a job on the ``high`` queue after the
commit, run by the worker class every launcher deploys (``run_jobs``), to a real SMTP server.
"""
from __future__ import annotations

import re

import itsdangerous.timed
from sqlalchemy import select

from app.extensions import db
from app.models.delivery import Delivery
from tests.helpers.accounts import let_time_pass
from tests.helpers.mail import burst
from tests.helpers.web import csrf_token, login


def reset_link(smtp, address: str) -> str:
    mails = [m for m in smtp.to(address) if m["Subject"] == "Reset your film club password"]
    assert len(mails) == 1, [m["Subject"] for m in smtp.to(address)]
    return re.search(r"http://\S+/auth/reset/(\S+)", mails[0].get_body(("plain",)).get_content()).group(0)


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


def ask_reset(client, email="ada@example.com"):
    return client.post("/api/auth/password-reset", json={"email": email})


# -- change ---------------------------------------------------------------------------------------

def test_api_password_change_needs_the_current_password(app, client, make_user):
    make_user()
    login(client)
    laptop = app.test_client()
    login(laptop)
    wrong = client.post("/api/auth/password", json={"current_password": "nope", "password": "a-new-secret-9"})
    assert wrong.status_code == 403 and "current password" in wrong.get_json()["error"]
    assert laptop.get("/api/auth/me").status_code == 200  # a wrong try changes nothing
    answer = client.post("/api/auth/password", json={"current_password": "correct-horse",
                                                     "password": "a-new-secret-9"})
    assert answer.status_code == 200
    assert client.get("/api/auth/me").status_code == 200          # this session goes on
    assert laptop.get("/api/auth/me").status_code == 401          # every other one ended
    other = app.test_client()
    assert other.post("/api/auth/login", json={"email": "ada@example.com",
                                               "password": "correct-horse"}).status_code == 401
    login(other, password="a-new-secret-9")


def test_api_password_change_refuses_a_short_one_and_needs_sign_in(app, client, make_user):
    make_user()
    assert client.post("/api/auth/password", json={"current_password": "correct-horse",
                                                   "password": "a-new-secret-9"}).status_code == 401
    login(client)
    answer = client.post("/api/auth/password", json={"current_password": "correct-horse", "password": "short"})
    assert answer.status_code == 422 and answer.get_json()["details"][0]["field"] == "password"


def test_page_password_change(app, client, make_user):
    make_user()
    login(client)
    phone = app.test_client()
    login(phone)
    assert "Change your password" in client.get("/account/settings").get_data(as_text=True)
    page = client.get("/account/password").get_data(as_text=True)
    wrong = client.post("/account/password", data={"csrf_token": csrf_token(page), "current_password": "nope",
                                                    "password": "a-new-secret-9"})
    assert wrong.status_code == 403 and "The current password is wrong." in wrong.get_data(as_text=True)
    answer = client.post("/account/password", data={"csrf_token": csrf_token(page),
                                                     "current_password": "correct-horse",
                                                     "password": "a-new-secret-9"}, follow_redirects=True)
    assert answer.status_code == 200 and "Password changed" in answer.get_data(as_text=True)
    assert phone.get("/api/auth/me").status_code == 401
    assert client.get("/api/auth/me").status_code == 200


# -- reset -----------------------------------------------------------------------------------------

def test_reset_by_email_over_the_api(app, client, make_user, smtp, run_jobs):
    make_user()
    laptop = app.test_client()
    login(laptop)
    answer = ask_reset(client, "ADA@example.com")
    assert answer.status_code == 202 and "link" in answer.get_json()["message"]
    run_jobs()
    link = reset_link(smtp, "ada@example.com")
    confirm = client.post("/api/auth/password-reset/confirm",
                          json={"token": token_of(link), "password": "brand-new-secret"})
    assert confirm.status_code == 200, confirm.get_json()
    assert client.get("/api/auth/me").get_json()["user"]["email"] == "ada@example.com"  # signed in here
    assert laptop.get("/api/auth/me").status_code == 401                               # and nowhere else
    login(app.test_client(), password="brand-new-secret")
    # single use: the same link again is refused and changes nothing
    again = client.post("/api/auth/password-reset/confirm", json={"token": token_of(link), "password": "x-other-pw-2"})
    assert again.status_code == 422 and "already used" in again.get_json()["error"]
    login(app.test_client(), password="brand-new-secret")
    with app.app_context():  # the link does not stay readable in the outbox once sent
        row = db.session.scalar(select(Delivery).where(Delivery.kind == "password_reset"))
        assert row.status == "sent" and token_of(link) not in row.body


def test_reset_answers_the_same_for_an_unknown_address(app, client, make_user, smtp, run_jobs):
    make_user()
    known, unknown = ask_reset(client), ask_reset(client, "nobody@example.com")
    assert (known.status_code, known.get_json()) == (unknown.status_code, unknown.get_json())
    run_jobs()
    assert smtp.to("nobody@example.com") == []
    assert len(smtp.to("ada@example.com")) == 1


def test_reset_link_expires_after_30_minutes(app, client, make_user, smtp, run_jobs, monkeypatch):
    make_user()
    ask_reset(client)
    run_jobs()
    link = reset_link(smtp, "ada@example.com")
    later = itsdangerous.timed.TimestampSigner.get_timestamp
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: later(self) + 31 * 60)
    answer = client.post("/api/auth/password-reset/confirm", json={"token": token_of(link), "password": "brand-new-pw"})
    assert answer.status_code == 422 and "expired" in answer.get_json()["error"]
    assert "cannot be used" in client.get(link.split("http://localhost")[-1]).get_data(as_text=True)
    login(client)  # the old password still works


def test_only_the_newest_password_counts_for_older_links(app_factory, make_user, smtp, redis_url):
    """Two links asked for; the first used: the second is void too (the password they were for is gone)."""
    app = app_factory(RATELIMIT_STORAGE_URI=redis_url)
    client = app.test_client()
    make_user()
    ask_reset(client)
    burst(app)
    first = reset_link(smtp, "ada@example.com")
    smtp.reset()
    let_time_pass(app, redis_url, 61)  # past the per-address mail limit
    ask_reset(client)
    burst(app)
    second = reset_link(smtp, "ada@example.com")
    assert client.post("/api/auth/password-reset/confirm",
                       json={"token": token_of(first), "password": "brand-new-pw"}).status_code == 200
    assert client.post("/api/auth/password-reset/confirm",
                       json={"token": token_of(second), "password": "other-new-pw"}).status_code == 422


def test_reset_link_is_on_external_url_not_the_host_header(app_factory, make_user, smtp, run_jobs):
    app = app_factory(EXTERNAL_URL="https://club.example")
    make_user()
    app.test_client().post("/api/auth/password-reset", json={"email": "ada@example.com"},
                           headers={"Host": "evil.example"})
    burst(app)
    body = smtp.to("ada@example.com")[0].get_body(("plain",)).get_content()
    assert "https://club.example/auth/reset/" in body and "evil.example" not in body


def test_reset_pages(app, client, make_user, smtp, run_jobs):
    make_user()
    desk = app.test_client()
    login(desk)
    assert 'href="/auth/reset">Reset it</a>' in client.get("/auth/login").get_data(as_text=True)
    page = client.get("/auth/reset").get_data(as_text=True)
    answer = client.post("/auth/reset", data={"csrf_token": csrf_token(page), "email": "ada@example.com"},
                         follow_redirects=True)
    assert "a link to choose a new password is on its way" in answer.get_data(as_text=True)
    run_jobs()
    path = reset_link(smtp, "ada@example.com").split("http://localhost")[-1]
    form = client.get(path)
    assert form.status_code == 200 and "Choose a new password" in form.get_data(as_text=True)
    assert form.headers["Referrer-Policy"] == "no-referrer"  # the token in the address goes nowhere else
    done = client.post(path, data={"csrf_token": csrf_token(form.get_data(as_text=True)),
                                   "password": "brand-new-secret"}, follow_redirects=True)
    assert done.status_code == 200 and "signed out everywhere else" in done.get_data(as_text=True)
    assert client.get("/api/auth/me").status_code == 200
    assert desk.get("/api/auth/me").status_code == 401
    used = client.get(path)
    assert used.status_code == 400 and "already used" in used.get_data(as_text=True)


def test_reset_confirm_bad_input(client, make_user):
    make_user()
    assert client.post("/api/auth/password-reset/confirm", json={"token": "nonsense", "password": "brand-new-pw"}
                       ).status_code == 422
    assert client.post("/api/auth/password-reset/confirm", json={"token": "x"}).status_code == 422
    assert client.post("/api/auth/password-reset", json={"email": "not an email"}).status_code == 422
    assert client.get("/auth/reset/" + "a" * 300).status_code == 400
