"""Failures are visible: reasons on the admin page and in the API, a retry, /healthz and /metrics."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.models.delivery import Delivery
from app.models.types import utcnow
from app.models.user import User
from tests.helpers.web import login
from tests.helpers.mail import add_members, sign_in_admin, statuses


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def announce_with_one_refused(app, client, make_user, smtp, run_jobs) -> tuple[int, list[str]]:
    sign_in_admin(client, make_user)
    emails = add_members(app, 6)
    smtp.refuse_permanently.add(emails[2])
    announcement_id = client.post("/api/announcements", json={"subject": "News", "body": "Text"}).get_json()["id"]
    run_jobs()
    assert statuses(app, announcement_id) == {"sent": 6, "failed": 1}
    return announcement_id, emails


def test_api_shows_the_real_reason_and_retry_failed_sends_to_the_fixed_address(app, client, make_user, smtp,
                                                                                 run_jobs):
    announcement_id, emails = announce_with_one_refused(app, client, make_user, smtp, run_jobs)
    failures = client.get(f"/api/announcements/{announcement_id}").get_json()["failures"]
    assert failures == [{"recipient": emails[2], "attempts": 1,
                         "reason": f"recipient {emails[2]} refused: 550 5.1.1 No such user here"}]
    with app.app_context():  # the member fixes the address
        db.session.execute(update(User).where(User.email == emails[2]).values(email="fixed@members.example"))
        db.session.commit()
    response = client.post(f"/api/announcements/{announcement_id}/retry-failed", json={})
    assert response.status_code == 202
    assert response.get_json() == {"id": announcement_id, "retried": 1,
                                   "status_url": f"/api/announcements/{announcement_id}"}
    run_jobs()
    assert statuses(app, announcement_id) == {"sent": 7}
    assert len(smtp.to("fixed@members.example")) == 1
    assert all(len(smtp.to(e)) == 1 for e in emails if e != emails[2])  # nobody else got it twice
    assert client.get(f"/api/announcements/{announcement_id}").get_json()["failures"] == []


def test_retry_failed_is_for_admins_and_known_announcements(app, client, make_user):
    assert client.post("/api/announcements/1/retry-failed", json={}).status_code == 401
    make_user(email="member@example.com")
    login(client, "member@example.com")
    assert client.post("/api/announcements/1/retry-failed", json={}).status_code == 403
    client.post("/api/auth/logout", json={})
    sign_in_admin(client, make_user)
    assert client.post("/api/announcements/999/retry-failed", json={}).status_code == 404


def test_admin_page_shows_reasons_and_its_retry_button_needs_the_csrf_token(app, client, make_user, smtp,
                                                                            run_jobs):
    announcement_id, emails = announce_with_one_refused(app, client, make_user, smtp, run_jobs)
    page_url = f"/admin/announcements/{announcement_id}"
    page = client.get(page_url).get_data(as_text=True)
    assert emails[2] in page and "550 5.1.1 No such user here" in page
    assert "Retry the failed deliveries" in page
    assert client.post(f"{page_url}/retry-failed").status_code == 400  # no token: refused
    assert statuses(app, announcement_id) == {"sent": 6, "failed": 1}
    smtp.refuse_permanently.clear()
    response = client.post(f"{page_url}/retry-failed", data={"csrf_token": csrf_token(page)},
                           follow_redirects=True)
    assert response.status_code == 200 and "1 failed delivery queued again." in response.get_data(as_text=True)
    run_jobs()
    assert statuses(app, announcement_id) == {"sent": 7} and len(smtp.to(emails[2])) == 1


def add_overdue_row(app, seconds_overdue: int) -> None:
    with app.app_context():
        db.session.add(Delivery(idempotency_key="stuck:1", kind="welcome", recipient="stuck@example.com",
                                subject="s", body="b", due_at=utcnow() - timedelta(seconds=seconds_overdue)))
        db.session.commit()


def test_healthz_is_degraded_with_200_when_a_delivery_is_overdue(app_factory):
    app = app_factory(DELIVERY_OVERDUE_SECONDS=600)
    client = app.test_client()
    add_overdue_row(app, 500)  # due, unsent, but not for longer than the setting
    assert client.get("/healthz").get_json() == {"status": "ok", "checks": {
        "database": "ok", "queue_redis": "ok", "cache_redis": "ok", "deliveries": "ok"}}
    with app.app_context():
        db.session.execute(update(Delivery).values(due_at=utcnow() - timedelta(seconds=900)))
        db.session.commit()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["deliveries"] == "degraded"
    assert body["details"]["deliveries"].startswith("overdue: 1 deliveries due and unsent for more than 600 s")
    assert all(body["checks"][k] == "ok" for k in ("database", "queue_redis", "cache_redis"))


def test_metrics_expose_the_age_of_the_oldest_overdue_delivery(app_factory):
    app = app_factory(DELIVERY_OVERDUE_SECONDS=600)
    client = app.test_client()
    text = client.get("/metrics").get_data(as_text=True)
    assert "filmclub_deliveries_oldest_overdue_seconds 0.0" in text and "filmclub_deliveries_overdue 0.0" in text
    add_overdue_row(app, 1000)
    text = client.get("/metrics").get_data(as_text=True)
    age = float(re.search(r"^filmclub_deliveries_oldest_overdue_seconds (\S+)$", text, re.M).group(1))
    assert 1000 <= age < 1000 + 120
    assert "filmclub_deliveries_overdue 1.0" in text
    with app.app_context():  # sent: no longer overdue
        db.session.execute(update(Delivery).values(status="sent"))
        db.session.commit()
        assert db.session.scalar(select(Delivery.status)) == "sent"
    assert "filmclub_deliveries_oldest_overdue_seconds 0.0" in client.get("/metrics").get_data(as_text=True)
