"""Helpers for the account tests: sign up, read the code a member was sent, let a cooldown pass."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from redis import Redis
from sqlalchemy import select

from app.extensions import db
from app.models.delivery import Delivery
from app.models.verification_code import VerificationCode

SIGNUP = {"email": "ada@example.com", "name": "Ada", "password": "correct-horse",
          "phone": "010-1234-5678", "channel": "email"}


def api_signup(client, **fields):
    return client.post("/api/auth/signup", json={**SIGNUP, **fields})


def latest_code(app, recipient: str) -> str:
    """The code in the newest verification delivery to ``recipient`` (read before the job redacts it)."""
    with app.app_context():
        delivery = db.session.scalar(select(Delivery).where(Delivery.recipient == recipient,
                                                            Delivery.kind == "verification_code")
                                     .order_by(Delivery.id.desc()).limit(1))
        return re.search(r"(?<!\d)(\d{6})(?!\d)", delivery.body).group(1)  # Hangul may touch the digits


def code_from_email(message) -> str:
    return re.search(r"\b(\d{6})\b", message.get_body(("plain",)).get_content()).group(1)


def code_emails(smtp, address: str) -> list:
    return [m for m in smtp.to(address) if "verification code" in m["Subject"]]


def texts(directory: Path) -> list[dict]:
    """Text messages the console SMS backend kept, oldest first."""
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


def code_from_text(message: dict) -> str:
    return re.search(r"\b(\d{6})\b", message["body"]).group(1)


def let_time_pass(app, redis_url: str, seconds: int) -> None:
    """What ``seconds`` of waiting changes, without the wait: rate-limit windows that would
    have expired by then are gone, and codes were sent ``seconds`` earlier. The app must keep
    its limits on the test Redis (``RATELIMIT_STORAGE_URI``), as production does."""
    assert app.config["RATELIMIT_STORAGE_URI"] == redis_url, "limits in memory cannot be aged"
    connection = Redis.from_url(redis_url)
    prefix = app.config["RATELIMIT_KEY_PREFIX"]
    for key in connection.scan_iter(match=f"*{prefix}*"):
        if 0 <= connection.pttl(key) <= seconds * 1000:
            connection.delete(key)
    with app.app_context():
        for row in db.session.scalars(select(VerificationCode)):
            row.created_at -= timedelta(seconds=seconds)
        db.session.commit()
