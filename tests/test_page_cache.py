"""Cached HTML pages: whole pages for anonymous readers, per language, dropped with the JSON they
come from, never a member's bytes for anyone else (``app.page_cache``)."""
from __future__ import annotations

import logging
import re
import threading

from flask import before_render_template
from jinja2 import ChoiceLoader, DictLoader
from redis import Redis

from tests.helpers.web import login


def publish(app, make_user, title="First", email="ada@example.com", name="Ada"):
    make_user(email=email, name=name)
    member = app.test_client()
    login(member, email)
    response = member.post("/api/posts", json={"title": title, "body": "text"})
    assert response.status_code == 201
    return member, response.get_json()["id"]


def html_fields(redis_server, namespace="posts"):
    return sorted(f.decode() for f in Redis(port=redis_server.port, db=1).hkeys(f"filmclub:{namespace}:entries")
                  if f.startswith(b"html:"))


def test_an_anonymous_reader_gets_the_stored_page(app, make_user, redis_server):
    publish(app, make_user)
    reader = app.test_client()
    first, second = reader.get("/posts/"), reader.get("/posts/")
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    assert first.data == second.data and b"First" in second.data and b"Sign in" in second.data
    assert second.headers["Vary"] == "Cookie, Accept-Language"
    assert "Set-Cookie" not in second.headers and "csrf_token" not in second.get_data(as_text=True)
    assert second.mimetype == "text/html"
    assert html_fields(redis_server) == [f"html:{app.config['APP_LOCALE']}::list:1:20"]  # (en in the suite)


