"""The benchmark's app: the production app plus two comparison routes.

``/bench/uncached/posts`` builds the list page from the database on every
request (what the API would cost with no cache); ``/bench/ceiling/posts``
returns the same bytes from this process's memory (what serving the page
could cost at best through Flask). They exist only in this module, which only
the benchmark's gunicorn loads: ``gunicorn 'bench.wsgi:create_bench_app()'``.
"""
from __future__ import annotations

from flask import Flask, Response, request

from app import create_app
from app.posts.queries import list_page_bytes


def _page_args() -> tuple[int, int]:
    """page and per_page as the API reads them (the benchmark sends valid values only)."""
    return int(request.args.get("page", 1)), int(request.args.get("per_page", 20))


def create_bench_app() -> Flask:
    app = create_app()
    in_memory: dict[tuple[int, int], bytes] = {}

    @app.get("/bench/uncached/posts")
    def bench_uncached() -> Response:
        return Response(list_page_bytes(*_page_args()), mimetype="application/json")

    @app.get("/bench/ceiling/posts")
    def bench_ceiling() -> Response:
        key = _page_args()
        body = in_memory.get(key)
        if body is None:  # first request of this worker: the same bytes the API serves
            body = in_memory[key] = list_page_bytes(*key)
        return Response(body, mimetype="application/json")

    return app
