"""Absolute links to the site's pages for mail and SMS, also where no request is (workers, the scheduler).

The origin is ``EXTERNAL_URL`` when it is set (production sets it), else the request's own (a sign-up
in development). A worker without either writes the path alone: better than a wrong host.
"""
from __future__ import annotations

from flask import current_app, has_request_context

from app.security.proxies import public_origin


def page_url(endpoint: str, **values: object) -> str:
    """``page_url("screenings.detail", screening_id=3)`` -> ``https://club.example/screenings/3``."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    origin = current_app.config.get("EXTERNAL_URL") or (public_origin() if has_request_context() else "")
    return origin.rstrip("/") + path
