"""Settings of the request-path protections, read by ``app.config.Config.from_env``.

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

from typing import Mapping
from urllib.parse import urlsplit

from app.exceptions import ConfigError


def security_settings(env: Mapping[str, str], app_env: str) -> dict[str, object]:

    raw_proxies = env.get("TRUSTED_PROXIES", "") or "0"
    if not (raw_proxies.isascii() and raw_proxies.isdigit()) or int(raw_proxies) > 5:
        raise ConfigError(f"TRUSTED_PROXIES must be a number of proxies from 0 to 5, got {raw_proxies!r}")
    settings: dict[str, object] = {
        "TRUSTED_PROXIES": int(raw_proxies),
        "EXTERNAL_URL": "",
        "METRICS_TOKEN": env.get("METRICS_TOKEN", ""),
    }
    external = env.get("EXTERNAL_URL", "").strip().rstrip("/")
    if external:
        parts = urlsplit(external)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query \
                or parts.fragment or "@" in parts.netloc:
            raise ConfigError(f"EXTERNAL_URL must be the site's origin, like https://club.example.org, "
                              f"got {external!r}")
        settings.update(EXTERNAL_URL=f"{parts.scheme}://{parts.netloc}", SERVER_NAME=parts.netloc,
                        PREFERRED_URL_SCHEME=parts.scheme)
    return settings
