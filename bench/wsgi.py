"""The benchmark's app: the production app plus comparison routes.

``/bench/uncached/posts`` builds the API's list page from the database on
every request (what the API would cost with no cache); ``/bench/ceiling/posts``
returns the same bytes from this process's memory (what serving the page
could cost at best through the app). ``/bench/uncached/html/posts`` and
``/bench/ceiling/html/posts`` do the same for the HTML list page ``/posts/``:
the uncached one renders the page from rows read on every request, the
ceiling one answers with the bytes ``/posts/`` gave this process the first
time (asked through the app itself, so they are the member's bytes whatever
the view does). They exist only in this module, which only the benchmark's
gunicorn loads: ``gunicorn 'bench.wsgi:create_bench_app()'``.
"""
from __future__ import annotations

import json

from flask import Flask, Response, render_template, request

from app import create_app
from app.posts.queries import list_page_bytes


def _page_args() -> tuple[int, int]:
    """page and per_page as the API reads them (the benchmark sends valid values only)."""
    return int(request.args.get("page", 1)), int(request.args.get("per_page", 20))


def create_bench_app() -> Flask:
    app = create_app()
    in_memory: dict[tuple[int, int], bytes] = {}
    html_in_memory: dict[bytes, bytes] = {}

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

    @app.get("/bench/uncached/html/posts")
    def bench_uncached_html() -> Response:
        # As app.posts.views.index renders it, from the database every time; the benchmark checks that the
        # bytes still equal /posts/'s and reports "not measured" for this route when they do not. The page
        # prints its own path (the footer's language switch returns there), so it is rendered as /posts/.
        data = json.loads(list_page_bytes(*_page_args()))
        with app.test_request_context("/posts/", query_string=request.query_string.decode(),
                                      headers={"Accept-Language": request.headers.get("Accept-Language", "")}):
            html = render_template("posts/list.html", data=data)
        return Response(html, mimetype="text/html")

    @app.get("/bench/ceiling/html/posts")
    def bench_ceiling_html() -> Response:
        key = request.query_string
        body = html_in_memory.get(key)
        if body is None:  # first request of this worker: ask the real page, as an anonymous reader
            with app.test_client() as client:
                answer = client.get("/posts/", query_string=key.decode())
            if answer.status_code != 200:
                return Response(answer.data, status=answer.status_code, mimetype=answer.mimetype)
            body = html_in_memory[key] = answer.data
        return Response(body, mimetype="text/html")

    return app
