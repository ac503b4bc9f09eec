"""Behind a TLS-terminating proxy: the public scheme and host, never a forged ``Host``.

``TRUSTED_PROXIES`` = N wraps the app in werkzeug's ``ProxyFix`` trusting the
last N hops of ``X-Forwarded-For/-Proto/-Host/-Port``, so ``request.is_secure``,
``request.remote_addr`` (the rate limits' client address), secure cookies and
HSTS see the client's side of the proxy. Without it those headers are ignored:
anyone could send them. ``EXTERNAL_URL`` fixes the public origin outright:
``public_origin()`` and ``external_url_for()`` use it whatever ``Host`` a
request carries (the dashboard's same-origin check, social sign-in's
``redirect_uri``, links in mail). ``same_origin()`` is how a form without a CSRF token
(the dashboard's actions, the footer's language switch) proves it was sent from this site.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, current_app, request, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)


def init_proxies(app: Flask) -> None:
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
    if app.config.get("APP_ENV") == "production" and not app.config.get("EXTERNAL_URL"):
        log.warning("EXTERNAL_URL is not set: links and the social sign-in redirect_uri follow each "
                    "request's Host header; set it to the site's public origin (https://...)")


def public_origin() -> str:
    """``EXTERNAL_URL``, else the request's scheme and host (after ``TRUSTED_PROXIES``)."""
    return current_app.config.get("EXTERNAL_URL") or f"{request.scheme}://{request.host}"


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
    return f"{parts.scheme}://{parts.netloc}" == public_origin()  # EXTERNAL_URL when set, never a forged Host


def external_url_for(endpoint: str, **values: object) -> str:
    """An absolute URL on the public origin (``url_for`` would use the request's ``Host``)."""
    return public_origin() + url_for(endpoint, **values)
