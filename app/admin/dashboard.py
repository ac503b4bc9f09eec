"""rq-dashboard mounted at /admin/rq, for admins only, safe against cross-site requests.

rq-dashboard is a Flask blueprint with no authentication of its own, and its
write endpoints (requeue, delete, empty a queue; ``/requeue/<queue>`` even on
GET) carry no CSRF token. So, for every request to the blueprint:

* not signed in -> redirect to the sign-in page; signed in but not an admin -> 403;
* a state change (any method but GET/HEAD/OPTIONS, and the GET requeue-all
  route) must come from this site (``Origin``/``Referer``), else 403.

Flask-WTF's token check is switched off for the blueprint (its jQuery calls
cannot send our token); the origin rule replaces it.
"""
from __future__ import annotations

import logging

from flask import Flask, abort, request

from app.admin.dashboard_input import init_dashboard_input
from app.admin.dashboard_text import init_dashboard_text
from app.extensions import csrf
from app.members.access import admin_refusal
from app.phrases import N_
from app.safe_jobs import SERIALIZER, JSONJob, JSONQueue, requeue_job
from app.security.proxies import same_origin

log = logging.getLogger(__name__)

URL_PREFIX = "/admin/rq"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
WRITES_ON_GET = {"rq_dashboard.requeue_all"}


def init_dashboard(app: Flask) -> None:
    if not app.config.get("REDIS_URL"):
        log.warning("REDIS_URL is not set: the RQ dashboard (%s) is not mounted", URL_PREFIX)
        return
    import rq_dashboard
    from rq_dashboard.web import setup_rq_connection

    _json_jobs_only()
    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    app.config.setdefault("RQ_DASHBOARD_POLL_INTERVAL", 2500)
    setup_rq_connection(app)
    csrf.exempt(rq_dashboard.blueprint)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=URL_PREFIX)
    # On the app, not on rq_dashboard.blueprint: that blueprint object is shared
    # by every app in the process, and its hooks would pile up per create_app().
    # Keyed by the blueprint's name, so they run for the dashboard's requests only (not for every
    # page a reader asks for), first among its hooks, before it connects to Redis.
    dashboard_hooks = app.before_request_funcs.setdefault(rq_dashboard.blueprint.name, [])
    dashboard_hooks.insert(0, _guard_dashboard)
    init_dashboard_input(app)  # bad URL parts are 404s, not crashes in its views
    init_dashboard_text(app)  # its JSON is escaped: the dashboard's templates do not escape


def _json_jobs_only() -> None:
    """Make rq-dashboard read jobs as JSON, never pickle (``app.safe_jobs``).

    Its ``RQ_DASHBOARD_JSON_SERIALIZER`` setting reaches only some views: the job
    page, delete and requeue call ``Job.fetch``/``requeue_job`` with rq's default
    serializer, which unpickles a job's ``meta`` and result. So the names its
    views use are pointed at the JSON classes (the same for every app in the
    process, which is what every app wants).
    """
    from rq_dashboard import web  # imported only when the dashboard is mounted, as above

    web.config.serializer = SERIALIZER
    web.Job = JSONJob
    web.Queue = JSONQueue
    web.requeue_job = requeue_job


def _guard_dashboard():
    if request.blueprint != "rq_dashboard":
        return None
    refusal = admin_refusal()
    if refusal is not None:
        return refusal
    writes = request.method not in SAFE_METHODS or request.endpoint in WRITES_ON_GET
    if writes and not same_origin():
        abort(403, N_("cross-site request refused: the dashboard's actions must come from its own pages"))
    return None
