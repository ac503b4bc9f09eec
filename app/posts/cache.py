"""The posts' cache: one ``VersionedCache`` per app, and the rule that keeps it true.

The rule: every committed change to a ``Post`` (created, edited, deleted; by
``app.posts.service``, ``flask seed-demo``, a test, anything that uses the session)
invalidates the list pages and that post's detail, after the commit and never
before (``invalidate_changed_posts``, an SQLAlchemy ``after_flush`` hook that
``create_app`` installs). Reads through the cache are ``app.posts.queries``.

Namespaces: ``posts`` holds every list page (any post change reorders or
refills them); ``post:<id>`` holds one post's detail.
"""
from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.cache.versioned import VersionedCache
from app.db_events import run_after_commit, transaction_state
from app.extensions import cache, db
from app.models.post import Post

LISTS_NAMESPACE = "posts"


def detail_namespace(post_id: int) -> str:
    return f"post:{post_id}"


def init_post_cache(app: Flask) -> None:
    backend = app.extensions["cache"][cache]
    app.extensions["post_cache"] = VersionedCache(
        backend.client, prefix=app.config["CACHE_KEY_PREFIX"], ttl=app.config["CACHE_TTL"],
        lock_timeout=app.config["CACHE_LOCK_TIMEOUT"], local_bytes=app.config["CACHE_LOCAL_MAX_BYTES"],
        invalidation=app.config["CACHE_INVALIDATION"],
    )
    session_class = db.session.session_factory.class_
    if not event.contains(session_class, "after_flush", invalidate_changed_posts):
        event.listen(session_class, "after_flush", invalidate_changed_posts)


def post_cache(app: Flask | None = None) -> VersionedCache:
    return (app or current_app).extensions["post_cache"]


def invalidate_changed_posts(session: Session, flush_context) -> None:
    """After each flush, note the changed posts; invalidate their entries once the transaction commits."""

    changed = {obj.id for obj in (*session.new, *session.dirty, *session.deleted) if isinstance(obj, Post)}
    if not changed:
        return
    state = transaction_state(session)
    pending: set[int] | None = state.get("changed_post_ids")
    if pending is None:
        pending = state["changed_post_ids"] = set()
        cache = post_cache()
        run_after_commit(session, lambda: cache.invalidate(
            LISTS_NAMESPACE, *(detail_namespace(i) for i in sorted(pending))
        ))
    pending.update(changed)
