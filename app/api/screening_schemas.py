"""Screening API schemas."""
from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field, model_validator

from app.api.schemas import Strict
from app.screenings.schemas import ScreeningList, ScreeningOut  # noqa: F401  (the answers' shapes live with screenings)
from app.text_rules import SINGLE_LINE

Text200 = Annotated[str, Field(min_length=1, max_length=200), *SINGLE_LINE]
Capacity = Annotated[int, Field(ge=1, le=100_000)]


class ScreeningCreate(Strict):
    title: Text200
    film: Text200
    starts_at: AwareDatetime = Field(description="ISO 8601 with a UTC offset, e.g. 2026-12-01T19:00:00+09:00")
    place: Text200
    capacity: Capacity


class ScreeningUpdate(Strict):
    title: Text200 | None = None
    film: Text200 | None = None
    starts_at: AwareDatetime | None = None
    place: Text200 | None = None
    capacity: Capacity | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> "ScreeningUpdate":
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