def test_each_language_has_its_own_page(app, make_user, redis_server):
    publish(app, make_user)
    reader = app.test_client()
    reader.get("/posts/", headers={"Accept-Language": "en-US,en;q=0.9"})
    reader.get("/posts/", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"})
    reader.get("/posts/", headers={"Accept-Language": "fr"})  # neither: APP_LOCALE (ko when unset)
    chooser = app.test_client()
    chooser.set_cookie("locale", "en")
    assert chooser.get("/posts/", headers={"Accept-Language": "ko"}).headers["X-Cache"] == "HIT"  # cookie first
    assert html_fields(redis_server) == ["html:en::list:1:20", "html:ko::list:1:20"]


def test_a_change_drops_the_pages_with_the_json(app, make_user):
    member, post_id = publish(app, make_user)
    reader = app.test_client()
    for path in ("/posts/", f"/posts/{post_id}"):
        reader.get(path)
        assert reader.get(path).headers["X-Cache"] == "HIT"
    assert member.patch(f"/api/posts/{post_id}", json={"title": "Renamed"}).status_code == 200
    for path in ("/posts/", f"/posts/{post_id}"):
        page = reader.get(path)
        assert page.headers["X-Cache"] == "MISS" and b"Renamed" in page.data and b"First" not in page.data
    assert member.delete(f"/api/posts/{post_id}", json={}).status_code == 204
    assert reader.get(f"/posts/{post_id}").status_code == 404
    assert b"Renamed" not in reader.get("/posts/").data


def test_a_missing_post_is_a_404_and_stores_nothing(app, make_user, redis_server):
    publish(app, make_user)
    reader = app.test_client()
    assert reader.get("/posts/99999").status_code == 404
    assert reader.get("/posts/99999").status_code == 404
    assert html_fields(redis_server, "post:99999") == []


def test_a_page_rendered_from_rows_read_before_a_commit_is_not_stored(app, make_user):
    """The interleaving: the reader has the old post in hand, the writer commits, the reader stores."""
    member, post_id = publish(app, make_user, title="Old title")
    app.test_client().get(f"/posts/{post_id}")  # the JSON is cached: the reader renders from it
    member.get("/api/posts/%d" % post_id)
    rendering, writer_done = threading.Event(), threading.Event()
    slow = {}

    def hold(sender, template, context, **extra):
        if threading.current_thread() is slow.get("thread") and template.name == "posts/detail.html":
            rendering.set()
            writer_done.wait(60)

    def slow_reader():
        with app.test_client() as reader:
            slow["page"] = reader.get(f"/posts/{post_id}")

    # The first read stored the page: drop it (a new post is the simplest commit), so the reader misses.
    assert member.patch(f"/api/posts/{post_id}", json={"body": "text, again"}).status_code == 200
    before_render_template.connect(hold, app)
    try:
        slow["thread"] = threading.Thread(target=slow_reader)
        slow["thread"].start()
        assert rendering.wait(60)
        assert member.patch(f"/api/posts/{post_id}", json={"title": "New title"}).status_code == 200
        writer_done.set()
        slow["thread"].join(60)
    finally:
        before_render_template.disconnect(hold, app)
    assert b"Old title" in slow["page"].data  # it did render the old post
    after = app.test_client().get(f"/posts/{post_id}")
    assert after.headers["X-Cache"] == "MISS"  # the stale page was refused at its store
    assert b"New title" in after.data


def header_member(page: str) -> str | None:
    """The member the page's header names (base.html: the link to their settings), if any."""
    match = re.search(r'<a class="[^"]*member-name[^"]*" href="[^"]*">([^<]*)</a>', page)
    return match.group(1) if match else None


def test_a_member_never_gets_the_anonymous_page_or_another_members(app, make_user):
    ada, post_id = publish(app, make_user)
    make_user(email="bo@example.com", name="Bo")
    bo = app.test_client()
    login(bo, "bo@example.com")
    anonymous = app.test_client()
    for path in ("/posts/", f"/posts/{post_id}"):
        anonymous.get(path)
        assert anonymous.get(path).headers["X-Cache"] == "HIT"
        ada_page, bo_page = ada.get(path).get_data(as_text=True), bo.get(path).get_data(as_text=True)
        again = anonymous.get(path).get_data(as_text=True)
        assert header_member(ada_page) == "Ada" and "Sign in" not in ada_page
        assert header_member(bo_page) == "Bo" and "Sign in" not in bo_page
        assert header_member(again) is None and "Sign in" in again
        ada_token = re.search(r'name="csrf_token" value="([^"]+)"', ada_page).group(1)
        bo_token = re.search(r'name="csrf_token" value="([^"]+)"', bo_page).group(1)
        assert ada_token != bo_token and ada_token not in again and bo_token not in again
    detail = ada.get(f"/posts/{post_id}").get_data(as_text=True)
    assert "Delete" in detail and "Delete" not in bo.get(f"/posts/{post_id}").get_data(as_text=True)


def test_a_flash_message_is_shown_to_its_reader_only(app, make_user):
    publish(app, make_user)
    anonymous = app.test_client()
    anonymous.get("/posts/")
    flashed = app.test_client()
    with flashed.session_transaction() as session:
        session["_flashes"] = [("info", "You have been signed out.")]
    assert b"You have been signed out." in flashed.get("/posts/").data
    assert b"You have been signed out." not in flashed.get("/posts/").data  # shown once
    assert b"You have been signed out." not in anonymous.get("/posts/").data


def test_a_page_that_makes_a_csrf_token_for_anonymous_readers_is_not_stored(app, make_user, caplog, redis_server):
    """A template that gives anonymous readers a form (a language switch, say) with a CSRF token would
    put one visitor's token in every visitor's page: such a page is answered, not stored."""
    publish(app, make_user)
    app.jinja_loader = ChoiceLoader([DictLoader({"posts/list.html": (
        '{% extends "base.html" %}{% block content %}<form method="post">'
        '<input type="hidden" name="csrf_token" value="{{ csrf_token() }}"></form>{% endblock %}')}),
        app.jinja_loader])
    app.jinja_env.cache.clear() if app.jinja_env.cache else None
    one, two = app.test_client(), app.test_client()
    with caplog.at_level(logging.WARNING, logger="app.page_cache"):
        first, second = one.get("/posts/"), two.get("/posts/")
    tokens = [re.search(r'name="csrf_token" value="([^"]+)"', r.get_data(as_text=True)).group(1)
              for r in (first, second)]
    assert tokens[0] != tokens[1]
    assert second.headers["X-Cache"] == "MISS"
    assert html_fields(redis_server) == []
    assert any("not cached" in r.message for r in caplog.records)


def test_page_variant_reads_the_language_as_the_language_switch_writes_it(app):
    from app.page_cache import page_variant

    cases = [({"Cookie": "locale=en_US"}, "en"), ({"Cookie": "locale=kor", "Accept-Language": "en"}, "en"),
             ({"Accept-Language": "de, en;q=0.5"}, "en"), ({"Accept-Language": "de"}, app.config["APP_LOCALE"]), ({}, app.config["APP_LOCALE"])]
    for headers, language in cases:
        with app.test_request_context("/posts/?page=2", headers=headers):
            assert page_variant() == (language, "page=2"), headers
    app.config["APP_LOCALE"] = "en"
    with app.test_request_context("/posts/"):
        assert page_variant() == ("en", "")


def test_unknown_query_arguments_are_answered_but_never_stored(app, make_user, redis_server):
    _, post_id = publish(app, make_user)
    reader = app.test_client()
    for path in ("/posts/?utm=1", "/posts/?page=1&page=1", f"/posts/{post_id}?x=1"):
        assert [reader.get(path).headers["X-Cache"] for _ in range(2)] == ["MISS", "MISS"], path
    assert reader.get("/posts/?page=1&per_page=20").headers["X-Cache"] == "MISS"
    assert reader.get("/posts/?page=1&per_page=20").headers["X-Cache"] == "HIT"
    assert html_fields(redis_server) == [f"html:{app.config['APP_LOCALE']}:page=1&per_page=20:list:1:20"]
    assert html_fields(redis_server, f"post:{post_id}") == []


def test_an_anonymous_post_page_starts_no_session(app, make_user):
    _, post_id = publish(app, make_user)
    page = app.test_client().get(f"/posts/{post_id}")
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert "csrf_token" not in page.get_data(as_text=True) and "Delete" not in page.get_data(as_text=True)
