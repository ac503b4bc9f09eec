"""An announcement as the API shows it: the one shape of each answer (and the document's schemas)."""
from __future__ import annotations

from pydantic import BaseModel, Field

from app.models.types import IsoDatetime
from app.posts.schemas import AuthorOut


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
    created_at: IsoDatetime
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
