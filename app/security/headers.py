"""Security headers on every response.

* ``Content-Security-Policy``: scripts, styles, images, fonts and requests only
  from this site, no inline script or style (the templates use classes and
  ``static/`` files), no plugins, no ``<base>``, and ``frame-ancestors 'none'``
  (no other site can frame a page to trick a click). The RQ dashboard at
  ``/admin/rq`` (rq-dashboard, not ours) puts its code in one inline ``<script>``
  per page, compiles its underscore templates with ``new Function`` and uses
  style attributes: its pages get the SHA-256 of each inline script they carry
  (computed from the response), ``'unsafe-eval'`` and inline styles. Markup that
  reaches a dashboard page as data still cannot run: an injected ``<script>``
  added through ``innerHTML`` never runs and event-handler attributes are refused
  (and ``app.admin.dashboard_text`` escapes that data first).
* ``X-Content-Type-Options: nosniff``: a browser takes a response for what its
  ``Content-Type`` says (a JSON answer is never run as a script or a page).
* ``Referrer-Policy: same-origin``: other sites never see this site's URLs
  (they hold ids and ``next=`` paths); our own error pages still get the page
  a person came from, for their "go back" link.
* ``X-Frame-Options: DENY`` for browsers older than ``frame-ancestors``.
* ``Strict-Transport-Security`` (one year) on responses served over HTTPS, as
  the request's scheme says after ``TRUSTED_PROXIES`` (``app.security.proxies``).
"""
from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
          "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"
DASHBOARD_BLUEPRINT = "rq_dashboard"
_INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S | re.I)
_NOT_CODE = re.compile(r"\b(src|type\s*=\s*[\"']?text/template)", re.I)


def init_headers(app: Flask) -> None:
    app.after_request(add_security_headers)


# (name, its lower-case form, value): the headers every response gets unless it set its own.
_FIXED = tuple((name, name.lower(), value) for name, value in (
    ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY")))


def add_security_headers(response: Response) -> Response:
    """Each header unless the response set its own. One pass over the response's header names:
    ``Headers.setdefault`` looks a missing name up by raising and catching a werkzeug exception, which
    cost four of those per response (about 20 us, a fifth of an anonymous read's app cost)."""
    headers = response.headers
    present = {name.lower() for name, _ in headers}
    if "content-security-policy" not in present:
        headers.add("Content-Security-Policy", _policy(response))
    for name, lower, value in _FIXED:
        if lower not in present:
            headers.add(name, value)
    if "strict-transport-security" not in present and request.is_secure:
        headers.add("Strict-Transport-Security", HSTS)
    return response


def _policy(response: Response) -> str:
    if request.blueprint != DASHBOARD_BLUEPRINT or response.mimetype != "text/html" or response.is_streamed:
        return POLICY
    hashes = " ".join(f"'sha256-{digest}'" for digest in inline_script_hashes(response.get_data(as_text=True)))
    return POLICY.replace("script-src 'self'", f"script-src 'self' 'unsafe-eval' {hashes}".rstrip()).replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'")


def inline_script_hashes(html: str) -> list[str]:
    """Base64 SHA-256 of each inline script's text (what CSP hashes), templates and ``src=`` ones left out."""
    digests = []
    for match in _INLINE_SCRIPT.finditer(html):
        if _NOT_CODE.search(match.group("attrs")):
            continue
        digest = hashlib.sha256(match.group("body").encode()).digest()
        digests.append(base64.b64encode(digest).decode())
    return digests
