"""A screening as the API shows it (and the pages read it): the one shape, ``ScreeningOut``."""
from __future__ import annotations

from pydantic import BaseModel

from app.models.types import IsoDatetime


class ScreeningOut(BaseModel):
    id: int
    title: str
    film: str
    starts_at: IsoDatetime
    place: str
    capacity: int
    status: str
    rsvp_count: int
    seats_left: int
    you_rsvped: bool | None = None


class ScreeningList(BaseModel):
    items: list[ScreeningOut]
