"""The API and the pages: JSON-only writes, security headers, the proxy's view of the world,
/metrics, /healthz, the development pages."""
from __future__ import annotations

import pytest

from tests.helpers.web import login
from tests.helpers.mail import sign_in_admin


def make_screening(client) -> int:
    from datetime import datetime, timedelta, timezone

    starts = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
    response = client.post("/api/screenings", json={"title": "Night", "film": "Film", "starts_at": starts,
                                                    "place": "Hall", "capacity": 5})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_every_unsafe_api_request_needs_a_json_content_type(client, make_user):
    sign_in_admin(client, make_user)
    screening_id = make_screening(client)
    post_id = client.post("/api/posts", json={"title": "t", "body": "b"}).get_json()["id"]
    # Writes without a body passed before: RSVP, cancel-RSVP, delete, sign-out.
    for method, path in [("POST", f"/api/screenings/{screening_id}/rsvp"),
                         ("DELETE", f"/api/screenings/{screening_id}/rsvp"),
                         ("DELETE", f"/api/posts/{post_id}"), ("DELETE", f"/api/screenings/{screening_id}"),
                         ("POST", "/api/auth/logout"), ("POST", "/api/auth/verify/resend")]:
        for body in ({}, {"data": "x=1", "content_type": "application/x-www-form-urlencoded"},
                     {"data": "{}", "content_type": "text/plain"}):
            response = client.open(path, method=method, **body)
            assert response.status_code == 415, (method, path, body, response.status_code)
            assert "application/json" in response.get_json()["error"]
    assert client.post(f"/api/screenings/{screening_id}/rsvp", json={}).status_code == 201
    assert client.delete(f"/api/screenings/{screening_id}/rsvp", json={}).status_code == 204
    assert client.delete(f"/api/posts/{post_id}", json={}).status_code == 204
    assert client.post("/api/auth/logout", json={}).status_code == 204
    assert client.get("/api/auth/me").status_code == 401


SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}


def assert_security_headers(response, path):
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (path, name, response.headers.get(name))
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy, path
    return policy


def test_security_headers_on_every_response(app, client, make_user):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    sign_in_admin(client, make_user)
    for path in ["/posts/", "/api/posts", "/healthz", "/static/site.css", "/static/layout.css", "/no-such-page",
                 "/api/no-such-route", "/auth/login", "/admin/", "/api/openapi.json"]:
        response = client.get(path)
        policy = assert_security_headers(response, path)
        assert "script-src 'self';" in policy and "style-src 'self';" in policy, (path, policy)
        assert "unsafe-inline" not in policy, path
        assert "Strict-Transport-Security" not in response.headers, path  # plain HTTP here
        response.close()  # static files are streamed from an open file
    assert_security_headers(client.post("/api/posts", data="x", content_type="text/plain"), "415")


def test_hsts_when_served_over_https(client):
    response = client.get("/posts/", base_url="https://club.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_pages_carry_no_inline_script_or_style(app, client, make_user):
    """What the CSP forbids, the templates must not need: every page renders without inline code."""
    import re

    sign_in_admin(client, make_user)
    post_id = client.post("/api/posts", json={"title": "t", "body": "b"}).get_json()["id"]
    for path in ["/posts/", f"/posts/{post_id}", f"/posts/{post_id}/edit", "/posts/new", "/screenings/",
                 "/screenings/new", "/admin/", "/admin/announcements/new", "/accounts/settings", "/no-such-page"]:
        body = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", body, re.I), path


def test_the_dashboard_allows_exactly_its_own_inline_scripts(client, make_user):
    import base64
    import hashlib
    import re

    sign_in_admin(client, make_user)
    response = client.get("/admin/rq/")
    policy = assert_security_headers(response, "/admin/rq/")
    scripts = [m.group(2) for m in re.finditer(r"<script([^>]*)>(.*?)</script>", response.get_data(as_text=True), re.S)
               if "src=" not in m.group(1) and "text/template" not in m.group(1)]
    assert scripts, "the dashboard page has its inline script"
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]


