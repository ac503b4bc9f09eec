"""API input and output schemas (pydantic): validation and the OpenAPI document."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, model_validator

from app.members.contact import normalise_phone
from app.models.announcement import BODY_MAX_LENGTH as ANNOUNCEMENT_BODY_MAX, SUBJECT_MAX_LENGTH
from app.models.post import BODY_MAX_LENGTH, TITLE_MAX_LENGTH
from app.text_rules import MULTI_LINE, SINGLE_LINE

Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX_LENGTH), *SINGLE_LINE]
Body = Annotated[str, Field(min_length=1, max_length=BODY_MAX_LENGTH), *MULTI_LINE]
Password = Annotated[str, Field(min_length=8, max_length=128)]
Name = Annotated[str, Field(min_length=1, max_length=100), *SINGLE_LINE]
# A mobile number in any common spelling; validated and turned into E.164 (PHONE_DEFAULT_REGION).
Phone = Annotated[str, Field(min_length=1, max_length=32, examples=["010-1234-5678"]),
                  AfterValidator(normalise_phone)]
Channel = Literal["sms", "email"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PostCreate(Strict):
    title: Title
    body: Body


class PostUpdate(Strict):
    title: Title | None = None
    body: Body | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> "PostUpdate":
        if self.title is None and self.body is None:
            raise ValueError("give at least one of title, body")
        return self


class SignupRequest(Strict):
    email: EmailStr
    name: Name
    password: Annotated[str, Field(min_length=8, max_length=128)]
    phone: Phone
    channel: Channel = Field(description="where the verification code goes: sms or email")


class LoginRequest(Strict):
    email: EmailStr
    password: Annotated[str, Field(min_length=1, max_length=128)]


class AuthorOut(BaseModel):
    id: int
    name: str


class PostOut(BaseModel):
    id: int
    title: str
    body: str
    author: AuthorOut
    created_at: datetime
    updated_at: datetime


class PostPage(BaseModel):
    items: list[PostOut]
    page: int
    per_page: int
    pages: int
    total: int


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    is_admin: bool
    phone: str | None = None
    notification_channel: Channel = "email"
    email_verified: bool = False
    phone_verified: bool = False
    is_verified: bool = False


class AuthAnswer(BaseModel):
    user: UserOut
    message: str | None = None


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    error: str
    status: int
    details: list[ErrorDetail] | None = None


# --- announcements ---


class AnnouncementCreate(Strict):
    subject: Annotated[str, Field(min_length=1, max_length=SUBJECT_MAX_LENGTH), *SINGLE_LINE]
    body: Annotated[str, Field(min_length=1, max_length=ANNOUNCEMENT_BODY_MAX), *MULTI_LINE]


class AnnouncementCounts(BaseModel):
    total: int
    queued: int = Field(description="not sent yet (waiting, or being sent right now)")
    sending: int = Field(description="claimed by a worker at this moment (part of queued)")
    sent: int
    failed: int
    done: bool
    percent: float


class AnnouncementFailure(BaseModel):
    recipient: str
    attempts: int
    reason: str | None = Field(description="the real reason: the server's answer or what was wrong with the message")


class AnnouncementOut(BaseModel):
    id: int
    subject: str
    body: str
    author: AuthorOut | None
    created_at: datetime
    recipient_count: int
    counts: AnnouncementCounts
    failures: list[AnnouncementFailure] = Field(default_factory=list, description="failed deliveries (first 200)")


class AnnouncementRetried(BaseModel):
    id: int
    retried: int = Field(description="failed deliveries put back in the queue")
    status_url: str


class AnnouncementAccepted(BaseModel):
    id: int
    recipient_count: int
    status_url: str
