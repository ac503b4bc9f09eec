from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect, url_for
from redis.exceptions import RedisError
from sqlalchemy import text

from app.extensions import cache, db
from app.main.metrics import render_metrics
from app.redis_clients import RedisNotConfigured, no_retries, queue_redis

bp = Blueprint("main", __name__)


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

    Redis is probed once, without the failover retries: a health check answers now."""
    with no_retries():
        checks = _run_checks()
    healthy = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ok" if healthy else "degraded", "checks": checks}), 200 if healthy else 503


def _run_checks() -> dict[str, str]:
    return {
        "database": _check(lambda: db.session.execute(text("SELECT 1"))),
        "queue_redis": _check(lambda: queue_redis().ping()),
        "cache_redis": _check(lambda: cache.cache.client.ping()),
    }


@bp.get("/metrics")
def metrics() -> Response:
    return Response(render_metrics(), mimetype="text/plain; version=0.0.4; charset=utf-8")
