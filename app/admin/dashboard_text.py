"""Whatever rq-dashboard shows from Redis shows as text, never as markup.

rq-dashboard builds its tables in the browser with underscore templates, and
most fields go in with ``<%= %>``, which does not escape: a job whose
description or failure text holds markup (an exception quoting a member's
input, or anything written to the queue Redis) became HTML in an admin's page.
Its JSON answers are escaped here instead (``html.escape`` on every string),
except the few fields its templates already escape themselves, which would
otherwise show as ``&lt;b&gt;``. With the dashboard's Content-Security-Policy
(``app.security.headers``) this is the second of two layers.
"""
from __future__ import annotations

import html
import json
from typing import Any

from flask import Flask, Response, request

# Per endpoint, the keys whose values the template escapes itself (jQuery .text() or <%- %>).
ESCAPED_BY_TEMPLATE = {
    "rq_dashboard.list_jobs": {"description", "exc_info"},
    "rq_dashboard.list_workers": {"description"},
}


def init_dashboard_text(app: Flask) -> None:
    """For the dashboard's responses only; Flask runs a blueprint's after-request hooks before the app's,
    so the security headers (``app.security.headers``: the CSP hashes its scripts) see the escaped body."""
    app.after_request_funcs.setdefault("rq_dashboard", []).append(_escape_dashboard_json)


def _escape_dashboard_json(response: Response) -> Response:
    if request.blueprint != "rq_dashboard" or response.mimetype != "application/json" or response.is_streamed:
        return response
    try:
        data = json.loads(response.get_data())
    except ValueError:
        return response
    response.set_data(json.dumps(escaped(data, ESCAPED_BY_TEMPLATE.get(request.endpoint or "", set()))))
    return response


def escaped(value: Any, keep: set[str], key: str | None = None) -> Any:
    if isinstance(value, str):
        return value if key in keep else html.escape(value)
    if isinstance(value, dict):
        return {k: escaped(v, keep, k) for k, v in value.items()}
    if isinstance(value, list):
        return [escaped(v, keep, key) for v in value]
    return value
