from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, redirect, url_for
from redis.exceptions import RedisError
from sqlalchemy import text

from app.extensions import cache, db
from app.main.metrics import render_metrics
from app.main.queue_metrics import overdue_deliveries
from app.redis_clients import RedisNotConfigured, no_retries, queue_redis
from app.text_rules import paragraphs_html

log = logging.getLogger(__name__)
bp = Blueprint("main", __name__)
# Multi-line text in pages: paragraphs and single line breaks kept (posts, announcements).
bp.add_app_template_filter(paragraphs_html, "paragraphs")


@bp.get("/")
def index() -> Response:
    return redirect(url_for("posts.index"))


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The club's icon where browsers and feed readers look for it by default (pages also link it).

    The SVG answers under the ``.ico`` name: every current browser reads the type from the header, and
    a request for the default path never ends as a 404 in the log.
    """
    icon = Path(current_app.static_folder, "favicon.svg").read_bytes()  # 600 bytes: no file left open
    return Response(icon, mimetype="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


def _check(name: str, probe) -> str:
    """"ok" or "down"; why goes to the log, never into the answer (host names, driver messages)."""
    try:
        probe()
        return "ok"
    except (RedisError, RedisNotConfigured, OSError) as exc:
        log.warning("/healthz: %s is down: %s", name, exc)
        return "down"
    except Exception as exc:  # a database driver error of any kind
        log.warning("/healthz: %s is down: %s: %s", name, type(exc).__name__, exc)
        return "down"


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Database, queue Redis and cache Redis, each "ok" or "down"; 503 if any is down.

    Plus ``deliveries``: "ok", or "degraded" when some are overdue (due and
    unsent for longer than ``DELIVERY_OVERDUE_SECONDS``; ``details`` says how
    many and how late). Mail that should have gone out and has not is
    "degraded" with 200: the app serves, but someone should look (a stuck
    worker, an SMTP server refusing, SMS not configured). The answer never holds
    an exception's text (it is public): the reasons go to the log.

    Redis is probed once, without the failover retries: a health check answers now."""
    with no_retries():
        checks = _run_checks()
    down = any(v != "ok" for k, v in checks.items() if k != "deliveries")
    details: dict[str, str] = {}
    if checks["database"] == "ok":
        checks["deliveries"], detail = _check_deliveries()
        if detail:
            details["deliveries"] = detail
    else:
        checks["deliveries"] = "unknown"
    healthy = all(v == "ok" for v in checks.values())
    answer: dict[str, object] = {"status": "ok" if healthy else "degraded", "checks": checks}
    if details:
        answer["details"] = details
    return jsonify(answer), 503 if down else 200


def _check_deliveries() -> tuple[str, str]:
    try:
        overdue = overdue_deliveries()
    except Exception as exc:  # a database driver error of any kind
        db.session.rollback()
        log.warning("/healthz: could not count overdue deliveries: %s: %s", type(exc).__name__, exc)
        return "down", ""
    if not overdue.count:
        return "ok", ""
    return "degraded", (f"overdue: {overdue.count} deliveries due and unsent for more than "
                        f"{current_app.config['DELIVERY_OVERDUE_SECONDS']} s; the oldest was due "
                        f"{overdue.oldest_seconds:.0f} s ago")


def _run_checks() -> dict[str, str]:
    return {
        "database": _check("the database", lambda: db.session.execute(text("SELECT 1"))),
        "queue_redis": _check("the queue Redis", lambda: queue_redis().ping()),
        "cache_redis": _check("the cache Redis", lambda: cache.cache.client.ping()),
    }


@bp.get("/metrics")
def metrics() -> Response:
    return Response(render_metrics(), mimetype="text/plain; version=0.0.4; charset=utf-8")
