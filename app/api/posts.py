"""Posts over JSON. Reads come from the cache with an ``X-Cache`` header."""
from __future__ import annotations

from flask import Response, current_app, jsonify, request
from flask_login import current_user, login_required

from app.api import bp
from app.api.errors import APIError, parse_json, parse_query
from app.api.schemas import MAX_PAGE, PageQuery, PostCreate, PostUpdate
from app.cache.versioned import CacheResult
from app.extensions import db
from app.members.access import verified_required
from app.models.post import Post
from app.posts import service
from app.posts.queries import cached_list_page, cached_post_detail


_HIT_HEADERS = (("Content-Type", "application/json"), ("X-Cache", "HIT"))
_MISS_HEADERS = (("Content-Type", "application/json"), ("X-Cache", "MISS"))
_DEFAULT_PAGE = str(PageQuery.model_fields["page"].default)
_DEFAULT_PER_PAGE = str(PageQuery.model_fields["per_page"].default)


def cached_json(result: CacheResult, status: int = 200) -> Response:
    return Response(result.value, status=status, headers=_HIT_HEADERS if result.hit else _MISS_HEADERS)


def _page_query() -> tuple[int, int]:
    """``page`` and ``per_page``. Plain positive numbers are read directly (this is the hot path of
    every cached list page); anything else goes through the schema, which accepts or explains."""
    args = request.args
    page, per_page = args.get("page", _DEFAULT_PAGE), args.get("per_page", _DEFAULT_PER_PAGE)
    if page.isascii() and page.isdigit() and per_page.isascii() and per_page.isdigit():
        page_number, per_page_number = int(page), int(per_page)
        if 1 <= page_number <= MAX_PAGE and per_page_number >= 1:
            return page_number, per_page_number
    query = parse_query(PageQuery)
    return query.page, query.per_page


@bp.get("/posts")
def list_posts() -> Response:
    page, per_page = _page_query()
    limit = current_app.config["POSTS_MAX_PER_PAGE"]
    if per_page > limit:
        raise APIError(400, f"per_page must be at most {limit}")
    return cached_json(cached_list_page(page, per_page))


@bp.get("/posts/<int:post_id>")
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
@login_required
@verified_required
def create_post() -> tuple[Response, int, dict]:
    data = parse_json(PostCreate)
    post = service.create_post(current_user, data.title, data.body)
    return jsonify(post.to_dict()), 201, {"Location": f"/api/posts/{post.id}"}


@bp.patch("/posts/<int:post_id>")
@login_required
@verified_required
def update_post(post_id: int) -> Response:
    post = _own_post(post_id)
    data = parse_json(PostUpdate)
    service.update_post(post, title=data.title, body=data.body)
    return jsonify(post.to_dict())


@bp.delete("/posts/<int:post_id>")
@login_required
def delete_post(post_id: int) -> tuple[str, int]:
    service.delete_post(_own_post(post_id))
    return "", 204
