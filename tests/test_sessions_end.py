"""Signing out ends the session for real: a copy of the cookie taken before stops working.

The copy is what an attacker holds after reading a cookie off a shared computer or a leaked log;
each test signs in, copies the session cookie into a second browser, acts in the first, and asks
who the second one is.
"""
from __future__ import annotations

import re

from tests.helpers.web import csrf_token, login


def copy_session(app, client):
    """A second browser holding the same session cookie as ``client``."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    assert other.get("/api/auth/me").status_code == 200  # the copy works while the session lives
    return other


def test_copied_cookie_stops_working_after_api_sign_out(app, client, make_user):
    make_user()
    login(client)
    thief = copy_session(app, client)
    assert client.post("/api/auth/logout", json={}).status_code == 204
    assert thief.get("/api/auth/me").status_code == 401
    assert thief.post("/api/posts", json={"title": "t", "body": "b"}).status_code == 401


def test_copied_cookie_stops_working_after_page_sign_out(app, client, make_user):
    make_user()
    page = client.get("/auth/login").get_data(as_text=True)
    client.post("/auth/login", data={"email": "ada@example.com", "password": "correct-horse",
                                     "csrf_token": csrf_token(page)})
    thief = copy_session(app, client)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/posts/").get_data(as_text=True)).group(1)
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert thief.get("/api/auth/me").status_code == 401
    assert thief.get("/account/settings").status_code == 302  # to the sign-in page


def test_signing_out_ends_only_this_browsers_session(app, client, make_user):
    make_user()
    login(client)
    laptop = app.test_client()
    login(laptop)
    assert client.post("/api/auth/logout", json={}).status_code == 204
    assert laptop.get("/api/auth/me").status_code == 200


def test_sign_out_everywhere_on_the_settings_page(app, client, make_user):
    make_user()
    login(client)
    laptop = app.test_client()
    login(laptop)
    thief = copy_session(app, laptop)
    page = client.get("/account/settings").get_data(as_text=True)
    assert "Sign out everywhere" in page
    answer = client.post("/account/sign-out-everywhere", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 302
    assert "Signed out on every device" in client.get(answer.headers["Location"]).get_data(as_text=True)
    for browser in (client, laptop, thief):
        assert browser.get("/api/auth/me").status_code == 401


def test_sign_out_everywhere_needs_the_csrf_token(app, client, make_user):
    make_user()
    login(client)
    assert client.post("/account/sign-out-everywhere", data={}).status_code == 400
    assert client.get("/api/auth/me").status_code == 200


def test_sign_out_everywhere_over_the_api(app, client, make_user):
    make_user()
    login(client)
    laptop = app.test_client()
    login(laptop)
    assert client.post("/api/auth/logout-everywhere", json={}).status_code == 204
    assert client.get("/api/auth/me").status_code == 401
    assert laptop.get("/api/auth/me").status_code == 401
    assert client.post("/api/auth/logout-everywhere", json={}).status_code == 401


def test_a_cookie_from_before_server_side_sessions_is_signed_out(app, client, make_user):
    """A cookie that names only a member id (the form before this change) loads nobody."""
    user = make_user()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    assert client.get("/api/auth/me").status_code == 401
