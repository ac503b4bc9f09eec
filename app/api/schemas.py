"""API input and output schemas (pydantic): validation and the OpenAPI document."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from app.models.post import BODY_MAX_LENGTH, TITLE_MAX_LENGTH

Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX_LENGTH)]
Body = Annotated[str, Field(min_length=1, max_length=BODY_MAX_LENGTH)]
Password = Annotated[str, Field(min_length=8, max_length=128)]
Name = Annotated[str, Field(min_length=1, max_length=100)]


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


MAX_PAGE = 1_000_000  # keeps the SQL offset within a 64-bit integer


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=20, ge=1)


class SignupRequest(Strict):
    email: EmailStr
    name: Name
    password: Annotated[str, Field(min_length=8, max_length=128)]


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
