"""The post cache: hits and misses, invalidation after commit, the race, the stampede, a dead cache."""
from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models.post import Post
from app.posts.cache import LISTS_NAMESPACE, post_cache
from app.posts.queries import list_page_bytes
from tests.helpers.web import login


@pytest.fixture
def author(client, make_user):
    make_user()
    login(client)


def new_post(client, title="First"):
    response = client.post("/api/posts", json={"title": title, "body": "text"})
    assert response.status_code == 201
    return response.get_json()["id"]


def test_second_read_is_a_hit_with_same_bytes(client, author):
    new_post(client)
    first = client.get("/api/posts?per_page=5")
    second = client.get("/api/posts?per_page=5")
    assert first.headers["X-Cache"] == "MISS"
    assert second.headers["X-Cache"] == "HIT"
    assert first.data == second.data
    assert client.get("/api/posts?per_page=6").headers["X-Cache"] == "MISS"


def test_cached_values_are_json_in_the_cache_redis(app, client, author, redis_server):
    from redis import Redis

    new_post(client)
    client.get("/api/posts")
    raw = Redis(port=redis_server.port, db=1).hget("filmclub:posts:entries", "list:1:20")
    assert json.loads(raw)["total"] == 1
    assert Redis(port=redis_server.port, db=0).keys("filmclub:*") == []  # never in the queue db


@pytest.mark.parametrize("change", ["create", "update", "delete"])
def test_any_change_invalidates_list_and_detail(client, author, change):
    post_id = new_post(client)
    client.get("/api/posts"), client.get(f"/api/posts/{post_id}")
    assert client.get("/api/posts").headers["X-Cache"] == "HIT"
    assert client.get(f"/api/posts/{post_id}").headers["X-Cache"] == "HIT"
    if change == "create":
        new_post(client, "Second")
    elif change == "update":
        client.patch(f"/api/posts/{post_id}", json={"title": "Renamed"})
    else:
        client.delete(f"/api/posts/{post_id}")
    listing = client.get("/api/posts")
    assert listing.headers["X-Cache"] == "MISS"
    titles = [p["title"] for p in listing.get_json()["items"]]
    expected = {"create": ["Second", "First"], "update": ["Renamed"], "delete": []}[change]
    assert titles == expected
    detail = client.get(f"/api/posts/{post_id}")
    assert detail.status_code == (404 if change == "delete" else 200)
    if change == "update":
        assert detail.get_json()["title"] == "Renamed"


def test_invalidation_waits_for_commit_and_skips_rollback(app, client, author):
    post_id = new_post(client)
    client.get("/api/posts")
    with app.app_context():
        post = db.session.get(Post, post_id)
        post.title = "Not committed"
        db.session.flush()
        assert client.get("/api/posts").headers["X-Cache"] == "HIT"  # flushed, not committed
        db.session.rollback()
    assert client.get("/api/posts").headers["X-Cache"] == "HIT"
    assert client.get("/api/posts").get_json()["items"][0]["title"] == "First"


def test_reader_with_old_rows_cannot_store_them_after_the_commit(app, client, author):
    """The interleaving: read rows, writer commits and invalidates, reader stores."""
    post_id = new_post(client, "Old title")
    rows_read, writer_done = threading.Event(), threading.Event()
    outcome = {}

    def slow_reader():
        with app.app_context():
            def compute():
                value = list_page_bytes(1, 20)  # the old rows
                rows_read.set()
                writer_done.wait(60)
                return value

            outcome["result"] = post_cache().get_or_compute(LISTS_NAMESPACE, "list:1:20", compute)

    reader = threading.Thread(target=slow_reader)
    reader.start()
    assert rows_read.wait(60)
    assert client.patch(f"/api/posts/{post_id}", json={"title": "New title"}).status_code == 200
    writer_done.set()
    reader.join(60)
    assert json.loads(outcome["result"].value)["items"][0]["title"] == "Old title"  # it did read old rows
    after = client.get("/api/posts")
    assert after.get_json()["items"][0]["title"] == "New title"
    assert after.headers["X-Cache"] == "MISS"  # the stale store was refused


def count_post_queries(app):
    counter = {"n": 0}

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "posts" in statement:
            counter["n"] += 1
            time.sleep(0.05)  # a slow database makes every request arrive during the recompute

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    return counter, lambda: event.remove(engine, "before_cursor_execute", before)


def test_stampede_many_concurrent_misses_query_once(app, client, author):
    new_post(client)
    counter, stop = count_post_queries(app)
    try:
        client.get("/api/posts?per_page=7")
        queries_for_one_page = counter["n"]
        assert queries_for_one_page >= 1
        new_post(client, "invalidate")  # empties the cache again
        counter["n"] = 0

        barrier = threading.Barrier(12)
        statuses, caches = [], []

        def hit():
            local = app.test_client()
            barrier.wait()
            response = local.get("/api/posts?per_page=7")
            statuses.append(response.status_code)
            caches.append(response.headers["X-Cache"])

        threads = [threading.Thread(target=hit) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        stop()
    assert statuses == [200] * 12
    assert counter["n"] == queries_for_one_page, "more than one request recomputed the page"
    assert caches.count("MISS") == 1 and caches.count("HIT") == 11


def test_cache_down_degrades_to_database(app_factory, caplog):
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/1"
    app = app_factory(CACHE_REDIS_URL=dead)
    client = app.test_client()
    for _ in range(3):
        response = client.get("/api/posts")
        assert response.status_code == 200
        assert response.headers["X-Cache"] == "MISS"
    assert any("cache Redis unavailable" in r.message for r in caplog.records)
    assert client.get("/posts/").status_code == 200


def test_slow_cache_degrades_within_the_timeout(app_factory):
    listener = socket.socket()  # accepts connections, never answers
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        app = app_factory(CACHE_REDIS_URL=f"redis://127.0.0.1:{listener.getsockname()[1]}/1",
                          CACHE_REDIS_TIMEOUT=3)
        client = app.test_client()
        assert client.get("/api/posts").status_code == 200  # waits out the timeout once
        started = time.monotonic()
        assert client.get("/api/posts").status_code == 200
        assert time.monotonic() - started < 3, "circuit open: the second request must not wait the timeout"
    finally:
        listener.close()


def test_hits_and_misses_are_counted_in_metrics(client, author):
    new_post(client)
    client.get("/api/posts"), client.get("/api/posts"), client.get("/api/posts")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'filmclub_cache_requests_total{outcome="hit"} 2.0' in text
    assert 'filmclub_cache_requests_total{outcome="miss"} 1.0' in text
