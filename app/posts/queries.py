"""Post reads as the JSON bytes the API serves, through the cache.

The cached value is the exact response body, so a hit is served without
parsing or re-encoding anything.
"""
from __future__ import annotations

import json
import math
from typing import Mapping

from flask import current_app
from sqlalchemy import func, select

from app.cache.versioned import CacheResult
from app.exceptions import BadQuery
from app.extensions import db
from app.models.post import Post
from app.posts.cache import LISTS_NAMESPACE, detail_namespace, post_cache
from app.posts.schemas import post_json


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def list_page_bytes(page: int, per_page: int) -> bytes:
    total = db.session.scalar(select(func.count()).select_from(Post)) or 0
    posts = db.session.scalars(
        select(Post).order_by(Post.created_at.desc(), Post.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).unique().all()
    return _dumps({
        "items": [post_json(post) for post in posts],
        "page": page,
        "per_page": per_page,
        "pages": math.ceil(total / per_page) if total else 0,
        "total": total,
    })


def post_detail_bytes(post_id: int) -> bytes:
    """The post as JSON, or ``null`` when there is none (answered, never cached: see below)."""
    post = db.session.get(Post, post_id)
    return _dumps(post_json(post) if post is not None else None)


def cached_list_page(page: int, per_page: int) -> CacheResult:
    return post_cache().get_or_compute(LISTS_NAMESPACE, f"list:{page}:{per_page}",
                                       lambda: list_page_bytes(page, per_page))


def cached_post_detail(post_id: int) -> CacheResult:
    # A missing post is not cached: anyone can ask for any id, and each would leave keys behind.
    return post_cache().get_or_compute(detail_namespace(post_id), "detail",
                                       lambda: post_detail_bytes(post_id), keep=lambda value: value != b"null")


MAX_PAGE = 1_000_000  # keeps the SQL offset within a 64-bit integer


def read_page(args: Mapping[str, str]) -> tuple[int, int]:
    """``page`` and ``per_page`` from a query string: the one reader, for the post pages and the API.

    ``page`` defaults to 1; ``per_page`` to ``POSTS_PER_PAGE`` and is at most
    ``POSTS_MAX_PER_PAGE``. An empty value is the default; anything but a whole number in
    range (ASCII digits: ``²`` is not a page number) raises BadQuery (400).
    """
    config = current_app.config
    return (_whole_number(args, "page", 1, MAX_PAGE),
            _whole_number(args, "per_page", config["POSTS_PER_PAGE"], config["POSTS_MAX_PER_PAGE"]))


def _whole_number(args: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    raw = args[name] if name in args else ""  # (a MultiDict's ``get`` raises and catches when absent)
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise BadQuery(name, f"must be a whole number from 1 to {maximum}")
    return int(raw)