@pytest.mark.parametrize("path", [
    "/admin/rq/0/data/jobs/low/queued/abc/asc/1.json", "/admin/rq/0/data/jobs/low/queued/10/asc/xyz.json",
    "/admin/rq/0/data/jobs/low/bogus/10/asc/1.json", "/admin/rq/0/data/jobs/low/failed/0/asc/1.json",
    "/admin/rq/0/data/jobs/low/queued/99999999999999999999/asc/1.json", "/admin/rq/0/data/jobs/low/queued/10/up/1.json",
    "/admin/rq/9/view/queues", "/admin/rq/0/data/job/nope.json", "/admin/rq/0/view/job/nope",
    "/admin/rq/0/view/jobs/low/bogus/10/asc/1", "/admin/rq/0/view/jobs/low/queued/10/asc/0",
])
def test_bad_dashboard_urls_are_404_not_500(app, client, make_user, path):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    sign_in_admin(client, make_user)
    assert client.get(path).status_code == 404


def test_requeueing_a_job_that_did_not_fail_is_409_not_500(app, client, make_user, redis_url):
    from redis import Redis

    from app.safe_jobs import JSONQueue

    app.config["PROPAGATE_EXCEPTIONS"] = False
    JSONQueue("low", connection=Redis.from_url(redis_url)).enqueue("jobs.maintenance.ping", job_id="waiting")
    sign_in_admin(client, make_user)
    origin = {"Origin": "http://localhost"}
    assert client.post("/admin/rq/job/waiting/requeue", headers=origin).status_code == 409
    assert client.post("/admin/rq/job/nope/requeue", headers=origin).status_code == 404
    assert client.get("/admin/rq/0/view/jobs/%3Cb%3E/queued/10/asc/1").status_code == 200  # any queue name


def test_dashboard_json_carries_markup_as_text(client, make_user, redis_url):
    from redis import Redis

    from app.safe_jobs import JSONQueue

    markup = '<img src=x onerror="document.title=1"><b>bold</b>'
    queue = JSONQueue("low", connection=Redis.from_url(redis_url))
    job = queue.enqueue("jobs.maintenance.ping", job_id="marked", description=markup)
    queue.failed_job_registry.add(job, exc_string=f"Traceback: {markup}")
    sign_in_admin(client, make_user)
    detail = client.get("/admin/rq/0/data/job/marked.json").get_json()
    assert detail["description"] == '&lt;img src=x onerror=&quot;document.title=1&quot;&gt;&lt;b&gt;bold&lt;/b&gt;'
    listed = client.get("/admin/rq/0/data/jobs/low/failed/10/asc/1.json").get_json()["jobs"][0]
    assert listed["description"] == markup  # this template escapes it itself (jQuery .text())



# -- behind a proxy -------------------------------------------------------------------------------

def test_forwarded_headers_count_only_from_trusted_proxies(app_factory):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "club.example", "X-Forwarded-For": "203.0.113.9"}
    direct = app_factory().test_client().get("/posts/", headers=forwarded)
    assert "Strict-Transport-Security" not in direct.headers  # anyone can send those headers
    behind = app_factory(TRUSTED_PROXIES=1).test_client().get("/posts/", headers=forwarded)
    assert behind.headers["Strict-Transport-Security"].startswith("max-age=")  # the proxy said HTTPS


