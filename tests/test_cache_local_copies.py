"""Per-process copies of cache entries: served without a Redis round trip, never stale.

Two app instances stand for two web processes: each has its own copies and
its own tracked connections, as gunicorn's workers do.
"""
from __future__ import annotations

import time

import pytest
from redis import Redis
from sqlalchemy import text

from app.extensions import db
from deploy.local.redis_server import RedisServer
from tests.helpers.web import login


@pytest.fixture
def two_processes(app_factory, make_user):
    first, second = app_factory(), app_factory()
    make_user()
    writer = second.test_client()
    login(writer)
    response = writer.post("/api/posts", json={"title": "Before", "body": "text"})
    assert response.status_code == 201
    return first.test_client(), writer, response.get_json()["id"]


def read_twice(client, path="/api/posts"):
    client.get(path)
    response = client.get(path)
    assert response.headers["X-Cache"] == "HIT"
    return response


def lookups(redis_server) -> int:
    stats = Redis(port=redis_server.port).info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("get", "hget", "pttl", "evalsha"))


def test_a_repeated_hit_asks_redis_nothing(two_processes, redis_server):
    reader, _, _ = two_processes
    read_twice(reader)
    before = lookups(redis_server)
    for _ in range(5):
        assert reader.get("/api/posts").headers["X-Cache"] == "HIT"
    assert lookups(redis_server) == before


def test_a_change_by_another_process_is_seen_at_the_next_request(two_processes):
    reader, writer, post_id = two_processes
    read_twice(reader), read_twice(reader, f"/api/posts/{post_id}")
    assert writer.patch(f"/api/posts/{post_id}", json={"title": "After"}).status_code == 200
    listing = reader.get("/api/posts")
    assert listing.headers["X-Cache"] == "MISS"
    assert listing.get_json()["items"][0]["title"] == "After"
    assert reader.get(f"/api/posts/{post_id}").get_json()["title"] == "After"


def test_flushing_the_cache_drops_every_copy(two_processes, redis_url):
    reader, _, _ = two_processes
    read_twice(reader)
    Redis.from_url(redis_url.rsplit("/", 1)[0] + "/1").flushdb()
    assert reader.get("/api/posts").headers["X-Cache"] == "MISS"


def test_a_lost_subscription_is_noticed_before_a_copy_is_served(two_processes, redis_server):
    reader, writer, post_id = two_processes
    read_twice(reader)
    Redis(port=redis_server.port).client_kill_filter(_type="pubsub")  # every process loses its pushes
    assert writer.patch(f"/api/posts/{post_id}", json={"title": "After"}).status_code == 200
    listing = reader.get("/api/posts")
    assert listing.status_code == 200
    assert listing.get_json()["items"][0]["title"] == "After"
    assert read_twice(reader).get_json()["items"][0]["title"] == "After"  # and it tracks again


def test_a_copy_lives_no_longer_than_its_redis_entry(app_factory, make_user):
    """A change that skipped invalidation (here: raw SQL) is bounded by CACHE_TTL in copies too."""
    app = app_factory(CACHE_TTL=1)
    make_user()
    client = app.test_client()
    login(client)
    client.post("/api/posts", json={"title": "Before", "body": "text"})
    read_twice(client)
    with app.app_context():
        db.session.execute(text("UPDATE posts SET title = 'After'"))
        db.session.commit()
    assert client.get("/api/posts").get_json()["items"][0]["title"] == "Before"  # the backstop's price
    time.sleep(1.2)
    assert client.get("/api/posts").get_json()["items"][0]["title"] == "After"


def test_without_local_copies_hits_come_from_redis(app_factory, make_user, redis_server):
    app = app_factory(CACHE_LOCAL_MAX_BYTES=0)
    make_user()
    client = app.test_client()
    login(client)
    post_id = client.post("/api/posts", json={"title": "Before", "body": "text"}).get_json()["id"]
    read_twice(client)
    before = lookups(redis_server)
    assert client.get("/api/posts").headers["X-Cache"] == "HIT"
    assert lookups(redis_server) == before + 1
    client.patch(f"/api/posts/{post_id}", json={"title": "After"})
    assert client.get("/api/posts").get_json()["items"][0]["title"] == "After"



def test_a_redis_without_client_tracking_still_serves_hits(app_factory, make_user, tmp_path, caplog):
    """CLIENT renamed away stands for Redis 5, or a managed Redis that turns the command off: copies are
    then invalidated by messages on a channel (tests/test_cache_channel.py)."""
    with RedisServer(tmp_path / "redis", appendonly=False, extra_args=["--rename-command", "CLIENT", ""]) as server:
        app = app_factory(CACHE_REDIS_URL=server.url.replace("/0", "/1"))
        make_user()
        client = app.test_client()
        login(client)
        post_id = client.post("/api/posts", json={"title": "Before", "body": "text"}).get_json()["id"]
        assert client.get("/api/posts").headers["X-Cache"] == "MISS"
        assert client.get("/api/posts").headers["X-Cache"] == "HIT"
        assert any("invalidated by messages on" in r.message for r in caplog.records)
        client.patch(f"/api/posts/{post_id}", json={"title": "After"})
        assert client.get("/api/posts").get_json()["items"][0]["title"] == "After"
