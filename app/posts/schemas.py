"""A post as the API shows it: the one shape, for the cache's JSON bytes and for /api/openapi.json.

``post_json`` serializes a post through ``PostOut``; the post cache stores those bytes
(``app.posts.queries``) and the API answers with them, so the document's schema and the answers
cannot drift apart. Timestamps keep Python's ISO form (``+00:00``), as the API always wrote them.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from app.models.types import IsoDatetime


class AuthorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    body: str
    author: AuthorOut
    created_at: IsoDatetime
    updated_at: IsoDatetime


class PostPage(BaseModel):
    items: list[PostOut]
    page: int
    per_page: int
    pages: int
    total: int


def post_json(post: Any) -> dict[str, Any]:
    """The post (a ``Post`` row) as JSON-ready data, in ``PostOut``'s shape."""
    return PostOut.model_validate(post).model_dump(mode="json")
