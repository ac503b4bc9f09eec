"""Every HTML page, for every kind of visitor: no 5xx, the site's layout, and words for people.

The kind of test that was missing when the first hour of trying found API wording on pages:
it walks the app's own route table, so a page added later is walked too.
"""
from __future__ import annotations

import html
import re

import pytest
from flask import Flask

from app.models.types import utcnow
from tests.helpers.web import login

SKIP_PREFIXES = ("/api", "/static", "/dev", "/admin/rq", "/healthz", "/metrics", "/auth/social")
API_WORDS = re.compile(r"\b(GET|POST|PATCH|PUT|DELETE) /api/|current_password|starts_at|\bnull\b")


def visible_text(page: str) -> str:
    page = re.sub(r"(?s)<(style|script)\b.*?</\1>", " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def html_get_routes(app: Flask) -> list[tuple[str, tuple[str, ...]]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.rule.startswith(SKIP_PREFIXES):
            routes.append((rule.rule, tuple(sorted(rule.arguments))))
    return sorted(set(routes))


def fill(rule: str, ids: dict[str, int]) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), rule)


@pytest.fixture
def visitors(app, make_user):
    make_user()
    make_user(email="new@example.com", name="New", email_verified_at=None, phone_verified_at=None)
    make_user(email="admin@example.com", name="Admin", is_admin=True)
    admin = app.test_client()
    login(admin, "admin@example.com")
    post_id = admin.post("/api/posts", json={"title": "Hello", "body": "First\n\nSecond"}).get_json()["id"]
    screening_id = admin.post("/api/screenings", json={
        "title": "Ozu night", "film": "Tokyo Story", "place": "Room 2", "capacity": 3,
        "starts_at": utcnow().replace(year=utcnow().year + 1).isoformat()}).get_json()["id"]
    announcement = admin.post("/api/announcements", json={"subject": "Hi", "body": "All of you"})
    ids = {"post_id": post_id, "screening_id": screening_id,
           "announcement_id": announcement.get_json()["id"] if announcement.status_code == 202 else 1,
           "token": 1}  # a password-reset link that is not valid
    clients = {"anonymous": app.test_client(), "admin": admin}
    for name, email in (("member", "ada@example.com"), ("unverified", "new@example.com")):
        clients[name] = app.test_client()
        login(clients[name], email)
    return clients, ids


def test_every_html_page_answers_in_the_layout_in_peoples_words(app, visitors):
    clients, ids = visitors
    routes = html_get_routes(app)
    assert len(routes) >= 10, routes
    missing = {name: 10**9 for name in ids}
    for who, client in clients.items():
        for rule, _ in routes:
            for url in {fill(rule, ids), fill(rule, missing)}:
                response = client.get(url)
                assert response.status_code < 500, (who, url, response.status_code)
                if response.status_code in (301, 302, 303, 307, 308):
                    continue
                page = response.get_data(as_text=True)
                if response.mimetype != "text/html":
                    continue
                assert "<header" in page and 'href="/posts/"' in page, (who, url, "not in the layout")
                words = API_WORDS.search(visible_text(page))
                assert words is None, (who, url, response.status_code, words and words.group(0))
