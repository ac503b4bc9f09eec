"""Admin pages and the RQ dashboard at /admin/rq: admins only, writes only from our own pages."""
from __future__ import annotations

import re

import pytest
from redis import Redis

from app.safe_jobs import JSONJob, JSONQueue
from tests.helpers.web import login
from tests.helpers.mail import add_members, sign_in_admin

ORIGIN = "http://localhost"


@pytest.mark.parametrize("path", ["/admin/", "/admin/announcements/new", "/admin/rq/", "/admin/rq/0/data/queues.json"])
def test_anonymous_is_sent_to_sign_in_and_members_get_403(client, make_user, path):
    response = client.get(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    make_user()
    login(client)
    assert client.get(path).status_code == 403


def test_admin_sees_the_dashboard_with_our_queues(client, make_user, redis_url):
    JSONQueue("low", connection=Redis.from_url(redis_url)).enqueue("jobs.sweeper.sweep_deliveries", job_id="q1")
    sign_in_admin(client, make_user)
    assert client.get("/admin/rq/").status_code == 200
    queues = client.get("/admin/rq/0/data/queues.json").get_json()["queues"]
    assert {"name": "low", "count": 1} in [{"name": q["name"], "count": q["count"]} for q in queues]
    workers = client.get("/admin/rq/0/data/workers.json")
    assert workers.status_code == 200 and workers.get_json()["workers"] == []


def failed_job(redis_url: str) -> str:
    connection = Redis.from_url(redis_url)
    queue = JSONQueue("low", connection=connection)
    job = queue.enqueue("jobs.sweeper.sweep_deliveries", job_id="broken")
    job = JSONJob.fetch("broken", connection=connection)
    queue.failed_job_registry.add(job, exc_string="boom")
    queue.remove(job)
    return job.id


def test_dashboard_writes_without_a_same_site_origin_are_refused(client, make_user, redis_url):
    failed_job(redis_url)
    sign_in_admin(client, make_user)
    registry = JSONQueue("low", connection=Redis.from_url(redis_url)).failed_job_registry
    for headers in ({}, {"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"},
                    {"Origin": "null"}):
        assert client.post("/admin/rq/job/broken/requeue", headers=headers).status_code == 403
        assert client.get("/admin/rq/requeue/low", headers=headers).status_code == 403
        assert client.post("/admin/rq/queue/low/queued/empty", headers=headers).status_code == 403
    assert registry.get_job_ids() == ["broken"]


def test_dashboard_writes_from_its_own_pages_work(client, make_user, redis_url):
    failed_job(redis_url)
    sign_in_admin(client, make_user)
    response = client.post("/admin/rq/job/broken/requeue", headers={"Origin": ORIGIN})
    assert response.status_code == 200 and response.get_json() == {"status": "OK"}
    queue = JSONQueue("low", connection=Redis.from_url(redis_url))
    assert queue.failed_job_registry.get_job_ids() == [] and queue.job_ids == ["broken"]
    emptied = client.post("/admin/rq/queue/low/queued/empty", headers={"Referer": f"{ORIGIN}/admin/rq/"})
    assert emptied.status_code == 200 and queue.count == 0


def test_admin_writes_an_announcement_in_the_form_and_sees_its_progress(app_factory, make_user):
    app = app_factory(WTF_CSRF_ENABLED=False)
    client = app.test_client()
    sign_in_admin(client, make_user)
    add_members(app, 4)
    response = client.post("/admin/announcements/new", data={"subject": "Film night", "body": "Bring snacks."},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Film night" in page
    assert "Announcement queued for 5 members." in page
    assert re.search(r'<progress id="progress"[^>]* max="5"\s+value="0"', page)
    assert re.search(r"\b5</span> queued", page)  # the count in the span the page's script updates
    assert "Film night" in client.get("/admin/").get_data(as_text=True)


def test_the_announcement_form_needs_its_csrf_token(client, make_user):
    sign_in_admin(client, make_user)
    response = client.post("/admin/announcements/new", data={"subject": "x", "body": "y"})
    assert response.status_code == 400


def test_metrics_show_queue_depths_registries_and_deliveries(client, make_user, app, redis_url):
    sign_in_admin(client, make_user)
    add_members(app, 3)
    client.post("/api/announcements", json={"subject": "s", "body": "b"})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'filmclub_rq_queue_jobs{queue="low"} 1.0' in text
    assert 'filmclub_rq_registry_jobs{queue="low",registry="failed"} 0.0' in text
    assert 'filmclub_deliveries{channel="email",status="pending"} 4.0' in text
    assert "filmclub_rq_up 1.0" in text


def test_metrics_survive_a_dead_queue_redis(app_factory):
    from deploy.local.redis_server import free_port

    text = app_factory(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0").test_client().get("/metrics")
    assert text.status_code == 200 and "filmclub_rq_up 0.0" in text.get_data(as_text=True)
