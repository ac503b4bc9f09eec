"""Protections every request passes through, wired in one place (``init_security``).

Each module holds one idea and says why: ``ids`` (ids a database column can hold),
``body_limit`` (no body read beyond ``MAX_CONTENT_LENGTH``, whether or not the
client announced its length), ``headers`` (CSP and the other security headers),
``proxies`` (``TRUSTED_PROXIES``, ``EXTERNAL_URL``), ``private_pages``
(``/metrics`` token, development pages on loopback); ``settings`` reads their
configuration.
"""
from __future__ import annotations

from flask import Flask

from app.security.body_limit import init_body_limit
from app.security.headers import init_headers
from app.security.ids import init_ids
from app.security.private_pages import init_private_pages
from app.security.proxies import init_proxies


def init_security(app: Flask) -> None:
    """Call before the blueprints are registered: their routes use the ``int`` converter set here."""
    init_proxies(app)
    init_ids(app)
    init_body_limit(app)
    init_headers(app)
    init_private_pages(app)
