"""``/metrics`` with a token, and the development pages only in development, only from loopback.

* ``/metrics`` tells anyone how busy the club is and how its mail fails. With
  ``METRICS_TOKEN`` set (any environment) it answers only ``Authorization:
  Bearer <token>`` (compared in constant time); anything else is a 404, as if
  there were no such page. In production without a token there is no
  ``/metrics`` at all, and the app says so once at start.
* ``/dev/mail`` and ``/dev/sms`` show every code and message the app sent. They
  exist only with ``APP_ENV=development`` and answer only requests from the
  machine itself (``127.0.0.1``/``::1``, after ``TRUSTED_PROXIES``): a
  development server reachable from a network shows them to nobody else.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging

from flask import Flask, abort, current_app, request

log = logging.getLogger(__name__)


def init_private_pages(app: Flask) -> None:
    app.before_request(_guard_private_pages)
    if app.config.get("APP_ENV") == "production" and not app.config.get("METRICS_TOKEN"):
        log.warning("METRICS_TOKEN is not set: /metrics is switched off in production "
                    "(set it, and scrape with Authorization: Bearer <token>)")


def _guard_private_pages() -> None:
    if request.endpoint == "main.metrics" and not metrics_allowed():
        abort(404)
    if request.blueprint == "dev" and not (current_app.config.get("APP_ENV") == "development"
                                            and from_loopback()):
        abort(404)


def metrics_allowed() -> bool:
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        return current_app.config.get("APP_ENV") != "production"
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def from_loopback() -> bool:
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
