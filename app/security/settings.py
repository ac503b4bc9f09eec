"""Settings of the request-path protections, declared in ``app.config.Settings``.

* ``TRUSTED_PROXIES`` (0): how many reverse proxies stand in front and set
  ``X-Forwarded-For/-Proto/-Host/-Port`` (``app.security.proxies``). 0 trusts none.
* ``EXTERNAL_URL`` (empty): the site's public origin, ``https://club.example.org``.
  When set, links outside a request, the dashboard's same-origin check and
  social sign-in's ``redirect_uri`` use it, never the request's ``Host``; it also
  sets ``SERVER_NAME`` and ``PREFERRED_URL_SCHEME``.
* ``METRICS_TOKEN`` (empty): when set, ``/metrics`` answers only
  ``Authorization: Bearer <token>`` (404 otherwise). Unset in production:
  no ``/metrics`` at all (a warning at start); unset elsewhere: open.
"""
from __future__ import annotations

from urllib.parse import urlsplit


def check_external_url(value: str) -> str:
    """``EXTERNAL_URL`` as an origin without a trailing slash; anything more than an origin is refused."""
    external = value.strip().rstrip("/")
    if external:
        parts = urlsplit(external)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query \
                or parts.fragment or "@" in parts.netloc:
            raise ValueError("must be the site's origin, like https://club.example.org")
        external = f"{parts.scheme}://{parts.netloc}"
    return external
