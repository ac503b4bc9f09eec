"""Post changes shared by the HTML forms and the JSON API.

The cached pages follow each commit below without a call here: the hook
``app.posts.cache.invalidate_changed_posts`` invalidates the list pages and the
post's detail after every committed change to a Post, whoever makes it (this
service, ``flask seed-demo``, a test), so no writer can forget it.
"""
from __future__ import annotations

from app.extensions import db
from app.models.post import Post
from app.models.user import User


def create_post(author: User, title: str, body: str) -> Post:
    post = Post(title=title, body=body, author=author)
    db.session.add(post)
    db.session.commit()
    return post


def update_post(post: Post, *, title: str | None = None, body: str | None = None) -> Post:
    if title is not None:
        post.title = title
    if body is not None:
        post.body = body
    db.session.commit()
    return post


def delete_post(post: Post) -> None:
    db.session.delete(post)
    db.session.commit()


def can_edit(user: User, post: Post) -> bool:
    return user.is_authenticated and post.author_id == user.id
