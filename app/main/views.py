from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, redirect, url_for
from redis.exceptions import RedisError
from sqlalchemy import text

from app.extensions import cache, db
from app.main.metrics import render_metrics
from app.main.queue_metrics import overdue_deliveries
from app.redis_clients import RedisNotConfigured, no_retries, queue_redis
from app.text_rules import paragraphs_html

bp = Blueprint("main", __name__)
# Multi-line text in pages: paragraphs and single line breaks kept (posts, announcements).
bp.add_app_template_filter(paragraphs_html, "paragraphs")


@bp.get("/")
def index() -> Response:
    return redirect(url_for("posts.index"))


def _check(probe) -> str:
    try:
        probe()
        return "ok"
    except (RedisError, RedisNotConfigured, OSError) as exc:
        return f"error: {exc}"
    except Exception as exc:  # a database driver error of any kind
        return f"error: {type(exc).__name__}: {exc}"


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Database, queue Redis and cache Redis, each 'ok' or the error; 503 if any is down.

    Plus ``deliveries``: 'ok', or how many are overdue (due and unsent for
    longer than ``DELIVERY_OVERDUE_SECONDS``). Mail that should have gone out
    and has not is "degraded" with 200: the app serves, but someone should
    look (a stuck worker, an SMTP server refusing, SMS not configured).

    Redis is probed once, without the failover retries: a health check answers now."""
    with no_retries():
        checks = _run_checks()
    down = any(v != "ok" for k, v in checks.items() if k != "deliveries")
    checks["deliveries"] = _check_deliveries() if checks["database"] == "ok" else "unknown: database down"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ok" if healthy else "degraded", "checks": checks}), 503 if down else 200


def _check_deliveries() -> str:
    try:
        overdue = overdue_deliveries()
    except Exception as exc:  # a database driver error of any kind
        db.session.rollback()
        return f"error: {type(exc).__name__}: {exc}"
    if not overdue.count:
        return "ok"
    return (f"overdue: {overdue.count} deliveries due and unsent for more than "
            f"{current_app.config.get('DELIVERY_OVERDUE_SECONDS', 600)} s; the oldest was due "
            f"{overdue.oldest_seconds:.0f} s ago")


def _run_checks() -> dict[str, str]:
    return {
        "database": _check(lambda: db.session.execute(text("SELECT 1"))),
        "queue_redis": _check(lambda: queue_redis().ping()),
        "cache_redis": _check(lambda: cache.cache.client.ping()),
    }


@bp.get("/metrics")
def metrics() -> Response:
    return Response(render_metrics(), mimetype="text/plain; version=0.0.4; charset=utf-8")
