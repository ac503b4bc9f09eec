"""Seed step 7: the day's notifications, queued in the morning and sent in order of screening time."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from app.extensions import db
from app.models.screening import Rsvp, Screening
from app.models.user import User

SEOUL = ZoneInfo("Asia/Seoul")


def add_day(app, day: datetime):
    with app.app_context():
        members = [User(email=f"m{n}@example.com", name=f"M{n}") for n in range(3)]
        db.session.add_all(members)
        db.session.flush()
        # Created out of order; starts at 20:00, 14:00, 18:00 local, plus one tomorrow and one cancelled.
        times = {"Evening": 20, "Matinee": 14, "Dinner show": 18}
        for title, hour in times.items():
            s = Screening(title=title, film="F", place="P", capacity=10,
                          starts_at=day.replace(hour=hour).astimezone(timezone.utc))
            db.session.add(s)
            db.session.flush()
            db.session.add_all(Rsvp(screening_id=s.id, user_id=m.id) for m in members)
        tomorrow = Screening(title="Tomorrow", film="F", place="P", capacity=10,
                             starts_at=(day + timedelta(days=1)).replace(hour=15).astimezone(timezone.utc))
        gone = Screening(title="Cancelled", film="F", place="P", capacity=10, status="cancelled",
                         starts_at=day.replace(hour=16).astimezone(timezone.utc))
        db.session.add_all([tomorrow, gone])
        db.session.flush()
        db.session.add_all(Rsvp(screening_id=s.id, user_id=members[0].id) for s in (tomorrow, gone))
        db.session.commit()


def test_days_notifications_go_out_in_screening_order_once(app, smtp, run_jobs):
    from scheduler.daily import queue_todays_notifications

    day = datetime(2026, 12, 1, 9, 0, tzinfo=SEOUL)
    add_day(app, day)
    with app.app_context():
        assert queue_todays_notifications("2026-12-01") == "3 screenings on 2026-12-01"
    run_jobs()
    with app.app_context():
        queue_todays_notifications("2026-12-01")  # a second run the same day sends nothing more
    run_jobs()
    subjects = [m["Subject"] for m in smtp.to("m0@example.com")]
    assert subjects == ["Today 2:00 PM KST: Matinee", "Today 6:00 PM KST: Dinner show", "Today 8:00 PM KST: Evening"]
    assert len(smtp.messages) == 9
    order = [m["Subject"] for m in smtp.messages]
    assert order == sorted(order, key=lambda s: s.split(":")[0] + s.split(":")[1])  # never a later one first
