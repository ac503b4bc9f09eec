"""A bare Flask app: the floor under the app's own cost per request.

One route, ``/bench/ceiling/posts``, answering with the bytes of the file named
by ``BENCH_BARE_BODY`` (the benchmark writes there what the app's ceiling
route answered), with the same content type (``BENCH_BARE_MIMETYPE``). No
extensions, no hooks, no session, no limiter: what Flask and gunicorn cost
for the same bytes. The benchmark serves it with the same gunicorn command line
as the app (``gunicorn 'bench.bare_flask:create_bare_app()'``) and reports
``app.ceiling_vs_bare_flask``: the app's ceiling route over this one.
"""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response


def create_bare_app() -> Flask:
    body = Path(os.environ["BENCH_BARE_BODY"]).read_bytes()
    mimetype = os.environ.get("BENCH_BARE_MIMETYPE", "application/json")
    app = Flask(__name__)

    @app.get("/bench/ceiling/posts")
    def ceiling() -> Response:
        return Response(body, mimetype=mimetype)

    @app.get("/healthz")
    def healthz() -> Response:
        return Response(b'{"status": "ok"}', mimetype="application/json")

    return app
