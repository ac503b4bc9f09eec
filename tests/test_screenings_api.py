"""Screenings and RSVPs over JSON, and the reminder rows and scheduled jobs they keep in step."""
from datetime import datetime, timedelta, timezone

import pytest
from redis import Redis
from rq_scheduler import Scheduler
from sqlalchemy import select

from app.extensions import db
from app.models.screening import Reminder
from tests.helpers.web import login


@pytest.fixture
def admin(client, make_user):
    make_user(email="admin@example.com", name="Admin", is_admin=True)
    make_user(email="ada@example.com", name="Ada")
    login(client, "admin@example.com")
    return client


def iso(delta: timedelta) -> str:
    return (datetime.now(timezone.utc) + delta).astimezone(timezone(timedelta(hours=9))).isoformat()


def create(client, starts_in=timedelta(days=3), capacity=2, **fields):
    body = {"title": "Ozu night", "film": "Tokyo Story", "starts_at": iso(starts_in), "place": "Room 2",
            "capacity": capacity, **fields}
    return client.post("/api/screenings", json=body)


def scheduled_at(redis_url, job_id):
    connection = Redis.from_url(redis_url)
    score = connection.zscore(Scheduler(connection=connection).scheduled_jobs_key, job_id)
    return None if score is None else datetime.fromtimestamp(score, tz=timezone.utc)


def reminders(app, screening_id):
    with app.app_context():
        return {(r.user_id, r.lead_seconds): (r.status, r.due_at)
                for r in db.session.scalars(select(Reminder).where(Reminder.screening_id == screening_id))}


def test_admin_creates_screening_and_one_job_per_lead_is_scheduled(app, admin, redis_url):
    response = create(admin)
    assert response.status_code == 201
    screening = response.get_json()
    starts = datetime.fromisoformat(screening["starts_at"])
    assert scheduled_at(redis_url, f"reminders-{screening['id']}-86400") == starts - timedelta(days=1)
    assert scheduled_at(redis_url, f"reminders-{screening['id']}-3600") == starts - timedelta(hours=1)


def test_members_cannot_create_screenings(client, make_user):
    make_user()
    login(client)
    assert create(client).status_code == 403


def test_bad_screening_input_is_a_clear_4xx(admin):
    assert create(admin, starts_in=timedelta(hours=-1)).status_code == 422
    naive = admin.post("/api/screenings", json={"title": "t", "film": "f", "starts_at": "2031-01-01T19:00:00",
                                                "place": "p", "capacity": 3})
    assert naive.status_code == 422 and naive.get_json()["details"][0]["field"] == "starts_at"
    assert create(admin, capacity=0).status_code == 422
    assert admin.post("/api/screenings", data="nope", content_type="application/json").status_code == 400


def test_rsvp_creates_reminders_and_twice_is_409(app, admin):
    screening_id = create(admin).get_json()["id"]
    admin.post("/api/auth/logout")
    login(admin)
    response = admin.post(f"/api/screenings/{screening_id}/rsvp")
    assert response.status_code == 201 and response.get_json()["you_rsvped"] is True
    assert {lead: status for (_, lead), (status, _) in reminders(app, screening_id).items()} == \
        {86400: "pending", 3600: "pending"}
    again = admin.post(f"/api/screenings/{screening_id}/rsvp")
    assert again.status_code == 409 and "already" in again.get_json()["error"]


def test_reminder_already_due_at_rsvp_time_is_skipped_not_sent_late(app, admin):
    screening_id = create(admin, starts_in=timedelta(hours=5)).get_json()["id"]  # 1-day reminder has passed
    admin.post(f"/api/screenings/{screening_id}/rsvp")
    statuses = {lead: status for (_, lead), (status, _) in reminders(app, screening_id).items()}
    assert statuses == {86400: "skipped", 3600: "pending"}


def test_full_and_cancelled_screenings_refuse_rsvps(app, admin, make_user):
    screening_id = create(admin, capacity=1).get_json()["id"]
    assert admin.post(f"/api/screenings/{screening_id}/rsvp").status_code == 201
    admin.post("/api/auth/logout")
    login(admin)
    full = admin.post(f"/api/screenings/{screening_id}/rsvp")
    assert full.status_code == 409 and "full" in full.get_json()["error"]
    admin.post("/api/auth/logout")
    login(admin, "admin@example.com")
    other = create(admin).get_json()["id"]
    assert admin.delete(f"/api/screenings/{other}").status_code == 204
    cancelled = admin.post(f"/api/screenings/{other}/rsvp")
    assert cancelled.status_code == 409 and "cancelled" in cancelled.get_json()["error"]
    assert admin.post("/api/screenings/999/rsvp").status_code == 404


def test_moving_a_screening_moves_pending_reminders_and_their_job(app, admin, redis_url):
    screening_id = create(admin).get_json()["id"]
    admin.post(f"/api/screenings/{screening_id}/rsvp")
    new_start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=5)
    response = admin.patch(f"/api/screenings/{screening_id}", json={"starts_at": new_start.isoformat()})
    assert response.status_code == 200
    dues = {lead: due for (_, lead), (_, due) in reminders(app, screening_id).items()}
    assert dues[3600] == new_start - timedelta(hours=1)
    assert scheduled_at(redis_url, f"reminders-{screening_id}-3600") == new_start - timedelta(hours=1)
    past = admin.patch(f"/api/screenings/{screening_id}", json={"starts_at": iso(timedelta(days=-1))})
    assert past.status_code == 422


def test_cancelling_rsvp_or_screening_cancels_reminders_and_jobs(app, admin, redis_url):
    screening_id = create(admin).get_json()["id"]
    admin.post(f"/api/screenings/{screening_id}/rsvp")
    assert admin.delete(f"/api/screenings/{screening_id}/rsvp").status_code == 204
    assert {s for s, _ in reminders(app, screening_id).values()} == {"cancelled"}
    assert admin.delete(f"/api/screenings/{screening_id}/rsvp").status_code == 404
    assert admin.delete(f"/api/screenings/{screening_id}").status_code == 204
    assert scheduled_at(redis_url, f"reminders-{screening_id}-3600") is None
    connection = Redis.from_url(redis_url)
    assert not connection.exists(f"rq:job:reminders-{screening_id}-3600")  # no orphaned job hash


def test_listing_shows_upcoming_with_seats_left(admin):
    screening_id = create(admin, capacity=5).get_json()["id"]
    admin.post(f"/api/screenings/{screening_id}/rsvp")
    items = admin.get("/api/screenings").get_json()["items"]
    assert [(i["id"], i["seats_left"], i["rsvp_count"]) for i in items] == [(screening_id, 4, 1)]
    assert admin.get("/screenings/").status_code == 200
    assert admin.get(f"/screenings/{screening_id}").status_code == 200
