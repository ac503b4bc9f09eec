"""Phone numbers (issue 10, defect 4): letters are not keypad digits, an extension is not
dropped, and a verified mobile number belongs to one member, down to a unique rule in the
database."""
from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.delivery import Delivery
from app.models.types import utcnow
from app.models.user import User
from tests.helpers.accounts import api_signup, latest_code
from tests.helpers.web import csrf_token, login

LETTERS = ["010-abcd-efgh", "1-800-FLOWERS", "tel:+82-10-1234-5678", "010-1234-5678 (home)"]
EXTENSIONS = ["010-1234-5678 ext. 12", "010-1234-5678 x12", "010-1234-5678#12", "010-1234-5678,12",
              "010-1234-5678;ext=12", "010-1234-5678 내선 12", "+82 10 1234 5678 extension 3"]


def deliveries(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Delivery))


@pytest.mark.parametrize("phone", LETTERS)
def test_api_refuses_a_number_with_letters_and_texts_nobody(app, client, phone):
    answer = api_signup(client, phone=phone, channel="sms")
    assert answer.status_code == 422
    [detail] = answer.get_json()["details"]
    assert detail["field"] == "phone" and "has letters" in detail["message"]
    assert deliveries(app) == 0


@pytest.mark.parametrize("phone", EXTENSIONS)
def test_api_refuses_a_number_with_an_extension(app, client, phone):
    answer = api_signup(client, phone=phone, channel="sms")
    assert answer.status_code == 422
    assert "has an extension" in answer.get_json()["details"][0]["message"]
    assert deliveries(app) == 0


@pytest.mark.parametrize("phone", ["010-1234-5678", "+82 10 1234 5678", "010.1234.5678", "(010) 1234-5678",
                                   "010\u20131234\u20135678", "\uff10\uff11\uff10-\uff11\uff12\uff13\uff14-"
                                                             "\uff15\uff16\uff17\uff18"])
def test_common_spellings_of_a_mobile_number_are_accepted(app, client, phone):
    assert api_signup(client, phone=phone).status_code == 201
    with app.app_context():
        assert db.session.scalar(select(User.phone)) == "+821012345678"


def test_signup_form_names_what_is_wrong_with_the_number(client):
    token = csrf_token(client.get("/auth/signup").get_data(as_text=True))
    for phone, words in [("010-abcd-efgh", "has letters"), ("010-1234-5678 x12", "has an extension")]:
        response = client.post("/auth/signup", data={"email": "hal@example.com", "name": "Hal",
                                                     "password": "long-enough", "phone": phone,
                                                     "channel": "sms", "csrf_token": token})
        assert response.status_code == 400 and words in response.get_data(as_text=True)


def test_settings_refuse_letters_and_extensions(client, make_user):
    make_user()
    login(client)
    answer = client.patch("/api/account", json={"phone": "010-abcd-efgh", "current_password": "correct-horse"})
    assert answer.status_code == 422 and "has letters" in answer.get_json()["details"][0]["message"]
    token = csrf_token(client.get("/account/settings").get_data(as_text=True))
    page = client.post("/account/settings", data={"email": "ada@example.com", "phone": "010-9999-8888 ext. 2",
                                                  "notification_channel": "email",
                                                  "current_password": "correct-horse", "csrf_token": token})
    assert page.status_code == 400 and "has an extension" in page.get_data(as_text=True)


# -- a verified mobile number belongs to one member -------------------------------------------------

def test_signup_with_a_number_another_member_verified_is_refused(app, client, make_user):
    make_user(email="bob@example.com", name="Bob", phone="+821055556666")
    answer = api_signup(client, phone="010-5555-6666", channel="sms")
    assert answer.status_code == 409
    assert "verified on another account" in answer.get_json()["error"]
    assert deliveries(app) == 0  # nobody's phone got a code for someone else's account
    token = csrf_token(client.get("/auth/signup").get_data(as_text=True))
    page = client.post("/auth/signup", data={"email": "hal@example.com", "name": "Hal", "password": "long-enough",
                                             "phone": "010-5555-6666", "channel": "sms", "csrf_token": token})
    assert page.status_code == 400 and "verified on another account" in page.get_data(as_text=True)


def test_changing_to_a_number_another_member_verified_is_refused(client, make_user):
    make_user(email="bob@example.com", name="Bob", phone="+821055556666")
    make_user()
    login(client)
    answer = client.patch("/api/account", json={"phone": "010-5555-6666", "current_password": "correct-horse"})
    assert answer.status_code == 409 and "verified on another account" in answer.get_json()["error"]
    assert client.get("/api/account").get_json()["user"]["phone"] == "+821012345678"


def test_the_second_member_to_verify_a_shared_number_is_refused_with_a_reason(app_factory):
    """Two sign-ups typed the same number (neither verified): the first code entered wins."""
    app = app_factory(RATELIMIT_CODE_SEND="10 per minute")
    client = app.test_client()
    assert api_signup(client, phone="010-5555-6666", channel="sms").status_code == 201
    client.post("/api/auth/logout")
    assert api_signup(client, email="bob@example.com", name="Bob", phone="010-5555-6666",
                      channel="sms").status_code == 201
    bob_code = latest_code(app, "+821055556666")  # the newest code to the number is Bob's
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.email == "ada@example.com"))
        ada.phone_verified_at = utcnow()  # Ada entered her code a moment earlier
        db.session.commit()
    answer = client.post("/api/auth/verify", json={"email": "bob@example.com", "code": bob_code})
    assert answer.status_code == 409 and "verified by another account first" in answer.get_json()["error"]
    me = client.get("/api/auth/me").get_json()["user"]
    assert me["phone_verified"] is False
    page = client.get("/auth/verify").get_data(as_text=True)
    wrong = client.post("/auth/verify", data={"email": "bob@example.com", "code": bob_code,
                                              "csrf_token": csrf_token(page)})
    assert wrong.status_code == 400 and "verified by another account first" in wrong.get_data(as_text=True)


def test_the_database_holds_one_verified_member_per_number(app):
    now = utcnow()
    with app.app_context():
        db.session.add_all([User(email="a@example.com", name="A", phone="+821055556666", phone_verified_at=now),
                            User(email="b@example.com", name="B", phone="+821055556666")])  # unverified: fine
        db.session.commit()
        db.session.add(User(email="c@example.com", name="C", phone="+821055556666", phone_verified_at=now))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_migration_keeps_a_shared_number_with_whoever_verified_it_first(app):
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade(revision="0006")
        with db.engine.begin() as conn:
            for user_id, verified, channel in [(1, "2026-01-02", "sms"), (2, "2026-01-01", "sms"),
                                               (3, "2026-01-03", "sms"), (4, None, "email")]:
                conn.execute(text(
                    "INSERT INTO users (id, email, name, is_admin, created_at, phone, email_verified_at, "
                    "phone_verified_at, notification_channel) VALUES (:id, :email, 'M', false, :at, "
                    "'+821055556666', :email_at, :verified, :channel)"),
                    {"id": user_id, "email": f"m{user_id}@example.com", "at": "2026-01-01 00:00:00+00:00",
                     "email_at": "2026-01-01 00:00:00+00:00" if user_id != 3 else None,
                     "verified": f"{verified} 00:00:00+00:00" if verified else None, "channel": channel})
        upgrade()
        rows = {u.id: (u.phone_verified, u.notification_channel) for u in db.session.scalars(select(User))}
    assert rows == {2: (True, "sms"), 1: (False, "email"), 3: (False, "sms"), 4: (False, "email")}
