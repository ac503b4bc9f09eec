"""Per-process copies on a Redis that refuses ``CLIENT TRACKING``: invalidated by messages on a
channel (``app.cache.channel``), as fast and as safe as with tracking.

Two app instances stand for two web processes (as in test_cache_local_copies.py). The cache Redis
refuses tracking with an ACL rule, as a managed service or a Redis-compatible server would.
"""
from __future__ import annotations

import logging
import threading

import pytest
from redis import Redis

from app.cache.channel import ChannelGenerations
from app.posts.cache import post_cache
from deploy.local.redis_server import RedisServer
from tests.helpers.web import login


@pytest.fixture
def no_tracking_redis(tmp_path):
    with RedisServer(tmp_path / "redis", appendonly=False) as server:
        Redis(port=server.port).execute_command("ACL", "SETUSER", "default", "-client|tracking")
        yield server


@pytest.fixture
def cache_url(no_tracking_redis):
    return f"redis://127.0.0.1:{no_tracking_redis.port}/1"


@pytest.fixture
def two_processes(app_factory, make_user, cache_url):
    first, second = app_factory(CACHE_REDIS_URL=cache_url), app_factory(CACHE_REDIS_URL=cache_url)
    make_user()
    writer = second.test_client()
    login(writer)
    response = writer.post("/api/posts", json={"title": "Before", "body": "text"})
    assert response.status_code == 201
    return first, first.test_client(), writer, response.get_json()["id"]


def read_twice(client, path="/api/posts"):
    client.get(path)
    response = client.get(path)
    assert response.headers["X-Cache"] == "HIT"
    return response


def lookups(server) -> int:
    stats = Redis(port=server.port).info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("get", "hget", "pttl", "evalsha"))


def test_refused_tracking_switches_to_the_channel_and_a_hit_asks_redis_nothing(two_processes, no_tracking_redis,
                                                                               caplog):
    app, reader, _, _ = two_processes
    with caplog.at_level(logging.WARNING, logger="app.cache.versioned"):
        read_twice(reader)
    assert isinstance(post_cache(app).tracker, ChannelGenerations)
    assert any("invalidated by messages on filmclub:invalidations" in r.message for r in caplog.records)
    before = lookups(no_tracking_redis)
    for _ in range(5):
        assert reader.get("/api/posts").headers["X-Cache"] == "HIT"
    assert lookups(no_tracking_redis) == before


def test_a_change_by_another_process_is_seen_at_its_next_request_every_time(two_processes):
    """The race at its edge: each write returns, and at once the other process reads."""
    _, reader, writer, post_id = two_processes
    read_twice(reader), read_twice(reader, f"/api/posts/{post_id}")
    for n in range(30):
        assert writer.patch(f"/api/posts/{post_id}", json={"title": f"Title {n}"}).status_code == 200
        assert reader.get("/api/posts").get_json()["items"][0]["title"] == f"Title {n}"
        assert reader.get(f"/api/posts/{post_id}").get_json()["title"] == f"Title {n}"
        assert reader.get("/api/posts").headers["X-Cache"] == "HIT"  # and it is cached again


def test_readers_racing_a_writer_never_see_an_old_title_after_the_write_returned(two_processes):
    app, _, writer, post_id = two_processes
    stop, returned, stale = threading.Event(), {"n": -1}, []

    def read() -> None:
        client = app.test_client()
        while not stop.is_set():
            done = returned["n"]  # the last write that had returned before this read began
            response = client.get(f"/api/posts/{post_id}")
            title = response.get_json()["title"]
            number = int(title.split()[-1]) if title.startswith("Title") else -1
            if number < done:
                stale.append((done, title, response.headers["X-Cache"]))

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    try:
        for n in range(40):
            assert writer.patch(f"/api/posts/{post_id}", json={"title": f"Title {n}"}).status_code == 200
            returned["n"] = n
    finally:
        stop.set()
        for thread in readers:
            thread.join(30)
    assert stale == []


def test_a_writer_that_never_read_still_reaches_the_readers(two_processes, app_factory, cache_url):
    """A worker or ``flask seed-demo`` writes without reading: its invalidation is announced anyway."""
    _, reader, _, post_id = two_processes
    read_twice(reader)
    quiet_writer = app_factory(CACHE_REDIS_URL=cache_url).test_client()
    login(quiet_writer)
    assert quiet_writer.patch(f"/api/posts/{post_id}", json={"title": "After"}).status_code == 200
    assert reader.get("/api/posts").get_json()["items"][0]["title"] == "After"


def test_a_lost_subscription_is_noticed_before_a_copy_is_served(two_processes, no_tracking_redis):
    _, reader, writer, post_id = two_processes
    read_twice(reader)
    Redis(port=no_tracking_redis.port).client_kill_filter(_type="pubsub")  # every process loses its messages
    assert writer.patch(f"/api/posts/{post_id}", json={"title": "After"}).status_code == 200
    assert reader.get("/api/posts").get_json()["items"][0]["title"] == "After"
    assert read_twice(reader).get_json()["items"][0]["title"] == "After"  # and it listens again


def test_flushing_the_cache_drops_every_copy_within_a_second(two_processes, cache_url):
    app, reader, _, _ = two_processes
    read_twice(reader)
    post_cache(app).tracker.verify_interval = 0  # check the marker at every hit: no waiting in the test
    Redis.from_url(cache_url).flushdb()
    assert reader.get("/api/posts").headers["X-Cache"] == "MISS"


def test_the_channel_can_be_chosen_where_tracking_works(app_factory, make_user, redis_server):
    app = app_factory(CACHE_INVALIDATION="channel")
    make_user()
    client = app.test_client()
    login(client)
    post_id = client.post("/api/posts", json={"title": "Before", "body": "text"}).get_json()["id"]
    read_twice(client)
    assert isinstance(post_cache(app).tracker, ChannelGenerations)
    tracked = [c for c in Redis(port=redis_server.port).client_list() if "t" in c.get("flags", "")]
    assert tracked == []
    client.patch(f"/api/posts/{post_id}", json={"title": "After"})
    assert client.get("/api/posts").get_json()["items"][0]["title"] == "After"


def test_tracking_only_asks_redis_at_every_hit_when_refused(app_factory, make_user, cache_url, no_tracking_redis):
    app = app_factory(CACHE_REDIS_URL=cache_url, CACHE_INVALIDATION="tracking")
    make_user()
    client = app.test_client()
    login(client)
    client.post("/api/posts", json={"title": "Before", "body": "text"})
    read_twice(client)
    assert post_cache(app).tracker is None
    before = lookups(no_tracking_redis)
    assert client.get("/api/posts").headers["X-Cache"] == "HIT"
    assert lookups(no_tracking_redis) == before + 1


def test_a_bad_setting_is_refused_at_start():
    from app.config import Config
    from app.exceptions import ConfigError

    with pytest.raises(ConfigError, match="CACHE_INVALIDATION must be .auto., .tracking. or .channel."):
        Config.from_env({"APP_ENV": "testing", "CACHE_INVALIDATION": "pubsub2"})
    assert Config.from_env({"APP_ENV": "testing"}).CACHE_INVALIDATION == "auto"
