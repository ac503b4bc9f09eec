"""Post pages. Anonymous readers get the rendered page from the cache (``app.page_cache``);
members get it rendered from the same cached JSON the API serves (their header is their own)."""
from __future__ import annotations

import json

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.cache.versioned import CacheResult
from app.extensions import db
from app.members.access import verified_required
from app.models.post import Post
from app.page_cache import anonymous_reader, cached_page
from app.phrases import N_
from app.posts import service
from app.posts.cache import LISTS_NAMESPACE, detail_namespace, post_cache
from app.posts.forms import DeleteForm, PostForm
from app.posts.queries import cached_list_page, cached_post_detail, read_page

bp = Blueprint("posts", __name__, url_prefix="/posts")


def _render_cached(result: CacheResult, template: str, **context) -> Response:
    response = make_response(render_template(template, **context))
    response.headers["X-Cache"] = "HIT" if result.hit else "MISS"
    return response


@bp.get("/")
def index() -> Response:
    page, per_page = read_page(request.args)
    if anonymous_reader():
        return cached_page(post_cache(), LISTS_NAMESPACE, f"list:{page}:{per_page}",
                           lambda: _list_html(page, per_page).encode(), known_args=("page", "per_page"))
    result = cached_list_page(page, per_page)
    return _render_cached(result, "posts/list.html", data=json.loads(result.value))


def _list_html(page: int, per_page: int) -> str:
    return render_template("posts/list.html", data=json.loads(cached_list_page(page, per_page).value))


@bp.get("/<int:post_id>")
def detail(post_id: int) -> Response:
    if anonymous_reader():
        return cached_page(post_cache(), detail_namespace(post_id), "detail",
                           lambda: _detail_html(post_id)) or abort(404)
    result = cached_post_detail(post_id)
    post = json.loads(result.value)
    if post is None:
        abort(404)
    return _render_cached(result, "posts/detail.html", post=post)  # deleting asks on its own page


def _detail_html(post_id: int) -> bytes | None:
    post = json.loads(cached_post_detail(post_id).value)
    if post is None:
        return None
    # No form in it (deleting asks on its own page): a form would make a CSRF token, a session, for each reader.
    return render_template("posts/detail.html", post=post).encode()


@bp.route("/new", methods=["GET", "POST"])
@login_required
@verified_required
def create() -> Response | str:
    form = PostForm()
    if form.validate_on_submit():
        post = service.create_post(current_user, form.title.data.strip(), form.body.data.strip())
        flash(_("Post published."), "success")
        return redirect(url_for("posts.detail", post_id=post.id))
    return render_template("posts/form.html", form=form, heading=_("New post"))


def _own_post(post_id: int) -> Post:
    post = db.session.get(Post, post_id) or abort(404)
    if not service.can_edit(current_user, post):
        abort(403, N_("only the post's author can edit or delete it"))
    return post


@bp.route("/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
@verified_required
def edit(post_id: int) -> Response | str:
    post = _own_post(post_id)
    form = PostForm(obj=post)
    if form.validate_on_submit():
        service.update_post(post, title=form.title.data.strip(), body=form.body.data.strip())
        flash(_("Post updated."), "success")
        return redirect(url_for("posts.detail", post_id=post.id))
    return render_template("posts/form.html", form=form, heading=_("Edit post"))


@bp.get("/<int:post_id>/delete")
@login_required
def confirm_delete(post_id: int) -> str:
    """The step before deleting: the post's page links here, and only this page's button deletes.

    A page, not a JavaScript dialog, so it works without JavaScript and cannot be skipped by a stray tap.
    """
    post = _own_post(post_id)
    return render_template("posts/confirm_delete.html", post=post, delete_form=DeleteForm())


@bp.post("/<int:post_id>/delete")
@login_required
def delete(post_id: int) -> Response:
    post = _own_post(post_id)
    if not DeleteForm().validate_on_submit():
        abort(400, N_("the form expired; reload the page and try again"))
    service.delete_post(post)
    flash(_("Post deleted."), "success")
    return redirect(url_for("posts.index"))
