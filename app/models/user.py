from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

CHANNEL_EMAIL = "email"
CHANNEL_SMS = "sms"
CHANNELS = (CHANNEL_SMS, CHANNEL_EMAIL)


VERIFIED_PHONE = "phone_verified_at IS NOT NULL"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    # A verified mobile number belongs to one member; unverified numbers may repeat (a typo
    # must not lock the number's owner out, and only a code proves who holds it).
    __table_args__ = (Index("ux_users_verified_phone", "phone", unique=True,
                            sqlite_where=text(VERIFIED_PHONE), postgresql_where=text(VERIFIED_PHONE)),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # E.164 (``+821012345678``); empty only for a social sign-up that has not given one yet.
    phone: Mapped[str | None] = mapped_column(String(16), index=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    phone_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where codes and reminders go: 'sms' (to ``phone``) or 'email'. Reminders read this.
    notification_channel: Mapped[str] = mapped_column(String(5), default=CHANNEL_EMAIL,
                                                      server_default=CHANNEL_EMAIL)
    # The member's language for pages, mail and SMS ('ko' or 'en'); empty: APP_LOCALE decides (app/i18n.py).
    locale: Mapped[str | None] = mapped_column(String(5))

    # The token of the session this object was loaded for (app.members.sessions); not a column.
    session_token = None  # type: str | None

    def get_id(self) -> str:
        """What Flask-Login keeps in the cookie: the member and the server-side session it belongs to."""
        return f"{self.id}:{self.session_token or ''}"

    def set_password(self, password: str) -> None:
        # Werkzeug's default is scrypt, a current memory-hard algorithm.
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def phone_verified(self) -> bool:
        return self.phone is not None and self.phone_verified_at is not None

    def contact_verified(self, channel: str) -> bool:
        return self.phone_verified if channel == CHANNEL_SMS else self.email_verified

    @property
    def is_verified(self) -> bool:
        """The member proved the contact their notifications go to: they may post and RSVP."""
        return self.contact_verified(self.notification_channel)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"
