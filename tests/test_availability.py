"""Availability: big ids, big bodies, the cache's keys and locks, rate limits whose storage fails."""
from __future__ import annotations

import io
import logging
import socket

import pytest
from redis import Redis

from app.posts.cache import post_cache
from tests.helpers.web import login
from tests.helpers.mail import sign_in_admin

BEYOND_64_BITS = 2**63  # one more than the largest id a database column holds


def test_ids_beyond_64_bits_are_404_not_500(app, client, make_user):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash must show as the 500 a person would get
    sign_in_admin(client, make_user)
    big = BEYOND_64_BITS
    for method, path in [("GET", f"/posts/{big}"), ("GET", f"/posts/{big}/edit"), ("GET", f"/api/posts/{big}"),
                         ("PATCH", f"/api/posts/{big}"), ("DELETE", f"/api/posts/{big}"),
                         ("GET", f"/screenings/{big}"), ("GET", f"/api/screenings/{big}"),
                         ("POST", f"/api/screenings/{big}/rsvp"), ("GET", f"/admin/announcements/{big}"),
                         ("GET", f"/api/announcements/{big}"), ("GET", f"/api/posts/{2**64 + 5}")]:
        response = client.open(path, method=method, json={} if method != "GET" else None)
        assert response.status_code == 404, (method, path, response.status_code)
    largest = 2**63 - 1  # still a number the routes take (and find nothing)
    assert client.get(f"/api/posts/{largest}").status_code == 404


def chunked(client, path: str, body: bytes, content_type: str):
    """A body sent without Content-Length (Transfer-Encoding: chunked), as gunicorn passes it on."""
    return client.post(path, input_stream=io.BytesIO(body), content_type=content_type,
                       headers={"Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True})


def test_a_chunked_body_over_the_limit_is_413_page_and_json(app_factory):
    app = app_factory(MAX_CONTENT_LENGTH=10_000)
    client = app.test_client()
    api = chunked(client, "/api/auth/login", b'{"email": "' + b"x" * 20_000 + b'"}', "application/json")
    assert api.status_code == 413 and api.get_json()["status"] == 413  # was 400 "malformed JSON" (cut at the limit)
    page = chunked(client, "/auth/login", b"email=" + b"x" * 20_000, "application/x-www-form-urlencoded")
    assert page.status_code == 413 and b"What you sent is too large" in page.data


def test_a_chunked_body_under_the_limit_still_reaches_the_view(app_factory, make_user):
    app = app_factory(MAX_CONTENT_LENGTH=10_000)
    make_user()
    response = chunked(app.test_client(), "/api/auth/login",
                       b'{"email": "ada@example.com", "password": "correct-horse"}', "application/json")
    assert response.status_code == 200, response.get_json()


def cache_keys(app, redis_url: str, pattern: str) -> dict[str, int]:
    """The cache Redis's keys matching ``pattern``, with their TTL in seconds (-1: none)."""
    cache = Redis.from_url(app.config["CACHE_REDIS_URL"])
    return {key.decode(): cache.ttl(key) for key in cache.scan_iter(match=pattern)}


def test_asking_for_posts_that_do_not_exist_leaves_no_lasting_key(app, client, redis_url):
    for post_id in range(900_000, 900_050):
        assert client.get(f"/api/posts/{post_id}").status_code == 404
    assert client.get("/posts/900001").status_code == 404
    lock_seconds = app.config["CACHE_LOCK_TIMEOUT"]
    keys = cache_keys(app, redis_url, "*post:900*")
    # Before: a day-long generation key (and a cached "null") per id asked for.
    assert all(-2 < ttl <= lock_seconds for ttl in keys.values()), keys


def test_an_existing_post_is_still_cached(app, client, make_user, redis_url):
    make_user()
    login(client)
    post_id = client.post("/api/posts", json={"title": "Kept", "body": "text"}).get_json()["id"]
    assert client.get(f"/api/posts/{post_id}").headers["X-Cache"] == "MISS"
    assert client.get(f"/api/posts/{post_id}").headers["X-Cache"] == "HIT"
    generation = cache_keys(app, redis_url, f"*post:{post_id}:gen")
    assert list(generation.values())[0] > 3600  # a stored entry's generation outlives it


def test_a_compute_that_fails_releases_its_lock(app, redis_url):
    def broken() -> bytes:
        raise RuntimeError("the database went away")

    with app.app_context():
        cache = post_cache()
        with pytest.raises(RuntimeError):
            cache.get_or_compute("ns-under-test", "entry", broken)
        assert cache_keys(app, redis_url, "*ns-under-test:lock:*") == {}  # before: held for CACHE_LOCK_TIMEOUT
        result = cache.get_or_compute("ns-under-test", "entry", lambda: b'"fresh"')
    assert result.value == b'"fresh"' and not result.hit


def dead_redis_url() -> str:
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{s.getsockname()[1]}/0"


def test_sign_in_limits_hold_when_their_storage_is_down(app_factory, make_user, caplog):
    app = app_factory(RATELIMIT_STORAGE_URI=dead_redis_url(), RATELIMIT_LOGIN="3 per minute")
    client = app.test_client()
    caplog.set_level(logging.WARNING)
    answers = [client.post("/api/auth/login", json={"email": "ada@example.com", "password": f"guess-{n}"}).status_code
               for n in range(6)]
    assert answers[:3] == [401, 401, 401] and answers[3:] == [429, 429, 429], answers  # before: 401 forever
    unavailable = [r for r in caplog.records if "rate limit storage unavailable" in r.getMessage()]
    assert len(unavailable) == 1, [r.getMessage() for r in unavailable]


def test_rate_limit_counters_are_not_on_the_cache(app_factory, redis_url):
    app = app_factory(RATELIMIT_STORAGE_URI=redis_url, RATELIMIT_LOGIN="3 per minute")
    app.test_client().post("/api/auth/login", json={"email": "ada@example.com", "password": "guess"})
    assert cache_keys(app, redis_url, "*filmclub-limits*") == {}
    assert any(b"filmclub-limits" in key for key in Redis.from_url(redis_url).keys())


def test_the_id_pattern_takes_exactly_the_numbers_up_to_the_bound():
    import random
    import re

    from app.security.ids import MAX_ID, at_most

    for bound in (0, 7, 10, 99, 305, 1000, MAX_ID):
        pattern = re.compile(at_most(bound) + r"\Z")
        numbers = [*range(0, 1100), bound, bound + 1, *(random.randrange(0, 2 * bound + 2) for _ in range(2000))]
        assert all(bool(pattern.match(str(n))) == (n <= bound) for n in numbers), bound