def test_trusted_proxies_and_external_url_are_read_from_the_environment():
    from app.config import Config, ConfigError

    base = {"APP_ENV": "testing"}
    assert Config.from_env(base).TRUSTED_PROXIES == 0
    config = Config.from_env({**base, "TRUSTED_PROXIES": "1", "EXTERNAL_URL": "https://club.example.org/"})
    assert (config.TRUSTED_PROXIES, config.EXTERNAL_URL, config.SERVER_NAME, config.PREFERRED_URL_SCHEME) == \
        (1, "https://club.example.org", "club.example.org", "https")
    for bad in ({"TRUSTED_PROXIES": "all"}, {"EXTERNAL_URL": "club.example.org"},
                {"EXTERNAL_URL": "https://club.example.org/path"}, {"EXTERNAL_URL": "ftp://x"}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            Config.from_env({**base, **bad})


def test_the_dashboard_origin_check_uses_external_url_not_the_host_header(app_factory, make_user, redis_url):
    app = app_factory(EXTERNAL_URL="https://club.example.org")
    client = app.test_client()
    sign_in_admin(client, make_user)
    session = client.get_cookie("session")
    # Host and Origin both forged (a DNS-rebinding page, a proxy passing any Host), the admin's cookie sent.
    raw = app.test_client(use_cookies=False)
    cookie = f"session={session.value}"
    forged = {"Host": "evil.example", "Origin": "http://evil.example", "Cookie": cookie}
    assert raw.post("/admin/rq/requeue/low", headers=forged).status_code == 403
    real = {"Host": "club.example.org", "Origin": "https://club.example.org", "Cookie": cookie}
    assert raw.post("/admin/rq/requeue/low", headers=real).status_code == 200


def test_social_sign_in_redirect_uri_uses_external_url(app_factory):
    app = app_factory(EXTERNAL_URL="https://club.example.org", KAKAO_CLIENT_ID="id", KAKAO_CLIENT_SECRET="secret",
                      KAKAO_AUTHORIZE_URL="https://accounts.example/authorize")
    response = app.test_client().get("/auth/social/kakao/login", headers={"Host": "evil.example"})
    assert response.status_code == 302
    from urllib.parse import parse_qs, urlsplit

    redirect_uri = parse_qs(urlsplit(response.headers["Location"]).query)["redirect_uri"][0]
    assert redirect_uri == "https://club.example.org/auth/social/kakao/callback"


# -- /metrics, /healthz, /dev ---------------------------------------------------------------------

def test_metrics_token_is_required_when_set(app_factory):
    client = app_factory(METRICS_TOKEN="s3cret-token").test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Basic s3cret-token"}).status_code == 404
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200 and "filmclub_cache_requests_total" in ok.get_data(as_text=True)


def test_production_without_a_token_has_no_metrics_and_says_so(app_factory, caplog):
    import logging

    caplog.set_level(logging.WARNING)
    app = app_factory(APP_ENV="production")
    # The warning is given by create_app; the config mapping here sets APP_ENV after the environment.
    from app.security.private_pages import init_private_pages

    init_private_pages(app)
    assert app.test_client().get("/metrics").status_code == 404
    assert any("METRICS_TOKEN is not set" in r.getMessage() for r in caplog.records)


def test_healthz_names_no_exception_text(app_factory):
    app = app_factory(CACHE_REDIS_URL="redis://no-such-host.invalid:6390/1")
    body = app.test_client().get("/healthz").get_data(as_text=True)
    assert '"cache_redis":"down"' in body.replace(" ", "") and "no-such-host" not in body and "Error" not in body


def test_dev_pages_only_in_development_and_only_from_loopback(app_factory, tmp_path):
    testing = app_factory(DEV_MAIL_DIR=str(tmp_path), DEV_SMS_DIR=str(tmp_path)).test_client()
    assert testing.get("/dev/mail").status_code == 404 and testing.get("/dev/sms").status_code == 404
    development = app_factory(DEV_MAIL_DIR=str(tmp_path), DEV_SMS_DIR=str(tmp_path), APP_ENV="development")
    client = development.test_client()
    assert client.get("/dev/mail").status_code == 200 and client.get("/dev/sms").status_code == 200
    assert client.get("/dev/mail", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    for outside in ("192.168.0.7", "10.1.2.3", "203.0.113.9"):
        assert client.get("/dev/mail", environ_base={"REMOTE_ADDR": outside}).status_code == 404
        assert client.get("/dev/sms", environ_base={"REMOTE_ADDR": outside}).status_code == 404
