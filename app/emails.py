"""Messages the app sends, composed as delivery rows (the outbox)."""
from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from app.extensions import db
from app.models.delivery import EMAIL, Delivery
from app.models.user import User


def welcome_key(user_id: int) -> str:
    return f"welcome:{user_id}"


def welcome_delivery(user: User) -> Delivery:
    """The welcome email's delivery row for ``user``, added to the session if new."""
    key = welcome_key(user.id)
    existing = db.session.scalar(select(Delivery).where(Delivery.idempotency_key == key))
    if existing is not None:
        return existing
    delivery = Delivery(
        idempotency_key=key, channel=EMAIL, kind="welcome", recipient=user.email, user_id=user.id,
        subject="Welcome to the film club",
        body=render_template("email/welcome.txt", user=user),
    )
    db.session.add(delivery)
    db.session.flush()
    return delivery
