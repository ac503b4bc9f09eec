"""Passwords are kept exactly as typed, the same by API and form, and common ones are refused."""
from __future__ import annotations

import pytest

from tests.helpers.accounts import SIGNUP, api_signup
from tests.helpers.web import csrf_token, login


def form_sign_in(app, email: str, password: str) -> int:
    browser = app.test_client()
    page = browser.get("/auth/login").get_data(as_text=True)
    browser.post("/auth/login", data={"email": email, "password": password, "csrf_token": csrf_token(page)})
    return browser.get("/api/auth/me").status_code


def test_spaces_around_a_password_are_part_of_it(app, client):
    assert api_signup(client, password="  correct horse battery  ").status_code == 201
    assert form_sign_in(app, "ada@example.com", "  correct horse battery  ") == 200
    assert form_sign_in(app, "ada@example.com", "correct horse battery") == 401
    assert app.test_client().post("/api/auth/login", json={"email": "ada@example.com",
                                                          "password": "correct horse battery"}).status_code == 401
    login(app.test_client(), password="  correct horse battery  ")


def test_a_password_set_by_form_signs_in_by_api_as_typed(app, client):
    page = client.get("/auth/signup").get_data(as_text=True)
    answer = client.post("/auth/signup", data={"email": "bo@example.com", "name": "Bo", "password": " moonlit tram ",
                                               "phone": "010-2222-3333", "channel": "email",
                                               "csrf_token": csrf_token(page)})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    login(app.test_client(), "bo@example.com", " moonlit tram ")
    assert app.test_client().post("/api/auth/login", json={"email": "bo@example.com",
                                                          "password": "moonlit tram"}).status_code == 401


@pytest.mark.parametrize("password", ["password1", "Iloveyou1", "qwertyuiop", "12345678", "trustno1", "sunshine"])
def test_common_passwords_are_refused_by_the_api(client, password):
    answer = api_signup(client, password=password)
    assert answer.status_code == 422
    detail = answer.get_json()["details"][0]
    assert detail["field"] == "password" and "most common passwords" in detail["message"]


def test_a_dictionary_word_or_the_members_own_address_is_refused(client):
    assert "dictionary word" in api_signup(client, password="Constitution").get_json()["details"][0]["message"]
    answer = api_signup(client, email="ada.lovelace@example.com", password="ada.lovelace")
    assert "email address" in answer.get_json()["details"][0]["message"]
    assert "site's name" in api_signup(client, password="filmclub2024").get_json()["details"][0]["message"]


def test_common_passwords_are_refused_by_the_form(client):
    page = client.get("/auth/signup").get_data(as_text=True)
    answer = client.post("/auth/signup", data={**SIGNUP, "password": "password1", "csrf_token": csrf_token(page)})
    assert answer.status_code == 400
    assert "This password is one of the most common passwords" in answer.get_data(as_text=True)


def test_a_common_password_cannot_be_chosen_by_change_or_reset(app, client, make_user):
    make_user()
    login(client)
    answer = client.post("/api/auth/password", json={"current_password": "correct-horse", "password": "football1"})
    assert answer.status_code == 422 and answer.get_json()["details"][0]["field"] == "password"
    answer = client.post("/api/auth/password", json={"current_password": "correct-horse", "password": "ada@example.com"})
    assert answer.status_code == 422 and "email address" in answer.get_json()["error"]
    login(app.test_client())  # unchanged
