"""Kakao, Naver and Google sign-in: the whole authorization-code flow against a local provider."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models.social_account import SocialAccount
from app.models.user import User
from tests.helpers.accounts import latest_code
from tests.helpers.fake_oauth import FakeOAuthProvider, Person
from tests.helpers.local_http import LocalHTTPServer
from tests.helpers.web import csrf_token


@pytest.fixture(params=["kakao", "naver", "google"])
def provider(request):
    fake = FakeOAuthProvider(request.param)
    with LocalHTTPServer(fake) as server:
        fake.url = server.url
        yield fake


def social_app(app_factory, *fakes):
    settings = {}
    for fake in fakes:
        settings.update(fake.settings())
    return app_factory(**settings)


def sign_in_with(client, fake: FakeOAuthProvider):
    """Start at the app, follow the provider's consent redirect back, return the callback's answer."""
    start = client.get(f"/auth/social/{fake.kind}/login")
    assert start.status_code == 302 and start.headers["Location"].startswith(f"{fake.url}/authorize?")
    consent = requests.get(start.headers["Location"], allow_redirects=False, timeout=60)
    back = urlsplit(consent.headers["Location"])
    assert back.path == f"/auth/social/{fake.kind}/callback"
    return client.get(f"{back.path}?{back.query}")


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_first_social_sign_in_asks_for_a_phone_and_verifies_it_by_sms(app_factory, provider):
    app = social_app(app_factory, provider)
    client = app.test_client()
    answer = sign_in_with(client, provider)
    assert answer.status_code == 302 and answer.headers["Location"] == "/auth/social/complete"
    assert count(app, User) == 0
    if provider.kind == "google":  # OpenID Connect: the id_token was checked against the provider's keys
        assert "/jwks" in provider.paths
    page = client.get("/auth/social/complete").get_data(as_text=True)
    assert "Minji" in page
    done = client.post("/auth/social/complete", data={"name": "Minji", "phone": "010-7777-8888",
                                                      "csrf_token": csrf_token(page)})
    assert done.status_code == 302 and done.headers["Location"] == "/auth/verify"
    me = client.get("/api/auth/me").get_json()["user"]
    assert me["email"] == "minji@example.com" and me["phone"] == "+821077778888"
    assert me["notification_channel"] == "sms" and me["is_verified"] is False
    assert client.post("/api/posts", json={"title": "t", "body": "b"}).status_code == 403
    code = latest_code(app, "+821077778888")
    assert client.post("/api/auth/verify", json={"email": "minji@example.com", "code": code}).status_code == 200
    assert client.post("/api/posts", json={"title": "t", "body": "b"}).status_code == 201
    # Signing in again is recognised by the link, not duplicated.
    client.post("/api/auth/logout")
    again = sign_in_with(client, provider)
    assert again.status_code == 302 and again.headers["Location"] == "/posts/"
    assert count(app, User) == 1 and count(app, SocialAccount) == 1


@pytest.mark.parametrize("kind", ["kakao", "google"])
def test_existing_account_with_the_same_verified_email_is_linked_not_duplicated(app_factory, make_user, kind):
    fake = FakeOAuthProvider(kind, person=Person("2002", "Ada", "ada@example.com", email_verified=True))
    with LocalHTTPServer(fake) as server:
        fake.url = server.url
        app = social_app(app_factory, fake)
        make_user()
        client = app.test_client()
        answer = sign_in_with(client, fake)
    assert answer.status_code == 302 and answer.headers["Location"] == "/posts/"
    assert client.get("/api/auth/me").get_json()["user"]["email"] == "ada@example.com"
    assert count(app, User) == 1
    with app.app_context():
        link = db.session.scalar(select(SocialAccount))
        assert (link.provider, link.subject) == (kind, "2002")


def test_unverified_email_at_the_provider_is_not_linked(app_factory, make_user):
    fake = FakeOAuthProvider("google", person=Person("3003", "Ada", "ada@example.com", email_verified=False))
    with LocalHTTPServer(fake) as server:
        fake.url = server.url
        app = social_app(app_factory, fake)
        make_user()
        client = app.test_client()
        answer = sign_in_with(client, fake)
    assert answer.headers["Location"] == "/auth/social/complete"
    page = client.get("/auth/social/complete").get_data(as_text=True)
    refused = client.post("/auth/social/complete", data={"name": "Ada", "phone": "010-7777-8888",
                                                         "csrf_token": csrf_token(page)})
    assert refused.status_code == 409 and "sign in with your password" in refused.get_data(as_text=True)
    assert count(app, SocialAccount) == 0


def test_signed_in_member_links_a_provider(app_factory, make_user):
    fake = FakeOAuthProvider("naver", person=Person("n-77", "Ada", "ada.naver@example.com", mobile="010-1234-5678"))
    with LocalHTTPServer(fake) as server:
        fake.url = server.url
        app = social_app(app_factory, fake)
        make_user()
        client = app.test_client()
        client.post("/api/auth/login", json={"email": "ada@example.com", "password": "correct-horse"})
        answer = sign_in_with(client, fake)
    assert answer.headers["Location"] == "/posts/"
    assert count(app, SocialAccount) == 1 and count(app, User) == 1
    assert "naver" in client.get("/account/settings").get_data(as_text=True)


def test_naver_mobile_number_prefills_the_phone_field(app_factory):
    fake = FakeOAuthProvider("naver", person=Person("n-1", "Hana", "hana@example.com", mobile="010-4444-5555"))
    with LocalHTTPServer(fake) as server:
        fake.url = server.url
        app = social_app(app_factory, fake)
        client = app.test_client()
        sign_in_with(client, fake)
    assert 'value="010-4444-5555"' in client.get("/auth/social/complete").get_data(as_text=True)


def test_provider_without_email_asks_for_one(app_factory):
    fake = FakeOAuthProvider("kakao", person=Person("4004", "Jae", None))
    with LocalHTTPServer(fake) as server:
        fake.url = server.url
        app = social_app(app_factory, fake)
        client = app.test_client()
        sign_in_with(client, fake)
    page = client.get("/auth/social/complete").get_data(as_text=True)
    missing = client.post("/auth/social/complete", data={"name": "Jae", "phone": "010-7777-8888",
                                                         "csrf_token": csrf_token(page)})
    assert missing.status_code == 400 and "did not share one" in missing.get_data(as_text=True)
    done = client.post("/auth/social/complete", data={"name": "Jae", "phone": "010-7777-8888",
                                                      "email": "jae@example.com", "csrf_token": csrf_token(page)})
    assert done.status_code == 302
    assert client.get("/api/auth/me").get_json()["user"]["email_verified"] is False


def test_complete_refuses_a_malformed_phone(app_factory, provider):
    app = social_app(app_factory, provider)
    client = app.test_client()
    sign_in_with(client, provider)
    page = client.get("/auth/social/complete").get_data(as_text=True)
    bad = client.post("/auth/social/complete", data={"name": "Minji", "phone": "010-12",
                                                     "csrf_token": csrf_token(page)})
    assert bad.status_code == 400 and count(app, User) == 0


def test_sign_in_page_shows_only_enabled_providers(app_factory):
    fake = FakeOAuthProvider("kakao")
    app = app_factory(**fake.settings())
    page = app.test_client().get("/auth/login").get_data(as_text=True)
    assert "/auth/social/kakao/login" in page
    assert "/auth/social/naver/login" not in page and "/auth/social/google/login" not in page
    assert app.test_client().get("/auth/social/naver/login").status_code == 404


def test_callback_with_a_forged_state_is_400(app_factory, provider):
    app = social_app(app_factory, provider)
    client = app.test_client()
    client.get(f"/auth/social/{provider.kind}/login")
    forged = client.get(f"/auth/social/{provider.kind}/callback?code=abc&state=forged")
    assert forged.status_code == 400 and "please start again" in forged.get_data(as_text=True)


def test_denied_consent_returns_to_the_sign_in_page(app_factory, provider):
    app = social_app(app_factory, provider)
    answer = app.test_client().get(f"/auth/social/{provider.kind}/callback?error=access_denied&state=x")
    assert answer.status_code == 302 and answer.headers["Location"] == "/auth/login"
