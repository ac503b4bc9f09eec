"""An anonymous read pays for no session and no rate limiter, and nothing is given up for it.

``app.light_requests`` and ``app.members.limits`` took the session, Flask-Login's cookie upkeep and
flask-limiter's hooks off requests that need none of them. These hold the other half: limits still
limit, CSRF is still checked, sessions still sign in and out, and a page that depends on the session
still says so (``Vary: Cookie``).
"""
from __future__ import annotations

from redis import Redis

from deploy.local.redis_server import RedisServer
from tests.helpers.web import csrf_token, login


def commands_run(redis_server) -> int:
    return int(Redis(port=redis_server.port).info("stats")["total_commands_processed"])


def test_an_anonymous_read_sets_no_cookie_and_does_not_vary_on_one(client):
    for path in ("/api/posts", "/healthz"):
        response = client.get(path)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
        assert "Cookie" not in response.headers.get("Vary", "")


def test_a_page_that_reads_the_session_still_varies_on_the_cookie(client):
    response = client.get("/posts/")  # the header says "Sign in" or the member's name
    assert response.status_code == 200
    assert "Cookie" in response.headers["Vary"]


def test_an_anonymous_read_does_not_touch_the_limit_storage(app_factory, make_user, tmp_path):
    with RedisServer(tmp_path / "limits", appendonly=False) as limits:
        app = app_factory(RATELIMIT_STORAGE_URI=limits.url, RATELIMIT_LOGIN="5 per minute")
        make_user()
        client = app.test_client()
        before = commands_run(limits)
        for path in ("/api/posts", "/posts/", "/healthz", "/auth/login"):
            assert client.get(path).status_code == 200
        assert commands_run(limits) - before == 1  # the INFO that counts
        assert client.post("/api/auth/login", json={"email": "ada@example.com", "password": "guess"}
                           ).status_code == 401
        assert commands_run(limits) - before > 2  # a sign-in is counted there


def test_sign_in_is_still_limited(app_factory, make_user):
    app = app_factory(RATELIMIT_LOGIN="2 per minute")
    make_user()
    client = app.test_client()
    answers = [client.post("/api/auth/login", json={"email": "ada@example.com", "password": "guess"}).status_code
               for _ in range(3)]
    assert answers == [401, 401, 429]
    assert client.post("/api/auth/login", json={"email": "ada@example.com", "password": "guess"}
                       ).headers["Retry-After"].isdigit()


def test_limits_count_on_the_queue_redis_under_their_prefix(app_factory, make_user, redis_server, redis_url):
    app = app_factory(RATELIMIT_STORAGE_URI=redis_url, RATELIMIT_LOGIN="5 per minute",
                      RATELIMIT_KEY_PREFIX="light-test")
    make_user()
    app.test_client().post("/api/auth/login", json={"email": "ada@example.com", "password": "guess"})
    keys = Redis(port=redis_server.port, db=0).keys("LIMITS:LIMITER/light-test/*")
    assert keys, "the failed sign-in was not counted where the limits keep their counters"


def test_a_form_without_its_csrf_token_is_still_refused(app, client, make_user):
    make_user()
    refused = client.post("/auth/login", data={"email": "ada@example.com", "password": "correct-horse"})
    assert refused.status_code == 400
    token = csrf_token(client.get("/auth/login").get_data(as_text=True))
    accepted = client.post("/auth/login", data={"email": "ada@example.com", "password": "correct-horse",
                                                "csrf_token": token})
    assert accepted.status_code == 302


def test_sessions_still_sign_in_and_out(app, client, make_user):
    make_user()
    login(client)
    assert client.get("/api/auth/me").get_json()["user"]["name"] == "Ada"
    page = client.get("/posts/")
    assert "Ada" in page.get_data(as_text=True) and "Cookie" in page.headers["Vary"]
    assert client.post("/api/auth/logout", json={}).status_code == 204
    assert client.get("/api/auth/me").status_code == 401
