"""No request body is read beyond ``MAX_CONTENT_LENGTH``: 413, also for chunked bodies.

Flask refuses a body whose ``Content-Length`` is over the limit. A chunked body
(``Transfer-Encoding: chunked``, no length) was read up to the limit and
silently cut there: the API answered "malformed JSON" (400) after gunicorn had
read every byte the client sent. Here such a body is read once, at most the
limit, before the view runs (and kept for it); one byte more is a 413 (a page,
or JSON under /api/, from ``app.error_pages``). gunicorn then reads and drops
what the client still sends (in 8 KB pieces: time, not memory); the proxy in
front (``client_max_body_size``) stops it before gunicorn.
"""
from __future__ import annotations

from flask import Flask, request


def init_body_limit(app: Flask) -> None:
    app.before_request(_read_unannounced_body)


def _read_unannounced_body() -> None:
    # The header first: almost no request is chunked, and it is the cheapest thing to look at.
    if "chunked" not in request.environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return
    limit = request.max_content_length
    if limit is None or request.content_length is not None:
        return
    data = request.get_data(cache=True)  # a stream limited to ``limit`` bytes (werkzeug)
    if len(data) >= limit:
        request.stream.read(1)  # past the limit: werkzeug raises RequestEntityTooLarge (413)
