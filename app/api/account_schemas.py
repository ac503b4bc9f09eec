"""Schemas of the account endpoints: verification codes and member settings."""
from __future__ import annotations

from typing import Annotated

from pydantic import EmailStr, Field, model_validator

from app.api.schemas import BaseModel, Channel, Phone, Strict

Code = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="the 6-digit code", examples=["042917"])]


class VerifyRequest(Strict):
    email: EmailStr
    code: Code


class ResendRequest(Strict):
    email: EmailStr
    channel: Channel | None = Field(default=None, description="default: the member's notification channel")


class AccountUpdate(Strict):
    """Change contact details (each change needs a new verification) or the notification channel."""

    email: EmailStr | None = None
    phone: Phone | None = None
    notification_channel: Channel | None = None
    current_password: Annotated[str, Field(max_length=128)] | None = Field(
        default=None, description="required to change email or phone on an account that has a password")

    @model_validator(mode="after")
    def _something_to_change(self) -> "AccountUpdate":
        if self.email is None and self.phone is None and self.notification_channel is None:
            raise ValueError("give at least one of email, phone, notification_channel")
        return self


class MessageOut(BaseModel):
    message: str
