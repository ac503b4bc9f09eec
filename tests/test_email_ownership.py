"""An address is owned only once it is verified.

Mallory signs up with Ada's address and verifies her account by SMS (her own phone): she never
proves the address. Ada must still be able to sign up, move her account to it, or sign in with a
provider that vouches for it; and announcements (bulk mail) go only to verified addresses.
"""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models.delivery import Delivery
from app.models.social_account import SocialAccount
from app.models.user import User
from tests.helpers.accounts import api_signup, latest_code
from tests.helpers.fake_oauth import FakeOAuthProvider, Person
from tests.helpers.local_http import LocalHTTPServer
from tests.helpers.mail import sign_in_admin
from tests.helpers.web import csrf_token, login
from tests.test_social_login import sign_in_with, social_app


def mallory_takes_adas_address(app) -> None:
    """Mallory signs up with ada@example.com and her own phone, and verifies by SMS."""
    mallory = app.test_client()
    assert api_signup(mallory, name="Mallory", phone="010-6666-7777", channel="sms",
                      password="mallory-secret-1").status_code == 201
    code = latest_code(app, "+821066667777")
    assert mallory.post("/api/auth/verify", json={"email": "ada@example.com", "code": code}).status_code == 200
    assert mallory.get("/api/auth/me").get_json()["user"]["is_verified"] is True


def test_the_owner_signs_up_although_someone_used_her_address_first(app_factory):
    app = app_factory(RATELIMIT_CODE_SEND="10 per minute")  # Mallory's code and Ada's, a minute apart
    client = app.test_client()
    mallory_takes_adas_address(app)
    answer = api_signup(client, phone="010-1234-5678", password="adas-own-secret")
    assert answer.status_code == 201, answer.get_json()
    code = latest_code(app, "ada@example.com")
    assert client.post("/api/auth/verify", json={"email": "ada@example.com", "code": code}).status_code == 200
    me = client.get("/api/auth/me").get_json()["user"]
    assert me["email"] == "ada@example.com" and me["email_verified"] is True
    # Mallory's password no longer opens anything under Ada's address
    assert app.test_client().post("/api/auth/login", json={"email": "ada@example.com",
                                                           "password": "mallory-secret-1"}).status_code == 401
    with app.app_context():
        assert db.session.scalar(select(User.email).where(User.name == "Mallory")).endswith("@released.invalid")


def test_the_owner_signs_up_on_the_page_too(app_factory):
    app = app_factory(RATELIMIT_CODE_SEND="10 per minute")
    client = app.test_client()
    mallory_takes_adas_address(app)
    page = client.get("/auth/signup").get_data(as_text=True)
    answer = client.post("/auth/signup", data={"email": "ada@example.com", "name": "Ada", "password": "adas-own-secret",
                                               "phone": "010-1234-5678", "channel": "email",
                                               "csrf_token": csrf_token(page)})
    assert answer.status_code == 302, answer.get_data(as_text=True)


def test_a_verified_address_stays_its_members(app, client, make_user):
    make_user()
    answer = api_signup(client, name="Mallory", phone="010-6666-7777", password="mallory-secret-1")
    assert answer.status_code == 409
    login(client)


def test_the_owner_can_move_her_account_to_her_address(app_factory, make_user):
    app = app_factory(RATELIMIT_CODE_SEND="10 per minute")
    client = app.test_client()
    mallory_takes_adas_address(app)
    make_user(email="ada.old@example.com", phone="+821012340000")
    login(client, "ada.old@example.com")
    answer = client.patch("/api/account", json={"email": "ada@example.com", "current_password": "correct-horse"})
    assert answer.status_code == 200, answer.get_json()


def test_the_owner_signs_in_with_a_provider_that_vouches_for_her_address(app_factory):
    fake = FakeOAuthProvider("google", person=Person("g-1", "Ada", "ada@example.com", email_verified=True))
    with LocalHTTPServer(fake) as server:
        fake.url = server.url
        app = social_app(app_factory, fake)
        mallory_takes_adas_address(app)
        client = app.test_client()
        answer = sign_in_with(client, fake)
        assert answer.headers["Location"] == "/auth/social/complete"  # Mallory's account is not linked
        page = client.get("/auth/social/complete").get_data(as_text=True)
        done = client.post("/auth/social/complete", data={"name": "Ada", "phone": "010-1234-5678",
                                                          "csrf_token": csrf_token(page)})
        assert done.status_code == 302, done.get_data(as_text=True)
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.email == "ada@example.com"))
        assert ada.name == "Ada" and ada.email_verified
        assert db.session.scalar(select(SocialAccount.user_id)) == ada.id


def test_announcements_go_only_to_verified_addresses(app, client, make_user):
    make_user()                                                        # verified
    make_user(email="typo@example.com", name="Typo", email_verified_at=None, notification_channel="sms")
    sign_in_admin(client, make_user)
    answer = client.post("/api/announcements", json={"subject": "Hi", "body": "All of you"})
    assert answer.status_code == 202 and answer.get_json()["recipient_count"] == 2  # Ada and the admin
    with app.app_context():
        recipients = set(db.session.scalars(select(Delivery.recipient).where(Delivery.kind == "announcement")))
    assert recipients == {"ada@example.com", "admin@example.com"}
