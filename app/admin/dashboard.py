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
from urllib.parse import urlsplit

from flask import Flask, abort, request

from app.extensions import csrf
from app.members.access import admin_refusal

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

    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    app.config.setdefault("RQ_DASHBOARD_POLL_INTERVAL", 2500)
    setup_rq_connection(app)
    csrf.exempt(rq_dashboard.blueprint)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=URL_PREFIX)
    # On the app, not on rq_dashboard.blueprint: that blueprint object is shared
    # by every app in the process, and its hooks would pile up per create_app().
    app.before_request(_guard_dashboard)


def _guard_dashboard():
    if request.blueprint != "rq_dashboard":
        return None
    refusal = admin_refusal()
    if refusal is not None:
        return refusal
    writes = request.method not in SAFE_METHODS or request.endpoint in WRITES_ON_GET
    if writes and not same_origin():
        abort(403, "cross-site request refused: the dashboard's actions must come from its own pages")
    return None


def same_origin() -> bool:
    """True if the browser says the request comes from a page of this site.

    Browsers send ``Origin`` on every POST/DELETE (fetch, XHR and forms alike);
    older ones may send only ``Referer``. A request with neither is refused:
    a state change must prove where it comes from.
    """
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.scheme}://{request.host}"
