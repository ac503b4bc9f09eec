"""Errors speak to people (issue 10, defect 9): HTML error pages use the site's layout, say what
happened in plain words and offer a way back; /api/* keeps its JSON errors; form errors name
what is wrong with the value given; refusals never look like success."""
from __future__ import annotations

import re

import pytest

from tests.helpers.web import csrf_token, login

LAYOUT = '<header'                       # the site's header with its navigation
HOME_LINK = 'href="/posts/"'               # "Go to the film club's posts"
DEVELOPER_WORDS = ["The requested URL was not found on the server", "The CSRF token", "Traceback",
                   "The method is not allowed", "POST /api/", "/api/auth", "current_password", "starts_at",
                   "werkzeug", "Bad Request</title>"]


def assert_person_page(response, status: int, *words: str) -> str:
    page = response.get_data(as_text=True)
    shown = re.sub(r"\s+", " ", re.sub(r"(?s)<style>.*</style>", "", page))[:1500]
    assert response.status_code == status, shown
    assert response.mimetype == "text/html"
    assert LAYOUT in page and "Library film club</title>" in page, "not in the site's layout"
    assert HOME_LINK in page, "no way back"
    for word in words:
        assert word in page, (word, shown)
    for word in DEVELOPER_WORDS:
        assert word not in page, (word, shown)
    return page


def test_404_page(client):
    page = assert_person_page(client.get("/posts/424242"), 404, "Page not found", "the link may be mistyped")
    assert "Error 404" in page
    assert_person_page(client.get("/no/such/page"), 404, "Page not found")


def test_405_page_keeps_the_allow_header(client):
    response = client.get("/auth/logout")
    assert_person_page(response, 405, "This page cannot be used this way", "use the button")
    assert "POST" in response.headers["Allow"]


def test_400_page_for_a_form_without_its_token(client, make_user):
    make_user()
    login(client)
    response = client.post("/posts/new", data={"title": "t", "body": "b"})
    assert_person_page(response, 400, "This form has expired", "reload the page")


def test_403_pages_say_why_and_offer_the_way_forward(app, client, make_user):
    make_user()
    make_user(email="new@example.com", name="New", email_verified_at=None, phone_verified_at=None)
    login(client)
    assert_person_page(client.get("/screenings/new"), 403, "Only the club&#39;s admins can create screenings.")
    client.post("/api/auth/logout", json={})
    login(client, "new@example.com")
    page = assert_person_page(client.get("/posts/new"), 403, "Verify your account first", "Enter your code")
    assert 'href="/auth/verify"' in page


def test_403_for_another_members_post(client, make_user):
    make_user()
    make_user(email="bob@example.com", name="Bob")
    login(client)
    post_id = client.post("/api/posts", json={"title": "Ada's", "body": "mine"}).get_json()["id"]
    client.post("/api/auth/logout", json={})
    login(client, "bob@example.com")
    assert_person_page(client.get(f"/posts/{post_id}/edit"), 403, "Only the post&#39;s author can edit or delete it.")


def test_413_page_for_a_post_too_large_to_read(client, make_user):
    make_user()
    login(client)
    token = csrf_token(client.get("/posts/new").get_data(as_text=True))
    response = client.post("/posts/new", data={"title": "long", "body": "x" * 1_100_000, "csrf_token": token})
    assert_person_page(response, 413, "What you sent is too large", "shorten it")


def test_429_page_says_how_long_to_wait(app_factory):
    app = app_factory(RATELIMIT_LOGIN="1 per minute")
    client = app.test_client()
    token = csrf_token(client.get("/auth/login").get_data(as_text=True))
    for _ in range(2):
        response = client.post("/auth/login", data={"email": "x@example.com", "password": "nope",
                                                    "csrf_token": token})
    page = assert_person_page(response, 429, "Too many attempts", "try again in")
    assert re.search(r"try again in \d+ seconds", page)
    assert response.headers["Retry-After"].isdigit()


@pytest.fixture
def crashing_app(app_factory):
    """An app whose /boom and /api/boom raise, with exceptions handled as in production."""
    app = app_factory(PROPAGATE_EXCEPTIONS=False)

    def boom():
        raise RuntimeError("secret detail of the crash")

    app.add_url_rule("/boom", "boom", boom)
    app.add_url_rule("/api/boom", "api_boom", boom)
    return app


def test_500_page_hides_the_crash(crashing_app):
    page = assert_person_page(crashing_app.test_client().get("/boom"), 500, "Something went wrong on our side")
    assert "secret detail" not in page


def test_api_errors_stay_json(crashing_app, client):
    api = crashing_app.test_client()
    crash = api.get("/api/boom")
    assert crash.status_code == 500 and crash.get_json() == {"error": "internal error: it has been logged",
                                                             "status": 500}
    missing = api.get("/api/no-such-thing")
    assert missing.status_code == 404 and missing.get_json()["status"] == 404
    wrong_method = api.put("/api/posts", json={})
    assert wrong_method.status_code == 405 and wrong_method.get_json()["status"] == 405
    assert "GET" in wrong_method.headers["Allow"]
    assert api.get("/api/posts/424242").get_json()["status"] == 404


def test_back_link_only_to_this_site(client):
    local = client.get("/posts/424242", headers={"Referer": "http://localhost/screenings/"}).get_data(as_text=True)
    assert 'href="http://localhost/screenings/">Go back to the page you came from' in local
    foreign = client.get("/posts/424242", headers={"Referer": "https://evil.example/"}).get_data(as_text=True)
    assert "evil.example" not in foreign


def test_413_page_and_json_for_any_body_over_the_limit(app_factory, make_user):
    app = app_factory(MAX_CONTENT_LENGTH=10_000)
    client = app.test_client()
    make_user()
    login(client)
    assert_person_page(client.post("/auth/login", data={"email": "x" * 20_000}), 413, "What you sent is too large")
    api = client.post("/api/posts", json={"title": "t", "body": "x" * 20_000})
    assert api.status_code == 413 and api.get_json()["status"] == 413


def test_a_crash_inside_an_api_view_is_json_without_details(app_factory, make_user, monkeypatch):
    app = app_factory(PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    make_user()
    login(client)

    def crash(*args, **kwargs):
        raise RuntimeError("secret detail of the crash")

    monkeypatch.setattr("app.posts.service.create_post", crash)
    answer = client.post("/api/posts", json={"title": "t", "body": "b"})
    assert answer.status_code == 500
    assert answer.get_json() == {"error": "internal error: it has been logged", "status": 500}
