"""The API and the pages: JSON-only writes, security headers, the proxy's view of the world,
/metrics, /healthz, the development pages."""
from __future__ import annotations

import pytest

from tests.conftest import login
from tests.mail_helpers import sign_in_admin


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

