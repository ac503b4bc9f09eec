"""Announcements: the request writes one delivery per member and answers at once; workers send it."""
from __future__ import annotations

from redis import Redis
from sqlalchemy import select

from app.safe_jobs import JSONQueue
from app.extensions import db
from app.models.delivery import Delivery
from tests.helpers.accounts import latest_code
from tests.helpers.web import login
from tests.helpers.mail import add_members, sign_in_admin, statuses


def test_admin_announcement_is_accepted_with_one_delivery_per_member(app, client, make_user, redis_url):
    sign_in_admin(client, make_user)
    add_members(app, 30)
    response = client.post("/api/announcements", json={"subject": "Screening moved", "body": "Now Friday."})
    assert response.status_code == 202
    body = response.get_json()
    assert body["recipient_count"] == 31  # 30 members and the admin
    assert response.headers["Location"] == f"/api/announcements/{body['id']}"
    with app.app_context():
        rows = db.session.scalars(select(Delivery).where(Delivery.announcement_id == body["id"])).all()
        assert len(rows) == 31 and {r.status for r in rows} == {"pending"}
        assert {r.idempotency_key for r in rows} == {f"announcement:{body['id']}:{r.user_id}" for r in rows}
        assert rows[0].subject == "Screening moved" and rows[0].body.startswith("Now Friday.\n")
        # signed by the club, with a link back to the site, in the member's language (English here)
        assert rows[0].body.endswith("\n-- \nThe library film club\nhttp://localhost/posts/")
    fan_out = JSONQueue("low", connection=Redis.from_url(redis_url)).fetch_job(f"announcement-{body['id']}-fan-out")
    assert fan_out is not None and fan_out.func_name == "jobs.announcements.fan_out"


def test_members_receive_the_announcement_and_counts_follow(app, client, make_user, smtp, run_jobs):
    sign_in_admin(client, make_user)
    emails = add_members(app, 25)
    announcement_id = client.post("/api/announcements", json={"subject": "Hello", "body": "All."}).get_json()["id"]
    before = client.get(f"/api/announcements/{announcement_id}").get_json()
    assert before["counts"] == {"total": 26, "queued": 26, "sending": 0, "sent": 0, "failed": 0,
                                "done": False, "percent": 0.0}
    run_jobs()
    assert all(len(smtp.to(e)) == 1 for e in emails)
    assert smtp.to(emails[0])[0]["X-Delivery-Key"].startswith(f"announcement:{announcement_id}:")
    after = client.get(f"/api/announcements/{announcement_id}").get_json()
    assert after["counts"]["sent"] == 26 and after["counts"]["queued"] == 0 and after["counts"]["done"]
    assert after["subject"] == "Hello" and after["author"]["name"] == "Admin"


def test_non_admin_gets_403_and_anonymous_401(client, make_user):
    assert client.post("/api/announcements", json={"subject": "s", "body": "b"}).status_code == 401
    make_user()
    login(client)
    response = client.post("/api/announcements", json={"subject": "s", "body": "b"})
    assert response.status_code == 403 and "admin" in response.get_json()["error"]
    assert client.get("/api/announcements/1").status_code == 403


def test_bad_announcement_input_is_a_clear_4xx(client, make_user):
    sign_in_admin(client, make_user)
    missing = client.post("/api/announcements", json={"subject": "only a subject"})
    assert missing.status_code == 422 and missing.get_json()["details"][0]["field"] == "body"
    assert client.post("/api/announcements", json={"subject": "", "body": "x"}).status_code == 422
    assert client.post("/api/announcements", json={"subject": "s" * 301, "body": "x"}).status_code == 422
    assert client.post("/api/announcements", data="subject=x", content_type="text/plain").status_code == 415
    assert client.post("/api/announcements", data="{", content_type="application/json").status_code == 400
    assert client.get("/api/announcements/999").status_code == 404


def test_on_demand_mail_is_sent_before_a_queued_bulk_send(app, client, make_user, smtp, run_jobs, app_factory):
    """Workers listen high, default, low: a welcome email does not wait behind announcement batches."""
    small_batches = app_factory(MAIL_BATCH_SIZE=10)
    admin_client = small_batches.test_client()
    sign_in_admin(admin_client, make_user)
    add_members(app, 60)
    admin_client.post("/api/announcements", json={"subject": "Bulk", "body": "b"})
    from app.outbox import ALL
    from jobs.worker import AppSimpleWorker

    redis = Redis.from_url(app.config["REDIS_URL"])
    AppSimpleWorker(["low"], connection=redis, app=small_batches).work(burst=True, max_jobs=1)  # the fan-out
    assert JSONQueue("low", connection=redis).count >= 6
    client.post("/api/auth/signup", json={"email": "late@example.com", "name": "Late", "password": "long-enough",
                                                  "phone": "010-2222-3333", "channel": "email"})
    assert client.post("/api/auth/verify", json={"email": "late@example.com",
                                                 "code": latest_code(app, "late@example.com")}).status_code == 200
    AppSimpleWorker(list(ALL), connection=redis, app=small_batches).work(burst=True)
    with app.app_context():
        welcome = db.session.scalar(select(Delivery).where(Delivery.kind == "welcome"))
        first_bulk = db.session.scalar(select(Delivery).where(Delivery.kind == "announcement")
                                       .order_by(Delivery.sent_at).limit(1))
        assert welcome.status == "sent" and welcome.sent_at < first_bulk.sent_at
