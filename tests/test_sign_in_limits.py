"""Nobody can lock a member out by guessing, and sign-in's timing tells no one who is a member.

Failed sign-ins are limited per account and client address together; per account alone there is
only a higher ceiling that slows attempts. Addresses are set per request (``REMOTE_ADDR``), as a
client from another network would arrive.
"""
from __future__ import annotations

import hashlib
import logging

from tests.helpers.web import csrf_token

ATTACKER, OWNER, ELSEWHERE = "198.51.100.66", "203.0.113.7", "192.0.2.9"


def sign_in(client, address: str, password: str, email: str = "ada@example.com"):
    return client.post("/api/auth/login", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_guesses_from_one_address_do_not_lock_the_owner_out(app_factory, make_user):
    app = app_factory(RATELIMIT_LOGIN="3 per minute")
    make_user()
    attacker, owner = app.test_client(), app.test_client()
    for _ in range(3):
        assert sign_in(attacker, ATTACKER, "guess").status_code == 401
    assert sign_in(attacker, ATTACKER, "guess").status_code == 429
    assert sign_in(attacker, ATTACKER, "correct-horse").status_code == 429  # the guesser is stopped
    assert sign_in(owner, OWNER, "wrong-once").status_code == 401            # the owner is not
    assert sign_in(owner, OWNER, "correct-horse").status_code == 200


def test_the_sign_in_page_does_not_lock_the_owner_out_either(app_factory, make_user):
    app = app_factory(RATELIMIT_LOGIN="2 per minute")
    make_user()
    attacker, owner = app.test_client(), app.test_client()
    token = csrf_token(attacker.get("/auth/login").get_data(as_text=True))
    for _ in range(3):
        last = attacker.post("/auth/login", data={"email": "ada@example.com", "password": "guess", "csrf_token": token},
                             environ_base={"REMOTE_ADDR": ATTACKER})
    assert last.status_code == 429
    token = csrf_token(owner.get("/auth/login").get_data(as_text=True))
    answer = owner.post("/auth/login", data={"email": "ada@example.com", "password": "correct-horse",
                                             "csrf_token": token}, environ_base={"REMOTE_ADDR": OWNER})
    assert answer.status_code == 302 and owner.get("/api/auth/me").status_code == 200


def test_guesses_from_many_addresses_slow_the_account_but_never_block_it(app_factory, make_user, caplog):
    app = app_factory(RATELIMIT_LOGIN="2 per minute", RATELIMIT_LOGIN_ACCOUNT="4 per hour")
    make_user()
    client = app.test_client()
    for n in range(5):  # five addresses, one guess each: the fifth is over the account's ceiling
        assert sign_in(client, f"198.51.100.{n}", "guess").status_code == 401
    with caplog.at_level(logging.WARNING, logger="app.members.service"):
        assert sign_in(client, OWNER, "correct-horse").status_code == 200
    assert "slowing them down" in caplog.text


def test_sign_in_does_the_same_work_with_or_without_an_account(app, make_user, monkeypatch):
    """An unknown address is checked against a hash of the same kind and cost as a member's, so the
    answer takes as long: counted here as key derivations and their parameters, not as time."""
    make_user()
    calls = []
    real_scrypt = hashlib.scrypt

    def counting_scrypt(password, **params):
        calls.append(tuple(sorted((k, v) for k, v in params.items() if k != "salt")))
        return real_scrypt(password, **params)

    client = app.test_client()
    sign_in(client, OWNER, "warm-up", email="nobody@example.com")  # the dummy hash is made once per process
    monkeypatch.setattr(hashlib, "scrypt", counting_scrypt)
    outcomes = {}
    for email in ("ada@example.com", "nobody@example.com"):
        calls.clear()
        assert sign_in(client, OWNER, "wrong-password", email=email).status_code == 401
        outcomes[email] = list(calls)
    assert len(outcomes["ada@example.com"]) == 1
    assert outcomes["nobody@example.com"] == outcomes["ada@example.com"]
