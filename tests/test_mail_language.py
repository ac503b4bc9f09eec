"""Mail and SMS in the recipient's language (users.locale, else APP_LOCALE), not the sender's;
every email with a plain-text and an HTML part that links back to the page it is about."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from redis import Redis
from sqlalchemy import select

from app.extensions import db
from app.models.delivery import Delivery
from app.models.screening import Reminder, Rsvp, Screening
from app.models.types import utcnow
from app.models.user import User
from tests.helpers.accounts import latest_code

STARTS = datetime(2030, 12, 4, 10, 30, tzinfo=timezone.utc)  # a Wednesday, 19:30 in Seoul


def members_with_a_reminder(app):
    """Three members of one screening: one chose Korean, one English, one never chose (APP_LOCALE)."""
    with app.app_context():
        now = utcnow()
        users = [User(email="ko@example.com", name="김", locale="ko", email_verified_at=now),
                 User(email="en@example.com", name="Ann", locale="en", email_verified_at=now),
                 User(email="sms@example.com", name="박", locale=None, phone="+821055556666", phone_verified_at=now,
                      notification_channel="sms", email_verified_at=now)]
        screening = Screening(title="오즈의 밤", film="Tokyo Story", place="Hall", capacity=5, starts_at=STARTS)
        db.session.add_all([*users, screening])
        db.session.flush()
        for user in users:
            db.session.add(Rsvp(screening_id=screening.id, user_id=user.id))
            db.session.add(Reminder(screening_id=screening.id, user_id=user.id, lead_seconds=3600,
                                    due_at=now - timedelta(seconds=1)))
        db.session.commit()
        return screening.id


def test_reminders_are_written_in_each_members_language(app_factory, smtp, tmp_path, redis_url):
    from app.outbox import ALL
    from jobs.worker import AppSimpleWorker
    from scheduler.reminders import dispatch

    app = app_factory(APP_LOCALE="ko", SMS_BACKEND="console", DEV_SMS_DIR=str(tmp_path),
                      EXTERNAL_URL="https://club.example")
    screening_id = members_with_a_reminder(app)
    with app.app_context():
        assert dispatch(screening_id, 3600) == 3  # one INSERT ... SELECT for all three languages
        locales = dict(db.session.execute(select(Delivery.recipient, Delivery.locale)).all())
    assert locales == {"ko@example.com": "ko", "en@example.com": "en", "+821055556666": "ko"}
    AppSimpleWorker(list(ALL), connection=Redis.from_url(redis_url), app=app).work(burst=True)

    korean, english = smtp.to("ko@example.com")[0], smtp.to("en@example.com")[0]
    assert korean["Subject"] == "알림: 오즈의 밤 (Tokyo Story)"
    assert english["Subject"] == "Reminder: 오즈의 밤 (Tokyo Story)"
    link = f"https://club.example/screenings/{screening_id}"
    korean_text = korean.get_body(("plain",)).get_content()
    assert "2030년 12월 4일 (수) 오후 7:30 KST" in korean_text and link in korean_text
    english_text = english.get_body(("plain",)).get_content()
    assert "Wed, Dec 4, 2030, 7:30 PM KST at Hall." in english_text and link in english_text

    html = korean.get_body(("html",)).get_content()
    assert '<html lang="ko">' in html and "도서관 영화 모임" in html and f'href="{link}"' in html
    assert '<html lang="en">' in english.get_body(("html",)).get_content()

    text = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")][0]
    assert text["to"] == "+821055556666" and "오후 7:30 KST" in text["body"]  # no choice: APP_LOCALE


def test_a_korean_sign_up_gets_korean_mail_whatever_the_site_default(app_factory, smtp, run_jobs):
    app = app_factory(APP_LOCALE="en")
    client = app.test_client()
    response = client.post("/api/auth/signup", headers={"Accept-Language": "ko-KR,ko;q=0.9"},
                           json={"email": "new@example.com", "name": "새회원", "password": "long-enough-pass",
                                 "phone": "010-2222-3333", "channel": "email"})
    assert response.status_code == 201
    with app.app_context():
        assert db.session.scalar(select(User.locale).where(User.email == "new@example.com")) == "ko"
    from tests.helpers.mail import burst

    assert client.post("/api/auth/verify", json={"email": "new@example.com",
                                                 "code": latest_code(app, "new@example.com")}).status_code == 200

    burst(app)
    subjects = sorted(m["Subject"] for m in smtp.to("new@example.com"))
    assert subjects == ["영화 모임 인증 코드", "영화 모임에 오신 것을 환영합니다"]


def test_the_html_part_is_rendered_once_per_text_and_language_and_few_are_kept(app):
    """An announcement's rows share one text: the worker renders its HTML once, not once a message."""
    from app.mail_html import RENDERED_KEPT, html_part

    with app.app_context():
        korean = html_part("Notice", "Films! https://club.example/posts/", "ko")
        assert html_part("Notice", "Films! https://club.example/posts/", "ko") is korean
        english = html_part("Notice", "Films! https://club.example/posts/", "en")
        assert english is not korean and 'lang="en"' in english and 'lang="ko"' in korean
        assert "Other text" in html_part("Notice", "Other text", "ko")
        default = {"ko": korean, "en": english}[app.config["APP_LOCALE"]]
        assert html_part("Notice", "Films! https://club.example/posts/", None) is default  # APP_LOCALE's
        for n in range(RENDERED_KEPT + 10):
            html_part("Notice", f"text {n}", "ko")
        assert len(app.extensions["mail_html.rendered"]) == RENDERED_KEPT
        # the oldest went first; a text rendered again gives the same bytes
        assert html_part("Notice", "Films! https://club.example/posts/", "ko") == korean
