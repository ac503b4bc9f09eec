"""Helpers for the account tests: sign up, read the code a member was sent."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models.delivery import Delivery

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
        return re.search(r"\b(\d{6})\b", delivery.body).group(1)


def code_from_email(message) -> str:
    return re.search(r"\b(\d{6})\b", message.get_content()).group(1)
