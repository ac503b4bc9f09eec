"""The stack's database, reached directly: members written in bulk (the few hundred an announcement
goes to, and verified members whose journeys start after signing up, which has journeys of its own),
and a look at one delivery row where the page cannot show what changed."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import create_engine, insert, select
from werkzeug.security import generate_password_hash

from app.members.contact import normalise_phone
from app.models.delivery import Delivery
from app.models.types import utcnow
from app.models.user import User

PASSWORD = "journey-password-1"  # of every member the journeys sign in as


def e164(phone: str) -> str:
    return normalise_phone(phone, "KR")


@lru_cache(maxsize=None)
def _password_hash(password: str) -> str:
    return generate_password_hash(password)  # scrypt: once per password, not once per member


def add_members(database_url: str, members: list[dict], verified: bool) -> None:
    """Insert members (``email``, ``name``, optional ``phone`` and ``password``) in one statement."""
    now = utcnow() if verified else None
    rows = [{"email": m["email"], "name": m["name"], "phone": m.get("phone"),
             "password_hash": _password_hash(m["password"]) if m.get("password") else None,
             "email_verified_at": now, "notification_channel": "email"} for m in members]
    engine = _engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(User.__table__), rows)
    finally:
        engine.dispose()


def delivery_state(database_url: str, announcement_id: int, recipient: str) -> dict:
    """Status, attempts, claim time and reason of one recipient's delivery of an announcement."""
    table = Delivery.__table__
    engine = _engine(database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(select(table.c.status, table.c.attempts, table.c.claimed_at, table.c.last_error)
                               .where(table.c.announcement_id == announcement_id,
                                      table.c.recipient == recipient)).one()
    finally:
        engine.dispose()
    return dict(row._mapping)


def _engine(database_url: str):
    return create_engine(database_url, connect_args={"timeout": 60})  # the stack writes this file too
