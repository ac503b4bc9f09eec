"""Posts over JSON. Reads come from the cache with an ``X-Cache`` header."""
from __future__ import annotations

from typing import Any, Mapping

from flask import Response, jsonify, request
from flask_login import current_user, login_required

from app.api import bp
from app.api.errors import APIError, parse_json
from app.api.openapi import CACHE_HEADER, LOCATION_HEADER, operation
from app.api.schemas import PostCreate, PostUpdate
from app.cache.versioned import CacheResult
from app.extensions import db
from app.members.access import verified_required
from app.models.post import Post
from app.posts import service
from app.posts.queries import MAX_PAGE, cached_list_page, cached_post_detail, read_page
from app.posts.schemas import PostOut, PostPage, post_json


_HIT_HEADERS = (("Content-Type", "application/json"), ("X-Cache", "HIT"))
_MISS_HEADERS = (("Content-Type", "application/json"), ("X-Cache", "MISS"))


def page_parameters(config: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    """``page`` and ``per_page`` as ``read_page`` reads them: the defaults and limits of this configuration."""
    return ({"name": "page", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}},
            {"name": "per_page", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": config["POSTS_MAX_PER_PAGE"],
                        "default": config["POSTS_PER_PAGE"]}})


def cached_json(result: CacheResult, status: int = 200) -> Response:
    return Response(result.value, status=status, headers=_HIT_HEADERS if result.hit else _MISS_HEADERS)


@bp.get("/posts")
@operation("A page of posts, newest first (cached)", response=PostPage, description="The page",
           headers=CACHE_HEADER, errors=(400,), query=page_parameters)
def list_posts() -> Response:
    page, per_page = read_page(request.args)
    return cached_json(cached_list_page(page, per_page))


@bp.get("/posts/<int:post_id>")
@operation("One post (cached)", response=PostOut, description="The post", headers=CACHE_HEADER, errors=(404,))
def get_post(post_id: int) -> Response:
    result = cached_post_detail(post_id)
    if result.value == b"null":
        raise APIError(404, f"no post with id {post_id}")
    return cached_json(result)


def _own_post(post_id: int) -> Post:
    post = db.session.get(Post, post_id)
    if post is None:
        raise APIError(404, f"no post with id {post_id}")
    if not service.can_edit(current_user, post):
        raise APIError(403, "only the author can change this post")
    return post


@bp.post("/posts")
@operation("Write a post (verified members only: 403 otherwise)", status=201, response=PostOut,
           description="Created", body=PostCreate, errors=(400, 401, 403, 422), signed_in=True,
           headers=LOCATION_HEADER)
@login_required
@verified_required
def create_post() -> tuple[Response, int, dict]:
    data = parse_json(PostCreate)
    post = service.create_post(current_user, data.title, data.body)
    return jsonify(post_json(post)), 201, {"Location": f"/api/posts/{post.id}"}


@bp.patch("/posts/<int:post_id>")
@operation("Change your post", response=PostOut, description="Changed", body=PostUpdate,
           errors=(400, 401, 403, 404, 422), signed_in=True)
@login_required
@verified_required
def update_post(post_id: int) -> Response:
    post = _own_post(post_id)
    data = parse_json(PostUpdate)
    service.update_post(post, title=data.title, body=data.body)
    return jsonify(post_json(post))


@bp.delete("/posts/<int:post_id>")
@operation("Delete your post", status=204, description="Deleted", errors=(401, 403, 404), signed_in=True)
@login_required
def delete_post(post_id: int) -> tuple[str, int]:
    service.delete_post(_own_post(post_id))
    return "", 204
