"""Dispatching due reminders: by the member's channel, once, and never for a cancelled screening."""
import json
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models.delivery import Delivery
from app.models.screening import Reminder, Rsvp, Screening
from app.models.types import utcnow
from app.models.user import User


def setup(app, *, channel="email", phone_verified=True, status="active"):
    with app.app_context():
        user = User(email="sms@example.com", name="S", phone="+821012345678", notification_channel=channel,
                    phone_verified_at=utcnow() if phone_verified else None, email_verified_at=utcnow())
        screening = Screening(title="Night", film="Burning", place="Hall", capacity=5, status=status,
                              starts_at=utcnow() + timedelta(hours=1))
        db.session.add_all([user, screening])
        db.session.flush()
        db.session.add(Rsvp(screening_id=screening.id, user_id=user.id))
        db.session.add(Reminder(screening_id=screening.id, user_id=user.id, lead_seconds=3600,
                                due_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        return screening.id


def test_member_who_chose_sms_gets_the_reminder_by_sms(app_factory, tmp_path, smtp, redis_url):
    from redis import Redis

    from app.outbox import ALL
    from jobs.worker import AppSimpleWorker
    from scheduler.reminders import dispatch

    app = app_factory(SMS_BACKEND="console", DEV_SMS_DIR=str(tmp_path))
    screening_id = setup(app, channel="sms")
    with app.app_context():
        assert dispatch(screening_id, 3600) == 1
        assert dispatch(screening_id, 3600) == 0  # a second dispatch finds nothing to claim
    AppSimpleWorker(list(ALL), connection=Redis.from_url(redis_url), app=app).work(burst=True)
    texts = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert [t["to"] for t in texts] == ["+821012345678"]
    assert "Burning" in texts[0]["body"]
    assert smtp.to("sms@example.com") == []


def test_sms_preference_without_verified_phone_falls_back_to_email(app, smtp, run_jobs):
    from scheduler.reminders import dispatch

    screening_id = setup(app, channel="sms", phone_verified=False)
    with app.app_context():
        dispatch(screening_id, 3600)
        assert db.session.scalar(select(Delivery.channel)) == "email"
    run_jobs()
    assert smtp.to("sms@example.com")[0]["Subject"] == "Reminder: Night (Burning)"


def test_reminders_of_a_cancelled_screening_are_not_sent(app, smtp, run_jobs):
    from scheduler.reminders import dispatch

    screening_id = setup(app, status="cancelled")
    with app.app_context():
        assert dispatch(screening_id, 3600) == 0
        assert db.session.scalar(select(Reminder.status)) == "cancelled"
        assert db.session.scalar(select(Delivery)) is None
    run_jobs()
    assert smtp.messages == []
